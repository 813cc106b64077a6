"""Fixtures of the client tests; a test module loads them with
``pytest_plugins = ("client_support.fixtures",)``."""

from __future__ import annotations

import pytest

from harness.tls import CertificateAuthority


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """One harness CA per test session (per xdist worker): key generation is the slow part."""
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("client-ca"))
