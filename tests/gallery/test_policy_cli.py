"""``mdm-harness policy check`` and the input checks of ``policy infer`` (exit 2, one line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.client import REFERENCE_POLICY_PATH


def test_check_prints_what_a_good_policy_means(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(REFERENCE_POLICY_PATH)]) == 0
    assert "Backoff(100ms x2 cap 1000ms jitter=equal)" in capsys.readouterr().out


def test_check_names_the_file_line_and_field_of_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema: 2\ntimeout_ms: 1000\nmax_attempts: {mdminfo: 1, device: 1, noncompliant: 1, action: 1}\n"
        "backoff: {model: linear, step_ms: -1, cap_ms: 10}\n",
        encoding="utf-8",
    )
    assert main(["policy", "check", str(REFERENCE_POLICY_PATH), str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{bad}:4: backoff.step_ms:"), err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--client", "no-such-command-here"], "not found on PATH"),
        (["--client", "/no/such/adapter"], "is not an executable file"),
        (["--client", "true", "--timeout-ms", "0"], "--timeout-ms=0"),
        (["--client", "true", "--budget-s", "1"], "--budget-s=1"),
        (["--client", "true", "--out", "/no/such/dir/policy.yaml"], "is not a directory"),
    ],
)
def test_infer_refuses_bad_input_before_starting_anything(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "infer", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
