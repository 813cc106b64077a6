"""The server plugin in real pytest runs: its options and ini keys, its usage errors, its
markers, and that it stays out of runs that are not about a server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness._util import python, scrubbed_env

URL = "https://127.0.0.1:1/networkIntegrationEndpoint/7"


def pytest_run(
    tmp_path: Path, *args: str, password: str | None = "pw", ini: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = scrubbed_env({"MDM_PASSWORD": password} if password else None)
    for name in ("MDM_BASE_URL", "MDM_USERNAME", *(() if password else ("MDM_PASSWORD",))):
        env.pop(name, None)
    config = tmp_path / "pytest.ini"
    config.write_text("[pytest]\n" + (ini or ""))
    command = [
        *python("-m", "pytest"),
        "-c",
        str(config),
        "--rootdir",
        str(tmp_path),
        "-p",
        "no:cacheprovider",
    ]
    return subprocess.run(
        command + list(args), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )


def test_the_suite_collects_every_contract_without_starting_anything(tmp_path: Path) -> None:
    run = pytest_run(
        tmp_path, "--pyargs", "harness.servercheck", "--collect-only", "-q",
        "--mdm-server", URL, "--mdm-server-username", "u", "--mdm-server-profile", "quick",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "65 tests collected" in run.stdout
    for contract in (
        "test_d1_",
        "test_l2_",
        "test_g3_",
        "test_a2_",
        "test_x3_",
        "test_c1_",
        "test_k1_",
    ):
        assert contract in run.stdout


def test_the_header_shows_the_options_and_the_command_line_wins_over_the_ini(
    tmp_path: Path,
) -> None:
    ini = "mdm_server_rate = 7\nmdm_server_budget_ms = 1500\nmdm_server_seed = 99\n"
    base = [
        "--pyargs",
        "harness.servercheck",
        "--collect-only",
        "--mdm-server",
        URL,
        "--mdm-server-username",
        "u",
    ]
    from_ini = pytest_run(tmp_path, *base, ini=ini)
    assert "rate 7/s, budget 1500 ms" in from_ini.stdout and "seed 99" in from_ini.stdout
    wins = pytest_run(tmp_path, *base, "--mdm-server-rate", "9", ini=ini)
    assert "rate 9/s, budget 1500 ms" in wins.stdout
    drawn = pytest_run(tmp_path, *base)
    assert "replay the draws with --mdm-server-seed" in drawn.stdout
    assert "pw" not in drawn.stdout.replace("pyargs", "")  # the password is never shown


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        ([], "pw", "URL: the server's base URL is required"),
        (["--mdm-server", URL], "pw", "--username: required"),
        (
            ["--mdm-server", URL, "--mdm-server-username", "u"],
            None,
            "--password: required (or set MDM_PASSWORD)",
        ),
        (
            ["--mdm-server", URL, "--mdm-server-username", "u", "--mdm-server-rate", "fast"],
            "pw",
            "--mdm-server-rate='fast' is not a float",
        ),
        (
            ["--mdm-server", URL, "--mdm-server-username", "u", "--mdm-server-device", "nope"],
            "pw",
            "--mdm-server-device 'nope'",
        ),
        (
            ["--mdm-server", URL, "--mdm-server-username", "u", "--mdm-server-allow-actions"],
            "pw",
            "name the devices an action may touch",
        ),
    ],
)
def test_bad_options_are_usage_errors(
    tmp_path: Path, args: list[str], password: str | None, message: str
) -> None:
    run = pytest_run(
        tmp_path, "--pyargs", "harness.servercheck", "--collect-only", *args, password=password
    )
    assert run.returncode == 4, run.stdout + run.stderr  # pytest's usage error
    assert message in run.stderr


def test_the_plugin_stays_out_of_other_runs(tmp_path: Path) -> None:
    (tmp_path / "test_other.py").write_text("def test_other():\n    assert True\n")
    run = pytest_run(tmp_path, "test_other.py", password=None)
    assert run.returncode == 0 and "1 passed" in run.stdout
    assert "mdm-harness server" not in run.stdout
    markers = pytest_run(tmp_path, "--markers", password=None)
    assert "@pytest.mark.server_contract(id)" in markers.stdout
