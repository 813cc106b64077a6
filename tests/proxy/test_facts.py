"""The wire facts of the attempt record, per fault family, against what the client really got:
the response as sent (status, headers, bytes announced and written, the body's form), the
certificate the handshake showed, whether the MDM saw the request, and how the connection
ended. Each test reads the raw bytes a client received and holds the record to them."""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.proxy import (
    ALL_DEVICES,
    DEVICES,
    DISCOVERY,
    PUBLIC_HOST,
    Lab,
    RawTLS,
    lab,
    one_rule,
    read_to_end,
)

from harness.attempt import Attempt
from harness.proxy import FaultProxy
from harness.tls import CertificateAuthority


@pytest.fixture(scope="module")
def facts_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(tmp_path_factory.mktemp("facts")) as the_lab:
        yield the_lab


class Received:
    """A response as a client read it off the wire."""

    def __init__(self, data: bytes, end: str) -> None:
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0] else None
        self.headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
        self.end = end

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def _exchange(lab: Lab, path: str = DEVICES, **tunnel: object) -> tuple[Received, Attempt]:
    sock = lab.tunnel(**tunnel)  # type: ignore[arg-type]
    try:
        sock.sendall(lab.request_bytes(path))
        data, end, _ = read_to_end(sock)
    finally:
        sock.close()
    (record,) = lab.journal()
    return Received(data, end), record


def _same_response(received: Received, record: Attempt) -> None:
    """The record's ``sent`` is what the client received, byte for byte where it counts."""
    sent = record.sent
    assert sent is not None
    assert sent.status == received.status
    assert sent.body_bytes == len(received.body)
    announced = received.header("Content-Length")
    assert sent.announced == (int(announced) if announced is not None else None)
    for name in ("Content-Type", "Retry-After", "WWW-Authenticate", "Location", "Server"):
        assert sent.header(name) == received.header(name), name


# -- no fault: the control case -------------------------------------------------------------


def test_an_answer_passed_through(facts_lab: Lab) -> None:
    facts_lab.load(None)
    received, record = _exchange(facts_lab, ALL_DEVICES)
    _same_response(received, record)
    assert received.status == 200 and received.end == "eof"
    assert record.sent is not None and record.sent.body is not None
    assert record.sent.body.form == "xml" and not record.sent.short
    assert record.certificate == "valid" and record.upstream is True
    assert record.client_end == "completed" and record.phase == "complete" and record.succeeded


# -- connect ---------------------------------------------------------------------------------


def _raw_connect(lab: Lab) -> tuple[bytes, str]:
    """CONNECT by hand; ``(what came back, how it ended)``. An answer to the CONNECT ends with
    its body (the proxy may keep the connection open after it); else the stream's end counts."""
    raw = socket.create_connection(("127.0.0.1", lab.proxy.port), timeout=10)
    with raw:
        raw.sendall(
            f"CONNECT {PUBLIC_HOST}:443 HTTP/1.1\r\nHost: {PUBLIC_HOST}:443\r\n\r\n".encode()
        )
        data = b""
        while True:
            head, blank, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
            if blank and length and len(body) >= int(length.group(1)):
                return data, "answered"
            try:
                chunk = raw.recv(65536)
            except ConnectionResetError:
                return data, "reset"
            if not chunk:
                return data, "eof"
            data += chunk


def test_a_refused_connect(facts_lab: Lab) -> None:
    facts_lab.load(
        one_rule(
            {"kind": "connect_refuse", "status": 503, "headers": {"Retry-After": "2"}},
            phase="connect",
        )
    )
    data, end = _raw_connect(facts_lab)
    assert end == "answered", (end, data)
    received = Received(data, "eof")
    (record,) = facts_lab.journal()
    _same_response(received, record)
    assert received.status == 503 and record.phase == "connect"
    assert record.sent is not None and record.sent.retry_after_s() == 2.0
    assert record.certificate is None and record.upstream is False
    assert record.client_end == "completed" and not record.sent_request


