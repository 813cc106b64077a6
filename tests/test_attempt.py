"""The attempt record both sides of the journal share: JSON round trip, versions, wire facts."""

from __future__ import annotations

import email.utils
import json

import pytest

from harness._xml import examine
from harness.attempt import SCHEMA_VERSION, Attempt, Body, FaultFired, Sent, operation_of, params_of


@pytest.mark.parametrize(
    ("path", "query", "operation"),
    [
        ("/networkIntegrationEndpoint/7/ciscoise/mdminfo/", "ise_api_version=3", "mdminfo"),
        ("/ciscoise/mdminfo", "", "mdminfo"),
        (
            "/7/ciscoise/v3/devices/",
            "paging=0&querycriteria=macaddress&value=0026B424FEB4&filter=all",
            "devices",
        ),
        (
            "/7/ciscoise/v3/devices/",
            "paging=0&querycriteria=compliance&value=false&deviceidentifier=guid",
            "noncompliant",
        ),
        ("/7/ciscoise/v3/devices/", "paging=0&querycriteria=compliance&value=true", "devices"),
        ("/7/ciscoise/v1/devices/0/compliance/false/all", "", "noncompliant"),
        ("/7/ciscoise/v1/devices/0/all", "", "devices"),
        ("/7/ciscoise/v2/batchdevices/", "paging=0&querycriteria=macaddress", "batchdevices"),
        ("/7/ciscoise/v3/action/actionType=full_wipe", "", "action"),
        ("/7/ciscoise/v3/action", "actionType=pin_lock", "action"),
        ("/7/ciscoise/v3/sendmessage", "", "sendmessage"),
        ("/api/ise/devices/", "paging=0", "devices"),
        ("/", "", "other"),
        ("/favicon.ico", "", "other"),
    ],
)
def test_operations(path: str, query: str, operation: str) -> None:
    assert operation_of("GET", path, params_of(query)) == operation


def test_params_decode_plus_and_keep_blanks() -> None:
    assert params_of("filter=a+b&x=&x=2") == {"filter": ["a b"], "x": ["", "2"]}
    assert params_of("") == {}


def test_a_record_survives_its_json_form() -> None:
    record = Attempt(seq=3, start=1.5, conn="2", peer="127.0.0.1:9", scheme="https", host="h")
    record.method, record.path, record.query = "GET", "/a/devices/", "paging=0"
    record.params = params_of(record.query)
    record.sent = Sent(
        status=503,
        headers=[("Retry-After", "2"), ("Content-Length", "10")],
        announced=10,
        body_bytes=4,
        body=Body("malformed"),
        first_byte=2.0,
        last_byte=2.1,
        wall=1000.0,
    )
    record.fault = FaultFired(rule="r", kind="partial", phase="response", params={"bytes": 4})
    record.advance("response")
    record.end, record.client_end = 2.2, "proxy_closed"
    data = json.loads(json.dumps(record.to_json()))
    assert data["v"] == SCHEMA_VERSION
    again = Attempt.from_json(data)
    assert again == record
    assert again.sent is not None and again.sent.short and not again.answered


def test_a_version_1_record_is_read_and_a_newer_one_refused() -> None:
    old = Attempt.from_json(
        {"seq": 1, "start": 0.0, "end": 0.1, "phase": "complete", "status": 200,
         "response_bytes": 12, "client_end": "completed", "fault": {"rule": "r", "kind": "delay"}}
    )  # fmt: skip
    assert old.status == 200 and old.sent is not None and old.sent.body_bytes == 12
    assert old.fault is not None and old.fault.kind == "delay"
    with pytest.raises(ValueError, match="newer"):
        Attempt.from_json({"v": SCHEMA_VERSION + 1, "seq": 1, "start": 0.0})
    with pytest.raises(ValueError, match="seq"):
        Attempt.from_json({"v": SCHEMA_VERSION, "start": 0.0})


def test_success_needs_a_whole_2xx_answer_with_a_well_formed_body() -> None:
    def attempt(status: int, form: str = "xml", announced: int | None = None) -> Attempt:
        a = Attempt(seq=1, start=0.0, end=0.1, phase="complete", client_end="completed")
        a.sent = Sent(status=status, announced=announced, body_bytes=10, body=Body(form))  # type: ignore[arg-type]
        return a

    assert attempt(200).succeeded and attempt(204, "empty").succeeded
    assert not attempt(200, "malformed").succeeded
    assert not attempt(200, announced=20).succeeded and not attempt(200, announced=20).answered
    assert not attempt(503).succeeded and attempt(503).answered
    cut = attempt(200)
    cut.client_end = "proxy_reset"
    assert not cut.answered


def test_retry_after_is_read_as_sent_in_seconds_or_as_a_date() -> None:
    wall = 1_700_000_000.0
    assert Sent(503, [("retry-after", " 3 ")]).retry_after_s() == 3.0
    date = email.utils.formatdate(wall + 5, usegmt=True)
    assert Sent(503, [("Retry-After", date)], wall=wall).retry_after_s() == 5.0
    assert Sent(503, [("Retry-After", "soon")]).retry_after_s() is None
    assert Sent(503, []).retry_after_s() is None


@pytest.mark.parametrize(
    ("body", "facts"),
    [
        (b"", ("empty", False, False)),
        (b"<ise_api><name>x</name></ise_api>", ("xml", False, False)),
        (b"<ise_api><name>x</ise_api>", ("malformed", False, False)),
        (b'<!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>', ("xml", True, False)),
        (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', ("xml", True, True)),
        (b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://h/x.dtd"> %p;]><r/>', ("xml", True, True)),
        (b'<!DOCTYPE r SYSTEM "http://h/x.dtd"><r/>', ("xml", True, True)),
    ],
)
def test_a_body_is_examined_without_resolving_anything(
    body: bytes, facts: tuple[str, bool, bool]
) -> None:
    assert examine(body) == facts
