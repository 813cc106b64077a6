"""Replay files: one failing contract case, runnable again without the suite.

A replay file is YAML: the case (contract, operation, arguments, what a correct client
concludes), the scenario the proxy served, and the seed the harness ran with (the reference
MDM's inventory is generated from it, so the same devices exist again)::

    # mdm-harness replay file - T4 broke: retry #1 waited 0.001 s, less than the declared 0.050 s
    # mdm-harness replay THIS_FILE --client 'my-client' --policy my-policy.yaml
    mdm_harness_replay: 1
    seed: 1729
    client: my-client
    policy: my-policy.yaml
    case: {contract: T4, title: ..., operation: device, args: [--mac, 0A1B2C3D4E5F], ...}

``mdm-harness replay FILE`` runs the case once against the client (the one recorded, or
``--client``/``--policy``) and prints the verdict: exit 0 if the contract holds, 1 if not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.fields import LIMITS, FieldError, Fields

if TYPE_CHECKING:
    from harness.scenario import Scenario

FORMAT_VERSION = 1

#: A replay file carries one case and its scenario: a scenario file's limits.
_LIMITS = LIMITS["scenario"]


class ReplayError(FieldError):
    """A replay file that cannot be read: ``str()`` is ``file:line: field: problem``."""


def replay_text(record: Mapping[str, Any], *, reason: str) -> str:
    """The replay file for one verdict record (as ``--mdm-report`` writes them)."""
    from harness.scenario import to_yaml

    case = dict(record["case"])
    data = {
        "mdm_harness_replay": FORMAT_VERSION,
        "seed": record.get("seed"),
        "client": record.get("client"),
        "policy": record.get("policy"),
        "test": record.get("test"),
        "case": case,
    }
    client = record.get("client") or "CLIENT"
    comment = (
        f"mdm-harness replay file - {case.get('contract')} broke: {reason}\n"
        f"mdm-harness replay THIS_FILE --client {_quote(client)} --policy {_quote(str(record.get('policy')))}"
    )
    return to_yaml(data, comment=comment)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def load_replay(path: str | Path) -> dict[str, Any]:
    """Read a replay file: the recorded seed, client, policy and the :class:`Case`.

    Read like every file the harness reads (:class:`harness.fields.Fields`, within a scenario
    file's limits): every problem is a :class:`ReplayError` naming the file, the line and the
    field."""
    from harness.contracts.model import CONTRACTS, Case

    top = Fields.read(path, limits=_LIMITS, kind="replay file", error=ReplayError)
    if top.raw("mdm_harness_replay", None) != FORMAT_VERSION:
        raise top.fail(
            None, f"not an mdm-harness replay file (no 'mdm_harness_replay: {FORMAT_VERSION}')"
        )
    seed = top.integer("seed")
    client = top.text("client", None, non_empty=True)
    policy = top.text("policy", None, non_empty=True)
    top.text("test", None)
    case = top.mapping("case")
    top.done()

    case.check_keys(Case.__dataclass_fields__)
    contract = case.text("contract")
    if contract not in CONTRACTS:
        raise case.fail("contract", f"{contract[:40]!r} is not a contract id")
    fields: dict[str, Any] = {
        "contract": contract,
        "title": case.text("title"),
        "operation": case.text("operation", non_empty=True, max_len=64),
        "args": _texts(case, "args", ()),
        "scenario": _scenario(case),
        "expect": frozenset(_texts(case, "expect", ("ok",)) or ()),
        "target": case.text("target", None),
        "expected_result": _optional_mapping(case, "expected_result"),
        "api_path": case.text("api_path", None),
        "api_version": case.integer("api_version", None, low=1, high=99),
        "cursors": _texts(case, "cursors", None),
        "device_key": case.text("device_key", None),
        "mac_written": case.text("mac_written", None),
        "host": case.text("host", None),
        "bound_s": case.number("bound_s", None, above=0),
        "canary_token": case.text("canary_token", None),
    }
    case.done()
    return {"case": Case(**fields), "seed": seed, "client": client, "policy": policy}


def _scenario(case: Fields) -> Scenario:
    """The case's scenario, read by the loader the proxy uses (errors name this file's line
    and ``case.scenario...`` field)."""
    from harness.scenario import scenario_from_fields

    return scenario_from_fields(case.mapping("scenario", {}))


def _texts(node: Fields, key: str, default: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if key not in node:
        node.raw(key, None)
        return default
    items = node.sequence(key)
    return tuple(items.text(i, numbers=True) for i in items.indexes())


def _optional_mapping(node: Fields, key: str) -> dict[str, Any] | None:
    if key not in node:
        node.raw(key, None)
        return None
    return _plain(node.mapping(key).node)


def _plain(value: Mapping[str, Any]) -> dict[str, Any]:
    """Plain dicts and lists (the loader's own mapping type carries line numbers)."""
    plain: dict[str, Any] = json.loads(json.dumps(value))
    return plain
