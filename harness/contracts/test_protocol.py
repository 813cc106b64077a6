"""Protocol contracts R1-R6: discovery and api_path, API versions, MAC form, paging cursors,
cursor loops, and unregistered devices."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contracts import cases
from harness.contracts.config import suite_settings
from harness.contracts.session import ContractHarness
from harness.contracts.strategies import (
    MAC_FORMS,
    attributes_documents,
    incomplete_documents,
    mac_address_forms,
    mdminfo_documents,
    paging_cursor_sequences,
)

pytestmark = pytest.mark.protocol


@pytest.mark.contract("R1")
@suite_settings()
@given(data=st.data())
def test_r1_the_client_uses_the_api_path_it_was_given(
    mdm_harness: ContractHarness, data: st.DataObject
) -> None:
    version = mdm_harness.policy.discovery.versions[0]
    discovery = data.draw(
        mdminfo_documents(asked_version=version, canonical=True), label="discovery"
    )
    answer = data.draw(
        attributes_documents(
            min_devices=1,
            max_devices=1,
            canonical=True,
            api_version=discovery.expected["api_version"] if discovery.expected else 3,
        ),
        label="answer",
    )
    mdm_harness.certify(cases.r1_api_path(mdm_harness.site, discovery, answer))


@pytest.mark.contract("R2")
@pytest.mark.parametrize("version", [1, 2])
@suite_settings(examples=1)
@given(data=st.data())
def test_r2_a_lower_api_version_is_honoured(
    mdm_harness: ContractHarness, version: int, data: st.DataObject
) -> None:
    discovery = data.draw(
        mdminfo_documents(
            asked_version=version, canonical=True, api_path=mdm_harness.site.api_paths[version]
        ).filter(lambda d: d.expected is not None and d.expected["api_version"] == version),
        label="discovery",
    )
    answer = data.draw(
        attributes_documents(
            min_devices=1, max_devices=1, canonical=True, api_version=version, key="macaddress"
        ),
        label="answer",
    )
    mdm_harness.certify(cases.r2_version(mdm_harness.site, discovery, answer))


@pytest.mark.contract("R2")
@suite_settings(examples=2)
@given(data=st.data())
def test_r2_a_v3_answer_without_vendor_fields_is_refused(
    mdm_harness: ContractHarness, data: st.DataObject
) -> None:
    doc = data.draw(
        incomplete_documents("mdminfo").filter(
            lambda d: (
                d.variant[-1]
                in ("missing-vendor", "missing-product_name", "missing-product_version")
            )
        ),
        label="discovery",
    )
    mdm_harness.certify(cases.r2_version(mdm_harness.site, doc, None))


@pytest.mark.contract("R3")
@pytest.mark.parametrize("form", MAC_FORMS)
@suite_settings(examples=1)
@given(data=st.data())
def test_r3_macs_are_sent_as_twelve_upper_case_hex_digits(
    mdm_harness: ContractHarness, form: str, data: st.DataObject
) -> None:
    mac = data.draw(mac_address_forms(form=form), label="mac")
    mdm_harness.certify(cases.r3_mac(mdm_harness.site, *mac))


@pytest.mark.contract("R4")
@suite_settings()
@given(data=st.data())
def test_r4_paging_cursors_are_passed_back_verbatim(
    mdm_harness: ContractHarness, data: st.DataObject
) -> None:
    cursors = data.draw(paging_cursor_sequences(min_pages=2, max_pages=4), label="cursors")
    pages = []
    for cursor in cursors:
        page = data.draw(
            attributes_documents(min_devices=1, max_devices=2, canonical=True, api_version=3),
            label="page",
        )
        body = page.body.replace(
            b"<paging_info>0</paging_info>",
            f"<paging_info>{_xml_escape(cursor)}</paging_info>".encode(),
        )
        pages.append(replace(page, body=body))
    mdm_harness.certify(cases.r4_pages(mdm_harness.site, cursors, pages))


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.contract("R5")
def test_r5_a_cursor_loop_is_detected(mdm_harness: ContractHarness) -> None:
    mdm_harness.certify(cases.r5_loop(mdm_harness.site))


@pytest.mark.contract("R6")
def test_r6_an_empty_device_list_means_unregistered(mdm_harness: ContractHarness) -> None:
    mdm_harness.certify(cases.r6_unregistered(mdm_harness.site))
