"""Parsing contracts P1-P5: what a client concludes from valid, malformed, incomplete, reordered
and large documents. The proxy serves each drawn document as the answer to the operation's
request; the client's result is compared with the values the document really holds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contracts import cases
from harness.contracts.config import suite_settings
from harness.contracts.session import ContractHarness
from harness.contracts.strategies import (
    MALFORMATIONS,
    STYLE_FAMILIES,
    Document,
    Kind,
    action_documents,
    attributes_documents,
    devices,
    full_page,
    incomplete_documents,
    malformed_documents,
    mdminfo_documents,
    mistyped_documents,
    reordered_documents,
)

pytestmark = pytest.mark.parsing


@pytest.mark.contract("P1")
@pytest.mark.parametrize("family", STYLE_FAMILIES)
@suite_settings(scale=0.5)
@given(data=st.data())
def test_p1_device_attributes_parse_to_their_values(
    mdm_harness: ContractHarness, family: str, data: st.DataObject
) -> None:
    doc = data.draw(
        attributes_documents(min_devices=1, max_devices=3, family=family), label="document"
    )
    mdm_harness.certify(cases.served("P1", mdm_harness.site, doc, title=f"attributes, {family}"))


@pytest.mark.contract("P1")
@pytest.mark.parametrize("family", ["plain", "default-namespace", "utf-16", "iso-8859-1"])
@suite_settings(scale=0.5)
@given(data=st.data())
def test_p1_discovery_answers_parse_to_their_values(
    mdm_harness: ContractHarness, family: str, data: st.DataObject
) -> None:
    doc = data.draw(mdminfo_documents(asked_version=3, family=family), label="document")
    mdm_harness.certify(cases.served("P1", mdm_harness.site, doc, title=f"mdminfo, {family}"))


@pytest.mark.contract("P1")
@suite_settings(scale=0.5)
@given(doc=action_documents())
def test_p1_action_answers_parse_to_their_values(
    mdm_harness: ContractHarness, doc: Document
) -> None:
    mdm_harness.certify(cases.served("P1", mdm_harness.site, doc, title="action"))


@pytest.mark.contract("P2")
@pytest.mark.parametrize("how", MALFORMATIONS)
@pytest.mark.parametrize("kind", ["attributes", "mdminfo"])
@suite_settings(examples=1)
@given(data=st.data())
def test_p2_malformed_bodies_are_parse_errors(
    mdm_harness: ContractHarness, kind: Kind, how: str, data: st.DataObject
) -> None:
    doc = data.draw(malformed_documents(kind, how=how), label="document")
    mdm_harness.certify(cases.served("P2", mdm_harness.site, doc, title=f"{kind}: {how}"))


@pytest.mark.contract("P3")
@pytest.mark.parametrize("kind", ["attributes", "mdminfo", "action"])
@suite_settings()
@given(data=st.data())
def test_p3_missing_or_mistyped_elements_are_refused(
    mdm_harness: ContractHarness, kind: Kind, data: st.DataObject
) -> None:
    doc = data.draw(
        st.one_of(incomplete_documents(kind), mistyped_documents(kind)), label="document"
    )
    mdm_harness.certify(
        cases.served("P3", mdm_harness.site, doc, title=f"{kind}: {doc.variant[-1]}")
    )


@pytest.mark.contract("P4")
@pytest.mark.parametrize("kind", ["attributes", "mdminfo", "action"])
@suite_settings()
@given(data=st.data())
def test_p4_order_and_unknown_elements_do_not_matter(
    mdm_harness: ContractHarness, kind: Kind, data: st.DataObject
) -> None:
    extra = {"min_devices": 1} if kind == "attributes" else {}
    doc = data.draw(reordered_documents(kind, canonical=True, **extra), label="document")
    mdm_harness.certify(cases.served("P4", mdm_harness.site, doc, title=f"{kind}, reordered"))


@pytest.mark.contract("P5")
@suite_settings(examples=1)
@given(device=devices(key="macaddress", conforming=True))
def test_p5_a_full_page_parses_in_bounded_time(mdm_harness: ContractHarness, device: tuple) -> None:
    size = mdm_harness.query_max_size
    page = full_page(device, size)
    mdm_harness.certify(
        cases.p5_full_page(mdm_harness.site, page.body, page.expected or {}, bound_s=2.0)
    )
