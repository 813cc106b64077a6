"""Server contracts G1-G5: one walk of the non-compliant listing, judged five ways.

The walk is sent once per run: these tests share it (``xdist_group``: one worker runs them all,
so the walk counts once in the plan)."""

from __future__ import annotations

import pytest

from harness.servercheck.cases import build
from harness.servercheck.session import ServerCheck

pytestmark = pytest.mark.xdist_group("mdm-server-walk")


@pytest.mark.server_contract("G1")
def test_g1_the_walk_ends_and_never_repeats_a_device(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("G1", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("G2")
def test_g2_no_page_exceeds_query_max_size(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("G2", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("G3")
def test_g3_a_cursor_sent_back_verbatim_is_accepted(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("G3", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("G4")
def test_g4_server_busy_wait_seconds_is_a_non_negative_integer(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("G4", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("G5")
def test_g5_server_busy_wait_seconds_stays_within_an_hour(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("G5", mdm_server.site, mdm_server.options))
