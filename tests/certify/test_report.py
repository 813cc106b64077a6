"""The certification report, built from hand-made report directories: statuses, harness errors,
advice, the timeline pictures, glyphs, the client's own words, and ``report diff``.

Each check has its counterpart that must not pass it (a record without windows has no
forbidden zone, a passing report has no ERROR banner, ...).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from harness.attempt import Attempt, FaultFired, Sent
from harness.certify import report as reporting
from harness.certify import timeline
from harness.certify.diff import diff, load
from harness.contracts.catalog import CONTRACTS, Contract
from harness.errors import HARNESS_ERROR_EXIT

T0 = 1000.0


def attempt(seq: int, began: float, end: float, **kw: Any) -> dict[str, Any]:
    a = Attempt(seq=seq, start=T0 + began, end=T0 + end, **kw)
    return a.to_json()


def t4_record(
    *, windows: bool = True, test: str = "test_transport.py::test_t4[x]"
) -> dict[str, Any]:
    """A T4 failure: a 503, then a retry 3 ms later where the policy allows 50-100 ms."""
    journal = [
        attempt(1, 0.000, 0.010, method="GET", path="/7/ciscoise/v3/devices/", phase="complete",
                operation="devices", upstream=False, client_end="completed",
                sent=Sent(503, first_byte=T0 + 0.008, last_byte=T0 + 0.009),
                fault=FaultFired(rule="r", kind="respond", phase="request")),
        attempt(2, 0.013, 0.020, method="GET", path="/7/ciscoise/v3/devices/", phase="complete",
                operation="devices", upstream=True, client_end="completed",
                sent=Sent(200, first_byte=T0 + 0.018, last_byte=T0 + 0.019)),
    ]  # fmt: skip
    window = {
        "kind": "backoff", "after_seq": 1, "low": T0 + 0.060, "high": T0 + 0.110,
        "label": "retry #1: 50-100 ms", "breached_by": 2,
    }  # fmt: skip
    return {
        "time": 1.0,
        "test": test,
        "seed": 1,
        "client": "my-client",
        "policy": "policy.yaml",
        "case": {"contract": "T4", "title": "devices 503, pass", "operation": "device",
                 "args": ["--mac", "0A1B2C3D4E5F"], "expect": ["ok"], "scenario": {}},
        "outcome": {"kind": "ok", "operation": "device", "started": T0 - 0.002,
                    "ended": T0 + 0.025, "stdout": '{"outcome": "ok", "result": {"devices": []}}',
                    "stderr": "\n".join(f"trace line {i}" for i in range(1, 31))},
        "verdict": {"contract": "T4", "level": "MUST", "passed": False,
                    "reason": "retry #1 (attempt #2) waited 0.003 s, less than the declared 0.050 s",
                    "evidence": ["client reported: ok after 0.027 s"],
                    "windows": [window] if windows else []},
        "journal": journal,
    }  # fmt: skip


def junit(path: Path, cases: list[tuple[str, str, str, dict[str, str]]]) -> None:
    """``(test name, contract, outcome, extra properties)`` -> a JUnit file like pytest's."""
    body = []
    for name, contract, outcome, props in cases:
        properties = "".join(
            f'<property name="{k}" value="{v}" />'
            for k, v in {"contract": contract, **props}.items()
        )
        inner = {
            "passed": "",
            "failed": '<failure message="T broke">T broke</failure>',
            "error": '<error message="failed on setup with &quot;boom&quot;">boom</error>',
        }[outcome]
        body.append(
            f'<testcase classname="harness.contracts.test_transport" name="{name}" time="0.1">'
            f"<properties>{properties}</properties>{inner}</testcase>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        + "".join(body)
        + "</testsuite></testsuites>"
    )


