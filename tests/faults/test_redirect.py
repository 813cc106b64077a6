"""Fault ``redirect``: its spec table; a 3xx with Location."""

from __future__ import annotations

import pytest
from support.proxy import apply_at_response, bad_spec_message, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "location: missing"),
        ({"location": ""}, "location: must not be empty"),
        ({"location": "/x", "status": 304}, "status: 304 is not one of 301, 302, 303, 307, 308"),
        ({"location": "/x\r\nSet-Cookie: a=b"}, "location: must not contain line breaks"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("redirect", spec).startswith(message)


def test_redirect() -> None:
    spec = {
        "kind": "redirect",
        "status": 308,
        "location": "http://elsewhere.test/ciscoise/mdminfo/",
    }
    f, record = apply_at_response(one_rule(spec), b"<never/>")
    assert f.response.status_code == 308
    assert f.response.headers["Location"] == "http://elsewhere.test/ciscoise/mdminfo/"
    assert record.status == 308 and record.upstream is False
