"""Server contracts B1, B2 and C1: answers within the budget, compliance lookups within Cisco's
300 ms, and lookups sent at once each answered with its device."""

from __future__ import annotations

import pytest

from harness.servercheck.cases import build
from harness.servercheck.session import ServerCheck


@pytest.mark.server_contract("B1")
def test_b1_every_answer_arrives_within_the_budget(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("B1", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("B2")
def test_b2_a_compliance_lookup_answers_within_300_ms(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("B2", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("C1")
def test_c1_concurrent_lookups_are_each_answered_correctly(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("C1", mdm_server.site, mdm_server.options))
