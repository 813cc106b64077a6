"""Fault injection: the loaded scenario decides, per attempt, whether a fault fires, and the
fault acts in the hook of its phase.

Decisions are made once per decision point - a connection's CONNECT (or, in reverse mode, its
accept), its TLS ClientHello, and each request (for ``request`` and ``response`` rules alike) -
by :class:`~harness.proxy.rules.RuleSet`. A fault acts through
:class:`~harness.proxy.runtime.AttemptContext` on the record the recorder keeps; a fault that
acts on a response finishes its record itself (:meth:`Recorder.complete`). Hooks step aside
when the flow already has an answer or an error.

Options: ``harness_scenario`` (a file path or library name loaded at start), ``harness_seed``,
``harness_max_hang``. The control API swaps scenarios with :meth:`Injector.install`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from pathlib import Path

from mitmproxy import ctx, exceptions, http, tls
from mitmproxy.addonmanager import Loader
from mitmproxy.connection import Client

from harness.attempt import Attempt, FaultFired
from harness.proxy.certificates import bad_certificate_connection, bad_certificate_context
from harness.proxy.recorder import Recorder
from harness.proxy.rules import AttemptInfo, Decision, Group, RuleSet
from harness.proxy.runtime import AttemptContext, ConnState, FlowState, logger, mode_of
from harness.scenario import Scenario, ScenarioError, load_scenario

#: The default cap on any hang (seconds); ``harness_max_hang`` changes it.
DEFAULT_MAX_HANG_S = 300


class Injector:
    """Decides faults from the scenario's rules and applies them."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.rules = RuleSet(None)
        self.seed = 0
        self.max_hang_s = float(DEFAULT_MAX_HANG_S)
        self.mode = "regular"
        #: Where the canary listener is (``Control`` sets it once it listens).
        self.canary_base = "http://127.0.0.1:0"
        self._warming: asyncio.Future[None] | None = None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "harness_scenario",
            str,
            "",
            "Scenario to load at start: a YAML file path or a library name (empty: none).",
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
        if "mode" in updated:
            self.mode = mode_of(ctx.options.mode)[0]
        try:
            if "harness_max_hang" in updated:
                max_hang = ctx.options.harness_max_hang
                if not 0 < max_hang <= 86_400:
                    raise ValueError(f"harness_max_hang={max_hang} must be within 1..86400 seconds")
                self.max_hang_s = float(max_hang)
            if "harness_scenario" in updated or "harness_seed" in updated:
                self.seed = ctx.options.harness_seed
                source = ctx.options.harness_scenario
                self.install(load_scenario(source) if source else self.rules.scenario)
        except (ValueError, ScenarioError) as e:
            raise exceptions.OptionsError(str(e)) from e

    def running(self) -> None:
        # Load the CAs' keys for bad certificates in the background now, so that no client's
        # handshake waits for it later (see bad_certificate_context).
        self._warming = asyncio.get_running_loop().run_in_executor(
            None, _warm_bad_certificates, ctx.options.confdir
        )

    def install(self, scenario: Scenario | None) -> None:
        """Make ``scenario`` active (``None``: no faults); its schedules start from zero."""
        self.rules = RuleSet(scenario, default_seed=self.seed)

    # -- connections ------------------------------------------------------------------------

    def client_connected(self, client: Client) -> Awaitable[None] | None:
        if self.mode != "reverse":
            return None
        conn = self.recorder.conn_state(client)
        return None if conn is None else self._decide_connection(conn, "connect", None, None)

    def http_connect(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        conn = self.recorder.conn_state(flow.client_conn)
        if conn is None or flow.response is not None:
            return None
        return self._decide_connection(conn, "connect", conn.host, flow)

    def tls_clienthello(self, data: tls.ClientHelloData) -> Awaitable[None] | None:
        conn = self.recorder.conn_state(data.context.client)
        if conn is None or conn.conn_fault is not None:
            return None
        return self._decide_connection(conn, "tls", conn.host, None)

    def tls_start_client(self, data: tls.TlsData) -> None:
        conn = self.recorder.conn_state(data.context.client)
        if conn is None or conn.bad_cert is None:
            return
        try:
            data.ssl_conn = bad_certificate_connection(
                ctx.options.confdir, conn.bad_cert, conn.host
            )
        except Exception as exc:  # a broken fault must not break the proxy
            record = conn.pending
            if record is not None:
                record.fault_error = f"{type(exc).__name__}: {exc}"
                self.recorder.journal.fault_errors += 1
                self.recorder.journal.finish(record, "error", error=record.fault_error)
            logger.error("tls_bad_cert failed: %s", exc, exc_info=exc)

    def _decide_connection(
        self, conn: ConnState, group: Group, host: str | None, flow: http.HTTPFlow | None
    ) -> Awaitable[None] | None:
        record = conn.pending
        if record is None or record.end is not None:
            return None
        decision = self.rules.decide(group, AttemptInfo(host=host))
        if decision is None:
            return None
        record.rule = decision.rule.name
        _record_draw(record, decision)
        fault = decision.fault_record()
        if fault is None or decision.spec is None:
            return None
        conn.conn_fault = record.fault = record.conn_fault = fault
        self.recorder.journal.count_fault(fault)
        fx = self._context(record, fault, decision, conn.client, conn, flow, request=False)
        if group == "tls":
            return self._apply_tls(fx, decision, conn)
        return fx.run(decision.spec.fault)

    async def _apply_tls(self, fx: AttemptContext, decision: Decision, conn: ConnState) -> None:
        assert decision.spec is not None
        await fx.run(decision.spec.fault)
        if conn.bad_cert is not None and not fx.finished:
            # Build the bad certificate's context off the event loop; tls_start_client then
            # finds it ready (and records the error if building it failed).
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(
                    None, bad_certificate_context, ctx.options.confdir, conn.bad_cert, conn.host
                )

    # -- requests ---------------------------------------------------------------------------

    def request(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        st = self.recorder.flow_state(flow)
        if st is None or flow.response is not None or flow.error is not None or not flow.live:
            return None
        record = st.record
        decision = self.rules.decide("request", _info(record))
        if decision is None:
            return None
        st.decision = decision
        record.rule = decision.rule.name
        _record_draw(record, decision)
        fault = decision.fault_record()
        if fault is None or decision.spec is None:
            return None
        record.fault = fault
        self.recorder.journal.count_fault(fault)
        if decision.rule.phase != "request":
            return None  # it acts on the response
        st.applied = True
        fx = self._context(record, fault, decision, flow.client_conn, st.conn, flow, request=True)
        return fx.run(decision.spec.fault)

    def response(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        st = self.recorder.flow_state(flow)
        if st is None or st.record.end is not None or not flow.live:
            return None
        decision, fault = st.decision, st.record.fault
        if decision is None or decision.spec is None or fault is None or st.applied:
            return None
        if decision.rule.phase != "response":
            return None
        return self._apply_response(flow, st, decision, fault)

    async def _apply_response(
        self, flow: http.HTTPFlow, st: FlowState, decision: Decision, fault: FaultFired
    ) -> None:
        st.applied = True
        st.record.advance("response")
        fx = self._context(
            st.record, fault, decision, flow.client_conn, st.conn, flow, request=True
        )
        assert decision.spec is not None
        await fx.run(decision.spec.fault)
        self.recorder.complete(flow)

    def _context(
        self,
        record: Attempt,
        fault: FaultFired,
        decision: Decision,
        client: Client,
        conn: ConnState | None,
        flow: http.HTTPFlow | None,
        *,
        request: bool,
    ) -> AttemptContext:
        from harness.faults import RequestView

        view = None
        if request and record.method is not None:
            view = RequestView(
                record.method, record.path or "", record.params, record.operation or "other"
            )
        return AttemptContext(
            journal=self.recorder.journal,
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
            request=view,
            state=decision.state,
        )


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


def _warm_bad_certificates(confdir: str) -> None:
    """Load the harness CA and the untrusted CA once (worker thread; failures are left for a
    handshake to report)."""
    from harness.tls import CertificateAuthority

    ca_dir = Path(confdir).expanduser().resolve().parent
    if (ca_dir / "ca.pem").is_file() and (ca_dir / "ca-key.pem").is_file():
        with contextlib.suppress(Exception):
            CertificateAuthority.load_or_create(ca_dir).bad_leaf("untrusted-ca")
