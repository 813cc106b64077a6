"""``mdm-harness bench`` end to end in its tiny mode, and its table (figures never judged here).

The end-to-end run is the only run of the mdm, proxy, retry and certify sections in the default
test run: it also checks what each section's figures must be (the mdm section is
``mdm.run(quick=True)``, the same as ``mdm-harness bench mdm --quick``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.bench import certify as certify_bench
from harness.bench import mdm as mdm_bench
from harness.bench import peers, retry
from harness.bench import proxy as proxy_bench
from harness.bench import report as bench_report
from harness.bench import suite as bench
from harness.cli import main


def _mdm_keys() -> set[str]:
    """The keys the reference MDM benchmark documents in its module docstring's table."""
    keys = set()
    for line in (mdm_bench.__doc__ or "").splitlines():
        match = re.match(r"([a-z0-9_]+)(?:, ([a-z0-9_]+))?\s{2,}\S", line)
        if match:
            keys.update(name for name in match.groups() if name)
    return keys - {"key"}


DOCUMENTED = {
    "mdm": _mdm_keys(),
    "nginx": set(peers.NGINX_KEYS),
    "proxy": set(proxy_bench.KEYS),
    "retry": set(retry.RETRY_KEYS),
    "certify": set(certify_bench.KEYS),
}


def test_the_bench_runs_end_to_end_and_prints_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "bench.json"
    assert main(["bench", "--tiny", "--json", str(out_file)]) == 0
    printed = capsys.readouterr()
    document = json.loads(out_file.read_text(encoding="utf-8"))

    assert set(document["sections"]) == set(bench.SECTIONS)
    for name, section in document["sections"].items():
        if name == "nginx" and section["status"] == "absent":  # nginx is an optional peer
            assert section["reason"] == "nginx is not on PATH"
            continue
        assert section["status"] == "measured", (name, section["reason"])
        assert set(section["figures"]) == DOCUMENTED[name], name
    retry = document["sections"]["retry"]["figures"]
    assert retry["retry_wiremock_status"].startswith("absent")  # no jar given
    suite_run = document["sections"]["certify"]["figures"]
    assert suite_run["certify_tests"] == 1  # tiny: one contract test, with -n 1 and -n 2
    assert suite_run["certify_n1_exit"] == suite_run["certify_n2_exit"] == 0

    # The reference MDM's figures (the section is mdm.run(quick=True), as `bench mdm --quick`).
    mdm = document["sections"]["mdm"]["figures"]
    assert all(isinstance(v, (int, float)) for v in mdm.values())
    assert mdm["devices"] == 10_000 and mdm["errors"] == 0
    assert 0 < mdm["lookup_p50_ms"] <= mdm["lookup_p99_ms"]
    assert 0 < mdm["static_p50_ms"] <= mdm["static_p99_ms"]
    assert mdm["page_bytes"] > 500 * mdm["lookup_bytes"]  # a page holds 1000 devices
    assert mdm["server_peak_rss_mib"] >= mdm["server_rss_start_mib"] > 0
    assert "mdm: static baseline" in printed.err
    assert "lookup by MAC" in mdm_bench.format_table(mdm)  # the table of `bench mdm`
    assert document["errors"] == 0
    assert document["mode"] == "quick" and document["shortened"]
    assert {"cpu", "cores", "python", "mitmproxy", "load_start", "load_end"} <= set(
        document["machine"]
    )

    assert len(document["table"]) == len(bench_report.ROWS)
    assert "figure" in printed.out and "meets?" in printed.out
    for record in document["table"]:
        assert record["figure"] in printed.out
        assert "{" not in record["figure"] + record["group"]
    assert "shortened (--quick)" in printed.out
    assert "bench " in printed.err and "certify -n 2 |" in printed.err  # progress on stderr


def test_skipped_sections_are_marked_and_nothing_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "bench.json"
    argv = [
        "bench",
        "--tiny",
        "--json",
        str(out_file),
        "--skip",
        "mdm",
        "proxy",
        "--skip",
        "retry",
        "certify",
    ]
    assert main(argv) == 0
    document = json.loads(out_file.read_text(encoding="utf-8"))
    assert {s["status"] for s in document["sections"].values()} == {"skipped"}
    assert document["sections"]["nginx"]["reason"] == "runs only with the mdm section"
    assert all(record["value"] is None for record in document["table"])
    assert "skipped: --skip" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--peer-wiremock", "/nonexistent/wiremock.jar"],
            "--peer-wiremock: '/nonexistent/wiremock.jar' is not a file",
        ),
        (
            ["--json", "/nonexistent/dir/out.json"],
            "--json: directory '/nonexistent/dir' does not exist",
        ),
    ],
)
def test_bad_arguments_are_refused_before_anything_starts(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err


def test_every_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = capsys.readouterr().out
    for option in ("--quick", "--json", "--peer-wiremock", "--skip"):
        assert option in text
    assert "--tiny" not in text  # internal: the test's knob


def _sections(**figures: dict[str, object]) -> dict[str, dict[str, object]]:
    return {
        name: {"status": "measured", "reason": None, "figures": f} for name, f in figures.items()
    }


def test_the_table_judges_aims_and_says_why_a_figure_is_missing() -> None:
    sections = _sections(
        proxy={
            "addon_1_rule_over_bare_p50": 1.2,
            "addon_1000_rules_over_bare_p50": 1.1,
            "delay_1000_error_p95_ms": -19.0,
        },
        certify={"certify_shard": "1/8", "certify_speedup": 1.9},
        retry={
            "retry_ours_p50_ms": 3.0,
            "retry_wiremock_status": "absent: no --peer-wiremock JAR given",
        },
    )
    sections["nginx"] = {"status": "absent", "reason": "nginx is not on PATH", "figures": None}
    by_figure = {r["figure"]: r for r in bench_report.rows(sections)}
    assert by_figure["addon (1 rule) / bare mitmdump, p50"]["meets"] is False
    assert by_figure["addon (1 000 rules) / bare mitmdump, p50"]["meets"] is True
    assert by_figure["delay 1000 ms: error at p95"]["meets"] is True  # |e| within 20 ms
    assert by_figure["speed-up with 2 workers"]["meets"] is None  # a shard cannot speak to it
    assert by_figure["nginx static, p50"]["text"] == "absent: nginx is not on PATH"
    assert by_figure["WireMock, p99"]["text"] == "absent: no --peer-wiremock JAR given"
    assert by_figure["lookup by MAC, p50"]["text"] == "skipped"
    table = bench_report.format_table(bench_report.rows(sections))
    assert re.search(r"addon \(1 rule\) / bare mitmdump, p50 +1\.20 x +<= 1\.15x +NO", table)


def test_each_bench_is_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = capsys.readouterr().out
    for bench_name in ("mdm", "proxy", "client", "server", "soak"):
        assert f"    {bench_name} " in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mdm", "--json", "/nonexistent/dir/x.json"], "--json: directory '/nonexistent/dir'"),
        (["proxy", "--json", "/nonexistent/dir/x.json"], "--json: directory '/nonexistent/dir'"),
        (["client", "--repeat", "0"], "--repeat 0: must be between 1 and 10000"),
        (["server", "--devices", "0"], "--devices 0: must be between 1 and 1000000"),
        (["soak", "--delay-ms", "-1"], "--delay-ms -1: must be between 0 and 60000"),
    ],
)
def test_bad_subcommand_values_exit_2_before_anything_starts(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err
