"""Fault ``xml_xxe``: its spec table; the DOCTYPE points at the canary (fetches: test_proxy_curl)."""

from __future__ import annotations

import re

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"via": "xinclude"}, "via: 'xinclude' is not one of entity, parameter, dtd"),
        ({"element": ""}, "element: must not be empty"),
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
