"""Fault ``xml_truncate``: its spec table; the real document cut inside an element."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"fraction": 0}, "fraction: 0 must be greater than 0"),
        ({"fraction": 1}, "fraction: 1 is more than 0.999"),
        ({"fraction": "half"}, "fraction: expected a number, got str 'half'"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("xml_truncate", spec).startswith(message)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_the_cut_lands_inside_an_element_and_lxml_rejects_it(fraction: float) -> None:
    body = mdm_document("mdminfo")
    f, record = apply_at_response(one_rule({"kind": "xml_truncate", "fraction": fraction}), body)
    cut = f.response.content
    assert body.startswith(cut) and len(cut) < len(body)
    assert cut[-1:] not in (b">", b"\n")  # inside text, not between tags
    assert int(f.response.headers["Content-Length"]) == len(cut)
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(cut)
    assert record.fault.params["kept_bytes"] == len(cut)


def test_a_body_that_is_not_xml_passes_unchanged() -> None:
    f, record = apply_at_response(one_rule({"kind": "xml_truncate"}), b"plain text, no tags")
    assert f.response.content == b"plain text, no tags"
    assert "not well-formed XML" in record.fault.skipped
    assert record.client_end == "completed"
