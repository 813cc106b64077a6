"""Every contract bites: the suite fails each zoo client on exactly the contracts its defect
breaks, and keeps every contract for honest clients - the bundled reference client, the
reference client on policies unlike its own (no retries at all, an immediate first retry,
linear and listed backoff), and a client that answers authentication challenges.

Each test runs the contract suite in a child pytest (the way a vendor runs it), against one
client, and reads what it judged: the broken contracts from its JUnit report, and the advice
(a failed SHOULD contract, which fails no test) from the verdict records of ``--mdm-report``.
The seed is fixed so CI is deterministic; set ``MDM_HARNESS_ZOO_SEED`` to try another (the
failure message names it).

What runs where (README, "Development"):

* The reference client and the honest clients always run the **whole** suite: that is what
  proves there are no false alarms.
* A broken zoo client runs, by default, the tests of every **group** its declared contracts
  belong to (``-m transport``, say): each declared contract must break, and no other contract
  of those groups - the contracts that inject the same families of faults (connection and
  timing faults; malformed bodies; server behaviour; certificates, entities and redirects),
  where a defect shows if it shows at all. ``--zoo-full`` (``tox -e zoo``) runs every zoo
  client on the whole suite instead, which also proves "and nothing else" across groups.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ZOO_DIR = Path(__file__).parent
sys.path.insert(0, str(ZOO_DIR))
from zoo_clients import HONEST, ZOO  # noqa: E402

from harness.contracts.catalog import CONTRACTS, GROUPS  # noqa: E402

SEED = os.environ.get("MDM_HARNESS_ZOO_SEED", "1729")


def _run_suite(tmp_path: Path, client: str, policy: Path, *extra: str) -> tuple[set[str], int, str]:
    """Run the suite; return the contracts it judged broken or advised against, its exit code
    and the tail of its output."""
    junit, report = tmp_path / "junit.xml", tmp_path / "verdicts"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ZOO_DIR), os.environ.get("PYTHONPATH")])),
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [
        sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts",
        "-p", "no:cacheprovider", "-q", "-n", "0",
        "--mdm-profile", "quick", "--mdm-seed", SEED,
        "--mdm-client", client, "--mdm-policy", str(policy),
        "--mdm-report", str(report), "--junitxml", str(junit), *extra,
    ]  # fmt: skip
    proc = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    broken: set[str] = set()
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                props = {p.get("name"): p.get("value") for p in case.iter("property")}
                broken.add(props.get("contract") or f"(no contract: {case.get('name')})")
    for path in report.glob("verdicts-*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            verdict = json.loads(line)["verdict"]
            if not verdict["passed"] and verdict["level"] == "SHOULD":
                broken.add(verdict["contract"])
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
    return broken, proc.returncode, tail


def _client(name: str, exec_form: bool) -> str:
    if exec_form:
        return f"{sys.executable} {ZOO_DIR / 'run_zoo.py'} {name}"
    return f"zoo_clients:{name}"


def groups_of(contracts: frozenset[str]) -> list[str]:
    """The contract groups a zoo client's declared contracts belong to, in catalog order."""
    return [g for g in GROUPS if any(CONTRACTS[c].group == g for c in contracts)]


@pytest.mark.parametrize("name", sorted(ZOO))
def test_the_suite_fails_a_broken_client_exactly_on_its_contracts(
    tmp_path: Path, name: str, pytestconfig: pytest.Config
) -> None:
    """Within the groups of its contracts (the whole suite with ``--zoo-full``)."""
    zoo = ZOO[name]
    full = bool(pytestconfig.getoption("zoo_full"))
    groups = groups_of(zoo.breaks | zoo.may_break)
    scope = [] if full else ["-m", " or ".join(groups)]
    where = "the whole suite" if full else f"groups {', '.join(groups)}"
    broken, code, tail = _run_suite(tmp_path, _client(name, zoo.exec_form), zoo.policy, *scope)
    must = {c for c in zoo.breaks if CONTRACTS[c].level == "MUST"}
    assert code == (1 if must else 0), f"{name} on {where}: exit {code} (seed {SEED}):\n{tail}"
    assert zoo.breaks <= broken <= zoo.breaks | zoo.may_break, (
        f"{name} should break exactly {sorted(zoo.breaks)} (and may break {sorted(zoo.may_break)}),"
        f" broke {sorted(broken)} on {where} (seed {SEED}):\n{tail}"
    )
    if not full:
        assert {CONTRACTS[c].group for c in broken} <= set(groups), tail  # the -m selected


