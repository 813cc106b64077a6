"""Fixtures shared by every folder of the harness's own tests.

Helpers that are not fixtures live in ``tests/support`` (importable as ``support.*``: the
test run puts ``tests/`` on ``sys.path``, see ``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import os

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


@pytest.hookimpl(optionalhook=True)  # pytest -p no:xdist has no such hook
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per core, and two more. The zoo's matrix test holds a worker for
    minutes while the child run it waits on keeps four workers of its own busy, and many
    tests wait on timeouts and hangs; the extra workers keep the cores busy with the rest of
    the suite meanwhile (measured on 2 cores, with ``--dist worksteal``: 339 s with 2 workers,
    272 s with 3; after the proxy's master lost its idle addons, 254 s with 3, 239 s with 4)."""
    return len(os.sched_getaffinity(0)) + 2


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """One harness CA per test session (per xdist worker): key generation is the slow part."""
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("ca"))
