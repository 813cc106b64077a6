"""Fault ``xml_bomb``: its spec table; a small document that a parser must refuse to expand."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"depth": 0}, "depth: 0 is not between 1 and 20"),
        ({"depth": 21}, "depth: 21 is not between 1 and 20"),
        ({"fanout": 1}, "fanout: 1 is not between 2 and 50"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_bomb", spec).startswith(message)


def test_a_few_hundred_bytes_that_lxml_refuses_to_expand() -> None:
    body = mdm_document("mdminfo")
    f, record = apply_at_response(one_rule({"kind": "xml_bomb"}), body)
    bomb = f.response.content
    assert len(bomb) < len(body) + 1000
    assert record.fault.params["expanded_chars"] == 3 * 10**10
    with pytest.raises(etree.XMLSyntaxError, match=r"amplification|loop|huge"):
        etree.fromstring(bomb)


def test_a_small_bomb_is_still_a_valid_entity_structure() -> None:
    # Negative control: depth 2 expands to 300 chars, which any parser may accept.
    f, _ = apply_at_response(
        one_rule({"kind": "xml_bomb", "depth": 2, "fanout": 10}), mdm_document("mdminfo")
    )
    assert "lol" * 100 in etree.fromstring(f.response.content).findtext("name")
