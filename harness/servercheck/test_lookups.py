"""Server contracts L1-L7: device lookups by every criterion, unknown devices, one device by
several criteria, filters, MAC case and the api_version of answers."""

from __future__ import annotations

import pytest

from harness.servercheck.cases import build, parameters
from harness.servercheck.session import ServerCheck


@pytest.mark.server_contract("L1")
@pytest.mark.parametrize("params", parameters("L1"))
def test_l1_a_known_device_is_found_by_every_criterion(
    mdm_server: ServerCheck, params: tuple[int, str]
) -> None:
    mdm_server.certify(build("L1", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("L2")
@pytest.mark.parametrize("params", parameters("L2"))
def test_l2_an_unknown_device_is_an_empty_device_list(
    mdm_server: ServerCheck, params: tuple[int, str]
) -> None:
    mdm_server.certify(build("L2", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("L3")
@pytest.mark.parametrize("params", parameters("L3"))
def test_l3_every_lookup_of_a_device_answers_that_device(
    mdm_server: ServerCheck, params: tuple[int]
) -> None:
    mdm_server.certify(build("L3", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("L4")
@pytest.mark.parametrize("params", parameters("L4"))
def test_l4_a_filter_s_attributes_are_in_the_answer(
    mdm_server: ServerCheck, params: tuple[int]
) -> None:
    mdm_server.certify(build("L4", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("L5")
@pytest.mark.parametrize("params", parameters("L5"))
def test_l5_a_filter_leaves_out_what_was_not_asked(
    mdm_server: ServerCheck, params: tuple[int]
) -> None:
    mdm_server.certify(build("L5", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("L6")
@pytest.mark.parametrize("params", parameters("L6"))
def test_l6_macs_in_answers_are_upper_case(mdm_server: ServerCheck, params: tuple[int]) -> None:
    mdm_server.certify(build("L6", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("L7")
@pytest.mark.parametrize("params", parameters("L7"))
def test_l7_an_answer_says_the_version_it_was_asked_at(
    mdm_server: ServerCheck, params: tuple[int]
) -> None:
    mdm_server.certify(build("L7", mdm_server.site, mdm_server.options, *params))
