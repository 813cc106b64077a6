"""A small real HTTPS server whose every answer is scripted, for the reference client's tests.

It listens on 127.0.0.1 (port 0), presents a leaf from the harness CA, and for each request
calls ``handler(request, index)`` which returns what to do: answer, hang, trickle a body, cut a
body short, or close without answering. ``on_connect(index)`` can also refuse a connection
before the TLS handshake. Everything it received is recorded in :attr:`ScriptedServer.requests`.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.tls import CertificateAuthority


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass(frozen=True)
class Reply:
    """What to do with one request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: "answer", "hang" (read the request, never answer), "close" (close without answering),
    #: "cut" (announce the full length, send ``cut_at`` bytes, close), "trickle" (send the body
    #: ``chunk`` bytes every ``interval`` seconds).
    mode: str = "answer"
    cut_at: int = 0
    chunk: int = 1
    interval: float = 0.05
    close: bool = False


def xml(
    body: str | bytes, status: int = 200, headers: dict[str, str] | None = None, **kw: Any
) -> Reply:
    """An ``application/xml`` reply (``kw``: the other :class:`Reply` fields)."""
    data = body.encode() if isinstance(body, str) else body
    return Reply(
        status=status,
        body=data,
        headers={"Content-Type": "application/xml", **(headers or {})},
        **kw,
    )


Handler = Callable[[Request, int], Reply]


class ScriptedServer:
    """Use as a context manager; ``base_url`` is ``https://127.0.0.1:PORT``."""

    def __init__(
        self,
        ca: CertificateAuthority,
        handler: Handler,
        *,
        on_connect: Callable[[int], str] | None = None,
    ) -> None:
        self.handler = handler
        self.on_connect = on_connect or (lambda index: "tls")
        self.context = ca.server_context("127.0.0.1", "localhost")
        self.requests: list[Request] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> ScriptedServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        # shutdown() wakes threads blocked in accept()/recv(); close() alone would not.
        with self._lock:
            for sock in [self._listener, *self._sockets]:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                index = self.connections
                self.connections += 1
                self._sockets.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, raw: socket.socket, index: int) -> None:
        action = self.on_connect(index)
        if action == "close":
            raw.close()
            return
        if action == "hang":
            self._stop.wait()
            raw.close()
            return
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with self._lock:
            self._sockets.append(conn)
        buffer = b""
        try:
            while not self._stop.is_set():
                request, buffer = self._read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    number = len(self.requests)
                    self.requests.append(request)
                if not self._reply(conn, self.handler(request, number)):
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _read_request(self, conn: ssl.SSLSocket, buffer: bytes) -> tuple[Request | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            data = conn.recv(65536)
            if not data:
                return None, b""
            buffer += data
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            data = conn.recv(65536)
            if not data:
                return None, b""
            buffer += data
        body, buffer = buffer[:length], buffer[length:]
        return Request(method, target, headers, body, time.monotonic()), buffer

    def _reply(self, conn: ssl.SSLSocket, reply: Reply) -> bool:
        """Carry out ``reply``; False when the connection is done."""
        if reply.mode == "hang":
            self._stop.wait()
            return False
        if reply.mode == "close":
            return False
        headers = {"Content-Length": str(len(reply.body)), **reply.headers}
        if reply.close:
            headers["Connection"] = "close"
        reason = {200: "OK", 302: "Found", 401: "Unauthorized", 404: "Not Found"}.get(
            reply.status, "X"
        )
        head = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        head_bytes = (head + "\r\n").encode("latin-1")
        if reply.mode == "cut":
            conn.sendall(head_bytes + reply.body[: reply.cut_at])
            return False
        if reply.mode == "trickle":
            conn.sendall(head_bytes)
            for start in range(0, len(reply.body), reply.chunk):
                if self._stop.wait(reply.interval):
                    return False
                conn.sendall(reply.body[start : start + reply.chunk])
            return not reply.close
        conn.sendall(head_bytes + reply.body)
        return not reply.close
