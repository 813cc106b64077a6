"""The mdm-harness server plugin: options, markers and the fixture of the server suite.

Registered by the ``pytest11`` entry point ``mdm_harness_server`` and therefore loaded by every
pytest run where mdm-harness is installed - so it stays thin and lazy: it reads and checks its
options only when the run collects the server suite (``pytest --pyargs harness.servercheck``)
or names a server, and nothing starts unless a test asks for :func:`mdm_server`.

Options (those marked * are also ini keys with the name in underscores; the command line wins
over the ini file, which wins over the default; the password is read from ``MDM_PASSWORD`` only,
never from a command line that other users can see):

``--mdm-server URL`` *                  the server's base URL with the instance prefix
                                        (default ``$MDM_BASE_URL``)
``--mdm-server-username U`` *           Basic user (default ``$MDM_USERNAME``)
``--mdm-server-ca PEM`` *               the CA that verifies the server (default: the system store)
``--mdm-server-proxy URL`` *            ISE's proxy, ``http://host:port``
``--mdm-server-device SPEC``            a known device (repeatable; see ``docs/servers.md``)
``--mdm-server-rate R`` *               requests per second for the whole run (default 5; 0: none)
``--mdm-server-budget-ms MS`` *         every answer's time budget (default 30000)
``--mdm-server-concurrency N`` *        lookups sent at once (default 4)
``--mdm-server-max-pages N`` *          the longest walk (default 100)
``--mdm-server-profile P`` *            quick | standard | thorough: how many hostile values
``--mdm-server-seed S`` *               the seed of every draw (default: drawn and printed)
``--mdm-server-allow-actions``          send actions, only to ...
``--mdm-server-action-device SPEC``     ... these devices (repeatable)
``--mdm-server-action TYPE``            pin_lock (default), corporate_wipe or full_wipe
``--mdm-server-report DIR``             verdict records for the report
``--mdm-server-pacer FILE``             the run's shared rate/plan state (default: one per run)
``--mdm-server-max-requests N``         the plan's total (default: computed from the options)
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .session import ServerCheck
    from .target import Options, Target

__all__ = ["SuiteConfig", "mdm_server", "suite_config"]

_INI = {
    "mdm_server": "the MDM server's base URL with the instance prefix (default: $MDM_BASE_URL)",
    "mdm_server_username": "Basic user of the MDM server (default: $MDM_USERNAME); the password is read from $MDM_PASSWORD",
    "mdm_server_ca": "PEM bundle that verifies the server's certificate (default: the system store)",
    "mdm_server_proxy": "ISE's proxy, http://host:port, that requests go through",
    "mdm_server_rate": "requests per second across the whole run (default: 5; 0: no cap)",
    "mdm_server_budget_ms": "time budget of every answer in ms (default: 30000, ISE's compliance timeout)",
    "mdm_server_concurrency": "lookups sent at once for C1 (default: 4)",
    "mdm_server_max_pages": "the most pages the walk of the non-compliant listing takes (default: 100)",
    "mdm_server_profile": "quick | standard | thorough: hostile query values drawn (4, 10, 50)",
    "mdm_server_seed": "seed of every random draw (default: drawn once and printed)",
}
_FLAGS = {
    "mdm_server_device": "a known device: mac=..,guid=..,username=..,hostname=..,udid=..,imei=..,meid=.. (repeatable)",
    "mdm_server_allow_actions": "send actions (wipes, locks): only to the --mdm-server-action-device devices",
    "mdm_server_action_device": "a device an action may touch: mac=.. or guid=.. (repeatable)",
    "mdm_server_action": "the action sent: pin_lock (default), corporate_wipe or full_wipe",
    "mdm_server_report": "directory for verdict records and the survey (default: none)",
    "mdm_server_pacer": "the run's shared rate and plan state file (default: one per run)",
    "mdm_server_max_requests": "the most requests the run may send (default: the plan computed from the options)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "mdm-harness-server", "mdm-harness server suite (certify an MDM server)"
    )
    for name, help_text in {**_INI, **_FLAGS}.items():
        flag = "--" + name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": name, "default": None, "help": help_text}
        if name in ("mdm_server_device", "mdm_server_action_device"):
            kwargs.update(action="append", default=[])
        elif name == "mdm_server_allow_actions":
            kwargs.update(action="store_true", default=False)
        group.addoption(flag, **kwargs)
        if name in _INI:
            parser.addini(name, help_text, default=None)


@dataclass(frozen=True)
class SuiteConfig:
    target: Target
    options: Options
    pacer: Path
    max_requests: int
    report: Path | None
    workers: int


_KEY = pytest.StashKey[SuiteConfig]()


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name)
    if value is None and name in _INI:
        value = config.getini(name) or None
    return None if value is None else str(value)


def _active(config: pytest.Config) -> bool:
    here = Path(__file__).parent.resolve()
    if config.getoption("mdm_server"):
        return True
    for arg in (str(a) for a in config.args):
        if "harness.servercheck" in arg:
            return True
        try:
            if Path(arg.split("::")[0]).resolve().is_relative_to(here):
                return True
        except OSError:
            continue
    return False


def _number(config: pytest.Config, name: str, kind: type, default: Any) -> Any:
    text = _option(config, name)
    if text is None:
        return default
    try:
        return kind(text)
    except ValueError:
        flag = "--" + name.replace("_", "-")
        raise pytest.UsageError(f"{flag}={text!r} is not a {kind.__name__}") from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "server_contract(id): the server contract (D1..K1) a test certifies"
    )
    config.addinivalue_line("markers", "xdist_group(name): keep these tests on one xdist worker")
    if not _active(config):
        return
    from . import target as t
    from .plan import compute, workers_of

    try:
        target = t.Target.checked(
            _option(config, "mdm_server") or os.environ.get("MDM_BASE_URL"),
            _option(config, "mdm_server_username") or os.environ.get("MDM_USERNAME"),
            os.environ.get("MDM_PASSWORD"),
            ca=_option(config, "mdm_server_ca"),
            proxy=_option(config, "mdm_server_proxy"),
        )
        seed = _number(config, "mdm_server_seed", int, None)
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
            config.option.mdm_server_seed = str(seed)  # xdist ships it to every worker
        options = t.Options(
            rate=_number(config, "mdm_server_rate", float, t.DEFAULT_RATE),
            budget_ms=_number(config, "mdm_server_budget_ms", int, t.DEFAULT_BUDGET_MS),
            concurrency=_number(config, "mdm_server_concurrency", int, t.DEFAULT_CONCURRENCY),
            max_pages=_number(config, "mdm_server_max_pages", int, t.DEFAULT_MAX_PAGES),
            profile=_option(config, "mdm_server_profile") or "standard",
            seed=seed,
            devices=tuple(
                t.DeviceSpec.parse(s, "--mdm-server-device")
                for s in config.getoption("mdm_server_device")
            ),
            allow_actions=bool(config.getoption("mdm_server_allow_actions")),
            action_devices=tuple(
                t.DeviceSpec.parse(s, "--mdm-server-action-device")
                for s in config.getoption("mdm_server_action_device")
            ),
            action=_option(config, "mdm_server_action") or "pin_lock",
        )
    except t.TargetError as exc:
        raise pytest.UsageError(f"mdm-harness server suite: {exc}") from None
    workers = workers_of(getattr(config.option, "numprocesses", None))
    pacer = _option(config, "mdm_server_pacer")
    if pacer is None:
        directory = tempfile.mkdtemp(prefix="mdm-harness-pacer-")
        config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
        pacer = config.option.mdm_server_pacer = str(Path(directory) / "pacer.json")
    limit = _number(config, "mdm_server_max_requests", int, None)
    if limit is None:
        limit = compute(options, workers).total
        config.option.mdm_server_max_requests = str(limit)
    report = _option(config, "mdm_server_report")
    config.stash[_KEY] = SuiteConfig(
        target, options, Path(pacer), limit, Path(report) if report else None, workers
    )


def suite_config(config: pytest.Config) -> SuiteConfig | None:
    return config.stash.get(_KEY, None)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    suite = suite_config(config)
    if suite is None:
        return None
    o = suite.options
    return [
        f"mdm-harness server: {suite.target.describe()}",
        f"mdm-harness server: rate {o.rate:g}/s, budget {o.budget_ms} ms, plan {suite.max_requests} requests, "
        f"profile {o.profile}, seed {o.seed} (replay the draws with --mdm-server-seed {o.seed})",
    ]


@pytest.fixture(scope="session")
def mdm_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerCheck]:
    """One pass-through proxy and prober per worker, and the survey of the server."""
    from .pace import Pacer
    from .session import ServerCheck

    suite = suite_config(request.config)
    if suite is None:
        raise pytest.UsageError("the server suite needs --mdm-server URL (or $MDM_BASE_URL)")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    pacer = Pacer(suite.pacer, rate=suite.options.rate, limit=suite.max_requests)
    with ServerCheck(
        suite.target,
        suite.options,
        state_dir=tmp_path_factory.mktemp("mdm-server"),
        pacer=pacer,
        report_dir=suite.report,
        worker=worker,
    ) as check:
        _ = check.site  # the survey, once per worker
        yield check


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Name each server test's contract in its JUnit properties (the report reads them)."""
    for item in items:
        marker = item.get_closest_marker("server_contract")
        if marker is not None and marker.args:
            item.user_properties.append(("contract", str(marker.args[0])))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Under a failing server test, say how to replay the run's draws."""
    outcome = yield
    report = outcome.get_result()
    suite = suite_config(item.config)
    if suite is None or not (report.failed and item.get_closest_marker("server_contract")):
        return
    report.longrepr = (
        f"{report.longrepr}\nreplay the run's draws with --mdm-server-seed {suite.options.seed}"
    )
