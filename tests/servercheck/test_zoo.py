"""The server zoo: the reference MDM passes every server contract, and with each deliberate
defect switched on it breaks exactly the contract the defect is about - a MUST one fails, a
SHOULD one gives advice - and no other (others may only be inconclusive, for a reason the
broken contract owns, or not applicable).

Each run is the whole suite through the library (``ServerCheck.suite()``), without a rate cap,
against one reference MDM and one proxy per module, with the defects switched while it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.mdm import ReferenceMDM
from harness.mdm.defects import DEFECTS
from harness.proxy import FaultProxy
from harness.servercheck.catalog import CONTRACTS
from harness.servercheck.model import NotApplicable, ServerVerdict
from harness.servercheck.session import ServerCheck
from harness.servercheck.target import DeviceSpec, Options, Target

#: Each defect, the contract it breaks, and the options of its run.
ZOO: dict[str, tuple[str, dict[str, object]]] = {
    "version-above-ask": ("D1", {}),
    "v3-without-vendor": ("D2", {}),
    "api-path-not-served": ("D3", {}),
    "discovery-slash-redirect": ("D4", {}),
    "udid-lookup-unsupported": ("L1", {}),
    "unknown-device-404": ("L2", {}),
    "unknown-returns-devices": ("L2", {}),
    "guid-lookup-wrong-device": ("L3", {}),
    "filter-drops-asked": ("L4", {}),
    "ignores-filter": ("L5", {}),
    "lowercase-macs": ("L6", {}),
    "attributes-api-version-2": ("L7", {}),
    "repeats-device-across-pages": ("G1", {}),
    "exceeds-page-size": ("G2", {}),
    "rejects-own-cursor": ("G3", {}),
    "busy-wait-negative": ("G4", {}),
    "busy-wait-huge": ("G5", {}),
    "accepts-bad-credentials": ("A1", {}),
    "challenge-missing": ("A2", {}),
    "unescaped-ampersand": ("X1", {}),
    "html-content-type": ("X1", {}),
    "bad-boolean": ("X2", {}),
    "markup-500": ("X3", {}),
    # late, but within Cisco's 300 ms: only the budget (100 ms here) is broken
    "slow=120": ("B1", {"budget_ms": 100}),
    # within the budget, but slower than Cisco's 300 ms: advice
    "slow=320": ("B2", {}),
    "race-under-concurrency": ("C1", {}),
    "action-reply-broken": ("K1", {"actions": True}),
}

#: What the reference MDM cannot be judged on without more from the user: lookups by username
#: and host name need --device ...,username=..,hostname=.., and actions need --allow-actions.
EXPECTED_NOT_APPLICABLE = {"L1", "K1"}


def _run(
    mdm: ReferenceMDM,
    target: Target,
    proxy: FaultProxy,
    tmp: Path,
    defect: str | None,
    **extra: object,
) -> list[tuple[object, ServerVerdict]]:
    mdm.defects = [defect] if defect else []
    actions = bool(extra.pop("actions", False))
    devices = (
        tuple(DeviceSpec(macaddress=d.macaddress) for d in list(mdm.inventory)[:2])
        if actions
        else ()
    )
    options = Options(
        rate=0,
        seed=1729,
        profile="quick",
        allow_actions=actions,
        action_devices=devices,
        busy_wait_cap_s=0.05,  # the walk waits a busy hint this long at most (not 2 s)
        **extra,  # type: ignore[arg-type]
    )
    try:
        with ServerCheck(target, options, state_dir=tmp, proxy=proxy) as check:
            return list(check.suite())
    finally:
        mdm.defects = []
        mdm.check()


def _by_status(
    results: list[tuple[object, ServerVerdict]], status: str
) -> dict[str, ServerVerdict]:
    return {v.contract: v for _, v in results if v.status == status}


def test_every_defect_is_in_the_zoo() -> None:
    named = {spec.partition("=")[0] for spec in ZOO}
    assert named == set(DEFECTS)
    assert {contract for contract, _ in ZOO.values()} == set(CONTRACTS), "every contract bites"


def test_the_reference_mdm_passes_every_contract_and_only_get_reaches_it(
    fresh_mdm: ReferenceMDM, zoo_target: Target, zoo_proxy: FaultProxy, tmp_path: Path
) -> None:
    results = _run(fresh_mdm, zoo_target, zoo_proxy, tmp_path, None)
    assert {c for c in CONTRACTS} <= {v.contract for _, v in results}
    assert _by_status(results, "broken") == {}
    assert _by_status(results, "inconclusive") == {}
    not_applicable = [(case, v) for case, v in results if v.status == "not applicable"]
    assert {v.contract for _, v in not_applicable} <= EXPECTED_NOT_APPLICABLE
    assert all(
        isinstance(case, NotApplicable)
        and ("username" in case.reason or "guidhn" in case.reason or "actions" in case.reason)
        for case, _ in not_applicable
    )
    holds = {v.contract for _, v in results if v.status == "holds"}
    assert holds == set(CONTRACTS) - {"K1"}
    # without allow_actions, only GET reached the server: no action ran
    assert {r.method for r in fresh_mdm.requests} == {"GET"}
    assert fresh_mdm.actions() == []


@pytest.mark.parametrize(
    ("defect", "contract", "extra"), [(d, c, e) for d, (c, e) in ZOO.items()], ids=list(ZOO)
)
def test_each_defect_breaks_exactly_its_contract(
    zoo_mdm: ReferenceMDM,
    zoo_target: Target,
    zoo_proxy: FaultProxy,
    tmp_path: Path,
    defect: str,
    contract: str,
    extra: dict[str, object],
) -> None:
    results = _run(zoo_mdm, zoo_target, zoo_proxy, tmp_path, defect, **dict(extra))
    broken = _by_status(results, "broken")
    assert set(broken) == {contract}, {c: v.reason for c, v in broken.items()}
    verdict = broken[contract]
    assert verdict.advice == (CONTRACTS[contract].level == "SHOULD")
    # the evidence names the request and shows the answer
    assert any(line.startswith(("GET ", "POST ")) for line in verdict.evidence), verdict.evidence
    assert any("->" in line for line in verdict.evidence)


@pytest.fixture
def fresh_mdm(zoo_mdm: ReferenceMDM) -> Iterator[ReferenceMDM]:
    """The zoo's MDM with its records of requests and actions cleared."""
    zoo_mdm.reset_records()
    yield zoo_mdm
    zoo_mdm.reset_records()


def test_actions_go_only_to_the_named_devices(
    fresh_mdm: ReferenceMDM, zoo_target: Target, zoo_proxy: FaultProxy, tmp_path: Path
) -> None:
    named = list(fresh_mdm.inventory)[:2]
    results = _run(fresh_mdm, zoo_target, zoo_proxy, tmp_path, None, actions=True)
    k1 = [v for _, v in results if v.contract == "K1"]
    assert [v.status for v in k1] == ["holds", "holds"]
    executed = fresh_mdm.actions()
    assert sorted(a.macaddress for a in executed) == sorted(d.macaddress for d in named)
    assert {a.action for a in executed} == {"pin_lock"}
    posts = [r for r in fresh_mdm.requests if r.method != "GET"]
    assert len(posts) == 2
