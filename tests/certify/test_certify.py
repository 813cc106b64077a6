"""mdm-harness certify, matrix, replay and report merge - and the plugin options behind them.

The end-to-end tests certify a zoo client (in-process, the fastest real client) on a few
contracts selected with -k, so they take seconds; tests/test_zoo.py runs the whole suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.certify import report as reporting
from harness.certify.replay import load_replay
from harness.contracts.shards import Shard, matrix

ZOO_DIR = Path(__file__).parents[1] / "zoo"
ZOO_POLICY = ZOO_DIR / "zoo-policy.yaml"


def mdm_harness(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ZOO_DIR), os.environ.get("PYTHONPATH")])),
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-P", "-m", "harness", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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


def test_plugin_shards_the_collected_contract_tests(tmp_path: Path) -> None:
    def collected(*extra: str) -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts", "--collect-only", "-q", "-p", "no:cacheprovider", *extra],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return [line for line in proc.stdout.splitlines() if "::" in line]

    everything = collected()
    shards = [collected("--mdm-shard", f"{k}/3") for k in (1, 2, 3)]
    assert len(everything) > 100
    assert sorted(everything) == sorted(n for part in shards for n in part)
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


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
    tmp_path: Path, args: list[str], message: str
) -> None:
    bad_policy = tmp_path / "policy.yaml"
    bad_policy.write_text("timeout_ms: soon\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    args = [a.format(policy=bad_policy, file=a_file) for a in args]
    proc = mdm_harness(
        "certify", "--report", str(tmp_path / "report"), *args, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert proc.stdout == ""  # nothing started: no suite, no progress
    assert not (tmp_path / "report" / "junit.xml").exists()


# ------------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def broken_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A zoo client that retries client errors (T3, a MUST), certified on a few contracts."""
    where = tmp_path_factory.mktemp("certify")
    proc = mdm_harness(
        "certify", "--client", "zoo_clients:retries_401", "--policy", str(ZOO_POLICY),
        "--client-version", "9.9-zoo", "-n", "1", "-k", "t4 or r6 or t3_client",
        "--seed", "11", "--report", str(where / "report"), cwd=where,
    )  # fmt: skip
    return where / "report", proc


