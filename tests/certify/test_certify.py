"""mdm-harness certify, matrix, replay and report merge - and the plugin options behind them.

The end-to-end tests read two certify runs made once per session (``conftest.py``): a zoo
client that re-sends a wipe (in-process, the fastest real client) and the reference client as
two merged shards, both on a few contracts selected with -k, so they take seconds;
tests/zoo/test_zoo.py runs the whole suite against every zoo client.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.certify import report as reporting
from harness.certify.replay import load_replay
from harness.contracts.shards import Shard, matrix

from .runs import ZOO_POLICY, Run, ShardedRun, mdm_harness, refuse

# ------------------------------------------------------------------------------------ shards


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3/2", "K must be between 1 and N=2"),
        ("0/3", "K must be between 1 and N=3"),
        ("1/0", "N must be at least 1"),
        ("2", "is not K/N"),
        ("a/b", "is not K/N"),
    ],
)
def test_bad_shard_specs(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Shard.parse(text)


@pytest.mark.parametrize("total", [1, 2, 3, 7])
def test_shards_partition_every_test_exactly_once_and_balanced(total: int) -> None:
    names = [f"test_{i:03d}[{p}]" for i in range(40) for p in ("a", "b", "c")]
    shuffled = sorted(names, key=lambda n: hash(n) % 97)
    parts = [Shard(k, total).select(shuffled, key=str)[0] for k in range(1, total + 1)]
    assert sorted(n for part in parts for n in part) == sorted(names)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    # independent of the order the items come in (another machine collects in another order)
    again = [
        Shard(k, total).select(list(reversed(shuffled)), key=str)[0] for k in range(1, total + 1)
    ]
    assert [set(p) for p in parts] == [set(p) for p in again]


def test_matrix_command_prints_the_ci_matrix(tmp_path: Path) -> None:
    proc = mdm_harness("matrix", "--shards", "3", cwd=tmp_path)
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == matrix(3)
    assert [row["shard"] for row in json.loads(proc.stdout)["include"]] == ["1/3", "2/3", "3/3"]
    assert mdm_harness("matrix", "--shards", "0", cwd=tmp_path).returncode == 2


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--client", "no-such-client-command", "--policy", str(ZOO_POLICY)],
            "command 'no-such-client-command' not found on PATH",
        ),
        (
            ["--client", "zoo_clients:no_such_factory", "--policy", str(ZOO_POLICY)],
            "has no callable 'no_such_factory'",
        ),
        (["--client", "zoo_clients:ignores_backoff"], "--policy is required with --client"),
        (["--policy", "{policy}"], "--policy: "),
        (["--shard", "3/2"], "--shard: shard '3/2': K must be between 1 and N=2"),
        (["--report", "{file}/sub"], "--report: cannot write to"),
        (["-n", "zero"], "-n 'zero': expected auto or a number"),
    ],
    ids=[
        "unknown-command",
        "unknown-factory",
        "no-policy",
        "bad-policy",
        "bad-shard",
        "unwritable-report",
        "bad-workers",
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_anything_starts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    """In-process (``runs.refuse``): starting a process or a socket would fail the test."""
    bad_policy = tmp_path / "policy.yaml"
    bad_policy.write_text("timeout_ms: soon\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    args = [a.format(policy=bad_policy, file=a_file) for a in args]
    proc = refuse(
        ["certify", "--report", str(tmp_path / "report"), *args],
        cwd=tmp_path,
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert proc.stdout == ""  # nothing started: no suite, no progress
    assert not (tmp_path / "report" / "junit.xml").exists()


# ------------------------------------------------------------------------------------ end to end


def test_certify_fails_a_broken_client_and_names_the_contract(broken_run: Run) -> None:
    report, proc = broken_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED (partial run, -k" in proc.stdout and "T8 " in proc.stdout
    for name in (
        "junit.xml",
        "certification.md",
        "certification.html",
        "journal.jsonl",
        "meta.json",
    ):
        assert (report / name).is_file(), name
    md = (report / "certification.md").read_text()
    assert (
        "| T8 | MUST | transport |" in md
        and "| **BROKEN** |" in md
        and "9.9-zoo" in md
        and "| Seed | 11 |" in md
    )
    assert (
        "the MDM executed the action 2 times" in md and "fault=respond -> 503" in md
    )  # the reason and the timeline
    html = (report / "certification.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "BROKEN" in html
    assert "http://" not in html.replace("http://127.0.0.1", "").replace(
        "http://{host}", ""
    )  # self-contained
    journal = [json.loads(line) for line in (report / "journal.jsonl").read_text().splitlines()]
    assert journal and {"test", "contract", "seq", "start", "end", "client_end"} <= set(journal[0])
    # what a vendor acts on: what correct looks like, the client's words, a picture per failure
    failures = html.count("class='failure'")
    assert failures >= 1 and html.count("<svg class='timeline'") == failures
    assert html.count("What a correct client does") == failures
    assert md.count("The client's answer:") == md.count("### T8 (MUST)") >= 1
    assert "[reached the MDM]" in md  # ("[not at the MDM]": the advice run's T4 timelines)
    assert "waited " in html  # the re-send's wait, drawn between attempts
    replay = sorted((report / "failures").glob("T8-*.yaml"))[0].read_text()
    assert "\ntest: harness/contracts/test_transport.py::test_t8" in replay


def test_a_t8_picture_shows_the_action_reaching_the_mdm_twice(broken_run: Run) -> None:
    report, proc = broken_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    html = (report / "certification.html").read_text()
    svgs = [s.split("</svg>", 1)[0] for s in html.split("<svg class='timeline'")[1:]]
    assert len(svgs) == 2  # the two T8 cases selected (full_wipe, corporate_wipe)
    for svg in svgs:
        lanes = svg.split("<text x='6'")[1:]
        actions = [lane for lane in lanes if "POST action" in lane.split("</text>")[0]]
        assert len(actions) == 2, svg
        assert all("class='mdm-saw'" in lane and "reached the MDM" in lane for lane in actions)
    md = (report / "certification.md").read_text()
    assert md.count("POST") >= 2 and "executed the action 2 times" in md


def test_the_exported_replay_file_reproduces_the_failure(broken_run: Run, tmp_path: Path) -> None:
    report, _ = broken_run
    files = sorted((report / "failures").glob("T8-*.yaml"))
    assert len(files) == 2, "a replay file per failing test"
    data = load_replay(files[0])
    assert data["case"].contract == "T8" and data["seed"] == 11
    again = mdm_harness("replay", str(files[0]), cwd=tmp_path)
    assert again.returncode == 1 and "T8 BROKEN" in again.stdout, again.stdout + again.stderr
    assert "executed the action 2 times" in again.stdout
    assert "the client's answer:" in again.stdout and '"outcome": ' in again.stdout
    assert "reached the MDM]" in again.stdout
    fixed = mdm_harness(
        "replay",
        str(files[0]),
        "--client",
        "harness.client.reference:factory",
        "--policy",
        str(ZOO_POLICY),
        cwd=tmp_path,
    )
    assert fixed.returncode == 0 and "T8 holds" in fixed.stdout, fixed.stdout + fixed.stderr


def _verdicts(directory: Path) -> dict[str, str]:
    return {t.key: t.outcome for t in reporting.read_junit(directory / "junit.xml")}


def test_shards_merge_into_the_verdicts_of_one_run(advice_run: ShardedRun, broken_run: Run) -> None:
    """The advice run is two shards and their merge; the broken run is one unsharded run of the
    same selection and seed, whose verdicts differ in T8 only (the one zoo client's defect) - and
    in T4, the other's, which is also the one that depends on timing."""
    (first_run, second_run), merged_run = advice_run
    for shard in (first_run, second_run):
        assert shard.proc.returncode == 0, shard.proc.stdout + shard.proc.stderr
        assert "shard " in shard.proc.stdout.splitlines()[0]
    assert merged_run.proc.returncode == 0, merged_run.proc.stdout + merged_run.proc.stderr
    merged, first, second = (_verdicts(r.report) for r in (merged_run, first_run, second_run))
    # The merge keeps each shard's verdicts as they are, and the two shards ran exactly the
    # tests of the whole run, each once.
    assert first and second and set(first).isdisjoint(second)
    assert merged == {**first, **second}
    whole = _verdicts(broken_run.report)
    assert set(merged) == set(whole)
    # T4 cases (a backoff window, within the client's timeout) may be judged differently on a
    # loaded machine, which says nothing about merging. Every other verdict of the selection
    # does not depend on timing: the merged run's are the broken run's but for the two T8
    # cases that the broken client breaks.
    steady = {k: v for k, v in whole.items() if "::test_t4_" not in k}
    differ = {k for k, v in steady.items() if merged[k] != v}
    assert differ == {k for k in steady if "::test_t8_" in k} and len(differ) == 2
    assert all(merged[k] == "passed" and steady[k] == "failed" for k in differ)
    assert "Shards | 1/2, 2/2" in (merged_run.report / "certification.md").read_text()


def test_merging_reports_of_different_runs_is_refused(broken_run: Run, tmp_path: Path) -> None:
    whole, _ = broken_run
    other = tmp_path / "other"
    other.mkdir()
    for name in ("junit.xml", "meta.json"):
        (other / name).write_bytes((whole / name).read_bytes())
    meta = json.loads((other / "meta.json").read_text())
    meta["seed"] = 12
    (other / "meta.json").write_text(json.dumps(meta))
    proc = mdm_harness(
        "report", "merge", str(whole), str(other), "-o", str(tmp_path / "m"), cwd=tmp_path
    )
    assert proc.returncode == 2 and "disagree on seed" in proc.stderr


def test_report_diff_lists_exactly_the_contracts_the_zoo_client_breaks(
    broken_run: Run, advice_run: ShardedRun, tmp_path: Path
) -> None:
    """From the client that ignores its backoff (T4 advice) to the one that re-sends a wipe (T8
    broken, T4 kept): T8 broke - and T4's advice went, which is never "broken" nor "fixed"."""
    broken, before = broken_run.report, advice_run.merged.report
    proc = mdm_harness("report", "diff", str(before), str(broken), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    section = proc.stdout.split("broke:\n", 1)[1].split("\n", 1)[0]
    assert section.startswith("  T8: holds -> broken")
    listed = [
        line.split(" - ", 1)[0].strip()
        for line in proc.stdout.splitlines()
        if line.startswith("  ") and " -> " in line
    ]
    # nothing else broke, was fixed or changed; the advice that went is listed as advice
    assert listed == ["T8: holds -> broken", "T4 (SHOULD): advice -> holds"], proc.stdout
    assert "\nadvice (SHOULD contracts: never failing the certificate):\n  T4 " in proc.stdout
    md = mdm_harness(
        "report", "diff", str(before), str(broken), "--format", "markdown", cwd=tmp_path
    )
    assert md.returncode == 1 and "| **broke** | T8 | holds | broken |" in md.stdout
    fixed = mdm_harness("report", "diff", str(broken), str(before), cwd=tmp_path)
    assert fixed.returncode == 0 and "fixed:\n  T8: broken -> holds" in fixed.stdout
    assert "broke:" not in fixed.stdout


def test_a_failing_report_renders_in_headless_chromium(broken_run: Run, tmp_path: Path) -> None:
    """Checked as a person would: Chromium loads the page, and it has the verdict table and one
    timeline per failure."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")
    report, _ = broken_run
    page = (report / "certification.html").resolve().as_uri()
    common = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    dom = subprocess.run(
        [*common, "--dump-dom", page], capture_output=True, text=True, timeout=120
    ).stdout
    assert 'id="contracts"' in dom and "<th>verdict</th>" in dom
    failures = dom.count('class="failure"')
    assert failures >= 1 and dom.count('<svg class="timeline"') == failures
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1300,2400", page],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


# ------------------------------------------------------------------------------------ the plugin
# The plugin's options - the ini file, the command line winning over it, the header, bad values,
# a client without a policy - and its sharding of the real suite are proven in-process by
# tests/contracts/test_plugin.py (test_the_ini_file_sets_every_option,
# test_the_command_line_wins_over_the_ini_file, test_the_header_names_the_run_only_when_the_suite_
# is_collected, test_a_bad_option_value_is_a_usage_error, test_a_bad_client_or_policy_errors_the_
# tests_that_need_it, test_shards_partition_the_suite_deterministically); certify's shards of a
# real run, above. Here: the plugin as pytest autoloads it in a real process.


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts", "-p", "no:cacheprovider", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_plugin_stays_out_of_other_test_runs(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "-p", "no:cacheprovider", "test_plain.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and "1 passed" in proc.stdout
    assert "mdm-harness:" not in proc.stdout  # no header, no harness started


def test_a_client_that_cannot_run_errors_every_test_at_once(tmp_path: Path) -> None:
    """The whole suite, every test an error for that one reason (``--tb=line``: one line per
    error, which also lets the count prove *every* test got it)."""
    proc = _pytest(
        tmp_path,
        "-q",
        "--tb=line",
        "-p",
        "no:xdist",
        "--mdm-client",
        "no-such-client-command",
        "--mdm-policy",
        str(ZOO_POLICY),
    )
    assert proc.returncode == 1
    reason = "the client under test cannot run: cannot execute 'no-such-client-command'"
    errors = re.search(r"\n(\d+) errors in ", proc.stdout)
    assert errors and int(errors.group(1)) > 100, proc.stdout[-500:]
    assert proc.stdout.count(reason) == int(errors.group(1))
    assert " passed" not in proc.stdout and " failed" not in proc.stdout
