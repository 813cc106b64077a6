"""Server contracts D1-D4: discovery at every version, its document, its api_path, the v1 URL."""

from __future__ import annotations

import pytest

from harness.servercheck.cases import build, parameters
from harness.servercheck.session import ServerCheck


@pytest.mark.server_contract("D1")
@pytest.mark.parametrize("params", parameters("D1"))
def test_d1_api_version_is_never_above_the_version_asked(
    mdm_server: ServerCheck, params: tuple[int]
) -> None:
    mdm_server.certify(build("D1", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("D2")
@pytest.mark.parametrize("params", parameters("D2"))
def test_d2_discovery_is_a_valid_mdminfo_document(
    mdm_server: ServerCheck, params: tuple[int]
) -> None:
    mdm_server.certify(build("D2", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("D3")
@pytest.mark.parametrize("params", parameters("D3"))
def test_d3_the_api_path_is_usable_as_given(mdm_server: ServerCheck, params: tuple[int]) -> None:
    mdm_server.certify(build("D3", mdm_server.site, mdm_server.options, *params))


@pytest.mark.server_contract("D4")
def test_d4_discovery_answers_at_the_v1_url_without_a_redirect(mdm_server: ServerCheck) -> None:
    mdm_server.certify(build("D4", mdm_server.site, mdm_server.options))