def test_certify_fails_a_broken_client_and_names_the_contract(
    broken_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    report, proc = broken_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED (partial run, -k" in proc.stdout and "T3 " in proc.stdout
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
        "| T3 | MUST | transport |" in md
        and "| **BROKEN** |" in md
        and "9.9-zoo" in md
        and "| Seed | 11 |" in md
    )
    assert (
        "which is never retried" in md and "fault=respond -> 401" in md
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
    assert md.count("The client's answer:") == md.count("### T3 (MUST)") >= 1
    assert "[reached the MDM]" in md and "[not at the MDM]" in md
    assert "waited " in html  # the retry's wait, drawn between attempts
    replay = sorted((report / "failures").glob("T3-*.yaml"))[0].read_text()
    assert "\ntest: harness/contracts/test_transport.py::test_t3" in replay


def test_the_exported_replay_file_reproduces_the_failure(
    broken_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    report, _ = broken_run
    files = sorted((report / "failures").glob("T3-*.yaml"))
    assert files, "a replay file per failing test"
    data = load_replay(files[0])
    assert data["case"].contract == "T3" and data["seed"] == 11
    again = mdm_harness("replay", str(files[0]), cwd=tmp_path)
    assert again.returncode == 1 and "T3 BROKEN" in again.stdout, again.stdout + again.stderr
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
    assert fixed.returncode == 0 and "T3 holds" in fixed.stdout, fixed.stdout + fixed.stderr


def test_shards_merge_into_the_verdicts_of_one_run(
    broken_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    whole, _ = broken_run
    for k in (1, 2):
        proc = mdm_harness(
            "certify", "--client", "zoo_clients:retries_401", "--policy", str(ZOO_POLICY),
            "-n", "1", "-k", "t4 or r6 or t3_client", "--seed", "11", "--shard", f"{k}/2",
            "--report", str(tmp_path / f"shard{k}"), cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    merged = mdm_harness(
        "report",
        "merge",
        str(tmp_path / "shard1"),
        str(tmp_path / "shard2"),
        "-o",
        str(tmp_path / "merged"),
        cwd=tmp_path,
    )
    assert merged.returncode == 1, merged.stdout + merged.stderr

    def verdicts(directory: Path) -> dict[str, str]:
        return {t.key: t.outcome for t in reporting.read_junit(directory / "junit.xml")}

    merged, first, second = (verdicts(tmp_path / d) for d in ("merged", "shard1", "shard2"))
    # The merge keeps each shard's verdicts as they are, and the two shards ran exactly the
    # tests of the whole run, each once.
    assert first and second and set(first).isdisjoint(second)
    assert merged == {**first, **second}
    assert set(merged) == set(verdicts(whole))
    # The shards are other runs than the whole one: a T4 case (a backoff window, within the
    # client's timeout) may be judged differently on a loaded machine, which says nothing
    # about merging. Every other verdict of the selection does not depend on timing, and is
    # the whole run's.
    steady = {k: v for k, v in verdicts(whole).items() if "::test_t4_" not in k}
    assert steady and {k: merged[k] for k in steady} == steady
    assert "Shards | 1/2, 2/2" in (tmp_path / "merged" / "certification.md").read_text()


def test_merging_reports_of_different_runs_is_refused(
    broken_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
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


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference client on the same selection and seed as ``broken_run``."""
    where = tmp_path_factory.mktemp("certify-reference")
    proc = mdm_harness(
        "certify", "--client", "harness.client.reference:factory", "--policy", str(ZOO_POLICY),
        "-n", "1", "-k", "t4 or r6 or t3_client", "--seed", "11",
        "--report", str(where / "report"), cwd=where,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return where / "report"


def test_report_diff_lists_exactly_the_contracts_the_zoo_client_breaks(
    broken_run: tuple[Path, subprocess.CompletedProcess[str]], reference_run: Path, tmp_path: Path
) -> None:
    broken, _ = broken_run
    proc = mdm_harness("report", "diff", str(reference_run), str(broken), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    section = proc.stdout.split("broke:\n", 1)[1].split("\n", 1)[0]
    assert section.startswith("  T3: holds -> broken")
    listed = [
        line.split(":")[0].strip()
        for line in proc.stdout.splitlines()
        if line.startswith("  ") and " -> " in line
    ]
    assert listed == ["T3"], proc.stdout  # nothing else broke, was fixed or changed
    md = mdm_harness(
        "report", "diff", str(reference_run), str(broken), "--format", "markdown", cwd=tmp_path
    )
    assert md.returncode == 1 and "| **broke** | T3 | holds | broken |" in md.stdout
    fixed = mdm_harness("report", "diff", str(broken), str(reference_run), cwd=tmp_path)
    assert fixed.returncode == 0 and "fixed:\n  T3: broken -> holds" in fixed.stdout


def test_a_t8_picture_shows_the_action_reaching_the_mdm_twice(tmp_path: Path) -> None:
    proc = mdm_harness(
        "certify", "--client", "zoo_clients:resends_wipe", "--policy", str(ZOO_POLICY),
        "-n", "1", "-k", "t8 and reply-503", "--seed", "11", "--report", str(tmp_path / "r"),
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    html = (tmp_path / "r" / "certification.html").read_text()
    svg = html.split("<svg class='timeline'", 1)[1].split("</svg>", 1)[0]
    lanes = svg.split("<text x='6'")[1:]
    actions = [lane for lane in lanes if "POST action" in lane.split("</text>")[0]]
    assert len(actions) == 2, svg
    assert all("class='mdm-saw'" in lane and "reached the MDM" in lane for lane in actions)
    md = (tmp_path / "r" / "certification.md").read_text()
    assert md.count("POST") >= 2 and "executed the action 2 times" in md


def test_a_failing_report_renders_in_headless_chromium(
    broken_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
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


# ------------------------------------------------------------------------------------ replay files


# ------------------------------------------------------------------------------------ the plugin


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts", "-p", "no:cacheprovider", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mdm-seed", "abc"], "--mdm-seed='abc' is not an integer"),
        (["--mdm-shard", "3/2"], "--mdm-shard: shard '3/2': K must be between 1 and N=2"),
        (["--mdm-profile", "bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_plugin_refuses_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    proc = _pytest(tmp_path, "--collect-only", *args)
    assert proc.returncode in (2, 4) and message in proc.stderr, proc.stdout + proc.stderr


def test_plugin_options_also_come_from_an_ini_file_and_the_command_line_wins(
    tmp_path: Path,
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmdm_seed = 77\nmdm_profile = thorough\n")
    header = _pytest(
        tmp_path, "--collect-only", "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path)
    )
    assert "seed=77" in header.stdout and "profile=thorough" in header.stdout, header.stdout
    override = _pytest(
        tmp_path,
        "--collect-only",
        "-c",
        str(tmp_path / "pytest.ini"),
        "--rootdir",
        str(tmp_path),
        "--mdm-seed",
        "5",
    )
    assert "seed=5" in override.stdout and "--mdm-seed 5" in override.stdout


def test_a_client_without_a_policy_is_a_usage_error(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "-q", "-k", "r6", "--mdm-client", "zoo_clients:ignores_backoff")
    assert (
        proc.returncode != 0
        and "--mdm-policy is required with --mdm-client" in proc.stdout + proc.stderr
    )


def test_the_plugin_stays_out_of_other_test_runs(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "-p", "no:cacheprovider", "test_plain.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and "1 passed" in proc.stdout
    assert "mdm-harness:" not in proc.stdout  # no header, no harness started


def test_a_client_that_cannot_run_errors_every_test_at_once(tmp_path: Path) -> None:
    proc = _pytest(
        tmp_path,
        "-q",
        "-p",
        "no:xdist",
        "--mdm-client",
        "no-such-client-command",
        "--mdm-policy",
        str(ZOO_POLICY),
    )
    assert proc.returncode == 1
    assert (
        "the client under test cannot run: cannot execute 'no-such-client-command'" in proc.stdout
    )
    assert (
        " passed" not in proc.stdout
        and " failed" not in proc.stdout
        and " errors in " in proc.stdout
    )


def test_a_client_given_by_a_relative_path_runs_and_is_judged(tmp_path: Path) -> None:
    """``--client ./adapter.sh`` as a user types it: the suite runs in the report directory and
    each client run in an empty one of its own, so certify makes the path absolute first."""
    from harness.client import REFERENCE_POLICY_PATH

    adapter = tmp_path / "adapter.sh"
    adapter.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m harness.client.reference "$@"\n')
    adapter.chmod(0o755)
    proc = mdm_harness(
        "certify", "--client", "./adapter.sh", "--policy", str(REFERENCE_POLICY_PATH),
        "-n", "1", "-k", "r6", "--report", "report", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0 and "PASSED" in proc.stdout, proc.stdout + proc.stderr
    meta = json.loads((tmp_path / "report" / "meta.json").read_text())
    assert meta["client_command"] == str(adapter)
