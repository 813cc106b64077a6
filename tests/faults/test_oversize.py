"""Fault ``oversize``: its spec table; a streamed, well-formed body of exactly ``bytes``."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import apply_at_response, bad_spec_message, one_rule

from harness.faults import KINDS


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"bytes": 10}, "bytes: 10 is not between 163 and 4294967296"),
        ({"bytes": (4 << 30) + 1}, f"bytes: {(4 << 30) + 1} is not between 163 and {4 << 30}"),
        ({"bytes": "1G"}, "bytes: expected an integer, got str '1G'"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("oversize", spec).startswith(message)


@pytest.mark.parametrize("size", [200, 4096, 100_003, 1 << 20])
def test_the_body_is_exactly_the_size_and_well_formed(size: int) -> None:
    body = b"".join(KINDS["oversize"].from_spec({"bytes": size}).chunks(chunk_bytes=8192))
    assert len(body) == size
    root = etree.fromstring(body)
    assert root.tag == "ise_api" and root.findtext("name") == "attributes"


def test_chunks_are_generated_lazily() -> None:
    chunks = KINDS["oversize"].from_spec({"bytes": 4 << 30}).chunks()
    first = [next(chunks) for _ in range(3)]
    assert all(len(c) <= 1 << 16 for c in first)  # 4 GiB never sits in memory


def test_oversize_streams_on_the_socket_and_fails_only_its_flow_without_one() -> None:
    f, record = apply_at_response(one_rule({"kind": "oversize", "bytes": 4096}), b"<never/>")
    assert (
        record.client_end == "error"
        and "oversize: the client connection is not a live socket" in record.fault_error
    )
    assert record.upstream is False and f.error is not None
