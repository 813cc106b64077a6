"""``tox -e gallery``: certify each gallery client and hold it to its exact failing contracts.

Each client (``examples/clients/<name>``) is certified through its adapter with the policy its
documentation promises - quick profile, the fixed seed of ``expected.py`` - and the contracts
its certificate breaks (MUST) and advises on (SHOULD) must be exactly the ones
``expected.py`` lists and justifies: a new failure is a regression of the harness or of the
adapter, a missing one means the harness stopped seeing a documented defect. Minutes per
client, so these run only with ``-m gallery``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gallery.expected import CLIENTS, SEED, Expected
from lxml import etree

from harness.client.policy import load_policy

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "clients"


def adapter(name: str) -> Path:
    (found,) = sorted(GALLERY.joinpath(name).glob("adapter.*"))
    return found


def environment() -> dict[str, str]:
    """The caller's environment with this interpreter's bin directory first on PATH: the
    Python adapters (``#!/usr/bin/env python3``) and the shell adapters' helper then run on
    the interpreter that has the gallery's dependencies."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def certify(client: str, policy: Path, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "harness.cli", "certify", "--client", client,
        "--policy", str(policy), "--profile", "quick", "--seed", str(SEED),
        "--report", str(report), "-n", "2",
    ]  # fmt: skip
    return subprocess.run(
        command, env=environment(), capture_output=True, text=True, timeout=3600, check=False
    )


def failing(report: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``(broken, advice)``: each failing contract with the cases that failed it and why."""
    broken: dict[str, list[str]] = {}
    advice: dict[str, list[str]] = {}
    for path in sorted(report.glob("verdicts-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            verdict = record["verdict"]
            if verdict["passed"]:
                continue
            into = broken if verdict["level"] == "MUST" else advice
            test = record["test"].rsplit("::", 1)[-1]
            into.setdefault(verdict["contract"], []).append(f"{test}: {verdict['reason']}")
    return broken, advice


def junit_errors(report: Path) -> int:
    """Tests that errored (the harness failed, not the client)."""
    root = etree.parse(str(report / "junit.xml")).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    return sum(int(s.get("errors", "0")) for s in suites)


def skip_unless_runnable(client: Expected) -> None:
    missing = [c for c in client.needs if shutil.which(c) is None]
    if missing:
        pytest.skip(f"{client.name}: {', '.join(missing)} not on PATH")
    if client.name == "requests":
        pytest.importorskip("requests", reason="requests is installed by tox -e gallery only")


@pytest.mark.gallery
@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.name)
def test_a_gallery_client_fails_exactly_its_documented_contracts(
    client: Expected, tmp_path: Path
) -> None:
    skip_unless_runnable(client)
    report = tmp_path / "report"
    proc = certify(str(adapter(client.name)), GALLERY / client.name / "policy.yaml", report)
    assert proc.returncode in (0, 1), (
        f"certify could not run:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    assert junit_errors(report) == 0, proc.stdout[-5000:]
    broken, advice = failing(report)
    shown = "\n".join(
        f"  {cid}: {case}"
        for found in (broken, advice)
        for cid, cases in found.items()
        for case in cases
    )
    assert set(broken) == set(client.broken) | set(client.harness), (
        f"{client.name} breaks {sorted(broken)}, expected {sorted(set(client.broken) | set(client.harness))}:\n{shown}"
    )
    assert set(advice) == set(client.advice), (
        f"{client.name} is advised on {sorted(advice)}, expected {sorted(client.advice)}:\n{shown}"
    )


#: Contracts no policy can waive: what a client must do whatever it declares.
BASELINE = frozenset({"T8", *(f"P{i}" for i in range(1, 6)), *(f"R{i}" for i in range(1, 7))}) | {
    f"S{i}" for i in range(1, 6)
}


def waivable(contract: str, cases: list[str]) -> list[str]:
    """The cases of a broken contract that a (better) policy could have waived: none for the
    baseline contracts, T3's never-retried statuses, or a hang the client never ended."""
    if contract in BASELINE:
        return []
    return [
        case
        for case in cases
        if not (
            (contract == "T3" and case.startswith("test_t3_client_errors_are_never_retried"))
            or (contract == "T1" and "overran the hard limit" in case)
        )
    ]


@pytest.mark.gallery
@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.name)
def test_certify_with_the_inferred_policy_breaks_only_baseline_rules(
    client: Expected, tmp_path: Path
) -> None:
    """``policy infer`` writes what the client does; held to that, it can only break the rules
    no policy waives (and the harness false alarms ``expected.py`` keeps visible)."""
    skip_unless_runnable(client)
    policy = tmp_path / "inferred.yaml"
    timeout_ms = load_policy(GALLERY / client.name / "policy.yaml").timeout_ms
    inferred = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "policy",
            "infer",
            "--client",
            str(adapter(client.name)),
            "--out",
            str(policy),
            "--timeout-ms",
            str(timeout_ms),
        ],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert inferred.returncode == 0, inferred.stderr[-5000:]
    report = tmp_path / "report"
    proc = certify(str(adapter(client.name)), policy, report)
    assert proc.returncode in (0, 1), f"certify could not run:\n{proc.stdout[-3000:]}"
    assert junit_errors(report) == 0, proc.stdout[-5000:]
    broken, advice = failing(report)
    wrong = {
        cid: left
        for cid, cases in broken.items()
        if cid not in client.harness and (left := waivable(cid, cases))
    }
    assert not wrong and not advice, (
        f"{client.name} with its inferred policy:\n{policy.read_text()}\n"
        f"broken beyond the baseline: {wrong}\nadvice: {advice}\n{inferred.stderr[-3000:]}"
    )
