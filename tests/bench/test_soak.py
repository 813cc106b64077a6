"""The soak benchmark: its command loses nothing, and its bookkeeping bites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.attempt import Attempt, FaultFired
from harness.bench import soak
from harness.cli import main


def _record(seq: int, soak_id: str, fault: str | None) -> Attempt:
    fired = None if fault is None else FaultFired(rule=f"soak-{fault}", kind=fault, phase="request")
    return Attempt(seq=seq, start=0.0, params={"soak_id": [soak_id]}, fault=fired)


def test_lost_duplicated_and_misfired_records_are_counted() -> None:
    ids = ["1.0", "1.1", "1.2", "1.3"]  # asking for status_503, reset, delay, xml_truncate
    result = {
        "sent": [True, True, True, False],
        "latencies_ns": [1_000_000] * 4,
        "statuses": [[503], [], [200], []],
        "errors": [None, "ConnectionResetError", None, "ConnectionRefusedError"],
    }
    records = [
        _record(1, "1.0", "status_503"),
        _record(2, "1.0", "status_503"),  # twice
        _record(3, "1.2", None),  # the delay was skipped
        _record(4, "other", None),
    ]  # 1.1 sent and never journaled
    figures = soak._round(1, ids, result, records)
    assert figures["sent"] == 3 and figures["not_sent"] == 1
    assert figures["lost"] == 1 and figures["duplicated"] == 1 and figures["misfired"] == 1
    assert figures["journal_records"] == 3 and figures["other_records"] == 1
    figures |= {"fds_after": 30, "rss_after_mib": 140.0}
    limits = {"fd_tolerance": 4, "rss_tolerance_mib": 16}
    problems = soak._problems(figures, 20, 100.0, limits)
    assert problems == [
        "round 1: 1 requests not sent",
        "round 1: 1 requests lost (sent, not journaled)",
        "round 1: 1 requests journaled twice",
        "round 1: 1 requests journaled with another fault than asked",
        "round 1: 30 descriptors open after it, 20 before the first round (tolerance 4)",
        "round 1: RSS 140.0 MiB after it, 100.0 MiB after round 1 (tolerance 16 MiB)",
    ]
    clean = {**figures, "not_sent": 0, "lost": 0, "duplicated": 0, "misfired": 0}
    assert (
        soak._problems({**clean, "fds_after": 24, "rss_after_mib": 116.0}, 20, 100.0, limits) == []
    )


def test_a_shorthand_fault_counts_by_its_name() -> None:
    fired = FaultFired(rule="r", kind="respond", phase="request", name="status_503")
    assert soak._fault_of(Attempt(seq=1, start=0.0, fault=fired)) == "status_503"
    skipped = FaultFired(rule="r", kind="delay", phase="request", skipped="budget")
    assert soak._fault_of(Attempt(seq=1, start=0.0, fault=skipped)) == "pass"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--concurrency", "0"], "--concurrency 0: must be between 1 and 5000"),
        (["--rounds", "0"], "--rounds 0: must be between 1 and 1000"),
        (["--json", "/nonexistent/dir/x.json"], "--json: directory '/nonexistent/dir'"),
    ],
)
def test_bad_soak_options_exit_2_before_anything_starts(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "soak", *argv]) == 2
    assert message in capsys.readouterr().err


def test_the_command_loses_and_duplicates_nothing_and_prints_each_round_and_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Correctness, not speed: 50 concurrent lookups, two rounds, every one journaled once
    with the fault it asked for, and each fault seen by the client as it should be."""
    out_file = tmp_path / "soak.json"
    argv = ["bench", "soak", "--concurrency", "50", "--rounds", "2", "--json", str(out_file)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("round 1: sent 50 (not sent 0), journal 50, lost 0, duplicated 0")
    assert lines[1].startswith("round 2: sent 50 (not sent 0), journal 50, lost 0, duplicated 0")
    assert "proxy RSS" in lines[0] and "fds" in lines[0]
    assert lines[2].startswith("soak PASS: 2 rounds x 50 lookups, 0 lost, 0 duplicated")
    result = json.loads(out_file.read_text(encoding="utf-8"))
    assert result["verdict"] == "PASS" and len(result["rounds"]) == 2, result["problems"]
    for figures in result["rounds"]:
        assert figures["sent"] == 50 and figures["not_sent"] == 0
        assert figures["journal_records"] == 50
        assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["misfired"] == 0
        assert figures["outcomes"] == {
            "delay->200": 10,
            "pass->200": 10,
            "reset->error": 10,
            "status_503->503": 10,
            "xml_truncate->200": 10,
        }
        assert figures["fds_after"] <= result["fds_start"] + result["fd_tolerance"]
