"""The mdm-harness pytest plugin: options, markers and fixtures for the contract suite.

Registered by the ``pytest11`` entry point ``mdm_harness``, so it is active in every pytest run
of an environment where mdm-harness is installed - and therefore stays thin and lazy: nothing
heavy is imported, and nothing starts, unless a test asks for the fixtures.

Options (each also an ini key of the same name with dashes as underscores; the command line
wins over the ini file, which wins over the default):

``--mdm-client``   the client under test: a command, or ``module:factory`` (default: the
                   bundled reference client, run as a real subprocess)
``--mdm-policy``   the client's policy file (default: the reference client's own)
``--mdm-profile``  ``quick`` | ``standard`` | ``thorough``: how many hypothesis examples
``--mdm-seed``     the seed of every random choice (default: drawn once per run and printed)
``--mdm-report``   a directory for verdicts (JSON lines) and replayable files of failing cases
``--mdm-shard``    ``K/N``: run only shard K of N (see :mod:`harness.contracts.shards`)
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.client.policy import Policy
    from harness.client.runner import ClientSpec

    from .session import ContractHarness

from harness._util import DIE_WITH_PARENT_ENV

from . import config as suite_config
from .config import PROFILES

_OPTIONS: dict[str, tuple[str, str | None]] = {
    "mdm_client": (
        "client under test: a command run through the adapter protocol, or module:factory "
        "(default: the bundled reference client as a subprocess)",
        None,
    ),
    "mdm_policy": (
        "the client's policy YAML (default: the reference client's own policy)",
        None,
    ),
    "mdm_profile": (
        "quick | standard | thorough: how many hypothesis examples each contract draws (default: standard)",
        "standard",
    ),
    "mdm_seed": (
        "seed for every random choice of the suite (default: drawn once and printed in the header)",
        None,
    ),
    "mdm_report": (
        "directory for verdicts.jsonl and a replayable file per failing case (default: none)",
        None,
    ),
    "mdm_shard": (
        "K/N: run only shard K of N of the contract tests, a stable round-robin split (default: all)",
        None,
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mdm-harness", "mdm-harness contract suite")
    for name, (help_text, default) in _OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": name, "default": None, "help": help_text}
        if name == "mdm_profile":
            kwargs["choices"] = PROFILES
        group.addoption(flag, **kwargs)
        parser.addini(name, help_text, default=default)


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name)
    if value is None:
        value = config.getini(name) or None
    return None if value is None else str(value)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(DIE_WITH_PARENT_ENV) and os.environ.get("PYTEST_XDIST_WORKER"):
        # certify asked: this xdist worker (and so its proxy and clients) ends with the
        # controller, however that ends.
        from harness._util import die_with_parent

        die_with_parent()
    config.addinivalue_line("markers", "contract(id): the contract (T1..S5) a test certifies")
    for group in ("transport", "parsing", "protocol", "security"):
        config.addinivalue_line("markers", f"{group}: contracts of the {group} group")
    profile = _option(config, "mdm_profile") or "standard"
    if profile not in PROFILES:
        raise pytest.UsageError(f"--mdm-profile={profile!r} is not one of {', '.join(PROFILES)}")
    seed_text = _option(config, "mdm_seed")
    if seed_text is None:
        # An xdist worker takes the seed its controller drew (pytest_configure_node).
        seed_text = getattr(config, "workerinput", {}).get("mdm_seed")
    if seed_text is None:
        seed = random.SystemRandom().randrange(2**32)
        config.option.mdm_seed = str(seed)
    else:
        try:
            seed = int(seed_text)
        except ValueError:
            raise pytest.UsageError(f"--mdm-seed={seed_text!r} is not an integer") from None
    shard_text = _option(config, "mdm_shard")
    if shard_text is not None:
        from harness.contracts.shards import Shard

        try:
            Shard.parse(shard_text)
        except ValueError as exc:
            raise pytest.UsageError(f"--mdm-shard: {exc}") from None

    suite_config.CURRENT = suite_config.SuiteConfig(
        client=_option(config, "mdm_client"),
        policy=_option(config, "mdm_policy"),
        profile=profile,
        seed=seed,
        report=_option(config, "mdm_report"),
        shard=shard_text,
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the controller's seed to each worker (xdist ships no options of plugins, so
    a worker would otherwise draw a seed of its own - and other cases than the header says)."""
    node.workerinput["mdm_seed"] = str(node.config.option.mdm_seed)


