"""Fault ``xml_encoding``: its spec table; bytes that contradict the declaration or the BOM."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"mode": "ebcdic"},
            "mode: 'ebcdic' is not one of latin1_as_utf8, utf16_bom_declared_utf8, utf8_bom_declared_latin1",
        )
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_encoding", spec).startswith(message)


def _mutated(mode: str) -> bytes:
    f, _ = apply_at_response(
        one_rule({"kind": "xml_encoding", "mode": mode}), mdm_document("mdminfo")
    )
    return f.response.content  # type: ignore[no-any-return]


def test_a_latin1_byte_under_a_utf8_declaration_is_rejected() -> None:
    body = _mutated("latin1_as_utf8")
    assert b"\xe9" in body and body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(body)


def test_a_utf16_bom_under_a_utf8_declaration() -> None:
    body = _mutated("utf16_bom_declared_utf8")
    assert body.startswith(b"\xff\xfe") and 'encoding="UTF-8"' in body[2:].decode("utf-16-le")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # a client decoding as declared fails
    assert etree.fromstring(body).findtext("name") == "mdminfo"  # libxml2 follows the BOM


def test_a_utf8_bom_under_a_latin1_declaration() -> None:
    body = _mutated("utf8_bom_declared_latin1")
    assert body.startswith(b"\xef\xbb\xbf") and b"ISO-8859-1" in body[:60]
    assert "é".encode() in body
