"""The client benchmark runs and prints its figures (it asserts no timing)."""

from __future__ import annotations

import pytest

from harness.bench.client import run


def test_bench_prints_one_line_per_measurement(capsys: pytest.CaptureFixture[str]) -> None:
    run(1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("reference MDM: 1000 devices")
    labels = [line.split(" median ")[0].strip() for line in lines[1:]]
    assert "python -c pass" in labels
    assert "python -m harness.client.reference noncompliant" in labels
    assert "in-process harness.client.reference:factory device" in labels
    assert all(" ms   p90 " in line for line in lines[1:])
