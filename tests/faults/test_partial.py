"""Fault ``partial``: its spec table and the cut (the bytes on the wire: test_proxy_wire)."""

from __future__ import annotations

import pytest
from support.proxy import apply_at_response, bad_spec_message, one_rule

from harness.faults import KINDS
from harness.proxy.runtime import _head, _head_fields


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"bytes": -1}, "bytes: -1 is less than 0"),
        ({"bytes": "10"}, "bytes: expected an integer, got str '10'"),
        ({"then": "complete"}, "then: 'complete' is not one of hang, close, reset"),
        ({"max_ms": 0}, "max_ms: 0 is less than 1"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("partial", spec).startswith(message)


def test_partial_acts_only_on_the_upstream_response() -> None:
    assert KINDS["partial"].phases == ("response",)


def test_the_raw_head_announces_the_whole_body_and_the_close() -> None:
    fields = _head_fields(
        [("Content-Type", "application/xml"), ("Content-Length", "3"), ("X", "y")], 7558
    )
    head = _head(200, fields)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 7558\r\n" in head and b"Content-Length: 3" not in head
    assert b"Connection: close\r\n" in head and head.endswith(b"\r\n\r\n")


def test_without_a_socket_the_fault_fails_its_flow_and_says_why() -> None:
    f, record = apply_at_response(
        one_rule({"kind": "partial", "bytes": 10, "then": "close"}), b"<ise_api/>"
    )
    assert record.client_end == "error" and "not a live socket" in record.fault_error
    assert f.error is not None
