"""Clients: the adapter protocol, the runners, the client policy, the reference client.

The public facade::

    from harness.client import ClientEnv, Outcome, ClientSpec, Policy, load_policy, PolicyError
    from harness.client import REFERENCE_POLICY, REFERENCE_POLICY_PATH

* :class:`ClientEnv`, :class:`Outcome`, :class:`Operation`, :func:`parse_operation` and the
  vocabulary (:data:`OPERATIONS`, :data:`ERROR_CATEGORIES`, ...) - :mod:`.protocol`;
* :class:`ClientSpec` (exec and ``module:factory`` runners) - :mod:`.runner`;
* :class:`Policy`, :func:`load_policy`, :func:`parse_policy`, :class:`PolicyError` -
  :mod:`.policy`; :data:`REFERENCE_POLICY` is the reference client's parsed policy.

Names are imported lazily, so ``mdm-harness reference-client`` (run hundreds of times by the
contract suite) pays only for what it uses. See ``docs/clients.md``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.client.policy import (
        Backoff,
        Discovery,
        Paging,
        Policy,
        PolicyError,
        Resend,
        RetryAfter,
        RetryRule,
        RetrySet,
        load_policy,
        parse_policy,
    )
    from harness.client.protocol import (
        ACTIONS,
        DEVICE_IDENTIFIERS,
        ERROR_CATEGORIES,
        OPERATIONS,
        ClientEnv,
        Operation,
        OperationError,
        Outcome,
        normalise_mac,
        parse_operation,
    )
    from harness.client.runner import DEFAULT_HARD_LIMIT_S, ClientSpec

    REFERENCE_POLICY: Policy

__all__ = [
    "ACTIONS",
    "DEFAULT_HARD_LIMIT_S",
    "DEVICE_IDENTIFIERS",
    "ERROR_CATEGORIES",
    "OPERATIONS",
    "REFERENCE_POLICY",
    "REFERENCE_POLICY_PATH",
    "Backoff",
    "ClientEnv",
    "ClientSpec",
    "Discovery",
    "Operation",
    "OperationError",
    "Outcome",
    "Paging",
    "Policy",
    "PolicyError",
    "Resend",
    "RetryAfter",
    "RetryRule",
    "RetrySet",
    "load_policy",
    "normalise_mac",
    "parse_operation",
    "parse_policy",
]

#: The reference client's policy file (shipped as package data).
REFERENCE_POLICY_PATH = Path(__file__).with_name("reference-policy.yaml")

_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "Backoff",
            "Discovery",
            "Paging",
            "Policy",
            "PolicyError",
            "Resend",
            "RetryAfter",
            "RetryRule",
            "RetrySet",
            "load_policy",
            "parse_policy",
        ),
        "harness.client.policy",
    ),
    **dict.fromkeys(
        (
            "ACTIONS",
            "DEVICE_IDENTIFIERS",
            "ERROR_CATEGORIES",
            "OPERATIONS",
            "ClientEnv",
            "Operation",
            "OperationError",
            "Outcome",
            "normalise_mac",
            "parse_operation",
        ),
        "harness.client.protocol",
    ),
    **dict.fromkeys(("DEFAULT_HARD_LIMIT_S", "ClientSpec"), "harness.client.runner"),
}


def __getattr__(name: str) -> Any:
    if name == "REFERENCE_POLICY":
        from harness.client.policy import load_policy

        value: Any = load_policy(REFERENCE_POLICY_PATH)
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