def report_dir(tmp_path: Path, name: str, cases: list[Any], records: list[dict[str, Any]]) -> Path:
    where = tmp_path / name
    where.mkdir()
    junit(where / "junit.xml", cases)
    (where / "verdicts-main.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (where / "meta.json").write_text(json.dumps({"client": name, "seed": 1}))
    return where


def whole_suite(overrides: dict[str, tuple[str, dict[str, str]]]) -> list[Any]:
    """One passing test per contract, with some replaced by ``contract -> (outcome, props)``."""
    out = []
    for cid in CONTRACTS:
        outcome, props = overrides.get(cid, ("passed", {}))
        name = "test_t4[x]" if cid == "T4" else f"test_{cid.lower()}"
        out.append((name, cid, outcome, props))
    return out


# ------------------------------------------------------------------------------------ statuses


def test_a_whole_passing_run_is_certified_and_exits_0(tmp_path: Path) -> None:
    where = report_dir(tmp_path, "good", whole_suite({}), [])
    rep = reporting.build(where, {"seed": 1})
    assert rep.certified and rep.exit_code == 0 and rep.summary().startswith("CERTIFIED")
    assert not rep.harness_errors


def test_a_broken_contract_is_not_certified_and_exits_1(tmp_path: Path) -> None:
    where = report_dir(tmp_path, "bad", whole_suite({"T4": ("failed", {})}), [t4_record()])
    rep = reporting.build(where, {})
    assert rep.exit_code == 1 and rep.summary().startswith("NOT CERTIFIED")
    assert [r.status for r in rep.contracts() if r.id == "T4"] == ["broken"]
    assert [f.contract for f in rep.failures] == ["T4"] and rep.failures[0].record is not None


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"harness_error": "the fault proxy (mitmdump, pid 7) exited (killed by SIGKILL)"}, None),
        ({}, "worker 'gw0' crashed while running 'test_t4[x]'"),
        ({}, None),  # any other error in the harness is the harness's too
    ],
    ids=["harness-error", "crashed-worker", "other-error"],
)
def test_a_harness_error_is_error_never_broken_nor_certified(
    tmp_path: Path, props: dict[str, str], message: str | None
) -> None:
    where = report_dir(tmp_path, "err", whole_suite({"T4": ("error", props)}), [])
    if message:
        text = (where / "junit.xml").read_text().replace("boom", message)
        (where / "junit.xml").write_text(text)
    rep = reporting.build(where, {})
    assert rep.exit_code == HARNESS_ERROR_EXIT == 3
    assert rep.summary().startswith("ERROR (harness)") and not rep.certified
    assert [r.status for r in rep.contracts() if r.id == "T4"] == ["error"]
    assert not rep.failures  # nothing is blamed on the client
    md, html = reporting.markdown(rep), reporting.to_html(rep)
    assert "## ERROR (harness)" in md and "**BROKEN**" not in md
    assert "class='verdict error'" in html and "id='harness-errors'" in html


def test_a_client_that_cannot_run_is_the_clients_failure(tmp_path: Path) -> None:
    props = {"client_unusable": "the client under test cannot run: cannot execute 'x'"}
    where = report_dir(tmp_path, "unusable", whole_suite({"T4": ("error", props)}), [])
    rep = reporting.build(where, {})
    assert rep.exit_code == 1 and not rep.harness_errors
    assert [r.status for r in rep.contracts() if r.id == "T4"] == ["broken"]


def test_run_level_harness_errors_from_meta_void_the_certificate(tmp_path: Path) -> None:
    where = report_dir(tmp_path, "int", whole_suite({}), [])
    rep = reporting.build(
        where, {"harness_errors": ["interrupted by SIGTERM: the run did not finish"]}
    )
    assert rep.exit_code == 3 and "interrupted by SIGTERM" in rep.summary()


def test_a_failed_should_contract_is_advice_and_still_certifies(tmp_path: Path) -> None:
    """Another catalog (as certify-server passes its own): one SHOULD contract, failing."""
    catalog = {
        "M1": Contract("M1", "server", "MUST", "answers discovery", "It answers.", "spec"),
        "M2": Contract("M2", "server", "SHOULD", "sends Retry-After", "It sends it.", "http"),
    }
    record = t4_record()
    record["case"]["contract"] = "M2"
    record["verdict"].update(contract="M2", level="SHOULD")
    record["test"] = "harness/contracts/test_transport.py::test_m2"
    where = report_dir(
        tmp_path,
        "srv",
        [("test_m1", "M1", "passed", {}), ("test_m2", "M2", "passed", {})],
        [record],
    )
    rep = reporting.build(where, {}, catalog, title="MDM server certification")
    assert [r.status for r in rep.contracts()] == ["holds", "advice"]
    assert rep.certified and rep.exit_code == 0 and [a.contract for a in rep.advice] == ["M2"]
    md, html = reporting.markdown(rep), reporting.to_html(rep)
    assert "# MDM server certification" in md and "## Advice" in md and "It sends it." in md
    assert "T1" not in md  # the client catalog is not mixed in
    assert "class='failure advice'" in html and "<svg class='timeline'" in html


