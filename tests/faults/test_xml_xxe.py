"""Fault ``xml_xxe``: its spec table; the DOCTYPE points at the canary (fetches: test_proxy_curl)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"via": "xinclude"}, "via: 'xinclude' is not one of entity, parameter, dtd"),
        ({"element": ""}, "element: must not be empty"),
        ({"url": "gopher://x/y"}, "url: must be a file://, http:// or https:// URL"),
        ({"url": "file:///a b"}, "url: must be a file://, http:// or https:// URL"),
        ({"reference": "1leak"}, "reference: must be an XML name"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_xxe", spec).startswith(message)


@pytest.mark.parametrize("via", ["entity", "parameter", "dtd"])
def test_the_doctype_names_the_canary_of_this_attempt(via: str) -> None:
    f, record = apply_at_response(
        one_rule({"kind": "xml_xxe", "via": via}), mdm_document("mdminfo")
    )
    body = f.response.content.decode()
    url = record.fault.params["canary_url"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/canary/a1-[0-9a-f]{8}(\.dtd)?", url)
    assert body.index("<!DOCTYPE ise_api") < body.index("<ise_api>") and url in body
    if via == "entity":
        assert "&xxe;" in body
    # A hardened parser reads the document without touching the DTD.
    hardened = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    assert etree.fromstring(f.response.content, hardened).tag == "ise_api"


@pytest.mark.parametrize(
    ("via", "reference"), [("entity", None), ("parameter", "leak"), ("dtd", "leak")]
)
def test_a_file_canary_is_read_by_a_resolving_parser_and_by_no_hardened_one(
    tmp_path: Path, via: str, reference: str | None
) -> None:
    """The classic XXE: lxml with entities resolved reads a local file (even without network
    support), and a DTD that defines an entity; the hardened parser reads neither."""
    token = "mdmh-leak-0123456789abcdef"
    text, dtd = tmp_path / "c.txt", tmp_path / "c.dtd"
    text.write_text(token)
    dtd.write_text(f'<!ENTITY leak "{token}">\n')
    url = (text if via == "entity" else dtd).as_uri()
    spec: dict[str, object] = {"kind": "xml_xxe", "via": via, "url": url, "element": "vendor"}
    if reference:
        spec["reference"] = reference
    f, record = apply_at_response(one_rule(spec), mdm_document("mdminfo"))
    assert record.fault.params["url"] == url and "canary_url" not in record.fault.params
    body = f.response.content
    assert token.encode() not in body and url.encode() in body
    careless = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    vendor = etree.fromstring(body, careless).findtext("vendor")
    assert vendor is not None and token in vendor
    hardened = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    assert token.encode() not in etree.tostring(etree.fromstring(body, hardened))
