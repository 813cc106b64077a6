"""Fault ``trickle``: its spec table (the rate on the wire: test_proxy_wire)."""

from __future__ import annotations

import pytest
from support.proxy import apply_at_response, bad_spec_message, one_rule

from harness.faults import KINDS


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "bytes_per_s: missing"),
        ({"bytes_per_s": 0}, "bytes_per_s: 0 is not between 1 and 1073741824"),
        ({"bytes_per_s": 10, "chunk_bytes": 0}, "chunk_bytes: 0 is not between 1 and 1048576"),
        ({"bytes_per_s": 10.5}, "bytes_per_s: expected an integer, got float 10.5"),
        ({"rate": 10}, "bytes_per_s: missing"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("trickle", spec).startswith(message)


def test_defaults() -> None:
    fault = KINDS["trickle"].from_spec({"bytes_per_s": 1000})
    assert fault.params() == {"bytes_per_s": 1000}


def test_trickle_needs_the_client_socket_and_fails_only_its_flow_without_one() -> None:
    # In taddons there is no socket to pace bytes on (test_proxy_wire measures the real rate).
    f, record = apply_at_response(one_rule({"kind": "trickle", "bytes_per_s": 100}), b"<ise_api/>")
    assert (
        record.client_end == "error"
        and "trickle: the client connection is not a live socket" in record.fault_error
    )
    assert f.error is not None and record.upstream is True