def pytest_report_header(config: pytest.Config) -> list[str] | None:

    suite = suite_config.CURRENT
    if suite is None or not _collecting_contracts(config):
        return None
    return [
        f"mdm-harness: client={suite.client or 'reference client (subprocess)'} "
        f"policy={suite.policy or 'reference policy'} profile={suite.profile} seed={suite.seed}",
        f"mdm-harness: replay this run with --mdm-seed {suite.seed}",
    ]


def _collecting_contracts(config: pytest.Config) -> bool:
    here = Path(__file__).parent.resolve()
    args = [str(a) for a in config.args]
    return any(
        "harness.contracts" in a or Path(a.split("::")[0]).resolve().is_relative_to(here)
        for a in args
    )


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def mdm_suite_config() -> Any:
    """The resolved suite options (client, policy, profile, seed, report directory)."""

    assert suite_config.CURRENT is not None
    return suite_config.CURRENT


@pytest.fixture(scope="session")
def mdm_policy(mdm_suite_config: Any) -> Policy:
    """The policy the client under test declares."""
    from harness.client.policy import PolicyError, load_policy

    from .config import reference_policy_path

    path = mdm_suite_config.policy or reference_policy_path()
    if mdm_suite_config.policy is None and mdm_suite_config.client is not None:
        raise pytest.UsageError(
            "--mdm-policy is required with --mdm-client (what does the client promise?)"
        )
    try:
        return load_policy(path)
    except (PolicyError, OSError) as exc:
        raise pytest.UsageError(f"--mdm-policy: {exc}") from None


@pytest.fixture(scope="session")
def mdm_client(mdm_suite_config: Any) -> ClientSpec:
    """The client under test, as a runnable spec."""
    from harness.client.runner import ClientSpec

    from .config import reference_client_command

    text = mdm_suite_config.client or reference_client_command()
    try:
        return ClientSpec.parse(text)
    except ValueError as exc:
        raise pytest.UsageError(f"--mdm-client: {exc}") from None


@pytest.fixture(scope="session")
def mdm_inventory() -> Any:
    """Override point: an Inventory (or a path to one) for the reference MDM; ``None`` = generated."""
    return None


@pytest.fixture(scope="session")
def mdm_harness(
    tmp_path_factory: pytest.TempPathFactory,
    mdm_suite_config: Any,
    mdm_client: ClientSpec,
    mdm_policy: Policy,
    mdm_inventory: Any,
) -> Iterator[ContractHarness]:
    """One CA, one reference MDM and one long-lived fault proxy per worker; scenarios are swapped per case."""
    from .session import ContractHarness

    state = tmp_path_factory.mktemp("mdm-harness")
    report = Path(mdm_suite_config.report) if mdm_suite_config.report else None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with ContractHarness(
        state_dir=state,
        client=mdm_client,
        policy=mdm_policy,
        seed=mdm_suite_config.seed,
        inventory=mdm_inventory,
        report_dir=report,
        worker=worker,
    ) as harness:
        # A client that cannot run errors every test at once (this fixture's error is cached),
        # instead of failing - and shrinking - every case.
        harness.preflight()
        yield harness


