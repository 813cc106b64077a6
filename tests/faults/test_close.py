"""Fault ``close``: no parameters; before the upstream it never sees the request, after it it did."""

from __future__ import annotations

import pytest
from support.proxy import (
    DEVICES,
    addon,
    bad_spec_message,
    drive_request,
    drive_response,
    flow,
    one_rule,
    record_of,
    response,
    run,
)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"after_ms": 1}, "after_ms: is not a parameter"),
        ({"then": "reset"}, "then: is not a parameter"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("close", spec).startswith(message)


def test_close_at_request_kills_the_flow_before_the_upstream() -> None:
    with addon(one_rule("close")) as harness:
        f = flow()
        run(drive_request(harness, f))
        record = record_of(harness)
    assert f.error is not None and f.error.msg == "Connection killed."
    assert f.request.host != "127.0.0.1"  # never routed to the upstream
    assert record.client_end == "proxy_closed" and record.upstream is False


def test_close_at_response_comes_after_the_upstream_answered() -> None:
    with addon(one_rule("close", phase="response")) as harness:
        f = flow(DEVICES)

        async def go() -> None:
            await drive_request(harness, f)
            await drive_response(harness, f, response(b"<ise_api/>"))

        run(go())
        record = record_of(harness)
    assert record.upstream is True
    assert record.client_end == "proxy_closed" and record.status is None
