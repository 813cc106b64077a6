"""Fault ``content_type``: its spec table; a lying header, or an HTML login page in the MDM's place."""

from __future__ import annotations

import pytest
from support.proxy import apply_at_response, bad_spec_message, mdm_document, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"content_type": ""}, "content_type: must not be empty"),
        ({"status": 199}, "status: 199 is not between 200 and 599"),
        ({"body": 1}, "body: expected text, got int 1"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("content_type", spec).startswith(message)


def test_at_request_a_login_page_is_served_with_200() -> None:
    f, record = apply_at_response(one_rule({"kind": "content_type"}, phase="request"), b"<never/>")
    assert f.response.status_code == 200
    assert f.response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f.response.content.startswith(b"<!DOCTYPE html>")
    assert record.upstream is False


def test_at_response_the_real_body_keeps_coming_under_a_wrong_header() -> None:
    body = mdm_document("mdminfo")
    f, record = apply_at_response(
        one_rule({"kind": "content_type", "content_type": "text/plain"}), body
    )
    assert f.response.content == body and f.response.headers["Content-Type"] == "text/plain"
    assert record.upstream is True
