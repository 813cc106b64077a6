"""The benchmark runs end to end and returns the documented flat dict (figures not judged)."""

from __future__ import annotations

import re

from harness.bench import mdm as bench


def test_quick_benchmark_returns_every_documented_figure() -> None:
    messages: list[str] = []
    figures = bench.run(quick=True, progress=messages.append)
    documented = set()
    for line in (bench.__doc__ or "").splitlines():
        match = re.match(r"([a-z0-9_]+)(?:, ([a-z0-9_]+))?\s{2,}\S", line)
        if match:
            documented.update(name for name in match.groups() if name)
    assert set(figures) == documented - {"key"}  # "key" heads the table
    assert all(isinstance(v, (int, float)) for v in figures.values())
    assert figures["devices"] == 10_000 and figures["errors"] == 0
    assert 0 < figures["lookup_p50_ms"] <= figures["lookup_p99_ms"]
    assert 0 < figures["static_p50_ms"] <= figures["static_p99_ms"]
    assert figures["page_bytes"] > 500 * figures["lookup_bytes"]  # a page holds 1000 devices
    assert figures["server_peak_rss_mib"] >= figures["server_rss_start_mib"] > 0
    assert messages and "static baseline" in messages[-1]
    assert "lookup by MAC" in bench.format_table(figures)
