"""Faults seen on the wire, with raw sockets: an RST is a reset, a FIN is EOF, a hang is silence,
a trickle keeps its rate and a delay its length (tolerances loose enough for a loaded machine)."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator

import pytest
from support.proxy import ALL_DEVICES, DEVICES, DISCOVERY, Lab, lab, one_rule, read_to_end


@pytest.fixture(scope="module")
def wire_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(tmp_path_factory.mktemp("wire")) as the_lab:
        yield the_lab


def _exchange(
    lab: Lab, path: str = DEVICES, timeout: float = 10.0
) -> tuple[bytes, str, list[tuple[float, int]], float]:
    sock = lab.tunnel(timeout=timeout)
    try:
        sent = time.monotonic()
        sock.sendall(lab.request_bytes(path))
        data, end, arrivals = read_to_end(sock)
        return data, end, arrivals, sent
    finally:
        sock.close()


def test_a_reset_arrives_as_econnreset(wire_lab: Lab) -> None:
    wire_lab.load(one_rule("reset"))
    data, end, _, _ = _exchange(wire_lab)
    assert (data, end) == (b"", "reset")
    (record,) = wire_lab.journal()
    assert record.client_end == "proxy_reset" and record.upstream is False
    assert record.wire == {"end": "rst", "ok": True, "linger": [1, 0], "unacked_before": 0}
    assert wire_lab.mdm.requests == []  # the request never reached the MDM


def test_a_close_arrives_as_eof_not_reset(wire_lab: Lab) -> None:
    wire_lab.load(one_rule("close"))
    data, end, _, _ = _exchange(wire_lab)
    assert (data, end) == (b"", "eof")
    (record,) = wire_lab.journal()
    assert record.client_end == "proxy_closed" and record.wire["end"] == "fin"


def test_no_fault_is_the_control_case(wire_lab: Lab) -> None:
    wire_lab.load(None)
    sock = wire_lab.tunnel()
    with sock:
        sock.sendall(wire_lab.request_bytes(DEVICES))
        sock.settimeout(5)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200 ")
    (record,) = wire_lab.journal()
    assert record.client_end == "completed" and record.upstream is True and record.fault is None


@pytest.mark.parametrize(("then", "expected_end"), [("reset", "reset"), ("close", "eof")])
def test_n_bytes_of_body_then_the_end(wire_lab: Lab, then: str, expected_end: str) -> None:
    wire_lab.load(one_rule({"kind": "partial", "bytes": 100, "then": then}, phase="response"))
    data, end, _, _ = _exchange(wire_lab, ALL_DEVICES)
    head, _, body = data.partition(b"\r\n\r\n")
    assert end == expected_end
    assert head.startswith(b"HTTP/1.1 200 OK") and len(body) == 100
    declared = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        ).split(b":")[1]
    )
    assert declared > 100  # the client can tell the body was cut
    (record,) = wire_lab.journal()
    assert record.sent.body_bytes == 100 and record.upstream is True
    assert record.client_end == {"reset": "proxy_reset", "close": "proxy_closed"}[then]
    assert record.wire["unacked_before"] == 0  # every byte was acknowledged before the end


def test_a_hang_is_silence_until_the_client_gives_up(wire_lab: Lab) -> None:
    wire_lab.load(one_rule("hang"))
    sock = wire_lab.tunnel()
    sock.sendall(wire_lab.request_bytes(DEVICES))
    sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        sock.recv(1)  # nothing at all arrives
    gave_up = time.monotonic()
    sock.close()
    (record,) = wire_lab.journal(wait_idle=10)
    assert record.client_end == "client_closed" and record.phase == "request"
    assert gave_up - 0.05 <= record.end <= gave_up + 2.0  # the proxy saw it go (same clock)


def test_headers_then_hang(wire_lab: Lab) -> None:
    wire_lab.load(one_rule({"kind": "partial", "bytes": 0}, phase="response"))
    sock = wire_lab.tunnel()
    sock.sendall(wire_lab.request_bytes(DEVICES))
    sock.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        sock.recv(1)
    sock.close()
    (record,) = wire_lab.journal(wait_idle=10)
    assert (
        record.status == 200
        and record.sent.body_bytes == 0
        and record.client_end == "client_closed"
    )


def test_a_trickle_keeps_its_rate(wire_lab: Lab) -> None:
    rate = 8000
    wire_lab.load(
        one_rule({"kind": "trickle", "bytes_per_s": rate, "chunk_bytes": 400}, phase="response")
    )
    data, end, arrivals, _ = _exchange(wire_lab, ALL_DEVICES)
    head, _, body = data.partition(b"\r\n\r\n")
    assert end == "eof" and len(body) == int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    assert len(body) > rate  # over a second of trickling
    # Measure from the first body byte to the last: (bytes - first chunk) / elapsed.
    first = next((t, n) for t, n in arrivals if n > len(head) + 4)
    last = arrivals[-1]
    measured = (last[1] - first[1]) / (last[0] - first[0])
    assert 0.7 * rate <= measured <= 1.15 * rate, measured
    (record,) = wire_lab.journal()
    assert record.client_end == "completed" and record.sent.body_bytes == len(body)


@pytest.mark.parametrize("delay_ms", [150, 400])
def test_a_delay_holds_the_answer_for_its_length(wire_lab: Lab, delay_ms: int) -> None:
    wire_lab.load(one_rule({"kind": "delay", "delay_ms": delay_ms}))
    sock = wire_lab.tunnel()
    with sock:
        start = time.monotonic()
        sock.sendall(wire_lab.request_bytes(DISCOVERY))
        sock.settimeout(10)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        took = time.monotonic() - start
    assert delay_ms / 1000 <= took <= delay_ms / 1000 + 0.5


def test_a_reset_at_connect_before_any_tls(wire_lab: Lab) -> None:
    wire_lab.load(one_rule("reset", phase="connect"))
    raw = socket.create_connection(("127.0.0.1", wire_lab.proxy.port), timeout=10)
    with raw:
        raw.sendall(
            b"CONNECT acme.jamfcloud.test:443 HTTP/1.1\r\nHost: acme.jamfcloud.test:443\r\n\r\n"
        )
        with pytest.raises(ConnectionResetError) as exc:
            while raw.recv(4096):
                pass
    assert exc.value.errno == errno.ECONNRESET
    (record,) = wire_lab.journal()
    assert record.phase == "connect" and record.client_end == "proxy_reset"


def test_a_tls_stall_sends_nothing_after_the_client_hello(wire_lab: Lab) -> None:
    wire_lab.load(one_rule("hang", phase="tls"))
    sock = wire_lab.tunnel(tls=False)
    sock.settimeout(0.5)
    import ssl

    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = wire_lab.ca.client_context().wrap_bio(
        incoming, outgoing, server_hostname="acme.jamfcloud.test"
    )
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    sock.sendall(outgoing.read())
    with pytest.raises(TimeoutError):
        sock.recv(1)  # no ServerHello
    sock.close()
    (record,) = wire_lab.journal(wait_idle=10)
    assert record.phase == "tls" and record.client_end == "client_closed"


def test_an_oversize_body_is_streamed_whole(wire_lab: Lab) -> None:
    size = 3 << 20
    wire_lab.load(one_rule({"kind": "oversize", "bytes": size}))
    data, end, arrivals, _ = _exchange(wire_lab)
    head, _, body = data.partition(b"\r\n\r\n")
    assert end == "eof" and len(body) == size and f"Content-Length: {size}".encode() in head
    assert len(arrivals) > 10  # it came in pieces, as streamed
    (record,) = wire_lab.journal()
    assert (
        record.client_end == "completed"
        and record.sent.body_bytes == size
        and record.upstream is False
    )


@pytest.mark.parametrize(("then", "expected_end"), [("close", "eof"), ("reset", "reset")])
def test_a_complete_body_short_of_its_announced_length(
    wire_lab: Lab, then: str, expected_end: str
) -> None:
    body = "<ise_api><name>attributes</name><deviceList/></ise_api>"
    wire_lab.load(
        one_rule({"kind": "respond", "body": body, "content_length": len(body) + 64, "then": then})
    )
    data, end, _, _ = _exchange(wire_lab)
    head, _, received = data.partition(b"\r\n\r\n")
    assert f"Content-Length: {len(body) + 64}".encode() in head
    assert received == body.encode() and end == expected_end
    (record,) = wire_lab.journal()
    assert record.client_end == f"proxy_{'closed' if then == 'close' else 'reset'}"
    assert record.sent.body_bytes == len(body) and record.upstream is False


def test_bad_certificate_handshakes_answer_before_a_short_client_timeout(wire_lab: Lab) -> None:
    # A client with a 400 ms timeout (the zoo's) must see the bad certificate, not a timeout:
    # building the certificate once per kind and host, off the event loop, keeps each handshake
    # short (it used to load two RSA keys per handshake, ~0.4 s, on the event loop).
    import ssl

    wire_lab.load(one_rule({"kind": "tls_bad_cert", "cert": "untrusted-ca"}, phase="tls"))
    with pytest.raises(ssl.SSLCertVerificationError):
        wire_lab.tunnel(timeout=10)  # the first may wait for the CA keys to load
    outcomes = []
    for _ in range(10):
        try:
            wire_lab.tunnel(timeout=0.4)
            outcomes.append("accepted")
        except ssl.SSLCertVerificationError:
            outcomes.append("refused")
        except TimeoutError:
            outcomes.append("timeout")
    assert outcomes == ["refused"] * 10
    records = wire_lab.journal()
    assert [r.client_end for r in records] == ["tls_failed"] * 11