def test_every_zoo_client_runs_fewer_groups_than_the_suite_has() -> None:
    """The default run's saving is real: no zoo client needs every group (else use the suite)."""
    assert all(len(groups_of(z.breaks | z.may_break)) < len(GROUPS) for z in ZOO.values())
    assert groups_of(frozenset({"P3", "R2"})) == ["parsing", "protocol"]


def test_the_reference_client_keeps_every_contract(tmp_path: Path) -> None:
    from harness.client import REFERENCE_POLICY_PATH

    client = f"{sys.executable} -P -m harness.client.reference --quiet"
    broken, code, tail = _run_suite(tmp_path, client, Path(REFERENCE_POLICY_PATH))
    assert (code, broken) == (0, set()), f"seed {SEED}:\n{tail}"
    assert " passed" in tail and "skipped" not in tail, tail


@pytest.mark.parametrize("name", sorted(HONEST))
def test_an_honest_client_keeps_every_contract(tmp_path: Path, name: str) -> None:
    """No false alarms: a client that does exactly what its policy declares passes, whatever
    the policy (the reference client runs on its policy's arithmetic)."""
    honest = HONEST[name]
    broken, code, tail = _run_suite(tmp_path, _client(name, honest.exec_form), honest.policy)
    assert (code, broken) == (0, set()), f"{name} (seed {SEED}):\n{tail}"
    assert " passed" in tail and "skipped" not in tail, tail


def test_a_client_that_never_retries_is_certified(tmp_path: Path) -> None:
    """``mdm-harness certify`` end to end: the reference client as a real subprocess on a
    policy that retries nothing (and reports every failure) is CERTIFIED."""
    policy = ZOO_DIR / "never-retries.yaml"
    client = f"{sys.executable} -P -m harness.client.reference --quiet --policy {policy}"
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "harness.cli", "certify", "--client", client,
         "--policy", str(policy), "--profile", "quick", "--seed", SEED, "-n", "1",
         "--report", str(tmp_path / "report")],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
    assert (
        proc.returncode == 0 and "CERTIFIED" in proc.stdout and "NOT CERTIFIED" not in proc.stdout
    ), tail


def test_every_contract_has_a_zoo_client_that_breaks_it() -> None:
    covered = set().union(*(z.breaks for z in ZOO.values()))
    assert covered == set(CONTRACTS)


def test_a_failing_case_is_shrunk_to_a_minimal_document_and_prints_how_to_replay_it(
    tmp_path: Path,
) -> None:
    """The standard profile shrinks: a client that cannot read capitalised Attributes is shown
    the smallest document that breaks it, with the seed and hypothesis's reproduction blob."""
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts", "-p", "no:cacheprovider", "-n", "0",
         "--mdm-profile", "standard", "--mdm-seed", SEED, "--mdm-client", "zoo_clients:strict_spelling",
         "--mdm-policy", str(ZOO_DIR / "zoo-policy.yaml"), "-k", "p1_device and capitalised"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ZOO_DIR)),
    )  # fmt: skip
    text = proc.stdout
    assert proc.returncode == 1, text
    assert "Draw 1 (document): Document(" in text and "@reproduce_failure(" in text
    assert f"--mdm-seed {SEED}" in text
    drawn = text.split("Draw 1 (document):", 1)[1].split("\n", 1)[0]
    # minimal: one device, its attributes element capitalised, and none of the optional fields
    assert drawn.count("<device>") == 1 and "<Attributes" in drawn
    assert "<model>" not in drawn and "<udid>" not in drawn and "<macaddresses>" not in drawn, drawn
