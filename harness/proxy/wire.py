"""The client's side of a connection, as raw bytes on the socket: write, pace, FIN, RST.

mitmproxy owns the connection; faults that must shape the bytes on the wire (a response cut
after N bytes, a trickle, an RST mid-body) write through this class instead. It finds the
client's transport through mitmproxy's ``proxyserver`` addon (its ``connections`` map from a
client id to the connection handler) and, when the client speaks TLS, encrypts with the very
``SSL.Connection`` mitmproxy negotiated (memory BIOs: ``sendall`` then ``bio_read``), so the
records continue the session the client already has.

Terminations check themselves: before a FIN or an RST the proxy waits until the kernel's send
queue is empty (``TIOCOUTQ``: every byte written has been acknowledged by the client), and an
RST reads ``SO_LINGER`` back to prove it is on with a zero timeout. The results go to the
journal's ``wire`` key.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
import time
from typing import Any

from mitmproxy.connection import Client, ConnectionState
from OpenSSL import SSL

#: How long a termination waits for the send queue to drain before giving up on that check.
FLUSH_TIMEOUT_S = 2.0


class WireUnavailable(RuntimeError):
    """The client's connection is not reachable (closed, or not a live socket)."""


class ClientWire:
    """Raw access to one client connection."""

    def __init__(
        self, client: Client, writer: Any, reader: Any, tls: SSL.Connection | None
    ) -> None:
        self.client = client
        self.writer = writer
        self.reader = reader
        self.tls = tls

    @classmethod
    def find(cls, master: Any, client: Client, tls: SSL.Connection | None) -> ClientWire:
        """The wire of ``client`` via the proxyserver addon; :class:`WireUnavailable` if gone."""
        proxyserver = master.addons.get("proxyserver") if master is not None else None
        handler = proxyserver.connections.get(client.id) if proxyserver is not None else None
        io = handler.transports.get(client) if handler is not None else None
        if io is None or io.writer is None or not isinstance(io.writer, asyncio.StreamWriter):
            raise WireUnavailable("the client connection is not a live socket")
        return cls(client, io.writer, io.reader, tls)

    # -- state

    def gone(self) -> bool:
        """Whether the client has closed (or reset) its side."""
        return client_gone(self.client, self.reader, self.writer)

    def socket(self) -> socket.socket | None:
        sock = self.writer.get_extra_info("socket")
        if sock is None or sock.fileno() < 0:
            return None
        return sock

    def unacked(self) -> int | None:
        """Bytes written but not yet acknowledged by the client (``None`` if unknown)."""
        sock = self.socket()
        if sock is None:
            return None
        buf = array.array("i", [0])
        try:
            fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buf)
        except OSError:
            return None
        return int(buf[0]) + self.writer.transport.get_write_buffer_size()

    # -- writing

    def write(self, data: bytes) -> None:
        """Write ``data`` (encrypted when the connection is TLS)."""
        if not data or self.writer.is_closing():
            return
        if self.tls is None:
            self.writer.write(data)
            return
        try:
            self.tls.sendall(data)
        except (SSL.ZeroReturnError, SSL.SysCallError):
            return
        out = bytearray()
        while True:
            try:
                out += self.tls.bio_read(65536)
            except SSL.WantReadError:
                break
        self.writer.write(bytes(out))

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its high-water mark."""
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.drain()

    async def flushed(self, timeout: float = FLUSH_TIMEOUT_S) -> int | None:
        """Wait (polling) until every written byte is acknowledged; the bytes still pending."""
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            pending = self.unacked()
            if not pending or self.gone() or time.monotonic() >= deadline:
                return pending
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)

    # -- ending

    async def fin(self) -> dict[str, Any]:
        """Close with a FIN once everything written is out; the self-check for the journal."""
        pending = await self.flushed()
        self.writer.close()
        return {"end": "fin", "unacked_before": pending}

    async def reset(self) -> dict[str, Any]:
        """Close with an RST once everything written is out; the self-check for the journal."""
        pending = await self.flushed()
        sock = self.socket()
        if sock is None:
            self.writer.transport.abort()
            return {"end": "rst", "ok": False, "why": "socket already closed"}
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        onoff, linger = struct.unpack("ii", sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8))
        self.writer.transport.abort()
        return {
            "end": "rst",
            "ok": onoff == 1 and linger == 0,
            "linger": [onoff, linger],
            "unacked_before": pending,
        }


def client_gone(client: Client, reader: Any = None, writer: Any = None) -> bool:
    """Whether the client went away: mitmproxy saw EOF, or (before mitmproxy reads) the stream did."""
    if not client.state & ConnectionState.CAN_READ:
        return True
    if writer is not None and writer.is_closing():
        return True
    return bool(reader is not None and getattr(reader, "_eof", False))
