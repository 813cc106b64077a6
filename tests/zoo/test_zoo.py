"""Every contract bites: the suite fails each zoo client on exactly the contracts its defect
breaks, and keeps every contract for honest clients - the bundled reference client, the
reference client on policies unlike its own (no retries at all, an immediate first retry,
linear and listed backoff), and a client that answers authentication challenges.

The suite runs in a child pytest (the way a vendor runs it) and this test reads what it
judged: the broken contracts from its JUnit report, and the advice (a failed SHOULD contract,
which fails no test) from the verdict records of ``--mdm-report``. The seed is fixed so CI is
deterministic; set ``MDM_HARNESS_ZOO_SEED`` to try another (the failure message names it).

What runs where (README, "Development"):

* The default run judges the whole zoo in **one** child session, a matrix
  (:mod:`zoo_matrix`): every contract test is parametrized over the zoo clients, and each of
  the child's workers keeps one lab for all of them. The reference client (in-process, on its
  own policy) and the honest clients run every test of the suite: that is what proves there
  are no false alarms. A broken zoo client runs the tests of every **group** its declared
  contracts belong to (the contracts that inject the same families of faults: connection and
  timing faults; malformed bodies; server behaviour; certificates, entities and redirects),
  where a defect shows if it shows at all: each declared contract must break, and no other
  contract of those groups.
* ``--zoo-full`` (``tox -e zoo``) runs each client alone instead, in a child session of its
  own on the whole suite the way a vendor does (``--mdm-client``; the reference client as a
  real subprocess): that also proves "and nothing else" across groups.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

ZOO_DIR = Path(__file__).parent
sys.path.insert(0, str(ZOO_DIR))
from zoo_clients import HONEST, ZOO  # noqa: E402
from zoo_matrix import (  # noqa: E402
    REFERENCE,
    REFERENCE_CLIENT,
    client_text,
    entry,
    entry_of_test,
    groups_of,
    reference_policy,
)

from harness.contracts.catalog import CONTRACTS  # noqa: E402

SEED = os.environ.get("MDM_HARNESS_ZOO_SEED", "1729")
#: Workers of the matrix's child session: most of a case is waiting (timeouts, hangs, backoff),
#: so more workers than cores overlap the waits.
MATRIX_WORKERS = 4
#: Every client of the matrix: the reference client, the honest clients, the broken ones.
MATRIX = [REFERENCE, *sorted(HONEST), *sorted(ZOO)]


def _run_suite(tmp_path: Path, *args: str) -> tuple[Path, Path, int, str]:
    """Run the contract suite in a child pytest; return its JUnit file, its verdict records'
    directory, its exit code and the tail of its output."""
    junit, report = tmp_path / "junit.xml", tmp_path / "verdicts"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ZOO_DIR), os.environ.get("PYTHONPATH")])),
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [
        sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts",
        "-p", "no:cacheprovider", "-q", "-rfE",
        "--mdm-profile", "quick", "--mdm-seed", SEED,
        "--mdm-report", str(report), "--junitxml", str(junit), *args,
    ]  # fmt: skip
    proc = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
    return junit, report, proc.returncode, tail


def _cases(junit: Path) -> list[tuple[ET.Element, dict[str, str | None]]]:
    """Each test case of a JUnit file with its properties."""
    if not junit.exists():
        return []
    return [
        (case, {p.get("name") or "": p.get("value") for p in case.iter("property")})
        for case in ET.parse(junit).iter("testcase")
    ]


def _broken(case: ET.Element, props: dict[str, str | None]) -> str | None:
    """The contract a failed or errored test case broke (or says it could not be judged)."""
    if case.find("failure") is None and case.find("error") is None:
        return None
    if props.get("harness_error"):
        return f"(harness error: {case.get('name')}: {props['harness_error']})"
    return props.get("contract") or f"(no contract: {case.get('name')})"


def _advised(report: Path) -> list[tuple[str, str]]:
    """``(test id, contract)`` of every failed SHOULD verdict (advice) in the records."""
    found = []
    for path in report.glob("verdicts-*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            verdict = record["verdict"]
            if not verdict["passed"] and verdict["level"] == "SHOULD":
                found.append((record["test"], verdict["contract"]))
    return found


def _run_one(tmp_path: Path, client: str, policy: Path) -> tuple[set[str], int, str]:
    """Run the whole suite against one client, alone; return the contracts it judged broken or
    advised against, its exit code and the tail of its output."""
    junit, report, code, tail = _run_suite(
        tmp_path, "-n", "0", "--mdm-client", client, "--mdm-policy", str(policy)
    )
    broken = {c for case, props in _cases(junit) if (c := _broken(case, props))}
    broken |= {contract for _, contract in _advised(report)}
    return broken, code, tail


def _expected(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """What a matrix client must break, and what it may break besides."""
    zoo = ZOO.get(name)
    return (zoo.breaks, zoo.may_break) if zoo else (frozenset(), frozenset())


@pytest.mark.zoo_matrix
def test_the_zoo_matrix_breaks_each_client_exactly_on_its_contracts(tmp_path: Path) -> None:
    """One child session judges every zoo client (see the module's text): each broken client
    breaks exactly its declared contracts (tolerating ``may_break``); the reference and honest
    clients keep every contract of the suite."""
    junit, report, code, tail = _run_suite(
        tmp_path, "-n", str(MATRIX_WORKERS), "-p", "zoo_matrix", "--zoo-matrix", ",".join(MATRIX),
        "--mdm-client", REFERENCE_CLIENT, "--mdm-policy", str(reference_policy()),
    )  # fmt: skip
    assert code in (0, 1) and junit.exists(), f"exit {code} (seed {SEED}):\n{tail}"
    broken: dict[str, set[str]] = defaultdict(set)
    ran: dict[str, set[str]] = defaultdict(set)  # the contracts each client ran the tests of
    counts: dict[str, int] = defaultdict(int)
    problems = []
    for case, props in _cases(junit):
        name = props.get("zoo")
        if case.find("skipped") is not None or name is None:
            problems.append(f"{case.get('name')}: skipped, or names no zoo client")
            continue
        counts[name] += 1
        ran[name].add(str(props.get("contract")))
        if contract := _broken(case, props):
            broken[name].add(contract)
    for test, contract in _advised(report):
        broken[entry_of_test(test) or f"(no zoo client: {test})"].add(contract)
    suite = max(counts.values(), default=0)  # the honest clients run every test
    for name in [*MATRIX, *sorted(set(broken) - set(MATRIX))]:
        must, may = _expected(name)
        if not must <= broken[name] <= must | may:
            problems.append(
                f"{name} should break exactly {sorted(must)} (and may break {sorted(may)}),"
                f" broke {sorted(broken[name])}"
            )
        wanted = entry(name).contracts if name in MATRIX else set()
        if ran[name] != wanted or (name not in ZOO and counts[name] != suite):
            problems.append(f"{name} ran {counts[name]} tests, of {sorted(ran[name])}")
    assert not problems, "\n".join([*problems, f"(seed {SEED})", tail])


@pytest.mark.zoo_full
@pytest.mark.parametrize("name", sorted(ZOO))
def test_the_suite_fails_a_broken_client_exactly_on_its_contracts(
    tmp_path: Path, name: str
) -> None:
    """Alone, on the whole suite (``--zoo-full``)."""
    zoo = ZOO[name]
    broken, code, tail = _run_one(tmp_path, client_text(name, zoo.exec_form), zoo.policy)
    must = {c for c in zoo.breaks if CONTRACTS[c].level == "MUST"}
    assert code == (1 if must else 0), f"{name}: exit {code} (seed {SEED}):\n{tail}"
    assert zoo.breaks <= broken <= zoo.breaks | zoo.may_break, (
        f"{name} should break exactly {sorted(zoo.breaks)} (and may break {sorted(zoo.may_break)}),"
        f" broke {sorted(broken)} on the whole suite (seed {SEED}):\n{tail}"
    )


def test_the_matrix_runs_a_broken_client_on_its_contracts_and_an_honest_one_on_all() -> None:
    assert entry("ignores_timeout").contracts == {"T1"}
    assert entry("accepts_truncated").contracts == {"T7", "T4", "T5"}
    everything = set(CONTRACTS)
    assert entry(REFERENCE).contracts == entry("never_retries").contracts == everything
    assert str(entry("never_retries").policy).endswith("never-retries.yaml")
    # --zoo-scope groups: every contract of the groups of its contracts
    assert groups_of(frozenset({"P3", "R2"})) == ("parsing", "protocol")
    assert entry("lenient_structure", "groups").contracts == {
        c for c in CONTRACTS if CONTRACTS[c].group in ("parsing", "protocol")
    }
    assert entry_of_test("test_t1_x[zoo:ignores_timeout-connect]") == "ignores_timeout"
    assert entry_of_test("test_r6_y[zoo:reference]") == "reference"
    assert entry_of_test("test_p1[default-namespace]") is None
    with pytest.raises(ValueError, match="no zoo client 'nope'"):
        entry("nope")


@pytest.mark.zoo_full
def test_the_reference_client_keeps_every_contract(tmp_path: Path) -> None:
    """As a real subprocess, alone, on the whole suite (``--zoo-full``)."""
    from harness.client import REFERENCE_POLICY_PATH

    client = f"{sys.executable} -P -m harness.client.reference --quiet"
    broken, code, tail = _run_one(tmp_path, client, Path(REFERENCE_POLICY_PATH))
    assert (code, broken) == (0, set()), f"seed {SEED}:\n{tail}"
    assert " passed" in tail and "skipped" not in tail, tail


@pytest.mark.zoo_full
@pytest.mark.parametrize("name", sorted(HONEST))
def test_an_honest_client_keeps_every_contract(tmp_path: Path, name: str) -> None:
    """No false alarms: a client that does exactly what its policy declares passes, whatever
    the policy (the reference client runs on its policy's arithmetic); alone (``--zoo-full``)."""
    honest = HONEST[name]
    broken, code, tail = _run_one(tmp_path, client_text(name, honest.exec_form), honest.policy)
    assert (code, broken) == (0, set()), f"{name} (seed {SEED}):\n{tail}"
    assert " passed" in tail and "skipped" not in tail, tail


def _certify_never_retries(tmp_path: Path, *selection: str) -> tuple[int, str, str]:
    """``mdm-harness certify`` the reference client as a real subprocess on a policy that
    retries nothing (and reports every failure); return its exit code, output and tail."""
    policy = ZOO_DIR / "never-retries.yaml"
    client = f"{sys.executable} -P -m harness.client.reference --quiet --policy {policy}"
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "harness.cli", "certify", "--client", client,
         "--policy", str(policy), "--profile", "quick", "--seed", SEED, "-n", "1",
         "--report", str(tmp_path / "report"), *selection],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return proc.returncode, proc.stdout, "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])


@pytest.mark.zoo_matrix
def test_the_reference_client_keeps_the_policy_it_is_given_as_a_subprocess(
    tmp_path: Path,
) -> None:
    """``mdm-harness certify`` end to end on the contracts a policy's retries decide (T2: how
    many attempts, T4: which retries and their waits): the exec form's ``--policy`` is the
    policy it keeps (on its default policy it would retry, and break T2). The matrix proves
    the whole suite on that policy (``never_retries``, in-process); ``--zoo-full`` certifies
    the subprocess on the whole suite."""
    code, out, tail = _certify_never_retries(tmp_path, "-k", "t2 or t4")
    assert code == 0 and "PASSED (partial run" in out, tail
    assert re.search(r"T2\s+MUST\s+holds", out) and re.search(r"T4\s+SHOULD\s+holds", out), tail


@pytest.mark.zoo_full
def test_a_client_that_never_retries_is_certified(tmp_path: Path) -> None:
    """``mdm-harness certify`` end to end: the reference client as a real subprocess on a
    policy that retries nothing (and reports every failure) is CERTIFIED (``--zoo-full``)."""
    code, out, tail = _certify_never_retries(tmp_path)
    assert code == 0 and "CERTIFIED" in out and "NOT CERTIFIED" not in out, tail


def test_every_contract_has_a_zoo_client_that_breaks_it() -> None:
    covered = set().union(*(z.breaks for z in ZOO.values()))
    assert covered == set(CONTRACTS)


def _strict_spelling_failure(tmp_path: Path, profile: str) -> str:
    """The P1 capitalised-document test against a client that cannot read capitalised
    elements, in a child run of the suite on ``profile``: its output, the drawn document's
    line (after checking the run failed and says how to replay it)."""
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts", "-p", "no:cacheprovider", "-n", "0",
         "--mdm-profile", profile, "--mdm-seed", SEED, "--mdm-client", "zoo_clients:strict_spelling",
         "--mdm-policy", str(ZOO_DIR / "zoo-policy.yaml"), "-k", "p1_device and capitalised"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ZOO_DIR)),
    )  # fmt: skip
    text = proc.stdout
    assert proc.returncode == 1, text
    assert "Draw 1 (document): Document(" in text and "@reproduce_failure(" in text
    assert f"--mdm-seed {SEED}" in text
    drawn = text.split("Draw 1 (document):", 1)[1].split("\n", 1)[0]
    assert "<Attributes" in drawn, drawn
    return drawn


def test_a_failing_case_prints_what_was_drawn_and_how_to_replay_it(tmp_path: Path) -> None:
    """The quick profile reports the first failing example as drawn (no shrinking), with the
    seed and hypothesis's reproduction blob. That the document strategy shrinks to the
    smallest failing document is shown in process by
    ``tests/contracts/test_strategies.py::test_a_failing_document_shrinks_to_the_smallest_that_still_fails``,
    and through the whole lab by the next test (``--zoo-full``)."""
    _strict_spelling_failure(tmp_path, "quick")


@pytest.mark.zoo_full
def test_a_failing_case_is_shrunk_to_a_minimal_document_and_prints_how_to_replay_it(
    tmp_path: Path,
) -> None:
    """The standard profile shrinks: a client that cannot read capitalised Attributes is shown
    the smallest document that breaks it, with the seed and hypothesis's reproduction blob."""
    drawn = _strict_spelling_failure(tmp_path, "standard")
    # minimal: one device, its attributes element capitalised, and none of the optional fields
    assert drawn.count("<device>") == 1 and "<Attributes" in drawn
    assert "<model>" not in drawn and "<udid>" not in drawn and "<macaddresses>" not in drawn, drawn
