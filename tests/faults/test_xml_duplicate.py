"""Fault ``xml_duplicate``: its spec table; an element twice, the copy right after the original."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [({}, "element: missing"), ({"element": "x", "value": 1}, "value: expected text, got int 1")],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_duplicate", spec).startswith(message)


def test_the_copy_follows_with_its_own_value() -> None:
    spec = {"kind": "xml_duplicate", "element": "api_version", "value": "1"}
    f, _ = apply_at_response(one_rule(spec), mdm_document("mdminfo"))
    root = etree.fromstring(f.response.content)
    assert [e.text for e in root.findall("api_version")] == ["3", "1"]
    assert root.index(root.findall("api_version")[1]) == root.index(root.find("api_version")) + 1


def test_the_root_is_not_duplicated() -> None:
    body = mdm_document("mdminfo")
    f, record = apply_at_response(one_rule({"kind": "xml_duplicate", "element": "ise_api"}), body)
    assert f.response.content == body and "root" in record.fault.skipped
