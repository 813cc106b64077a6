"""The zoo as a matrix: one contract-suite session judges many zoo clients.

Loaded into a child ``pytest --pyargs harness.contracts`` run with ``-p zoo_matrix --zoo-matrix
NAME,NAME,...`` (``tests/zoo`` on ``PYTHONPATH``), it parametrizes the contract tests over the
named clients: ``reference`` (the bundled reference client in-process, on its own policy) and
every honest client over every test of the suite; a broken zoo client over the tests of its
declared contracts (``breaks`` and ``may_break``) - or, with ``--zoo-scope groups``, over every
test of those contracts' groups.

Each worker keeps one lab (CA, reference MDM, fault proxy: the ``mdm_harness`` fixture) for all
of them; the ``zoo_entry`` fixture switches the harness's ``client`` and ``policy`` - the only
parts of a harness that belong to the client - before each test. Everything else is per case
already: every run resets the proxy's scenario and journal and the MDM's records, and each
verdict record names its test (so its client: ``zoo:NAME`` in the test id) and policy.

The hypothesis seed is the suite's (``--mdm-seed``), not the test id's: each client is drawn the
same cases as in a session of its own, so its verdicts are those of ``pytest --pyargs
harness.contracts --mdm-client zoo_clients:NAME``. Each test's JUnit record carries the
property ``zoo`` (the client's name) next to ``contract``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from harness.client.policy import Policy, load_policy
from harness.client.runner import ClientSpec
from harness.contracts.catalog import CONTRACTS, GROUPS

ZOO_DIR = Path(__file__).parent
if str(ZOO_DIR) not in sys.path:
    sys.path.insert(0, str(ZOO_DIR))
from zoo_clients import HONEST, ZOO  # noqa: E402

#: The name of the bundled reference client (in-process, on its own policy) in a matrix.
REFERENCE = "reference"
#: How a matrix test's id names its client: ``test_x[zoo:NAME-...]``.
ID_PREFIX = "zoo:"
_ID = re.compile(rf"[\[-]{ID_PREFIX}([A-Za-z0-9_]+)[\]-]")


@dataclass(frozen=True)
class Entry:
    """One client of the matrix: how the suite runs it, its policy, the groups it is run on."""

    name: str
    client: str
    policy: Path
    #: The contracts whose tests it runs (every contract: the whole suite).
    contracts: frozenset[str]

    def __str__(self) -> str:  # the test id's part
        return f"{ID_PREFIX}{self.name}"


def groups_of(contracts: frozenset[str]) -> tuple[str, ...]:
    """The contract groups the contracts belong to, in catalog order."""
    return tuple(g for g in GROUPS if any(CONTRACTS[c].group == g for c in contracts))


def client_text(name: str, exec_form: bool) -> str:
    """The ``--mdm-client`` of a zoo or honest client: in-process, or its exec form."""
    if exec_form:
        return f"{sys.executable} {ZOO_DIR / 'run_zoo.py'} {name}"
    return f"zoo_clients:{name}"


#: The in-process reference client, and its policy.
REFERENCE_CLIENT = "harness.client.reference:factory"


def reference_policy() -> Path:
    from harness.client import REFERENCE_POLICY_PATH

    return Path(REFERENCE_POLICY_PATH)


def entry(name: str, scope: str = "contracts") -> Entry:
    """The matrix entry of a zoo client, an honest client or ``reference``; ``scope``
    (``contracts`` or ``groups``) is what a broken client runs the tests of."""
    every = frozenset(CONTRACTS)
    if name == REFERENCE:
        return Entry(name, REFERENCE_CLIENT, reference_policy(), every)
    if name in HONEST:
        honest = HONEST[name]
        return Entry(name, client_text(name, honest.exec_form), honest.policy, every)
    if name in ZOO:
        zoo = ZOO[name]
        declared = zoo.breaks | zoo.may_break
        if scope == "groups":
            groups = groups_of(declared)
            declared = frozenset(c for c in CONTRACTS if CONTRACTS[c].group in groups)
        return Entry(name, client_text(name, zoo.exec_form), zoo.policy, declared)
    known = ", ".join([REFERENCE, *sorted(HONEST), *sorted(ZOO)])
    raise ValueError(f"--zoo-matrix: no zoo client {name!r} (known: {known})")


def entry_of_test(test_id: str) -> str | None:
    """The matrix client a test id names, if any."""
    found = _ID.search(test_id)
    return found.group(1) if found else None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("zoo matrix").addoption(
        "--zoo-matrix",
        default=None,
        help="comma-separated zoo clients (names from tests/zoo/zoo_clients.py, or 'reference') "
        "to run the contract tests over",
    )
    parser.getgroup("zoo matrix").addoption(
        "--zoo-scope",
        choices=("contracts", "groups"),
        default="contracts",
        help="a broken zoo client runs the tests of its declared contracts (default), or of "
        "their groups",
    )


def _entries(config: pytest.Config) -> list[Entry]:
    text = config.getoption("zoo_matrix")
    if not text:
        raise pytest.UsageError("-p zoo_matrix needs --zoo-matrix NAME,NAME,...")
    try:
        scope = str(config.getoption("zoo_scope"))
        return [entry(name.strip(), scope) for name in str(text).split(",") if name.strip()]
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every contract test runs once per client that runs its contract's tests."""
    if "mdm_harness" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("contract")
    if marker is None or not marker.args or marker.args[0] not in CONTRACTS:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: names no contract of the catalog")
    entries = [e for e in _entries(metafunc.config) if marker.args[0] in e.contracts]
    metafunc.parametrize("zoo_entry", entries, indirect=True, ids=str)


@cache
def _policy(path: Path) -> Policy:
    return load_policy(path)


@pytest.fixture(autouse=True)
def zoo_entry(request: pytest.FixtureRequest) -> Any:
    """Point the worker's harness at this test's client and policy."""
    entry = getattr(request, "param", None)
    if entry is None:  # not a contract test
        return None
    harness = request.getfixturevalue("mdm_harness")
    harness.client = ClientSpec.parse(entry.client)
    harness.policy = _policy(entry.policy)
    request.node.user_properties.append(("zoo", entry.name))
    return entry


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The transport tests first: they wait longest (timeouts, hangs, backoff), and a worker
    that starts them last holds the session up at its end."""
    items.sort(key=lambda item: item.get_closest_marker("transport") is None)
