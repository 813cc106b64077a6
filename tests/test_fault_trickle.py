"""Fault ``trickle``: its spec table (the rate on the wire: test_proxy_wire)."""

from __future__ import annotations

import pytest
from proxy_support import bad_spec_message

from harness.proxy.faults import KINDS


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "bytes_per_s: is required"),
        ({"bytes_per_s": 0}, "bytes_per_s: must be at least 1"),
        ({"bytes_per_s": 10, "chunk_bytes": 0}, "chunk_bytes: must be at least 1"),
        ({"bytes_per_s": 10.5}, "bytes_per_s: must be an integer"),
        ({"rate": 10}, "bytes_per_s: is required"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("trickle", spec).startswith(message)


def test_defaults() -> None:
    fault = KINDS["trickle"].from_spec({"bytes_per_s": 1000})
    assert fault.params() == {"bytes_per_s": 1000}
