"""Fault ``xml_wrong_type``: its spec table; a value of the wrong type."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [({}, "element: missing"), ({"element": "a", "value": 3}, "value: expected text, got int 3")],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_wrong_type", spec).startswith(message)


def test_the_value_is_replaced_and_the_original_recorded() -> None:
    spec = {"kind": "xml_wrong_type", "element": "query_max_size", "value": "lots"}
    f, record = apply_at_response(one_rule(spec), mdm_document("mdminfo"))
    assert etree.fromstring(f.response.content).findtext("query_max_size") == "lots"
    assert record.fault.params["original"] == "1000"
