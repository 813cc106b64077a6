"""Fixtures of the reference MDM's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.mdm import Api, small_inventory

from harness.mdm import ReferenceMDM
from harness.tls import CertificateAuthority


@pytest.fixture(scope="session")
def mdm_ca(ca: CertificateAuthority) -> CertificateAuthority:
    """The session's CA (the name the MDM tests use)."""
    return ca


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
