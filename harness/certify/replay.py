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

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1

_TUPLE_FIELDS = ("args", "cursors")
_SET_FIELDS = ("expect",)


class ReplayError(ValueError):
    """A replay file that cannot be read: ``str()`` names the file and the problem."""


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
    """Read a replay file: the recorded seed, client, policy and the :class:`Case`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from harness.contracts.model import CONTRACTS, Case

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = YAML(typ="safe").load(io.StringIO(text))
    except YAMLError as exc:
        raise ReplayError(f"{path}: not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("mdm_harness_replay") != FORMAT_VERSION:
        raise ReplayError(
            f"{path}: not an mdm-harness replay file (no 'mdm_harness_replay: {FORMAT_VERSION}')"
        )
    raw = data.get("case")
    if not isinstance(raw, dict):
        raise ReplayError(f"{path}: case: must be a mapping")
    fields = dict(raw)
    unknown = sorted(set(fields) - set(Case.__dataclass_fields__))
    if unknown:
        raise ReplayError(f"{path}: case.{unknown[0]}: unknown field")
    if fields.get("contract") not in CONTRACTS:
        raise ReplayError(f"{path}: case.contract: {fields.get('contract')!r} is not a contract id")
    for name in _TUPLE_FIELDS:
        if fields.get(name) is not None:
            fields[name] = tuple(str(v) for v in fields[name])
    for name in _SET_FIELDS:
        if fields.get(name) is not None:
            fields[name] = frozenset(fields[name])
    if "scenario" in fields:
        from harness.scenario import ScenarioError, scenario_from_dict

        try:
            fields["scenario"] = scenario_from_dict(
                fields["scenario"], path=f"{path}: case.scenario"
            )
        except ScenarioError as exc:
            raise ReplayError(str(exc)) from None
    try:
        case = Case(**fields)
    except TypeError as exc:
        raise ReplayError(f"{path}: case: {exc}") from None
    seed = data.get("seed")
    if not isinstance(seed, int):
        raise ReplayError(f"{path}: seed: must be an integer")
    return {"case": case, "seed": seed, "client": data.get("client"), "policy": data.get("policy")}