@pytest.mark.parametrize(("fault", "end"), [("reset", "proxy_reset"), ("close", "proxy_closed")])
def test_a_connect_ended_by_the_proxy(facts_lab: Lab, fault: str, end: str) -> None:
    facts_lab.load(one_rule(fault, phase="connect"))
    data, how = _raw_connect(facts_lab)
    assert (data, how) == (b"", "reset" if fault == "reset" else "eof")
    (record,) = facts_lab.journal()
    assert record.sent is None and record.certificate is None and record.upstream is False
    assert record.client_end == end and record.wire is not None
    assert record.wire["end"] == ("rst" if fault == "reset" else "fin")


# -- tls -------------------------------------------------------------------------------------


def test_a_bad_certificate_the_client_refuses(facts_lab: Lab) -> None:
    facts_lab.load(one_rule({"kind": "tls_bad_cert", "cert": "expired"}, phase="tls"))
    with pytest.raises(ssl.SSLCertVerificationError):
        facts_lab.tunnel()
    (record,) = facts_lab.journal()
    assert record.certificate == "expired" and record.client_end == "tls_failed"
    assert record.sent is None and record.upstream is False and record.phase == "tls"


def test_a_bad_certificate_a_careless_client_accepts(facts_lab: Lab) -> None:
    facts_lab.load(one_rule({"kind": "tls_bad_cert", "cert": "untrusted-ca"}, phase="tls"))
    careless = ssl.create_default_context()
    careless.check_hostname = False
    careless.verify_mode = ssl.CERT_NONE
    raw = facts_lab.tunnel(tls=False)
    sock = RawTLS(raw, careless, PUBLIC_HOST)
    with sock:
        sock.sendall(facts_lab.request_bytes(DISCOVERY))
        data, end, _ = read_to_end(sock)
    (record,) = facts_lab.journal()
    _same_response(Received(data, end), record)
    # The request went through on a connection whose certificate was bad: the record says so.
    assert record.certificate == "untrusted-ca" and record.sent_request
    assert record.upstream is True and record.status == 200
    assert record.conn_fault is not None and record.conn_fault.kind == "tls_bad_cert"


def test_a_handshake_that_stalls(facts_lab: Lab) -> None:
    facts_lab.load(one_rule({"kind": "hang", "max_ms": 300}, phase="tls"))
    with pytest.raises(ConnectionError):
        facts_lab.tunnel()
    (record,) = facts_lab.journal()
    assert record.certificate is None  # no certificate was ever shown
    assert record.sent is None and record.phase == "tls" and record.client_end == "proxy_closed"


# -- statuses and headers, at request and at response ----------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "header"),
    [
        ({"kind": "respond", "status": 404, "body": "<ise_api/>"}, 404, "Content-Type"),
        ({"kind": "unauthorized"}, 401, "WWW-Authenticate"),
        ({"kind": "retry_after", "status": 429, "retry_after_s": 3}, 429, "Retry-After"),
        ({"kind": "redirect", "location": "https://elsewhere.test/x"}, 302, "Location"),
    ],
)
def test_an_answer_in_the_proxys_name(
    facts_lab: Lab, fault: dict[str, object], status: int, header: str
) -> None:
    facts_lab.load(one_rule(fault))
    received, record = _exchange(facts_lab)
    _same_response(received, record)
    assert received.status == status and received.header(header)
    assert record.upstream is False and facts_lab.mdm.requests == []
    assert record.client_end == "completed" and record.certificate == "valid"


def test_an_upstream_answer_replaced(facts_lab: Lab) -> None:
    facts_lab.load(one_rule({"kind": "respond", "status": 500, "body": "boom"}, phase="response"))
    received, record = _exchange(facts_lab)
    _same_response(received, record)
    assert received.status == 500 and received.body == b"boom"
    assert record.upstream is True and len(facts_lab.mdm.requests) == 1  # the MDM did see it
    assert record.sent is not None and record.sent.body is not None
    assert record.sent.body.form == "malformed"  # "boom" as application/xml: what the client got


