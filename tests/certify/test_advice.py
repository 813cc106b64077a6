"""A SHOULD contract the client breaks, end to end: advice, never a failure - and its picture.

Issue 13's "done when" for T4: ``mdm-harness certify ... -k t4`` of the zoo client that ignores
its declared backoff passes (exit 0) with advice; the summary lists the advice with its reason,
and the HTML report's timeline shades the window the policy forbids and marks the retry that
came inside it. The run is the shared ``advice_run`` (conftest.py: two shards and their merge,
each of which passes). The counterpart is a client that keeps its backoff on the same T4 cases
(the shared ``broken_run``, whose defect is elsewhere): no advice, no forbidden zone breached.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.contracts.catalog import CONTRACTS

from .runs import Run, ShardedRun


def _floats(svg: str, pattern: str) -> list[tuple[float, ...]]:
    return [tuple(map(float, m.groups())) for m in re.finditer(pattern, svg)]


@pytest.fixture
def ignores_backoff(advice_run: ShardedRun) -> tuple[Path, str]:
    """The merged report of the advice run, and what ``report merge`` printed of it (the same
    summary certify prints; each shard's certify printed its part of it)."""
    for run in (*advice_run.shards, advice_run.merged):
        assert run.proc.returncode == 0, run.proc.stdout + run.proc.stderr  # advice never fails
    assert any(
        "PASSED with advice on T4 (partial run" in run.proc.stdout for run in advice_run.shards
    )
    return advice_run.merged.report, advice_run.merged.proc.stdout


def test_a_broken_should_contract_passes_with_advice_and_says_why(
    ignores_backoff: tuple[Path, str],
) -> None:
    report, stdout = ignores_backoff
    assert CONTRACTS["T4"].level == "SHOULD"
    assert re.search(r"\n  T4  SHOULD advice +\d+/\d+ ", stdout), stdout
    assert "PASSED with advice on T4 (partial run" in stdout
    advice = [line for line in stdout.splitlines() if line.startswith("  advice T4 (SHOULD) ")]
    assert advice and all("waited" in line and "less than the declared" in line for line in advice)
    md = (report / "certification.md").read_text()
    assert "## Failures" not in md and "## Advice" in md
    assert f"- what a correct client does: {CONTRACTS['T4'].correct}" in md
    assert "BREACHED by #" in md  # the text timeline names the retry that came too early


def test_the_t4_picture_shades_the_window_and_marks_the_retry_inside_it(
    ignores_backoff: tuple[Path, str],
) -> None:
    report, _ = ignores_backoff
    html = (report / "certification.html").read_text()
    sections = html.split("<section class='failure advice'>")[1:]
    assert sections and "<section class='failure'>" not in html
    for section in sections:
        section = section.split("</section>", 1)[0]
        assert "What a correct client does:" in section
        svg = section.split("<svg class='timeline'", 1)[1].split("</svg>", 1)[0]
        # the window the policy allows, shaded, and the zone before it hatched as too early
        assert re.search(r"<rect class='window (backoff|retry-after)'", svg), svg
        zones = _floats(svg, r"<rect class='forbidden' x='([\d.]+)' y='[\d.]+' width='([\d.]+)'")
        breaches = _floats(svg, r"<g class='breach'><line x1='([\d.]+)'")
        assert zones and breaches, svg
        # each retry that breached its window starts inside a forbidden zone
        for (x,) in breaches:
            assert any(x0 <= x <= x0 + width for x0, width in zones), (x, zones)
        assert "outside the backoff window" in svg or "outside the retry-after window" in svg


def test_a_client_that_keeps_its_backoff_gets_no_advice_and_no_breach(broken_run: Run) -> None:
    report, proc = broken_run
    assert re.search(r"\n  T4  SHOULD holds +3/3 ", proc.stdout), proc.stdout
    assert "with advice" not in proc.stdout and "  advice T4" not in proc.stdout
    html = (report / "certification.html").read_text()
    assert "class='breach'" not in html and "<section class='failure advice'>" not in html
