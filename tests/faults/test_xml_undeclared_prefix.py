"""Fault ``xml_undeclared_prefix``: its spec table; a prefix nobody declared."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"prefix": "xmlfoo"}, "prefix: must be a plain name not starting with 'xml'"),
        ({"prefix": "a:b"}, "prefix: must be a plain name"),
        ({"element": ""}, "element: must not be empty"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_undeclared_prefix", spec).startswith(message)


@pytest.mark.parametrize(("element", "tag"), [(None, b"ise_api"), ("api_path", b"api_path")])
def test_the_prefixed_document_is_rejected(element: str | None, tag: bytes) -> None:
    spec = {
        "kind": "xml_undeclared_prefix",
        "prefix": "ns2",
        **({"element": element} if element else {}),
    }
    f, _ = apply_at_response(one_rule(spec), mdm_document("mdminfo"))
    body = f.response.content
    assert b"<ns2:" + tag + b">" in body and b"</ns2:" + tag + b">" in body
    with pytest.raises(etree.XMLSyntaxError, match="Namespace prefix ns2"):
        etree.fromstring(body)
