"""``mdm-harness scenarios lint|list|show`` and ``addon-path``."""

from __future__ import annotations

import os
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
    assert f"{bad}:3: rules[0].fault.delay_ms: expected an integer, got str 'soon'" in out.err
    assert f"{worse}:3: rules[0].match.operation: 'x' is not one of" in out.err
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


def test_lint_reports_hostile_files_in_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = {
        "bomb.yaml": "a0: &a0 [lol, lol]\n"
        + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 10)),
        "deep.yaml": "name: deep\nrules: " + "[" * 1_000_000 + "\n",
        "long-int.yaml": "name: x\nseed: " + "9" * 5000 + "\nrules: []\n",
        "nan.yaml": "name: x\nrules:\n  - fault: {kind: xml_truncate, fraction: .nan}\n",
        "escape.yaml": "name: x\nrules:\n  - fault: {kind: respond, body_file: ../../etc/passwd}\n",
        "key.yaml": 'name: x\n"multi\\nline": 1\nrules: []\n',
    }
    for name, text in hostile.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "junk.yaml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "dir.yaml").mkdir()
    os.mkfifo(tmp_path / "fifo.yaml")  # nobody writes to it: lint must not wait
    assert main(["scenarios", "lint", str(tmp_path)]) == 1
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert len(lines) == len(hostile) + 3, out.err
    expected = {
        "bomb.yaml:2: not valid YAML: aliases (*a0) are not allowed",
        "deep.yaml:2: not valid YAML: nested more than 32 levels deep",
        "long-int.yaml:2: not valid YAML: an integer of 5000 digits is too long (at most 30)",
        "nan.yaml:3: not valid YAML: NaN and infinity are not numbers here",
        "escape.yaml:3: rules[0].fault.body_file: must not leave the scenario's directory ('..')",
        "key.yaml:2: 'multi\\nline': unknown field; expected one of name,",
        "junk.yaml:2: not UTF-8 text (invalid start byte at byte 128)",
        "dir.yaml: cannot read: is a directory",
        "fifo.yaml: the scenario is empty",
    }
    for fragment in expected:
        assert any(f"{tmp_path}/{fragment}" in line for line in lines), (fragment, out.err)
    assert "Traceback" not in out.err and "0 scenario(s) ok, 9 error(s)" in out.out
