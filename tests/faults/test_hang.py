"""Fault ``hang``: its spec table; silence until the client leaves, or until the cap."""

from __future__ import annotations

import time

import pytest
from support.proxy import (
    addon,
    bad_spec_message,
    client_leaves_after,
    drive_request,
    flow,
    one_rule,
    record_of,
    run,
)

from harness.faults.hang import MAX_HANG_MS


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"max_ms": 0}, "max_ms: 0 is not between 1 and 3600000"),
        ({"max_ms": "forever"}, "max_ms: expected an integer, got str 'forever'"),
        (
            {"max_ms": MAX_HANG_MS + 1},
            f"max_ms: {MAX_HANG_MS + 1} is not between 1 and {MAX_HANG_MS}",
        ),
        ({"seconds": 3}, "seconds: is not a parameter of hang (it takes max_ms)"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("hang", spec).startswith(message)


def test_a_hang_lasts_until_the_client_gives_up() -> None:
    with addon(one_rule("hang")) as harness:
        f = flow()

        async def go() -> None:
            client_leaves_after(f, 0.2)
            await drive_request(harness, f)

        run(go())
        record = record_of(harness)
    assert record.client_end == "client_closed"
    assert 0.15 <= record.end - record.start < 2.0
    assert record.status is None and record.upstream is False
    assert f.error is not None  # the flow was killed, nothing goes upstream


def test_a_hang_is_capped_and_then_closed() -> None:
    with addon(one_rule({"kind": "hang", "max_ms": 100})) as harness:
        f = flow()
        start = time.monotonic()
        run(drive_request(harness, f))
        took = time.monotonic() - start
        record = record_of(harness)
    assert 0.1 <= took < 2.0
    assert record.client_end == "proxy_closed"
    assert record.fault.params["capped_after_s"] == 0.1


def test_the_proxy_cap_bounds_every_hang() -> None:
    with addon(one_rule("hang"), harness_max_hang=1) as harness:
        assert harness.max_hang_s == 1.0
        start = time.monotonic()
        run(drive_request(harness, flow()))
        assert 1.0 <= time.monotonic() - start < 3.0
        assert record_of(harness).fault.params["capped_after_s"] == 1.0
