"""Fault ``unauthorized``: its spec table; 401 with Jamf's Basic challenge."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"www_authenticate": 1}, "www_authenticate: expected text, got int 1"),
        ({"message": ["x"]}, "message: expected text, got a list"),
        ({"status": 403}, "status: is not a parameter"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("unauthorized", spec).startswith(message)


def test_401_with_the_challenge_and_an_error_document() -> None:
    f, record = apply_at_response(one_rule("unauthorized", operation="mdminfo"), b"<never/>")
    assert f.response.status_code == 401
    assert f.response.headers["WWW-Authenticate"] == 'Basic realm="Jamf Pro", charset="UTF-8"'
    root = etree.fromstring(f.response.content)
    assert root.findtext("error/status") == "401"
    assert record.upstream is False and record.fault.kind == "unauthorized"


def test_an_empty_challenge_sends_none() -> None:
    f, _ = apply_at_response(one_rule({"kind": "unauthorized", "www_authenticate": ""}), b"")
    assert f.response.status_code == 401 and "WWW-Authenticate" not in f.response.headers


def test_other_operations_pass() -> None:
    f, record = apply_at_response(
        one_rule("unauthorized", operation="mdminfo"),
        b"<ise_api/>",
        "/7/ciscoise/v3/devices/?paging=0",
    )
    assert f.response.status_code == 200 and record.fault is None and record.upstream is True
