"""The fault-injection addon's implementation (``harness/proxy/addon.py`` lists it for mitmdump).

One class, :class:`Harness`. Options (all ``harness_*``) are
declared once in :meth:`Harness.load` and parsed in :meth:`Harness.configure`; hooks never
parse. What each hook does:

* routing - every request goes to ``harness_upstream`` whatever host the client asked for
  (``acme.jamfcloud.test`` is never resolved): the ``request`` hook points the flow at the
  upstream (so upstream connections are reused), and ``server_connect`` pins the address and
  the SNI of any connection mitmproxy opens, so nothing else is ever a target;
* the journal - ``client_connected`` opens a record per connection (its ``seq`` reserved),
  ``requestheaders`` gives it to the connection's first request (or opens a new one), and the
  ``response``/``error``/``tls_failed_client``/``client_disconnected`` hooks finish records;
* faults - decided once per decision point (CONNECT or accept, ClientHello, request) by the
  loaded scenario's rules, and applied in the hook of their phase.

The control API (``harness.proxy.control``) runs on the same event loop; its port and the
proxy's are written to ``harness_ready_file`` once both listen.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import ctx, exceptions, http, tls
from mitmproxy.addonmanager import Loader
from mitmproxy.connection import Client
from mitmproxy.proxy import mode_specs, server_hooks

from harness import __version__
from harness.attempt import Attempt, FaultFired, Sent, operation_of, params_of
from harness.proxy.journal import DEFAULT_MAX_RECORDS, Journal, auth_of
from harness.proxy.rules import AttemptInfo, Decision, Group, RuleSet
from harness.proxy.runtime import AttemptContext, ConnState, FlowState, logger, sent_response
from harness.scenario import Scenario, ScenarioError, load_scenario

#: The default cap on any hang (seconds); ``harness_max_hang`` changes it.
DEFAULT_MAX_HANG_S = 300


@dataclass(frozen=True)
class Upstream:
    """Where every request goes: scheme, host, port, and the SNI/verification name."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http"):
            raise ValueError(f"harness_upstream={url!r}: the scheme must be https or http")
        if not parts.hostname:
            raise ValueError(f"harness_upstream={url!r}: no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"harness_upstream={url!r}: give an origin only (scheme://host:port)")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise ValueError(f"harness_upstream={url!r}: {exc}") from None
        return cls(parts.scheme, parts.hostname, port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class Harness:
    """The mitmproxy addon: routing, journal, faults and the control API."""

    def __init__(self) -> None:
        self.journal = Journal()
        self.rules = RuleSet(None)
        self.upstream: Upstream | None = None
        self.auth_key = secrets.token_bytes(32)
        self.seed = 0
        self.max_hang_s = float(DEFAULT_MAX_HANG_S)
        self.control: Any = None
        self.listen: tuple[str, int] | None = None
        self._conns: dict[str, ConnState] = {}
        self._flows: dict[str, FlowState] = {}
        self._conn_numbers = 0
        self._running = False
        self._mode, self._client_scheme = "regular", "http"

    # -- options ----------------------------------------------------------------------------

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "harness_scenario",
            str,
            "",
            "Scenario to load at start: a YAML file path or a library name (empty: none).",
        )
        loader.add_option(
            "harness_upstream",
            str,
            "",
            "Origin every request is sent to, e.g. https://127.0.0.1:8443 (empty: answer 502).",
        )
        loader.add_option(
            "harness_upstream_ca",
            str,
            "",
            "PEM bundle that verifies the upstream's certificate (empty: the harness CA in confdir).",
        )
        loader.add_option(
            "harness_control_port",
            int,
            0,
            "Port of the control API on 127.0.0.1 (0: pick a free one; see harness_ready_file).",
        )
        loader.add_option(
            "harness_ready_file",
            str,
            "",
            "Write {proxy, control, ...} ports as JSON here once listening (empty: do not).",
        )
        loader.add_option(
            "harness_journal_max",
            int,
            DEFAULT_MAX_RECORDS,
            "Journal retention cap in records; the oldest are dropped (and counted) beyond it.",
        )
        loader.add_option(
            "harness_auth_key",
            str,
            "",
            "Key for the HMAC that the journal records instead of credentials (empty: random).",
        )
        loader.add_option(
            "harness_seed",
            int,
            0,
            "Seed for probability schedules and delay draws when a scenario gives none.",
        )
        loader.add_option(
            "harness_max_hang",
            int,
            DEFAULT_MAX_HANG_S,
            "Longest any hang lasts, in whole seconds; a capped hang ends with a FIN.",
        )

    def configure(self, updated: set[str]) -> None:
        try:
            if "mode" in updated:
                self._mode, self._client_scheme = _parse_mode(ctx.options.mode)
            if "harness_upstream" in updated:
                url = ctx.options.harness_upstream
                self.upstream = Upstream.parse(url) if url else None
            if "harness_journal_max" in updated:
                if ctx.options.harness_journal_max < 1:
                    raise ValueError("harness_journal_max must be at least 1")
                if not self.journal.records():
                    self.journal = Journal(ctx.options.harness_journal_max)
                else:
                    self.journal.resize(ctx.options.harness_journal_max)
            if "harness_auth_key" in updated:
                key = ctx.options.harness_auth_key
                self.auth_key = key.encode() if key else secrets.token_bytes(32)
            if "harness_max_hang" in updated:
                if not 0 < ctx.options.harness_max_hang <= 86_400:
                    raise ValueError("harness_max_hang must be within 1..86400 seconds")
                self.max_hang_s = float(ctx.options.harness_max_hang)
            if (
                "harness_control_port" in updated
                and not 0 <= ctx.options.harness_control_port < 65536
            ):
                raise ValueError("harness_control_port must be within 0..65535")
            if "harness_upstream_ca" in updated or "confdir" in updated:
                ca = self._upstream_ca()
                if ca is not None and not ca.is_file():
                    raise ValueError(f"harness_upstream_ca: no such file: {ca}")
                if self._running:
                    asyncio.get_running_loop().call_soon(self._apply_mitmproxy_options)
            if "harness_scenario" in updated or "harness_seed" in updated:
                self.seed = ctx.options.harness_seed
                source = ctx.options.harness_scenario
                self.install(load_scenario(source) if source else self.rules.scenario)
        except (ValueError, ScenarioError) as e:
            raise exceptions.OptionsError(str(e)) from e

    def _upstream_ca(self) -> Path | None:
        if ctx.options.harness_upstream_ca:
            return Path(ctx.options.harness_upstream_ca).expanduser()
        default = Path(ctx.options.confdir).expanduser() / "mitmproxy-ca-cert.pem"
        return default if default.is_file() else None

    def _apply_mitmproxy_options(self) -> None:
        """The mitmproxy settings the harness relies on (HTTP/1.1 to clients, lazy upstream
        connections, verified upstream certificates)."""
        wanted: dict[str, Any] = {}
        if ctx.options.connection_strategy != "lazy":
            wanted["connection_strategy"] = "lazy"
        if ctx.options.http2:
            wanted["http2"] = False
        ca = self._upstream_ca()
        if ca is not None and ctx.options.ssl_verify_upstream_trusted_ca != str(ca):
            wanted["ssl_verify_upstream_trusted_ca"] = str(ca)
        if wanted:
            ctx.options.update(**wanted)

    # -- lifecycle ---------------------------------------------------------------------------

    async def running(self) -> None:
        from harness.proxy.control import ControlServer

        self._running = True
        self._apply_mitmproxy_options()
        proxyserver = ctx.master.addons.get("proxyserver")
        addrs = proxyserver.listen_addrs() if proxyserver is not None else []
        self.listen = (str(addrs[0][0]), int(addrs[0][1])) if addrs else None
        self.control = ControlServer(self, ctx.options.harness_control_port)
        if ctx.options.harness_ready_file:
            _write_json(Path(ctx.options.harness_ready_file), self.health())

    def done(self) -> None:
        if self.control is not None:
            self.control.stop()
            self.control = None

    # -- the control API's verbs ---------------------------------------------------------------

    def install(self, scenario: Scenario | None) -> None:
        """Make ``scenario`` active (``None``: no faults); its schedules start from zero."""
        self.rules = RuleSet(scenario, default_seed=self.seed)

    def reset(self) -> None:
        """Clear the journal, counters, canary hits and schedule state."""
        self.journal.reset()
        self.install(self.rules.scenario)

    @property
    def mode(self) -> str:
        """``regular`` or ``reverse`` (from mitmproxy's ``mode`` option)."""
        return self._mode

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` answers (and the ready file holds)."""
        from mitmproxy.version import VERSION

        scenario = self.rules.scenario
        proxy_host, proxy_port = self.listen or (None, None)
        scheme = self._client_scheme
        return {
            "ok": True,
            "pid": os.getpid(),
            "version": __version__,
            "mitmproxy": VERSION,
            "scenario": scenario.name if scenario is not None else None,
            "rules": len(self.rules),
            "mode": self.mode,
            "proxy": {"host": proxy_host, "port": proxy_port, "scheme": scheme},
            "control": {"host": "127.0.0.1", "port": self.control.port if self.control else None},
            "upstream": self.upstream.url if self.upstream else None,
            "records": len(self.journal),
            "in_flight": self.journal.in_flight,
            "dropped": self.journal.dropped,
        }

    @property
    def canary_base(self) -> str:
        return self.control.url if self.control is not None else "http://127.0.0.1:0"

    # -- connections -------------------------------------------------------------------------

    def client_connected(self, client: Client) -> Awaitable[None] | None:
        self._conn_numbers += 1
        peer = f"{client.peername[0]}:{client.peername[1]}" if client.peername else None
        record = self.journal.open(
            conn=str(self._conn_numbers), peer=peer, scheme=self._client_scheme
        )
        conn = ConnState(self._conn_numbers, client, record)
        self._conns[client.id] = conn
        if self.mode == "reverse":
            return self._decide_connection(conn, "connect", None, flow=None)
        return None

    def client_disconnected(self, client: Client) -> None:
        conn = self._conns.pop(client.id, None)
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
            st = self._flows.pop(flow_id, None)
            if st is not None:
                self.journal.finish(st.record, "client_closed")

    def http_connect(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        conn = self._conns.get(flow.client_conn.id)
        if conn is None:
            return None
        conn.host = flow.request.host.lower()
        if conn.pending is not None:
            conn.pending.host = conn.host
            conn.pending.scheme = "https"
        return self._decide_connection(conn, "connect", conn.host, flow=flow)

    def tls_clienthello(self, data: tls.ClientHelloData) -> Awaitable[None] | None:
        conn = self._conns.get(data.context.client.id)
        if conn is None:
            return None
        sni = data.client_hello.sni
        if conn.host is None and sni:
            conn.host = sni.lower()
        if conn.pending is not None:
            conn.pending.advance("tls")
            conn.pending.scheme = "https"
            conn.pending.host = conn.pending.host or conn.host
        if conn.conn_fault is not None:
            return None
        return self._decide_connection(conn, "tls", conn.host, flow=None)

    def tls_start_client(self, data: tls.TlsData) -> None:
        conn = self._conns.get(data.context.client.id)
        if conn is None or conn.bad_cert is None:
            return
        try:
            data.ssl_conn = _bad_certificate_connection(conn.bad_cert, conn.host)
        except Exception as exc:  # a broken fault must not break the proxy
            record = conn.pending
            if record is not None:
                record.fault_error = f"{type(exc).__name__}: {exc}"
                self.journal.fault_errors += 1
                self.journal.finish(record, "error", error=record.fault_error)
            logger.error("tls_bad_cert failed: %s", exc, exc_info=exc)

    def tls_established_client(self, data: tls.TlsData) -> None:
        conn = self._conns.get(data.context.client.id)
        if conn is not None:
            conn.tls = data.ssl_conn

    def tls_failed_client(self, data: tls.TlsData) -> None:
        conn = self._conns.get(data.context.client.id)
        if conn is not None and conn.pending is not None:
            conn.pending.advance("tls")
            self.journal.finish(
                conn.pending, "tls_failed", error=data.conn.error or "TLS handshake failed"
            )

    def _decide_connection(
        self, conn: ConnState, group: Group, host: str | None, *, flow: http.HTTPFlow | None
    ) -> Awaitable[None] | None:
        decision = self.rules.decide(group, AttemptInfo(host=host))
        record = conn.pending
        if decision is None or record is None:
            return None
        record.rule = decision.rule.name
        _record_draw(record, decision)
        fault = decision.fault_record()
        if fault is None or decision.spec is None:
            return None
        conn.conn_fault = record.fault = record.conn_fault = fault
        self.journal.count_fault(fault)
        fx = self._context(record, fault, decision, conn.client, conn, flow, None)
        return fx.run(decision.spec.fault)

    # -- requests ----------------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        conn = self._conns.get(flow.client_conn.id)
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
        record.auth = auth_of(authorization, self.auth_key)
        record.conn_fault = conn.conn_fault if conn else None
        self._flows[flow.id] = FlowState(record, conn)
        if conn is not None:
            conn.flows.add(flow.id)

    def request(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        st = self._flows.get(flow.id)
        if st is None or flow.response is not None or not flow.live:
            return None
        record = st.record
        record.request_bytes = len(flow.request.raw_content or b"")
        if self.upstream is None:
            flow.response = http.Response.make(
                502,
                b"mdm-harness: no upstream configured (harness_upstream)\n",
                {"Content-Type": "text/plain"},
            )
            record.error = "no upstream configured"
            return None
        decision = self.rules.decide("request", _info(record))
        st.decision = decision
        if decision is not None:
            record.rule = decision.rule.name
            _record_draw(record, decision)
            fault = decision.fault_record()
            if fault is not None:
                record.fault = fault
                self.journal.count_fault(fault)
                if decision.rule.phase == "request":
                    return self._apply_request(flow, st, decision, fault)
        self._route(flow, st)
        return None

    async def _apply_request(
        self, flow: http.HTTPFlow, st: FlowState, decision: Decision, fault: FaultFired
    ) -> None:
        st.applied = True
        fx = self._context(st.record, fault, decision, flow.client_conn, st.conn, flow, "request")
        assert decision.spec is not None
        await fx.run(decision.spec.fault)
        if flow.response is None and flow.live and st.record.end is None and not flow.error:
            self._route(flow, st)

    def _route(self, flow: http.HTTPFlow, st: FlowState) -> None:
        assert self.upstream is not None
        flow.request.scheme = self.upstream.scheme
        flow.request.data.host = self.upstream.host
        flow.request.data.port = self.upstream.port
        st.routed = True

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if self.upstream is None:
            data.server.error = "mdm-harness: no upstream configured"
            return
        data.server.address = (self.upstream.host, self.upstream.port)
        data.server.sni = self.upstream.host

    def response(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        st = self._flows.get(flow.id)
        if st is None or st.record.end is not None:
            return None
        st.record.upstream = st.routed and flow.server_conn.timestamp_tcp_setup is not None
        decision = st.decision
        if (
            decision is not None
            and decision.spec is not None
            and decision.rule.phase == "response"
            and not st.applied
        ):
            return self._apply_response(flow, st, decision)
        self._complete(flow, st)
        return None

    async def _apply_response(self, flow: http.HTTPFlow, st: FlowState, decision: Decision) -> None:
        st.applied = True
        st.record.advance("response")
        assert st.record.fault is not None
        fx = self._context(
            st.record, st.record.fault, decision, flow.client_conn, st.conn, flow, "response"
        )
        assert decision.spec is not None
        await fx.run(decision.spec.fault)
        self._complete(flow, st)

    def _complete(self, flow: http.HTTPFlow, st: FlowState) -> None:
        """A response mitmproxy is about to send in full: record it and end the attempt."""
        self._forget(flow, st)
        record = st.record
        if record.end is not None or flow.response is None or not flow.live:
            return
        record.sent = sent_response(flow.response)
        record.advance("complete")
        gone = not flow.client_conn.connected or _client_gone(flow.client_conn)
        self.journal.finish(record, "client_closed" if gone else "completed")

    def error(self, flow: http.HTTPFlow) -> None:
        st = self._flows.get(flow.id)
        if st is None:
            return
        self._forget(flow, st)
        record = st.record
        if record.end is not None:
            return
        message = flow.error.msg if flow.error else "error"
        record.upstream = st.routed and flow.server_conn.timestamp_tcp_setup is not None
        if _client_gone(flow.client_conn) or "disconnect" in message.lower():
            self.journal.finish(record, "client_closed")
        elif flow.response is None:
            # mitmproxy answers the client with its own 502 (e.g. the upstream is down).
            record.sent = Sent(status=502, first_byte=time.monotonic(), wall=time.time())
            self.journal.finish(record, "completed", error=message)
        else:
            self.journal.finish(record, "error", error=message)

    def _forget(self, flow: http.HTTPFlow, st: FlowState) -> None:
        self._flows.pop(flow.id, None)
        if st.conn is not None:
            st.conn.flows.discard(flow.id)

    # -- helpers -----------------------------------------------------------------------------

    def _context(
        self,
        record: Attempt,
        fault: FaultFired,
        decision: Decision,
        client: Client,
        conn: ConnState | None,
        flow: http.HTTPFlow | None,
        request_phase: str | None,
    ) -> AttemptContext:
        from harness.faults import RequestView

        request = None
        if request_phase is not None and record.method is not None:
            request = RequestView(
                record.method, record.path or "", record.params, record.operation or "other"
            )
        return AttemptContext(
            journal=self.journal,
            master=ctx.master,
            record=record,
            fault_record=fault,
            phase=decision.rule.phase,
            mode=self.mode,
            client=client,
            conn=conn,
            flow=flow,
            rng=decision.rng,
            max_hang_s=self.max_hang_s,
            canary_base=self.canary_base,
            request=request,
            state=decision.state,
        )


def _host_and_authorization(request: http.Request) -> tuple[str | None, str | None]:
    """The Host (lower case, no port; else the request's host) and Authorization values, read
    from the raw header fields in one pass (mitmproxy's header lookups are comparatively slow)."""
    host = authorization = None
    for name, value in request.headers.fields:
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


def _info(record: Attempt) -> AttemptInfo:
    return AttemptInfo(
        host=record.host,
        method=record.method,
        path=record.path,
        query=record.query,
        params=record.params,
        operation=record.operation,
    )


def _record_draw(record: Attempt, decision: Decision) -> None:
    if decision.draw is not None:
        record.seed = decision.seed
        record.draw = round(decision.draw, 6)


def _client_gone(client: Client) -> bool:
    from harness.proxy.wire import client_gone

    return client_gone(client)


def _parse_mode(modes: Sequence[str]) -> tuple[str, str]:
    """``(regular|reverse, the scheme clients speak to the proxy first)`` from ``mode``."""
    try:
        spec = mode_specs.ProxyMode.parse(modes[0]) if modes else None
    except ValueError:
        spec = None
    if isinstance(spec, mode_specs.ReverseMode):
        return "reverse", "https" if spec.scheme == "https" else "http"
    return "regular", "http"


_SSL_CONTEXTS: dict[str, Any] = {}


def _bad_certificate_connection(kind: str, host: str | None) -> Any:
    """A server-side pyOpenSSL connection presenting the harness CA's bad leaf for ``host``
    (for the loopback names when the client named no host)."""
    from OpenSSL import SSL

    from harness.tls import CertificateAuthority

    ca_dir = Path(ctx.options.confdir).expanduser().resolve().parent
    if not (ca_dir / "ca.pem").is_file() or not (ca_dir / "ca-key.pem").is_file():
        raise RuntimeError(
            f"tls_bad_cert needs the harness CA beside confdir (no {ca_dir / 'ca.pem'})"
        )
    names = (host,) if host else ()
    leaf = CertificateAuthority.load_or_create(ca_dir).bad_leaf(kind, *names)  # type: ignore[arg-type]
    key = str(leaf.pem)
    context = _SSL_CONTEXTS.get(key)
    if context is None:
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.use_certificate_chain_file(key)
        context.use_privatekey_file(key)
        _SSL_CONTEXTS[key] = context
    connection = SSL.Connection(context)
    connection.set_accept_state()
    return connection


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(tmp, path)
