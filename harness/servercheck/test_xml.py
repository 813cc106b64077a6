"""Server contracts X1-X3: well-formed XML labelled as XML, valid attributes documents, and
clean answers to hostile query values (drawn by hypothesis from the run's seed)."""

from __future__ import annotations

import pytest

from harness.servercheck.cases import build
from harness.servercheck.hostile import hostile_cases
from harness.servercheck.session import ServerCheck


@pytest.mark.server_contract("X1")
def test_x1_every_answer_is_well_formed_xml_labelled_as_xml(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("X1", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("X2")
def test_x2_every_device_answer_is_a_valid_attributes_document(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("X2", mdm_server.site, mdm_server.options))


@pytest.mark.server_contract("X3")
def test_x3_hostile_query_values_get_a_clean_answer(mdm_server: ServerCheck) -> None:
    mdm_server.certify_all(hostile_cases(mdm_server.site, mdm_server.options))
