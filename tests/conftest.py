"""Fixtures shared by every folder of the harness's own tests.

Helpers that are not fixtures live in ``tests/support`` (importable as ``support.*``: the
test run puts ``tests/`` on ``sys.path``, see ``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import pytest

from harness.tls import CertificateAuthority

#: ``pytester`` runs inner pytest sessions (tests/contracts/test_plugin.py tests the plugin).
pytest_plugins = ["pytester"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--zoo-full",
        action="store_true",
        default=False,
        help="tests/zoo: run every broken zoo client on the whole contract suite, not only on "
        "the groups of its contracts (tox -e zoo)",
    )


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """One harness CA per test session (per xdist worker): key generation is the slow part."""
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("ca"))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core (at most 8). Most of this suite waits - on hangs,
    timeouts and backoffs it injects on purpose, and on its subprocesses - rather than
    computes: at one worker per core a full run kept the cores about half busy."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(2, min(8, 2 * (cores or 1)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first - each zoo client's contract-suite run (up to a minute and
    more) - so that xdist does not end a run with one worker on a long zoo test while the
    others sit idle. The sort is stable and the same in every worker."""
    items.sort(key=lambda item: "/tests/zoo/" not in f"/{item.nodeid}")
