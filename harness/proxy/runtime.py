"""What a fault acts on: the attempt's journal record, its flow and its client connection.

:class:`AttemptContext` implements :class:`harness.faults.FaultContext` over mitmproxy:
``respond`` sets ``flow.response``; ``close``/``reset``/``send_raw`` go to the socket through
:class:`~harness.proxy.wire.ClientWire`; waits are ``asyncio.sleep`` in short steps that
notice the client leaving. Every primitive that ends the attempt finishes its record, so the
journal says how the client side ended. :meth:`AttemptContext.run` is the safety net: an
exception inside a fault kills only its own flow (or connection) and is recorded as
``fault_error``; a mutation with nothing to mutate is recorded as ``fault.skipped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mitmproxy import http
from mitmproxy.connection import Client
from OpenSSL import SSL

from harness.attempt import Attempt, ClientEnd, FaultFired, Sent
from harness.faults import Fault, FaultError, MutationSkipped, Phase, Reply, RequestView, Then
from harness.proxy import wire as wire_mod
from harness.proxy.facts import KeptBody, sent_response
from harness.proxy.journal import Journal

if TYPE_CHECKING:
    from harness.proxy.rules import Decision

logger = logging.getLogger("harness.proxy")

#: How often a wait looks whether the client has gone (seconds).
POLL_S = 0.025

#: Response headers a raw or replaced response recomputes itself.
_FRAMING = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


@dataclass
class ConnState:
    """The harness's view of one client connection: the recorder keeps it, and faults note on
    it what they did to the connection (``conn_fault``, ``bad_cert``)."""

    number: int
    client: Client
    pending: Attempt | None
    host: str | None = None
    tls: SSL.Connection | None = None
    #: The certificate the TLS handshake with the client presents (``None``: no handshake yet).
    certificate: str | None = None
    conn_fault: FaultFired | None = None
    bad_cert: str | None = None
    flows: set[str] = field(default_factory=set)

    def take_pending(self) -> Attempt | None:
        """The connection's own record, for its first request (``None`` once used or ended)."""
        record, self.pending = self.pending, None
        if record is not None and record.end is not None:
            return None
        return record


@dataclass
class FlowState:
    """The harness's view of one HTTP flow: its record (the recorder's) and the decision the
    scenario made for it (the injector's)."""

    record: Attempt
    conn: ConnState | None
    decision: Decision | None = None
    applied: bool = False