def advice_record() -> dict[str, Any]:
    """The T4 record as the suite writes it today: T4 is a SHOULD, its failure is advice."""
    record = t4_record()
    record["verdict"]["level"] = CONTRACTS["T4"].level
    return record


def test_t4_is_a_should_contract_whose_failure_is_advice_in_the_page(tmp_path: Path) -> None:
    assert CONTRACTS["T4"].level == "SHOULD"
    where = report_dir(tmp_path, "adv", whole_suite({}), [advice_record()])
    rep = reporting.build(where, {"seed": 1})
    assert rep.certified and rep.exit_code == 0 and [a.contract for a in rep.advice] == ["T4"]
    assert rep.summary() == f"CERTIFIED with advice on T4: 1 advice, {len(CONTRACTS) - 1} holds"
    reporting.write(where, rep)
    md = (where / "certification.md").read_text()
    html = (where / "certification.html").read_text()
    assert "## Failures" not in md and "## Advice" in md
    assert "### T4 (SHOULD - advice): each declared retry happens" in md
    assert "retry #1 (attempt #2) waited 0.003 s" in md  # the reason
    assert f"- what a correct client does: {CONTRACTS['T4'].correct}" in md
    assert "BREACHED by #2" in md  # the text timeline
    section = html.split("<section class='failure advice'>", 1)[1].split("</section>", 1)[0]
    assert "<svg class='timeline'" in section and "class='breach'" in section
    assert "What a correct client does:" in section and CONTRACTS["T4"].correct in section
    assert "class='verdict ok'" in html and "with advice on T4" in html
    # its counterpart: the same run without the advice says nothing of advice
    plain = reporting.build(report_dir(tmp_path, "plain", whole_suite({}), []), {"seed": 1})
    assert plain.summary() == f"CERTIFIED: {len(CONTRACTS)} holds" and "Advice" not in (
        reporting.markdown(plain)
    )


def test_diff_shows_a_should_change_as_advice_never_as_broken(tmp_path: Path) -> None:
    good = report_dir(tmp_path, "good", whole_suite({}), [])
    advised = report_dir(tmp_path, "advised", whole_suite({}), [advice_record()])
    came = diff(load(good), load(advised))
    assert came.exit_code == 0 and not came.broke and not came.changed
    assert [(c.what, c.old, c.new, c.level) for c in came.advice] == [
        ("T4", "holds", "advice", "SHOULD")
    ]
    text = came.text()
    assert "advice (SHOULD contracts: never failing the certificate):" in text
    assert "  T4 (SHOULD): holds -> advice - retry #1 (attempt #2) waited 0.003 s" in text
    assert "| advice (SHOULD) | T4 | holds | advice | retry #1" in came.markdown()
    went = diff(load(advised), load(good))
    assert went.exit_code == 0 and [(c.old, c.new) for c in went.advice] == [("advice", "holds")]
    assert "T4 (SHOULD): advice -> holds - the advice is resolved" in went.text()
    # the counterpart: the same contract failing a MUST-level test broke
    broken = report_dir(tmp_path, "broken", whole_suite({"T4": ("failed", {})}), [t4_record()])
    assert diff(load(good), load(broken)).exit_code == 1


# ------------------------------------------------------------------------------------ pictures


def test_the_timeline_has_a_lane_per_attempt_the_windows_and_the_breach() -> None:
    svg = timeline.svg(t4_record())
    assert svg.count("<text x='6'") == 1 + 2  # the client's lane and one per attempt
    assert svg.count("class='mdm-saw'") == 1  # only #2 reached the MDM
    assert "class='fault'" in svg and "fault respond at request" in svg
    assert "class='window backoff'" in svg and "class='forbidden'" in svg
    assert "class='breach'" in svg and "outside the backoff window" in svg
    assert "waited 3 ms" in svg
    assert "<script" not in svg and "href" not in svg.replace("url(#too-early-t)", "")


def test_without_windows_the_picture_shades_nothing() -> None:
    svg = timeline.svg(t4_record(windows=False))
    assert "class='window" not in svg and "class='forbidden'" not in svg
    assert "class='breach'" not in svg


