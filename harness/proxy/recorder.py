"""The journal's addon: one record per attempt, opened, filled in and finished from mitmproxy's
hooks - the record lifecycle and nothing else.

* ``client_connected`` opens a record per connection (its ``seq`` reserved), ``http_connect``
  and ``tls_clienthello`` note the host the client asked for, ``tls_established_client`` the
  certificate it was shown;
* ``requestheaders`` hands the connection's record to its first request (or opens a new one)
  and fills in the request;
* ``response`` records the response as sent and finishes the record - unless a fault acts on
  the response (its rule's phase is ``response``): the injector finishes it then, through
  :meth:`Recorder.complete`; ``error``, ``tls_failed_client`` and ``client_disconnected``
  finish what is left.

Options: ``harness_journal_max`` (retention) and ``harness_journal_file`` (an append-only copy
on disk, one JSON line per finished record, written as it finishes).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from mitmproxy import ctx, exceptions, http, tls
from mitmproxy.addonmanager import Loader
from mitmproxy.connection import Client

from harness.attempt import operation_of, params_of
from harness.proxy.credentials import Credentials
from harness.proxy.facts import proxy_error_sent, reached_upstream, sent_response
from harness.proxy.journal import DEFAULT_MAX_RECORDS, Journal, auth_of
from harness.proxy.runtime import ConnState, FlowState, mode_of
from harness.proxy.wire import client_gone


class Recorder:
    """Keeps the journal: every attempt's record, from accept (or request) to its end."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.journal = Journal()
        self.conns: dict[str, ConnState] = {}
        self.flows: dict[str, FlowState] = {}
        self._conn_numbers = 0
        self._client_scheme = "http"

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "harness_journal_max",
            int,
            DEFAULT_MAX_RECORDS,
            "Journal retention cap in records; the oldest are dropped (and counted) beyond it.",
        )
        loader.add_option(
            "harness_journal_file",
            str,
            "",
            "Also append every finished record to this file as a JSON line (mode 0600), "
            "written as it finishes, so a killed proxy loses none (empty: memory only).",
        )

    def configure(self, updated: set[str]) -> None:
        if "mode" in updated:
            self._client_scheme = mode_of(ctx.options.mode)[1]
        try:
            if "harness_journal_max" in updated:
                journal_max = ctx.options.harness_journal_max
                if journal_max < 1:
                    raise ValueError(f"harness_journal_max={journal_max} must be at least 1")
                self.journal.resize(journal_max)
            if "harness_journal_file" in updated:
                path = ctx.options.harness_journal_file
                self.journal.attach_file(Path(path).expanduser() if path else None)
        except (OSError, ValueError) as e:
            raise exceptions.OptionsError(str(e)) from e

    def done(self) -> None:
        self.journal.attach_file(None)

    # -- connections ------------------------------------------------------------------------

    def client_connected(self, client: Client) -> None:
        self._conn_numbers += 1
        peer = f"{client.peername[0]}:{client.peername[1]}" if client.peername else None
        record = self.journal.open(
            conn=str(self._conn_numbers), peer=peer, scheme=self._client_scheme
        )
        self.conns[client.id] = ConnState(self._conn_numbers, client, record)

    def client_disconnected(self, client: Client) -> None:
        conn = self.conns.pop(client.id, None)
        if conn is None:
            return
        if conn.pending is not None:
            if conn.bad_cert is not None and conn.pending.phase == "tls":
                # Handshake done, then closed without a request: the client checked the
                # certificate (e.g. the host name) after the handshake and walked away.
                self.journal.finish(
                    conn.pending,
                    "tls_failed",
                    error="the client closed after the handshake, sending nothing",
                )
            else:
                self.journal.finish(conn.pending, "client_closed")
        for flow_id in conn.flows:
            st = self.flows.pop(flow_id, None)
            if st is not None:
                self.journal.finish(st.record, "client_closed")

    def http_connect(self, flow: http.HTTPFlow) -> None:
        conn = self.conns.get(flow.client_conn.id)
        if conn is None:
            return
        conn.host = flow.request.host.lower()
        if conn.pending is not None:
            conn.pending.host = conn.host
            conn.pending.scheme = "https"

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        conn = self.conns.get(data.context.client.id)
        if conn is None:
            return
        sni = data.client_hello.sni
        if conn.host is None and sni:
            conn.host = sni.lower()
        if conn.pending is not None and conn.pending.end is None:
            conn.pending.advance("tls")
            conn.pending.scheme = "https"
            conn.pending.host = conn.pending.host or conn.host

    def tls_start_client(self, data: tls.TlsData) -> None:
        conn = self.conns.get(data.context.client.id)
        if conn is not None and (conn.pending is None or conn.pending.end is None):
            # The handshake starts now, with the harness's certificate or the bad one a fault
            # chose at the ClientHello (the injector swaps it in after this hook).
            conn.certificate = conn.bad_cert or "valid"

    def tls_established_client(self, data: tls.TlsData) -> None:
        conn = self.conns.get(data.context.client.id)
        if conn is None:
            return
        conn.tls = data.ssl_conn
        if conn.pending is not None and conn.pending.end is None:
            conn.pending.certificate = conn.certificate

    def tls_failed_client(self, data: tls.TlsData) -> None:
        conn = self.conns.get(data.context.client.id)
        if conn is not None and conn.pending is not None and conn.pending.end is None:
            conn.pending.advance("tls")
            conn.pending.certificate = conn.certificate
            self.journal.finish(
                conn.pending, "tls_failed", error=data.conn.error or "TLS handshake failed"
            )

    # -- requests ---------------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        conn = self.conns.get(flow.client_conn.id)
        now = time.monotonic()
        record = conn.take_pending() if conn is not None else None
        if record is not None:
            # The connection's own record becomes its first request's. What was decided for the
            # connection stays in conn_fault; rule, fault, seed and draw are the request's own.
            record.connect_start, record.start = record.start, now
            record.rule = record.fault = record.seed = record.draw = None
        else:
            peer = flow.client_conn.peername
            record = self.journal.open(
                conn=str(conn.number) if conn else "?",
                peer=f"{peer[0]}:{peer[1]}" if peer else None,
                scheme="https",
                start=now,
            )
        request = flow.request
        path, _, query = request.path.partition("?")
        params = params_of(query)
        host, authorization = _host_and_authorization(request)
        record.phase = "request"
        record.scheme = "https" if flow.client_conn.tls_established else "http"
        record.host = host
        record.method = request.method
        record.path = path
        record.query = query
        record.params = params
        record.operation = operation_of(request.method, path, params)
        record.auth = auth_of(authorization, self.credentials.auth_key)
        if conn is not None:
            record.conn_fault = conn.conn_fault
            record.certificate = conn.certificate if flow.client_conn.tls_established else None
            conn.flows.add(flow.id)
        self.flows[flow.id] = FlowState(record, conn)

    def request(self, flow: http.HTTPFlow) -> None:
        st = self.flows.get(flow.id)
        if st is not None:
            st.record.request_bytes = len(flow.request.raw_content or b"")

    def response(self, flow: http.HTTPFlow) -> None:
        st = self.flows.get(flow.id)
        if st is None or st.record.end is not None:
            return
        st.record.upstream = reached_upstream(flow)
        fault = st.record.fault
        if fault is not None and fault.phase == "response":
            return  # a fault acts on this response first; the injector completes the record
        self.complete(flow)

    def complete(self, flow: http.HTTPFlow) -> None:
        """A response mitmproxy is about to send in full: record it and end the attempt."""
        st = self.forget(flow)
        if st is None:
            return
        record = st.record
        if record.end is not None or flow.response is None or not flow.live:
            return
        record.sent = sent_response(flow.response)
        record.advance("complete")
        gone = not flow.client_conn.connected or client_gone(flow.client_conn)
        self.journal.finish(record, "client_closed" if gone else "completed")

    def error(self, flow: http.HTTPFlow) -> None:
        st = self.forget(flow)
        if st is None:
            return
        record = st.record
        if record.end is not None:
            return
        message = flow.error.msg if flow.error else "error"
        record.upstream = reached_upstream(flow)
        if client_gone(flow.client_conn) or "disconnect" in message.lower():
            self.journal.finish(record, "client_closed")
            return
        answer = proxy_error_sent(flow)
        if answer is not None:
            # mitmproxy answers the client with its own error page (e.g. the upstream is down).
            record.sent = answer
            record.advance("complete")
            self.journal.finish(record, "completed", error=message)
        else:
            self.journal.finish(record, "error", error=message)

    def forget(self, flow: http.HTTPFlow) -> FlowState | None:
        """Stop tracking ``flow``; its state, if it was tracked."""
        st = self.flows.pop(flow.id, None)
        if st is not None and st.conn is not None:
            st.conn.flows.discard(flow.id)
        return st

    # -- what the other addons read -----------------------------------------------------------

    def flow_state(self, flow: http.HTTPFlow) -> FlowState | None:
        return self.flows.get(flow.id)

    def conn_state(self, client: Client) -> ConnState | None:
        return self.conns.get(client.id)

    @property
    def client_scheme(self) -> str:
        """The scheme clients speak to the proxy first (``http``; ``https`` in reverse mode)."""
        return self._client_scheme


def _host_and_authorization(request: http.Request) -> tuple[str | None, str | None]:
    """The Host (lower case, no port; else the request's host) and Authorization values, read
    from the raw header fields in one pass (mitmproxy's header lookups are comparatively slow)."""
    host = authorization = None
    fields: Sequence[tuple[bytes, bytes]] = request.headers.fields
    for name, value in fields:
        lname = name.lower()
        if lname == b"host" and host is None:
            host = value.decode("latin-1")
        elif lname == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
    host = host or request.host or ""
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.lower() or None, authorization
