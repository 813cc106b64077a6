"""``mdm-harness scenarios lint|list|show`` and ``addon-path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.scenario import library_names


def test_lint_passes_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    assert main(["scenarios", "lint", str(scenarios)]) == 0
    assert f"{len(library_names())} scenario(s) ok, 0 error(s)" in capsys.readouterr().out


def test_lint_reports_every_bad_file_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: good\nrules: []\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrules:\n  - fault: {kind: delay, delay_ms: soon}\n")
    worse = tmp_path / "worse.yaml"
    worse.write_text("name: worse\nrules:\n  - match: {operation: x}\n    fault: close\n")
    assert main(["scenarios", "lint", str(tmp_path), str(tmp_path / "gone.yaml")]) == 1
    out = capsys.readouterr()
    assert f"{bad}:3: rules[0].fault.delay_ms: must be an integer, got 'soon'" in out.err
    assert f"{worse}:3: rules[0].match.operation: must be one of" in out.err
    assert f"{tmp_path / 'gone.yaml'}: (file): no such file or directory" in out.err
    assert "1 scenario(s) ok, 3 error(s)" in out.out


def test_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == len(library_names())
    seed1 = next(line for line in listing if line.startswith("seed-1-connection-timeout"))
    assert "the MDM is unreachable" in seed1
    assert main(["scenarios", "show", "seed-3-unauthorized"]) == 0
    assert "kind: unauthorized" in capsys.readouterr().out
    assert main(["scenarios", "show", "nope"]) == 2
    assert "no such scenario" in capsys.readouterr().err


def test_addon_path_is_the_file_mitmdump_loads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["addon-path"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == "addon.py" and "addons = make_addons()" in path.read_text()


def test_proxy_refuses_a_bad_scenario_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["proxy", "--scenario", "no-such-scenario", "--state-dir", str(tmp_path)]) == 2
    assert "no such scenario" in capsys.readouterr().err
    assert main(["proxy", "--upstream", "ftp://x", "--state-dir", str(tmp_path)]) == 2
    assert "scheme must be https or http" in capsys.readouterr().err
    assert not (tmp_path / "ca.pem").exists()
