"""Server contract K1: an action on a device named with --action-device (only with
--allow-actions; without it the test is not applicable and nothing but GET is sent)."""

from __future__ import annotations

import pytest

from harness.servercheck.cases import action_cases
from harness.servercheck.session import ServerCheck


@pytest.mark.server_contract("K1")
def test_k1_an_action_gets_a_valid_action_answer(mdm_server: ServerCheck) -> None:
    mdm_server.certify_all(action_cases(mdm_server.site, mdm_server.options))
