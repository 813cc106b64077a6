"""Fault ``connect_refuse``: its spec table; the CONNECT answered with an error (regular mode)."""

from __future__ import annotations

import pytest
from mitmproxy.test import tflow, tutils
from support.proxy import addon, bad_spec_message, one_rule, record_of, run


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"status": 200}, "status: 200 is not between 400 and 599"),
        ({"status": 600}, "status: 600 is not between 400 and 599"),
        ({"status": "502"}, "status: expected an integer, got str '502'"),
        ({"body": 5}, "body: expected text, got int 5"),
        ({"headers": ["Retry-After"]}, "headers: expected a mapping, got a list"),
        ({"headers": {"Bad Header": "1"}}, "headers.'Bad Header': is not a valid header name"),
        ({"headers": {"X": "a\r\nb"}}, "headers.X: must not contain line breaks"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("connect_refuse", spec).startswith(message)


def _connect_flow():  # type: ignore[no-untyped-def]
    req = tutils.treq(
        method=b"CONNECT",
        host="acme.jamfcloud.test",
        port=443,
        path=b"",
        authority=b"acme.jamfcloud.test:443",
    )
    return tflow.tflow(req=req)


def test_the_connect_is_answered_with_the_status() -> None:
    scenario = one_rule(
        {"kind": "connect_refuse", "status": 503, "headers": {"Retry-After": "5"}},
        phase="connect",
        host="*.jamfcloud.test",
    )
    with addon(scenario) as harness:
        f = _connect_flow()
        harness.client_connected(f.client_conn)
        run(harness.http_connect(f))
        record = record_of(harness)
    assert f.response is not None and f.response.status_code == 503
    assert f.response.headers["Retry-After"] == "5"
    assert record.phase == "connect" and record.status == 503
    assert record.client_end == "completed" and record.host == "acme.jamfcloud.test"
    assert record.fault.kind == "connect_refuse" and record.conn_fault == record.fault


def test_a_host_that_does_not_match_passes() -> None:
    scenario = one_rule({"kind": "connect_refuse"}, phase="connect", host="other.example.test")
    with addon(scenario) as harness:
        f = _connect_flow()
        harness.client_connected(f.client_conn)
        assert harness.http_connect(f) is None
        record = record_of(harness)
    assert f.response is None and record.fault is None and record.end is None


def test_in_reverse_mode_there_is_no_connect_so_the_connection_is_closed() -> None:
    scenario = one_rule({"kind": "connect_refuse"}, phase="connect")
    with addon(scenario, mode=["reverse:https://127.0.0.1:9"]) as harness:
        client = tflow.tclient_conn()
        run(harness.client_connected(client))
        record = record_of(harness)
    assert client.error is not None
    assert record.client_end == "proxy_closed"
    assert record.fault.params["reverse_mode_closed"] is True
