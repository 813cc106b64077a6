"""Fault ``xml_illegal_chars``: its spec table; a forbidden character inside element text."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"codepoint": 0x41}, "codepoint: 0x41 is allowed in XML 1.0"),
        ({"codepoint": 0x9}, "codepoint: 0x9 is allowed"),
        ({"codepoint": -1}, "codepoint: -1 is less than 0"),
        ({"element": 3}, "element: expected text, got int 3"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_illegal_chars", spec).startswith(message)


@pytest.mark.parametrize("codepoint", [0x0, 0x1, 0x1F, 0xFFFE])
def test_lxml_rejects_the_result(codepoint: int) -> None:
    spec = {"kind": "xml_illegal_chars", "codepoint": codepoint, "element": "vendor"}
    f, _ = apply_at_response(one_rule(spec), mdm_document("mdminfo"))
    body = f.response.content
    assert chr(codepoint).encode() in body
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(body)