class AttemptContext:
    """A fault's handle on one attempt (see :class:`harness.faults.FaultContext`)."""

    def __init__(
        self,
        *,
        journal: Journal,
        master: Any,
        record: Attempt,
        fault_record: FaultFired,
        phase: Phase,
        mode: str,
        client: Client,
        conn: ConnState | None,
        flow: http.HTTPFlow | None,
        rng: random.Random,
        max_hang_s: float,
        canary_base: str,
        request: RequestView | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.state: dict[str, Any] = state if state is not None else {}
        self.journal = journal
        self.master = master
        self.record = record
        self.fault_record = fault_record
        self.phase = phase
        self.mode = mode
        self.client = client
        self.conn = conn
        self.flow = flow
        self.rng = rng
        self.max_hang_s = max_hang_s
        self.canary_base = canary_base
        self.request = request
        self.seq = record.seq

    # -- bookkeeping

    @property
    def finished(self) -> bool:
        return self.record.end is not None

    def note(self, **facts: Any) -> None:
        self.fault_record.params.update(facts)

    def _wire(self) -> wire_mod.ClientWire:
        try:
            return wire_mod.ClientWire.find(
                self.master, self.client, self.conn.tls if self.conn else None
            )
        except wire_mod.WireUnavailable as exc:
            raise FaultError(f"{self.fault_record.kind}: {exc}") from None

    def gone(self) -> bool:
        try:
            wire = wire_mod.ClientWire.find(self.master, self.client, None)
        except wire_mod.WireUnavailable:
            return wire_mod.client_gone(self.client)
        return wire.gone()

    def _kill(self) -> None:
        if self.flow is not None and self.flow.killable:
            self.flow.kill()

    def _finish(self, client_end: ClientEnd, error: str | None = None) -> None:
        self.journal.finish(self.record, client_end, error=error)

    def _client_left(self) -> None:
        self._finish("client_closed")
        self._kill()

    # -- waiting

    async def sleep(self, seconds: float) -> bool:
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            if self.gone():
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(remaining, POLL_S))

    async def hang(self, max_s: float | None = None) -> None:
        cap = self.max_hang_s if max_s is None else min(max_s, self.max_hang_s)
        if await self.sleep(cap):
            self.note(capped_after_s=round(cap, 3))
            await self.close()
        else:
            self._client_left()

    # -- ending the connection

    async def close(self) -> None:
        try:
            wire = wire_mod.ClientWire.find(self.master, self.client, None)
        except wire_mod.WireUnavailable:
            wire = None
        if wire is not None:
            self.record.wire = await wire.fin()
        self._finish("proxy_closed")
        self._kill()
        self.client.error = self.client.error or "closed by a harness fault"

    async def reset(self) -> None:
        wire = self._wire()
        self.record.wire = check = await wire.reset()
        if not check.get("ok"):
            logger.warning("reset self-check failed on attempt %s: %s", self.seq, check)
        self._finish("proxy_reset")
        self._kill()
        self.client.error = self.client.error or "reset by a harness fault"

    # -- answering

    def respond(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        if self.flow is None:
            raise FaultError("respond needs an HTTP flow (not available in this phase)")
        fields = [
            (k.encode(), v.encode("utf-8", "surrogateescape"))
            for k, v in headers
            if k.lower() not in _FRAMING
        ]
        self.flow.response = http.Response.make(status, body, fields)
        if self.phase == "connect":
            # The CONNECT answer: sent as soon as the hook returns; nothing follows on this attempt.
            self.record.sent = sent_response(self.flow.response)
            self._finish("completed")

    def reply(self) -> Reply:
        if self.phase != "response" or self.flow is None or self.flow.response is None:
            raise FaultError(
                f"{self.fault_record.kind} needs the upstream's response (phase response)"
            )
        response = self.flow.response
        headers = tuple(
            (k, v) for k, v in response.headers.items(multi=True) if k.lower() not in _FRAMING
        )
        try:
            body = response.content or b""
        except ValueError:  # an encoding mitmproxy cannot undo: take the bytes as they came
            body = response.raw_content or b""
        return Reply(response.status_code, headers, body)

    async def send_raw(
        self,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: Iterable[bytes],
        *,
        content_length: int | None,
        limit: int | None = None,
        bytes_per_s: float | None = None,
        chunk_bytes: int | None = None,
        then: Then = "complete",
        max_hang_s: float | None = None,
    ) -> None:
        wire = self._wire()
        head = _head_fields(headers, content_length)
        wire.write(_head(status, head))
        facts = self.record.sent = Sent(
            status=status,
            headers=head,
            announced=content_length,
            first_byte=time.monotonic(),
            wall=time.time(),
        )
        self.record.advance("response")
        kept = KeptBody()
        stall_cap = self.max_hang_s if max_hang_s is None else min(max_hang_s, self.max_hang_s)
        cut_short = await self._write_body(
            wire, facts, kept, body, content_length, limit, bytes_per_s, chunk_bytes, stall_cap
        )
        # Every fact goes in before the record is finished (a journal file writes it then).
        facts.body = kept.facts()
        if cut_short == "client_left":
            self._client_left()
            return
        if cut_short == "stalled":
            self.note(stalled_after_bytes=facts.body_bytes)
            await self.close()
            return
        if then == "hang":
            await wire.flushed()
            await self.hang(max_hang_s)
        elif then == "close":
            await self.close()
        elif then == "reset":
            await self.reset()
        else:
            pending = await wire.flushed()
            self.record.advance("complete")
            self.record.wire = {"end": "complete", "unacked_before": pending}
            self._finish("client_closed" if pending else "completed")
            # mitmproxy never saw this response: killing the flow closes the connection (FIN),
            # which the response announced with "Connection: close".
            self._kill()

    async def _write_body(
        self,
        wire: wire_mod.ClientWire,
        facts: Sent,
        kept: KeptBody,
        body: Iterable[bytes],
        content_length: int | None,
        limit: int | None,
        bytes_per_s: float | None,
        chunk_bytes: int | None,
        stall_cap: float,
    ) -> str | None:
        """Write the body (paced, cut at ``limit``); ``client_left``/``stalled`` if it could
        not all go out, else ``None``. ``facts`` follow every byte written."""
        sent = 0
        start = time.monotonic()
        for chunk in body:
            if limit is not None:
                chunk = chunk[: max(0, limit - sent)]
            step = chunk_bytes or len(chunk) or 1
            for i in range(0, len(chunk), step):
                piece = chunk[i : i + step]
                if bytes_per_s:
                    due = start + (sent + len(piece)) / bytes_per_s
                    if not await self.sleep(due - time.monotonic()):
                        return "client_left"
                wire.write(piece)
                sent += len(piece)
                kept.add(piece)
                facts.body_bytes = sent
                facts.last_byte = time.monotonic()
                try:
                    await asyncio.wait_for(wire.drain(), stall_cap)
                except TimeoutError:
                    return "stalled"
                if wire.gone():
                    if content_length is not None and sent >= content_length and limit is None:
                        return None  # everything is out; the client read it all and left
                    return "client_left"
            if limit is not None and sent >= limit:
                break
        return None

    def forward_to(self, path: str) -> None:
        if self.phase != "request" or self.flow is None:
            raise FaultError(f"{self.fault_record.kind} needs the request (phase request)")
        query = self.record.query
        self.flow.request.path = path + (f"?{query}" if query else "")

    # -- the rest of the interface

    def canary_url(self, token: str) -> str:
        return f"{self.canary_base}/canary/{token}"

    def present_certificate(self, kind: str) -> None:
        if self.conn is None:
            raise FaultError("tls_bad_cert needs a client connection")
        self.conn.bad_cert = kind

    # -- running a fault

    async def run(self, fault: Fault) -> None:
        """Apply ``fault``; contain its failures to this attempt."""
        try:
            await fault.apply(self)
        except MutationSkipped as exc:
            self.fault_record.skipped = str(exc)
            self.journal.skipped += 1
        except Exception as exc:
            self.fail(exc)
        else:
            if not self.finished and self.phase != "tls" and self.gone():
                self._client_left()

    def fail(self, exc: BaseException) -> None:
        """Record ``exc`` as this attempt's ``fault_error`` and end only this flow/connection."""
        text = f"{type(exc).__name__}: {exc}"
        logger.error(
            "fault %s failed on attempt %s: %s",
            self.fault_record.kind,
            self.seq,
            text,
            exc_info=exc,
        )
        self.record.fault_error = text
        self.journal.fault_errors += 1
        self.journal.finish(self.record, "error", error=text)
        if self.flow is not None and self.flow.killable:
            self.flow.kill()
        else:
            self.client.error = self.client.error or f"fault error: {text}"
            with contextlib.suppress(wire_mod.WireUnavailable):
                wire_mod.ClientWire.find(self.master, self.client, None).writer.close()


def _head_fields(
    headers: Sequence[tuple[str, str]], content_length: int | None
) -> list[tuple[str, str]]:
    """The header fields of a raw response: ours for framing (and ``Connection: close``)."""
    fields = [(k, v) for k, v in headers if k.lower() not in _FRAMING]
    if content_length is not None:
        fields.append(("Content-Length", str(content_length)))
    fields.append(("Connection", "close"))
    return fields


def _head(status: int, fields: Sequence[tuple[str, str]]) -> bytes:
    """An HTTP/1.1 response head."""
    from mitmproxy.net.http.status_codes import RESPONSES

    lines = [f"HTTP/1.1 {status} {RESPONSES.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


# -- shared by the addons ---------------------------------------------------------------------


def mode_of(modes: Sequence[str]) -> tuple[str, str]:
    """``(regular|reverse, the scheme clients speak to the proxy first)`` from mitmproxy's
    ``mode`` option."""
    from mitmproxy.proxy import mode_specs

    try:
        spec = mode_specs.ProxyMode.parse(modes[0]) if modes else None
    except ValueError:
        spec = None
    if isinstance(spec, mode_specs.ReverseMode):
        return "reverse", "https" if spec.scheme == "https" else "http"
    return "regular", "http"
