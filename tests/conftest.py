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
