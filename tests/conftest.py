"""Fixtures shared by every folder of the harness's own tests.

Helpers that are not fixtures live in ``tests/support`` (importable as ``support.*``: the
test run puts ``tests/`` on ``sys.path``, see ``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import pytest

from harness.tls import CertificateAuthority

#: ``pytester`` runs inner pytest sessions (tests/contracts/test_plugin.py tests the plugin).
pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """One harness CA per test session (per xdist worker): key generation is the slow part."""
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("ca"))