# ------------------------------------------------------------------------------------ reporting


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only this shard's contract tests; name each test's contract in its JUnit properties."""

    suite = suite_config.CURRENT
    contract_items = [item for item in items if item.get_closest_marker("contract") is not None]
    if suite is not None and suite.shard and contract_items:
        from harness.contracts.shards import Shard

        _, dropped = Shard.parse(suite.shard).select(contract_items, key=shard_key)
        if dropped:
            gone = set(map(id, dropped))
            items[:] = [item for item in items if id(item) not in gone]
            config.hook.pytest_deselected(items=dropped)
    for item in items:
        marker = item.get_closest_marker("contract")
        if marker is not None and marker.args:
            item.user_properties.append(("contract", str(marker.args[0])))


def shard_key(item: pytest.Item) -> str:
    """A test's place in the shard order: file name and test name, the same on every machine."""
    return f"{Path(str(item.path)).name}::{item.name}"


#: The JUnit property that marks a test the harness could not judge (its value: what failed).
HARNESS_ERROR_PROPERTY = "harness_error"
#: The JUnit property of a test whose client cannot be run at all (the client's failure).
CLIENT_UNUSABLE_PROPERTY = "client_unusable"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Classify a contract test's failure, and keep hypothesis's notes.

    * A verdict (``pytest.fail`` from the checks, an assertion) is a *failure*: the contract is
      broken. Its report shows hypothesis's notes (the minimal failing example, how to
      reproduce it) and the seed, which a failure without a traceback would otherwise drop.
    * Anything else - a :class:`~harness.errors.HarnessError` (the proxy or MDM died, the
      control API or the report directory failed) or an unexpected exception of the harness's
      own code - is an *error* of the harness, never the client's failure: the report becomes a
      pytest error naming the cause, with the ``harness_error`` JUnit property.
    * :class:`~harness.contracts.session.ClientUnusable` (the client cannot even be started)
      stays an error and is marked ``client_unusable``: that one is the client's.
    """
    outcome = yield
    report = outcome.get_result()
    if not (report.failed and call.excinfo is not None and item.get_closest_marker("contract")):
        return
    from .session import ClientUnusable

    error = call.excinfo.value
    if isinstance(error, ClientUnusable):
        _mark(item, report, CLIENT_UNUSABLE_PROPERTY, str(error))
        return
    if call.when == "call" and _is_verdict(error):
        notes = [str(n) for n in getattr(error, "__notes__", ())]
        seed = suite_config.current().seed
        extra = [*notes, f"replay the whole run with --mdm-seed {seed}"]
        report.longrepr = f"{report.longrepr}\n" + "\n".join(extra)
        return
    from harness.errors import HarnessError

    cause = (
        str(error)
        if isinstance(error, HarnessError)
        else f"{type(error).__name__} in the harness: {error}"
    )
    _mark(item, report, HARNESS_ERROR_PROPERTY, cause)
    if call.when == "call":
        # pytest calls an exception outside the test's own phase an error: say so for this one.
        report.when = "setup"
    # The harness's own failure needs no traceback into the test; a bug of ours keeps it.
    report.longrepr = (
        f"ERROR (harness): {cause}"
        if isinstance(error, HarnessError)
        else f"ERROR (harness): {cause}\n{report.longrepr}"
    )


def _is_verdict(error: BaseException) -> bool:
    """A contract check's failure: pytest.fail, an assertion, or a group of them (hypothesis)."""
    if isinstance(error, BaseExceptionGroup):
        return all(_is_verdict(e) for e in error.exceptions)
    return isinstance(error, (pytest.fail.Exception, AssertionError))


def _mark(item: pytest.Item, report: pytest.TestReport, name: str, value: str) -> None:
    """Set a JUnit property of the test (JUnit takes them from the teardown report, which
    pytest builds from the item's properties)."""
    if all(key != name for key, _ in item.user_properties):
        item.user_properties.append((name, value[:2000]))
    if all(key != name for key, _ in report.user_properties):
        report.user_properties = [*report.user_properties, (name, value[:2000])]
