"""The server report from hand-made run files: statuses, certification, and what it writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.certify import server_report as reporting
from harness.servercheck.catalog import CONTRACTS

MODULE = "harness.servercheck.test_lookups"


def _junit(path: Path, cases: list[tuple[str, str, str, str]]) -> None:
    """``(name, contract, outcome, message)`` -> junit.xml as pytest writes it."""
    parts = []
    for name, contract, outcome, message in cases:
        body = {
            "passed": "",
            "failed": f'<failure message="{message}">{message}</failure>',
            "error": f'<error message="{message}">{message}</error>',
            "skipped": f'<skipped type="pytest.skip" message="{message}">{message}</skipped>',
        }[outcome]
        parts.append(
            f'<testcase classname="{MODULE}" name="{name}" time="0.1">'
            f'<properties><property name="contract" value="{contract}"/></properties>{body}</testcase>'
        )
    path.write_text(
        f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{"".join(parts)}</testsuite></testsuites>'
    )


def _record(
    name: str, contract: str, status: str, reason: str = "why", **case: Any
) -> dict[str, Any]:
    level = CONTRACTS[contract].level
    return {
        "time": 1.0,
        "test": f"harness/servercheck/test_lookups.py::{name}",
        "seed": 7,
        "case": {"contract": contract, "title": "t", "kind": "requests", "budget": 1,
                 "probes": [{"target": "/7/ciscoise/v3/devices/?paging=0", "label": "a lookup"}], "params": {}, **case},
        "verdict": {"contract": contract, "level": level, "status": status, "passed": status != "broken",
                    "reason": reason, "evidence": ["GET /7/ciscoise/v3/devices/?paging=0", "  -> 404 application/xml"]},
        "exchanges": [],
        "journal": [{"seq": 1, "method": "GET", "path": "/7/ciscoise/v3/devices/"}],
    }  # fmt: skip


def _write(
    tmp: Path, cases: list[tuple[str, str, str, str]], records: list[dict[str, Any]], **meta: Any
):  # type: ignore[no-untyped-def]
    _junit(tmp / "junit.xml", cases)
    with open(tmp / "verdicts-main.jsonl", "w") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    return reporting.build_report(tmp, {"server": "https://mdm.test/i", "seed": 7, **meta})


def _status(report: Any, contract: str) -> str:
    return next(row.status for row in reporting.rows(report) if row.id == contract)


def test_statuses_and_certification(tmp_path: Path) -> None:
    report = _write(
        tmp_path,
        [
            ("test_l1[v3]", "L1", "passed", ""),
            ("test_l2[v3]", "L2", "failed", "L2 broke"),
            ("test_l6[v3]", "L6", "passed", ""),
            ("test_l3[v3]", "L3", "failed", "PlanExceeded: the plan allows 3"),
            (
                "test_g1",
                "G1",
                "skipped",
                "inconclusive: the listing did not end within the planned 2 pages",
            ),
            (
                "test_k1",
                "K1",
                "skipped",
                "not applicable: actions are sent only with --allow-actions",
            ),
        ],
        [
            _record("test_l2[v3]", "L2", "broken", "answered 404"),
            _record("test_l6[v3]", "L6", "broken", "wrote the MAC 'abc'"),
        ],
    )
    assert _status(report, "L1") == "holds"
    assert _status(report, "L2") == "broken"
    assert _status(report, "L6") == "advice"  # a broken SHOULD passes its test
    assert _status(report, "L3") == "error"  # failed with no verdict behind it: the harness
    assert _status(report, "G1") == "inconclusive"
    assert _status(report, "K1") == "not applicable"
    assert _status(report, "D1") == "not run"
    assert not reporting.certified(report)
    assert reporting.summary(report).startswith(
        "NOT CERTIFIED: 1 error, 1 broken, 1 inconclusive, 1 advice"
    )


def test_advice_and_not_applicable_still_certify(tmp_path: Path) -> None:
    cases = [(f"test_{c.lower()}", c, "passed", "") for c in CONTRACTS if c not in ("K1", "L6")]
    cases += [
        ("test_l6", "L6", "passed", ""),
        ("test_k1", "K1", "skipped", "not applicable: no actions"),
    ]
    report = _write(tmp_path, cases, [_record("test_l6", "L6", "broken", "lower case")])
    assert reporting.certified(report)
    assert (
        reporting.summary(report)
        == "CERTIFIED with advice on L6: 1 advice, 23 holds, 1 not applicable"
    )
    partial = _write(tmp_path, cases[:2], [], selection="d1 or d2")
    assert reporting.certified(partial) and reporting.summary(partial).startswith(
        "PASSED (partial run"
    )


def test_what_the_report_writes(tmp_path: Path) -> None:
    (tmp_path / "preflight.json").write_text(
        json.dumps({"journal": [{"seq": 1, "method": "GET", "path": "/i/ciscoise/mdminfo/"}]})
    )
    (tmp_path / "survey-main.jsonl").write_text(
        json.dumps({"seq": 1, "method": "GET", "path": "/x"}) + "\n"
    )
    report = _write(
        tmp_path,
        [("test_l2[v3]", "L2", "failed", "L2 broke"), ("test_l6[v3]", "L6", "passed", "")],
        [
            _record("test_l2[v3]", "L2", "broken", "answered 404", params={"value": "a&b<c>"}),
            _record("test_l6[v3]", "L6", "broken", "wrote the MAC 'abc'"),
        ],
    )
    reporting.write(tmp_path, report)
    journal = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert [j["test"] for j in journal][:2] == ["preflight", "survey"] and len(journal) == 4
    md = (tmp_path / "certification.md").read_text()
    assert "## Failures" in md
    assert "### L2 (MUST): an unknown device gives 200 with an empty deviceList" in md
    assert "- what a correct server does: A lookup" in md and "- source: spec" in md
    assert "-> 404 application/xml" in md and "(see `docs/servers.md#l2`)" in md
    assert "## Advice" in md and "### L6 (SHOULD - advice):" in md and "wrote the MAC 'abc'" in md
    html = (tmp_path / "certification.html").read_text()
    assert "id='contract-l2'" in html and "href='#contract-l2'" in html
    assert "a&amp;b" not in html  # the case's params are not in the page
    assert "class='failure advice'" in html and "<svg class='glyph'" in html
    assert "What a correct server does:" in html
    (replay,) = (tmp_path / "failures").glob("L2-*.yaml")
    from harness import _yaml

    data = _yaml.load(replay.read_text())
    assert data["mdm_harness_server_replay"] == 1 and data["server"] == "https://mdm.test/i"
    assert data["case"]["params"]["value"] == "a&b<c>"  # a hostile value survives the round trip


def test_no_emoji_in_either_page(tmp_path: Path) -> None:
    """Statuses are words with a drawn glyph: an emoji renders as an empty box without an
    emoji font (a headless Chromium, a CI runner)."""
    report = _write(
        tmp_path,
        [
            ("test_l2[v3]", "L2", "failed", "L2 broke"),
            ("test_l6[v3]", "L6", "passed", ""),
            ("test_g1", "G1", "skipped", "inconclusive: the walk did not end"),
            ("test_l3[v3]", "L3", "error", "the proxy died"),
        ],
        [
            _record("test_l2[v3]", "L2", "broken", "answered 404"),
            _record("test_l6[v3]", "L6", "broken", "lower case"),
        ],
    )
    reporting.write(tmp_path, report)
    for name in ("certification.md", "certification.html"):
        text = (tmp_path / name).read_text()
        wide = sorted({c for c in text if ord(c) >= 0x2000})
        assert not wide, f"{name}: {wide}"
    html = (tmp_path / "certification.html").read_text()
    for word in ("BROKEN", "ERROR (harness)", "inconclusive", "advice", "not run"):
        assert f"</svg> {word}</span>" in html
