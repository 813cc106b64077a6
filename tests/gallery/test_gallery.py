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
