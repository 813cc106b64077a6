"""Fault ``xml_drop_element``: its spec table; a required element removed."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "element: missing"),
        ({"element": ""}, "element: must not be empty"),
        ({"element": "x", "all": "yes"}, "all: expected true or false, got str 'yes'"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_drop_element", spec).startswith(message)


def test_drop_the_first_or_all() -> None:
    body = mdm_document("attributes")
    devices = len(etree.fromstring(body).findall(".//model"))
    assert devices == 3
    f, record = apply_at_response(one_rule({"kind": "xml_drop_element", "element": "model"}), body)
    assert len(etree.fromstring(f.response.content).findall(".//model")) == 2
    f, record = apply_at_response(
        one_rule({"kind": "xml_drop_element", "element": "model", "all": True}), body
    )
    assert etree.fromstring(f.response.content).findall(".//model") == []
    assert record.fault.params["dropped"] == 3


def test_a_missing_element_is_a_skip_not_an_error() -> None:
    body = mdm_document("mdminfo")
    f, record = apply_at_response(
        one_rule({"kind": "xml_drop_element", "element": "nothing_here"}), body
    )
    assert f.response.content == body and "no <nothing_here>" in record.fault.skipped