def test_a_retry_that_respects_its_window_is_not_drawn_as_a_breach() -> None:
    record = t4_record()
    record["verdict"]["windows"][0]["breached_by"] = None
    record["journal"][1]["start"] = T0 + 0.070  # inside 60..110 ms
    record["journal"][1]["end"] = T0 + 0.080
    svg = timeline.svg(record)
    assert "class='breach'" not in svg and "class='window backoff'" in svg


def test_the_text_timeline_says_whether_each_request_reached_the_mdm() -> None:
    lines = timeline.text(t4_record())
    assert "[not at the MDM]" in lines[1] and "[reached the MDM]" in lines[2]
    assert lines[0].startswith("+  0.000s client started; reported ok")
    assert "BREACHED by #2" in lines[-1]


def test_a_record_with_no_attempts_still_draws() -> None:
    record = t4_record()
    record["journal"] = []
    assert "no attempt reached the proxy" in timeline.svg(record)
    assert "(no attempt reached the proxy)" in timeline.text(record)


# ------------------------------------------------------------------------------------ content


def _emoji(text: str) -> list[str]:
    return [c for c in text if ord(c) > 0x2000 and unicodedata.category(c) == "So"]


def test_reports_carry_the_clients_words_what_correct_looks_like_and_no_emoji(
    tmp_path: Path,
) -> None:
    where = report_dir(tmp_path, "bad", whole_suite({"T4": ("failed", {})}), [t4_record()])
    rep = reporting.build(where, {"seed": 1})
    reporting.write(where, rep)
    md = (where / "certification.md").read_text()
    html = (where / "certification.html").read_text()
    correct = CONTRACTS["T4"].correct
    for text in (md, html.replace("&#x27;", "'")):
        assert correct in text and CONTRACTS["T4"].anchor in text
        assert "trace line 30" in text and "trace line 11" in text
        assert "trace line 10\n" not in text  # only the last 20 lines
        assert '"outcome": "ok"' in text.replace("&quot;", '"')
        assert not _emoji(text), _emoji(text)
    assert f"| T4 | {CONTRACTS['T4'].level} | transport |" in md and "| **BROKEN** |" in md
    assert html.count("<svg class='timeline'") == 1 == len(rep.failures)
    assert "<svg class='glyph'" in html and "BROKEN" in html
    assert "href='#contract-t4'" in html and "id='contract-t4'" in html
    assert (where / "failures").is_dir() and len(list((where / "failures").iterdir())) == 1


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("junit.xml", "<testsuites><testsuite>", "junit.xml: not a JUnit XML file"),
        ("junit.xml", "<html></html>", "not a JUnit XML file (root element <html>)"),
        ("verdicts-main.jsonl", "{not json\n", "verdicts-main.jsonl:1: not a JSON line"),
        ("verdicts-main.jsonl", "[1, 2]\n", "verdicts-main.jsonl:1: not a verdict record"),
    ],
)
def test_unreadable_report_files_name_the_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    where = report_dir(tmp_path, "r", whole_suite({}), [])
    (where / name).write_text(text)
    with pytest.raises(reporting.ReportError, match=re.escape(message)):
        reporting.build(where, {})


# ------------------------------------------------------------------------------------ diff


def test_diff_lists_what_broke_what_was_fixed_and_what_changed(tmp_path: Path) -> None:
    old = report_dir(tmp_path, "old", whole_suite({"R3": ("failed", {})}), [])
    new = report_dir(
        tmp_path, "new", whole_suite({"T4": ("failed", {}), "S1": ("error", {})}), [t4_record()]
    )
    result = diff(load(old), load(new))
    assert [c.what for c in result.broke] == ["T4"]
    assert [c.what for c in result.fixed] == ["R3"]
    assert [(c.what, c.old, c.new) for c in result.changed] == [("S1", "holds", "error")]
    assert result.exit_code == 1
    text = result.text()
    assert "broke:\n  T4 (SHOULD): holds -> broken - retry #1" in text and "fixed:\n  R3" in text
    md = result.markdown()
    assert "| **broke** | T4 | holds | broken |" in md and "| fixed | R3 |" in md
    again = diff(load(new), load(new))
    assert again.exit_code == 0 and "no change" in again.text() and "No change." in again.markdown()
    # the other way round nothing broke: T4 was fixed
    back = diff(load(new), load(old))
    assert back.exit_code == 1 and [c.what for c in back.broke] == ["R3"]
