"""The adapter protocol: how the harness drives any client and reads what it concluded.

A client under test is a command. For one *operation* the harness runs
``<command> <operation> [args]`` with the environment of :meth:`ClientEnv.as_environ`; the
command prints one JSON object on stdout and exits 0::

    {"outcome": "ok", "result": {...}}
    {"outcome": "error", "error": "<category>", "message": "..."}

Anything else - a non-zero exit, no JSON, invalid JSON, an object of another shape, a run
longer than the hard limit - is a *crash*. This module holds the vocabulary (operations,
identifiers, error categories), the environment, the operation argument parser shared by the
reference client and test doubles, and the :class:`Outcome` record the runners produce.
Result shapes are validated by :mod:`harness.client.results`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness._util import normalise_mac

__all__ = [
    "ACTIONS",
    "DEVICE_IDENTIFIERS",
    "ERROR_CATEGORIES",
    "OPERATIONS",
    "ClientEnv",
    "Operation",
    "OperationError",
    "Outcome",
    "OutcomeKind",
    "normalise_mac",
    "parse_operation",
]

#: The operations every client implements (an adapter may answer some with a crash, see docs).
OPERATIONS: tuple[str, ...] = ("mdminfo", "device", "noncompliant", "action")

#: ``device --<identifier> VALUE``: the identifiers a lookup can use, and the ISE
#: ``querycriteria`` each one maps to (``serial`` is this project's addition, from v2).
DEVICE_IDENTIFIERS: Mapping[str, str] = {
    "mac": "macaddress",
    "guid": "guid",
    "udid": "udid",
    "imei": "imei",
    "meid": "meid",
    "serial": "serial",
}

#: ``action ACTION --mac|--guid X``: the action types of the ISE MDM API.
ACTIONS: tuple[str, ...] = ("full_wipe", "corporate_wipe", "pin_lock")

#: The error categories a client may report, in the order the docs list them.
ERROR_CATEGORIES: tuple[str, ...] = (
    "timeout",
    "connection_error",
    "tls_error",
    "unauthorized",
    "not_found",
    "server_error",
    "parse_error",
    "protocol_error",
)

OutcomeKind = Literal["ok", "error", "crash"]
OUTCOME_KINDS: tuple[OutcomeKind, ...] = ("ok", "error", "crash")

# --------------------------------------------------------------------------------------------
# The environment


@dataclass(frozen=True)
class ClientEnv:
    """What the harness tells a client: where the MDM is, how to reach it, whom to trust.

    ``proxy`` is the fault proxy's URL in regular (explicit proxy) mode and ``None`` in reverse
    mode. ``timeout_ms`` is the per-request timeout the client must apply - the harness sets it
    to the ``timeout_ms`` the client's own policy declares. The password is kept out of
    ``repr``.
    """

    base_url: str
    username: str
    password: str = field(repr=False)
    ca_bundle: Path
    proxy: str | None = None
    timeout_ms: int = 1000

    def __post_init__(self) -> None:
        if isinstance(self.timeout_ms, bool) or not isinstance(self.timeout_ms, int):
            raise TypeError(f"timeout_ms={self.timeout_ms!r} must be an int")
        if self.timeout_ms <= 0:
            raise ValueError(f"timeout_ms={self.timeout_ms!r} must be positive")

    def as_environ(self) -> dict[str, str]:
        """The adapter-protocol variables.

        ``MDM_PROXY`` is always set (empty in reverse mode) so a stale value in the caller's
        environment can never leak through; ``HTTPS_PROXY`` is set only when there is a proxy.
        """
        environ = {
            "MDM_BASE_URL": self.base_url,
            "MDM_USERNAME": self.username,
            "MDM_PASSWORD": self.password,
            "MDM_PROXY": self.proxy or "",
            "MDM_CA_BUNDLE": str(self.ca_bundle),
            "MDM_TIMEOUT_MS": str(self.timeout_ms),
        }
        if self.proxy:
            environ["HTTPS_PROXY"] = self.proxy
        return environ

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, default_timeout_ms: int = 1000
    ) -> ClientEnv:
        """Read the protocol variables back (what a Python client does first).

        Raises :class:`OperationError` naming the variable when one is missing or malformed.
        ``HTTPS_PROXY`` is deliberately not read: ``MDM_PROXY`` is the one source of truth.
        """
        missing = [
            name
            for name in ("MDM_BASE_URL", "MDM_USERNAME", "MDM_PASSWORD", "MDM_CA_BUNDLE")
            if name not in environ
        ]
        if missing:
            raise OperationError(f"missing environment variable(s): {', '.join(missing)}")
        if not environ["MDM_CA_BUNDLE"]:
            raise OperationError(
                "MDM_CA_BUNDLE is empty: a client trusts exactly the CA it is given"
            )
        raw_timeout = environ.get("MDM_TIMEOUT_MS", "").strip()
        timeout_ms = default_timeout_ms
        if raw_timeout:
            if not raw_timeout.isdigit() or int(raw_timeout) <= 0:
                raise OperationError(f"MDM_TIMEOUT_MS={raw_timeout!r} is not a positive integer")
            timeout_ms = int(raw_timeout)
        return cls(
            base_url=environ["MDM_BASE_URL"],
            username=environ["MDM_USERNAME"],
            password=environ["MDM_PASSWORD"],
            ca_bundle=Path(environ["MDM_CA_BUNDLE"]),
            proxy=environ.get("MDM_PROXY") or None,
            timeout_ms=timeout_ms,
        )


# --------------------------------------------------------------------------------------------
# Operations and their arguments


class OperationError(ValueError):
    """An operation or its arguments (or the environment) are not what the protocol allows."""


@dataclass(frozen=True)
class Operation:
    """One parsed operation: ``name`` plus, for lookups and actions, what it targets.

    ``identifier`` is a key of :data:`DEVICE_IDENTIFIERS` (``mac``, ``guid``, ...); MAC values
    are normalised to 12 upper-case hex digits. ``action`` is set for ``action`` only.
    """

    name: str
    identifier: str | None = None
    value: str | None = None
    action: str | None = None

    def argv(self) -> list[str]:
        """The arguments after the operation name, as the exec protocol passes them."""
        args: list[str] = []
        if self.action is not None:
            args.append(self.action)
        if self.identifier is not None and self.value is not None:
            args += [f"--{self.identifier}", self.value]
        return args


def parse_operation(operation: str, args: Sequence[str]) -> Operation:
    """Parse ``<operation> [args]`` exactly as the protocol defines it.

    ``mdminfo``; ``noncompliant``; ``device --mac|--guid|--udid|--imei|--meid|--serial VALUE``;
    ``action full_wipe|corporate_wipe|pin_lock --mac|--guid VALUE``. ``--id=VALUE`` is accepted
    too. Raises :class:`OperationError` with a one-line message.
    """
    if operation not in OPERATIONS:
        raise OperationError(
            f"unknown operation {operation!r}; expected one of {', '.join(OPERATIONS)}"
        )
    rest = list(args)
    if operation in ("mdminfo", "noncompliant"):
        if rest:
            raise OperationError(f"{operation} takes no arguments, got {' '.join(rest)!r}")
        return Operation(operation)
    action = None
    allowed: tuple[str, ...] = tuple(DEVICE_IDENTIFIERS)
    if operation == "action":
        if not rest or rest[0] not in ACTIONS:
            got = repr(rest[0]) if rest else "nothing"
            raise OperationError(f"action needs one of {', '.join(ACTIONS)} first, got {got}")
        action = rest.pop(0)
        allowed = ("mac", "guid")
    flags = "|".join(f"--{name}" for name in allowed)
    if rest and rest[0].startswith("--") and "=" in rest[0]:
        flag, _, value = rest[0].partition("=")
        rest = [flag, value, *rest[1:]]
    if len(rest) != 2 or not rest[0].startswith("--") or rest[0][2:] not in allowed:
        raise OperationError(
            f"{operation} needs exactly one of {flags} VALUE, got {' '.join(rest)!r}"
        )
    identifier, value = rest[0][2:], rest[1].strip()
    if not value:
        raise OperationError(f"{operation} --{identifier} needs a non-empty value")
    if identifier == "mac":
        try:
            value = normalise_mac(value)
        except ValueError as exc:
            raise OperationError(f"{operation} --mac: {exc}") from None
    return Operation(operation, identifier=identifier, value=value, action=action)


# --------------------------------------------------------------------------------------------
# Outcome


@dataclass(frozen=True)
class Outcome:
    """What one run of a client concluded, as the runners observed it.

    ``kind`` is ``ok`` (``result`` holds the parsed fields), ``error`` (``error`` is one of
    :data:`ERROR_CATEGORIES`, ``message`` the client's text) or ``crash`` (``crash_reason``
    says why: ``exit code 3``, ``no JSON on stdout``, ``invalid JSON: ...``, ``overran the hard
    limit of 30.0 s``, ``unknown outcome ...``, ``result.devices[0].guid: ...``).
    ``started``/``ended`` are :func:`time.monotonic` readings in the harness process around the
    run, comparable with the proxy journal's timestamps. ``exit_code`` is ``None`` for
    in-process runs and for runs killed at the hard limit; ``max_rss_kb`` is the peak memory of
    an exec client's process (``None`` in-process).
    """

    kind: OutcomeKind
    operation: str
    result: dict[str, Any] | None = None
    error: str | None = None
    message: str | None = None
    crash_reason: str | None = None
    started: float = 0.0
    ended: float = 0.0
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    #: Peak resident memory of an exec client's program, KiB, sampled from ``/proc`` while it
    #: ran (``None`` for in-process runs).
    max_rss_kb: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in OUTCOME_KINDS:
            raise ValueError(f"kind={self.kind!r} is not one of {', '.join(OUTCOME_KINDS)}")
        if (self.kind == "ok") != (self.result is not None):
            raise ValueError("an 'ok' outcome has a result and no other kind does")
        if (self.kind == "error") != (self.error is not None):
            raise ValueError("an 'error' outcome has an error category and no other kind does")
        if self.error is not None and self.error not in ERROR_CATEGORIES:
            raise ValueError(f"error={self.error!r} is not one of {', '.join(ERROR_CATEGORIES)}")
        if (self.kind == "crash") != (self.crash_reason is not None):
            raise ValueError("a 'crash' outcome has a crash_reason and no other kind does")

    @property
    def duration(self) -> float:
        """Seconds the run took, as the harness measured it."""
        return self.ended - self.started

    @property
    def category(self) -> str:
        """``ok``, ``crash``, or the error category: one word for reports and expectations."""
        return self.error if self.kind == "error" and self.error else self.kind

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready ``dict`` of every field (``json.dumps`` it to store or ship it)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Outcome:
        """The inverse of :meth:`to_json`; also accepts the JSON text itself."""
        obj = json.loads(data) if isinstance(data, str) else dict(data)
        names = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(obj) - names)
        if unknown:
            raise ValueError(f"unknown Outcome field(s): {', '.join(unknown)}")
        return cls(**obj)

    def __repr__(self) -> str:
        detail = {
            "ok": lambda: "",
            "error": lambda: f", error={self.error!r}, message={self.message!r}",
            "crash": lambda: f", crash_reason={self.crash_reason!r}",
        }[self.kind]()
        return f"Outcome({self.kind!r}, {self.operation!r}{detail}, duration={self.duration:.3f})"
