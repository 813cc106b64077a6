"""Fixtures of the reference MDM's tests; a test module loads them with
``pytest_plugins = ("mdm_support.fixtures",)``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.mdm import ReferenceMDM
from harness.tls import CertificateAuthority
from mdm_support import Api, small_inventory


@pytest.fixture(scope="session")
def mdm_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """One CA per test session (per xdist worker): key generation is the slow part of start-up."""
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("mdm-ca"))


@pytest.fixture(scope="module")
def shared_mdm(mdm_ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    """A read-only server (jamf profile) for tests that change nothing."""
    with ReferenceMDM(ca=mdm_ca, inventory=small_inventory()) as mdm:
        yield mdm
        mdm.check()


@pytest.fixture
def api(shared_mdm: ReferenceMDM) -> Iterator[Api]:
    """A validating client of :func:`shared_mdm`."""
    with Api(shared_mdm) as client:
        yield client
