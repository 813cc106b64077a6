"""Server contracts A1-A2: no or wrong credentials, and the challenge of a 401."""

from __future__ import annotations

import pytest

from harness.servercheck.cases import build
from harness.servercheck.session import ServerCheck


@pytest.mark.server_contract("A1")
def test_a1_missing_or_wrong_credentials_get_401_and_no_device(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("A1", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("A2")
def test_a2_a_401_carries_a_basic_challenge(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("A2", mdm_server.site, mdm_server.options))