# -- bodies: cut, paced, oversize ------------------------------------------------------------


@pytest.mark.parametrize(
    ("then", "end", "wire"), [("close", "proxy_closed", "fin"), ("reset", "proxy_reset", "rst")]
)
def test_a_body_cut_short(facts_lab: Lab, then: str, end: str, wire: str) -> None:
    facts_lab.load(one_rule({"kind": "partial", "bytes": 100, "then": then}, phase="response"))
    received, record = _exchange(facts_lab, ALL_DEVICES)
    _same_response(received, record)
    sent = record.sent
    assert sent is not None and sent.short and sent.body_bytes == 100 < (sent.announced or 0)
    assert sent.body is not None and sent.body.form == "malformed"  # the 100 bytes, not the whole
    assert record.client_end == end and record.wire is not None and record.wire["end"] == wire
    assert record.upstream is True and not record.answered


def test_a_trickled_body(facts_lab: Lab) -> None:
    facts_lab.load(one_rule({"kind": "trickle", "bytes_per_s": 200_000}, phase="response"))
    received, record = _exchange(facts_lab, DISCOVERY)
    _same_response(received, record)
    assert record.sent is not None and not record.sent.short
    assert record.sent.body is not None and record.sent.body.form == "xml"
    assert record.client_end == "completed" and record.answered and record.upstream is True


def test_an_oversize_body(facts_lab: Lab) -> None:
    facts_lab.load(one_rule({"kind": "oversize", "bytes": 1 << 20}))
    received, record = _exchange(facts_lab)
    _same_response(received, record)
    assert record.sent is not None and record.sent.body_bytes == 1 << 20
    assert record.sent.body is not None and record.sent.body.form == "xml"
    assert record.upstream is False and record.client_end == "completed"


# -- documents -------------------------------------------------------------------------------


def test_a_truncated_document(facts_lab: Lab) -> None:
    facts_lab.load(one_rule({"kind": "xml_truncate"}, phase="response"))
    received, record = _exchange(facts_lab, DISCOVERY)
    _same_response(received, record)
    assert record.sent is not None and record.sent.body is not None
    assert record.sent.body.form == "malformed" and not record.sent.short  # whole, but broken
    assert record.answered and not record.succeeded


def test_a_document_with_an_external_entity(facts_lab: Lab) -> None:
    facts_lab.load(one_rule({"kind": "xml_xxe", "via": "entity"}, phase="response"))
    received, record = _exchange(facts_lab, DISCOVERY)
    _same_response(received, record)
    body = record.sent.body if record.sent else None
    assert body is not None and (body.form, body.doctype, body.external) == ("xml", True, True)
    assert record.upstream is True


# -- the proxy's own answer ------------------------------------------------------------------


def test_mitmproxys_own_502_when_the_upstream_is_down(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once closed
    with FaultProxy(f"https://127.0.0.1:{port}", ca, state_dir=tmp_path) as proxy:
        raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        raw.sendall(
            f"CONNECT {PUBLIC_HOST}:443 HTTP/1.1\r\nHost: {PUBLIC_HOST}:443\r\n\r\n".encode()
        )
        assert raw.recv(4096).startswith(b"HTTP/1.1 200")
        with RawTLS(raw, ca.client_context(), PUBLIC_HOST) as sock:
            sock.sendall(
                f"GET {DISCOVERY} HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n".encode()
            )
            data, end, _ = read_to_end(sock)
        (record,) = proxy.control.journal(wait_idle=10)
    received = Received(data, end)
    _same_response(received, record)
    assert received.status == 502 and (received.header("Server") or "").startswith("mitmproxy")
    assert record.sent is not None and record.sent.header("Content-Type") == "text/html"
    assert record.upstream is False and record.client_end == "completed" and record.error
