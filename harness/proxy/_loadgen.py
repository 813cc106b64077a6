"""A small HTTPS load generator for the proxy benchmark, run as a separate process.

One persistent connection (keep-alive), optionally through an explicit proxy with CONNECT,
TLS verified against one CA file, requests sent one after another; prints one JSON object:
per-request latencies (ms) and, per request, when the first and last body bytes arrived
(for trickle rates). Usage::

    python -m harness.proxy._loadgen '{"target": ["127.0.0.1", 8443], "ca": "ca.pem", ...}'
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import time
from typing import Any


def _read_head(sock: Any, buf: bytearray) -> tuple[bytes, bytearray]:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response head")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    return head, bytearray(rest)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    raise ValueError(f"no Content-Length in {head[:200]!r}")


def connect(spec: dict[str, Any]) -> ssl.SSLSocket:
    """A TLS connection to ``spec["target"]``, through ``spec["proxy"]`` (CONNECT) if given."""
    timeout = float(spec.get("timeout", 30))
    if spec.get("proxy"):
        raw = socket.create_connection(tuple(spec["proxy"]), timeout=timeout)
        host, port = spec["connect_to"]
        raw.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head, rest = _read_head(raw, bytearray())
        if not head.startswith(b"HTTP/1.1 200") or rest:
            raise ConnectionError(f"CONNECT refused: {head!r}")
    else:
        raw = socket.create_connection(tuple(spec["target"]), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=spec["ca"])
    return context.wrap_socket(raw, server_hostname=spec["sni"])


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Send ``warmup`` + ``count`` requests on one connection; latencies of the last ``count``."""
    request = (
        f"GET {spec['path']} HTTP/1.1\r\nHost: {spec['host']}\r\nAuthorization: {spec['auth']}\r\n"
        "Accept: application/xml\r\n\r\n"
    ).encode()
    sock = connect(spec)
    latencies: list[float] = []
    bodies: list[tuple[float, float, int]] = []
    buf = bytearray()
    try:
        pause = float(spec.get("pause_s", 0))
        for i in range(int(spec.get("warmup", 0)) + int(spec["count"])):
            if pause and i:
                time.sleep(pause)  # a client thinking between requests (not measured)
            start = time.perf_counter()
            sock.sendall(request)
            head, buf = _read_head(sock, buf)
            length = _content_length(head)
            first = time.perf_counter() if buf else None
            while len(buf) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed mid-body")
                first = first or time.perf_counter()
                buf += chunk
            end = time.perf_counter()
            del buf[:length]
            if i >= int(spec.get("warmup", 0)):
                latencies.append((end - start) * 1000)
                bodies.append(((first or end) - start, end - start, length))
            if b"connection: close" in head.lower():
                sock.close()
                sock = connect(spec)
                buf = bytearray()
    finally:
        sock.close()
    return {"latencies_ms": latencies, "bodies": bodies}


def main() -> int:
    spec = json.loads(sys.argv[1])
    print(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
