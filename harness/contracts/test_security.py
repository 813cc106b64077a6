"""Security contracts S1-S5: certificate verification, external entities, entity bombs,
credentials on redirects, and the password in the client's output."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contracts import _scenarios as sc
from harness.contracts import cases
from harness.contracts.config import suite_settings
from harness.contracts.session import ContractHarness
from harness.contracts.strategies import hostile_documents
from harness.scenario import Rule

pytestmark = pytest.mark.security


@pytest.mark.contract("S1")
@pytest.mark.parametrize("kind", ["expired", "wrong-host", "untrusted-ca"])
def test_s1_bad_certificates_are_refused_before_any_request(
    mdm_harness: ContractHarness, kind: str
) -> None:
    mdm_harness.certify(cases.s1_bad_certificate(mdm_harness.site, kind))


@pytest.mark.contract("S2")
@pytest.mark.parametrize("via", ["entity", "parameter", "dtd"])
def test_s2_external_entities_are_never_fetched(mdm_harness: ContractHarness, via: str) -> None:
    mdm_harness.certify(cases.s2_xxe(mdm_harness.site, via))


@pytest.mark.contract("S2")
@pytest.mark.parametrize("via", ["entity", "parameter", "dtd"])
def test_s2_local_files_are_never_read_through_entities(
    mdm_harness: ContractHarness, via: str
) -> None:
    token, text_url, dtd_url = mdm_harness.canary_files()
    url = text_url if via == "entity" else dtd_url
    mdm_harness.certify(cases.s2_file_xxe(mdm_harness.site, via, url=url, token=token))


@pytest.mark.contract("S3")
@pytest.mark.parametrize("how", ["billion-laughs", "quadratic-blowup"])
@suite_settings(examples=1)
@given(data=st.data())
def test_s3_entity_bombs_are_parse_errors_in_bounded_time(
    mdm_harness: ContractHarness, how: str, data: st.DataObject
) -> None:
    doc = data.draw(
        hostile_documents("attributes", canary_url=mdm_harness.canary_url("s3"), how=how),
        label="document",
    )
    bound = mdm_harness.policy.timeout_s + 5.0
    mdm_harness.certify(cases.s3_bomb(mdm_harness.site, doc, bound_s=bound))


@pytest.mark.contract("S4")
@pytest.mark.parametrize(
    ("where", "status"),
    [
        ("https://elsewhere.mdm-harness.test/collect", 302),
        ("http://{host}/plain", 307),
        ("https://elsewhere.mdm-harness.test/again", 308),
    ],
    ids=["other-host-302", "plain-http-307", "other-host-308"],
)
def test_s4_credentials_never_follow_a_redirect_away(
    mdm_harness: ContractHarness, where: str, status: int
) -> None:
    location = where.format(host=mdm_harness.site.host)
    mdm_harness.certify(cases.s4_redirect(mdm_harness.site, location, status))


@pytest.mark.contract("S5")
@pytest.mark.parametrize(
    ("name", "operation", "rules"),
    [
        ("success", "device", []),
        ("unauthorized", "mdminfo", [sc.rule("deny", "unauthorized", operation="mdminfo")]),
        ("server-error", "device", [sc.rule("fail", "status_500", operation="devices")]),
        ("not-found", "mdminfo", [sc.rule("missing", "status_404", operation="mdminfo")]),
    ],
    ids=["success", "unauthorized", "server-error", "not-found"],
)
def test_s5_the_password_never_appears_in_the_output(
    mdm_harness: ContractHarness, name: str, operation: str, rules: list[Rule]
) -> None:
    mdm_harness.certify(cases.s5_output(mdm_harness.site, name, rules, operation))
