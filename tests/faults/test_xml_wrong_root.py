"""Fault ``xml_wrong_root``: its spec table; well-formed XML under another root."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"root": ""}, "root: must not be empty"),
        ({"root": "1abc"}, "root: must be a plain XML name"),
        ({"root": "a b"}, "root: must be a plain XML name"),
        ({"root": "ise_api"}, "root: must differ from ise_api"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_wrong_root", spec).startswith(message)


def test_the_content_stays_the_root_changes() -> None:
    body = mdm_document("mdminfo")
    f, _ = apply_at_response(one_rule({"kind": "xml_wrong_root", "root": "html"}), body)
    root = etree.fromstring(f.response.content)
    assert root.tag == "html"
    assert root.findtext("api_path") == etree.fromstring(body).findtext("api_path")
