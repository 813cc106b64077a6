"""The plan is an upper bound computed before any request, and the run cannot exceed it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.mdm import ReferenceMDM
from harness.proxy import FaultProxy
from harness.servercheck.pace import Pacer, PlanExceeded
from harness.servercheck.plan import compute, workers_of
from harness.servercheck.session import ServerCheck
from harness.servercheck.target import DeviceSpec, Options, Target


def test_the_plan_counts_every_case_once() -> None:
    options = Options(profile="quick", max_pages=7, concurrency=3)
    plan = compute(options, workers=2)
    assert plan.cases["G1"] == 7 and all(plan.cases[g] == 0 for g in ("G2", "G3", "G4", "G5"))
    assert plan.cases["X3"] == 4 and plan.cases["K1"] == 0 and plan.cases["C1"] == 3
    assert plan.total == 1 + 2 * plan.survey + sum(plan.cases.values())
    assert "at most" in plan.describe() and "G1 7" in plan.describe()
    with_actions = Options(
        allow_actions=True, action_devices=(DeviceSpec("0026B424FEB4"), DeviceSpec(guid="g"))
    )
    assert compute(with_actions).cases["K1"] == 2
    assert compute(Options(profile="thorough")).cases["X3"] == 50


@pytest.mark.parametrize(("value", "workers"), [(None, 1), ("1", 1), (3, 3), ("4", 4), ("no", 1)])
def test_workers_of(value: object, workers: int) -> None:
    assert workers_of(value) == workers  # type: ignore[arg-type]


def test_auto_workers_are_the_usable_cpus() -> None:
    assert workers_of("auto") >= 1


def test_a_run_stays_within_its_plan(
    zoo_mdm: ReferenceMDM, zoo_target: Target, zoo_proxy: FaultProxy, tmp_path: Path
) -> None:
    options = Options(rate=0, seed=5, profile="quick", max_pages=20)
    plan = compute(options, workers=1)
    pacer = Pacer(tmp_path / "pacer.json", rate=0, limit=plan.total)
    zoo_mdm.reset_records()
    with ServerCheck(
        zoo_target, options, state_dir=tmp_path / "s", pacer=pacer, proxy=zoo_proxy
    ) as check:
        results = check.suite()
    assert all(v.status != "broken" for _, v in results)
    assert pacer.sent == zoo_mdm.request_count <= plan.total - 1  # no preflight in a library run


def test_beyond_the_plan_nothing_is_sent(
    zoo_mdm: ReferenceMDM, zoo_target: Target, zoo_proxy: FaultProxy, tmp_path: Path
) -> None:
    options = Options(rate=0, seed=5, profile="quick")
    pacer = Pacer(tmp_path / "pacer.json", rate=0, limit=12)
    zoo_mdm.reset_records()
    with (
        ServerCheck(
            zoo_target, options, state_dir=tmp_path / "s", pacer=pacer, proxy=zoo_proxy
        ) as check,
        pytest.raises(PlanExceeded, match="the plan allows 12 requests and 12 were sent"),
    ):
        check.suite()
    assert zoo_mdm.request_count == 12
