"""The server plugin in real pytest sessions (``pytester``, in process): its options and ini
keys, its usage errors, its markers, and that it stays out of runs that are not about a server."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest

import harness.servercheck
from harness._util import DIE_WITH_PARENT_ENV

URL = "https://127.0.0.1:1/networkIntegrationEndpoint/7"

# An in-process inner session removes from sys.modules every module it imported first
# (pytester restores the snapshot): import the server suite's modules here, once, so that no
# inner session imports them (and rewrites their asserts) again.
for _module in pkgutil.iter_modules(harness.servercheck.__path__):
    importlib.import_module(f"harness.servercheck.{_module.name}")


@pytest.fixture(autouse=True)
def inner_sessions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inner sessions see neither the outer session's worker settings nor the caller's server
    variables; plugins load from their entry points, as in a user's run."""
    for name in (
        "PYTEST_XDIST_WORKER",
        "PYTEST_ADDOPTS",
        "PYTEST_PLUGINS",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        DIE_WITH_PARENT_ENV,
        "MDM_BASE_URL",
        "MDM_USERNAME",
        "MDM_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    yield


def pytest_run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    password: str | None = "pw",
    ini: str | None = None,
) -> pytest.RunResult:
    """A pytest session in this process (the plugins are imported already: a user's run
    differs only in starting a Python) with its own ini file and ``MDM_PASSWORD``."""
    with monkeypatch.context() as patch:
        if password:
            patch.setenv("MDM_PASSWORD", password)
        config = pytester.makefile(".ini", pytest="[pytest]\n" + (ini or ""))
        return pytester.runpytest_inprocess(
            "-c", str(config), "--rootdir", str(pytester.path), "-p", "no:cacheprovider",
            "-W", "ignore::pytest.PytestAssertRewriteWarning", *args,
        )  # fmt: skip


def test_the_suite_collects_every_contract_without_starting_anything(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = pytest_run(
        pytester, monkeypatch, "--pyargs", "harness.servercheck", "--collect-only", "-q",
        "--mdm-server", URL, "--mdm-server-username", "u", "--mdm-server-profile", "quick",
    )  # fmt: skip
    assert run.ret == 0, run.stdout.str() + run.stderr.str()
    assert "65 tests collected" in run.stdout.str()
    for contract in (
        "test_d1_",
        "test_l2_",
        "test_g3_",
        "test_a2_",
        "test_x3_",
        "test_c1_",
        "test_k1_",
    ):
        assert contract in run.stdout.str()


def test_the_header_shows_the_options_and_the_command_line_wins_over_the_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
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
    from_ini = pytest_run(pytester, monkeypatch, *base, ini=ini)
    assert (
        "rate 7/s, budget 1500 ms" in from_ini.stdout.str() and "seed 99" in from_ini.stdout.str()
    )
    wins = pytest_run(pytester, monkeypatch, *base, "--mdm-server-rate", "9", ini=ini)
    assert "rate 9/s, budget 1500 ms" in wins.stdout.str()
    drawn = pytest_run(pytester, monkeypatch, *base)
    assert "replay the draws with --mdm-server-seed" in drawn.stdout.str()
    assert "pw" not in drawn.stdout.str().replace("pyargs", "")  # the password is never shown


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
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    password: str | None,
    message: str,
) -> None:
    run = pytest_run(
        pytester,
        monkeypatch,
        "--pyargs",
        "harness.servercheck",
        "--collect-only",
        *args,
        password=password,
    )
    assert run.ret == 4, run.stdout.str() + run.stderr.str()  # pytest's usage error
    assert message in run.stderr.str()


def test_the_plugin_stays_out_of_other_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_other="def test_other():\n    assert True\n")
    run = pytest_run(pytester, monkeypatch, "test_other.py", password=None)
    assert run.ret == 0 and "1 passed" in run.stdout.str()
    assert "mdm-harness server" not in run.stdout.str()
    markers = pytest_run(pytester, monkeypatch, "--markers", password=None)
    assert "@pytest.mark.server_contract(id)" in markers.stdout.str()
