"""The control API and the canary: two small HTTP servers on loopback, in mitmproxy's own loop.

The control API (JSON over HTTP) answers only the harness that started the proxy: every call
must carry ``Authorization: Bearer <token>`` (the per-start token of
:mod:`harness.proxy.credentials`; 401 otherwise) and a ``Host`` that names loopback
(``localhost``, ``127.x.x.x``, ``[::1]``, with or without a port; 403 otherwise - a web page
cannot reach it through DNS rebinding):

=======  ====================  ===============================================================
GET      /health               ok, versions, scenario, proxy address and mode, record counts
GET      /scenario             the active scenario (name and YAML), or null
PUT      /scenario             body: scenario YAML/JSON text, or JSON ``{"name": "<library>"}``;
                               200, or 400 with the error - and the previous scenario stays;
                               413 over :data:`MAX_SCENARIO_BYTES`. Parsed off the event loop
DELETE   /scenario             no scenario: every attempt passes
POST     /reset                clear journal, counters, canary hits and schedule state
GET      /journal              JSON lines; ``?wait_idle=S`` first waits (up to S seconds) until
                               no attempt is in flight (header ``X-Harness-Idle: true|false``)
GET      /counters             attempts, how they ended, faults per kind and per rule
GET      /canary               the canary hits
=======  ====================  ===============================================================

The **canary** listens on a port of its own, which is all an XXE document reveals: it serves
``GET /canary/<token>`` (recording the hit) and nothing else, with no token - a careless parser
fetching it is the point. :class:`Control` is the addon that runs both servers and writes the
ready file; tornado runs on the asyncio loop mitmproxy already runs, so handlers touch the
journal and the rules without locks (scenario parsing alone runs in a worker thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import json
import os
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader

from harness import __version__
from harness._util import is_loopback_host
from harness.proxy.canary import make_canary_app
from harness.proxy.credentials import Credentials, write_private_json
from harness.proxy.inject import Injector
from harness.proxy.recorder import Recorder
from harness.proxy.routing import Routing

#: The longest ``wait_idle`` a caller may ask for (seconds).
MAX_WAIT_IDLE_S = 600.0

#: The largest scenario ``PUT /scenario`` accepts (bytes); a larger body gets 413.
MAX_SCENARIO_BYTES = 4 << 20

#: The most a too-large body is read (and dropped) so its 413 reaches the client; beyond, the
#: connection is closed.
_DISCARD_MAX_BYTES = 64 << 20


class _Handler(tornado.web.RequestHandler):
    control: Control

    def initialize(self, control: Control) -> None:
        self.control = control

    def prepare(self) -> None:
        """Refuse a Host that is not loopback (403), then a call without the token (401)."""
        host = self.request.host_name
        if not is_loopback_host(host):
            shown = host if len(host) <= 80 else host[:77] + "..."
            self.send_json(
                {"ok": False, "error": f"Host {shown!r} is not a loopback name (DNS rebinding?)"},
                403,
            )
            return
        given = self.request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        expected = self.control.credentials.control_token
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), expected.encode()
        ):
            self.set_header("WWW-Authenticate", 'Bearer realm="mdm-harness control API"')
            self.send_json({"ok": False, "error": "the control API token is missing or wrong"}, 401)

    def compute_etag(self) -> None:
        return None

    def send_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(value, separators=(",", ":")) + "\n")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.send_json({"ok": False, "error": self._reason}, status_code)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError):
            return
        super().log_exception(typ, value, tb)


class HealthHandler(_Handler):
    def get(self) -> None:
        self.send_json(self.control.health())


@tornado.web.stream_request_body
class ScenarioHandler(_Handler):
    """Bodies are streamed in so that a too-large one gets a clear 413, not a dropped
    connection; they are parsed in the control's worker thread, never on the event loop."""

    def prepare(self) -> None:
        super().prepare()
        self._chunks: list[bytes] = []
        self._size = 0
        if self._finished or self.request.method != "PUT":
            return
        length = self.request.headers.get("Content-Length", "")
        announced = int(length) if length.isdigit() else 0
        # Read (and drop) what is over the cap, up to a point, so the 413 reaches the client.
        self.request.connection.set_max_body_size(  # type: ignore[union-attr]
            max(MAX_SCENARIO_BYTES, min(announced, _DISCARD_MAX_BYTES))
        )

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= MAX_SCENARIO_BYTES:
            self._chunks.append(chunk)
        else:
            self._chunks.clear()

    def get(self) -> None:
        scenario = self.control.injector.rules.scenario
        if scenario is None:
            self.send_json({"ok": True, "scenario": None})
        else:
            self.send_json({"ok": True, "scenario": scenario.name, "yaml": scenario.to_yaml()})

    async def put(self) -> None:
        if self._size > MAX_SCENARIO_BYTES:
            error = f"<request>: (body): larger than {MAX_SCENARIO_BYTES} bytes"
            self.send_json({"ok": False, "error": error}, 413)
            return
        try:
            text = b"".join(self._chunks).decode("utf-8")
        except UnicodeDecodeError:
            self.send_json({"ok": False, "error": "<request>: (body): not UTF-8"}, 400)
            return
        self._chunks.clear()
        result = await self.control.load_scenario(text)
        if isinstance(result, str):
            self.send_json({"ok": False, "error": result}, 400)
            return
        self.send_json({"ok": True, "scenario": result.name, "rules": len(result.rules)})

    async def delete(self) -> None:
        async with self.control.changing:
            self.control.injector.install(None)
        self.send_json({"ok": True, "scenario": None})


def _parse(text: str) -> Any:
    """A scenario from the body of ``PUT /scenario``, or the error text (worker thread)."""
    from harness.scenario import ScenarioError, library_scenario, parse_scenario

    name = _library_name(text)
    try:
        if name is not None:
            return library_scenario(name)
        return parse_scenario(text, path="<request>")
    except ScenarioError as exc:
        return str(exc)


def _library_name(text: str) -> str | None:
    """``name`` when the body is exactly the JSON object ``{"name": "<library name>"}``."""
    stripped = text.strip()
    if not stripped.startswith("{") or len(stripped) > 1024:
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(data, dict) and set(data) == {"name"} and isinstance(data["name"], str):
        return data["name"]
    return None


class ResetHandler(_Handler):
    async def post(self) -> None:
        async with self.control.changing:
            self.control.reset()
        self.send_json({"ok": True})


class JournalHandler(_Handler):
    async def get(self) -> None:
        journal = self.control.recorder.journal
        raw = self.get_query_argument("wait_idle", None)
        if raw is not None:
            try:
                wait = float(raw)
            except ValueError:
                self.send_json({"ok": False, "error": f"wait_idle={raw!r} is not a number"}, 400)
                return
            if not 0 <= wait <= MAX_WAIT_IDLE_S:
                self.send_json(
                    {"ok": False, "error": f"wait_idle must be within 0..{MAX_WAIT_IDLE_S:g}"}, 400
                )
                return
            idle = await journal.wait_idle(wait)
        else:
            idle = journal.in_flight == 0
        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("X-Harness-Idle", "true" if idle else "false")
        self.finish(journal.jsonl())


class CountersHandler(_Handler):
    def get(self) -> None:
        counters = self.control.recorder.journal.counters()
        counters["rules"] = self.control.injector.rules.counters()
        self.send_json(counters)


class CanaryListHandler(_Handler):
    def get(self) -> None:
        self.send_json(list(self.control.recorder.journal.canary))


class NotFoundHandler(_Handler):
    def prepare(self) -> None:
        super().prepare()
        if not self._finished:
            self.send_json({"ok": False, "error": f"no such endpoint: {self.request.path}"}, 404)


def make_app(control: Control) -> tornado.web.Application:
    """The control API's routes."""
    args = {"control": control}
    return tornado.web.Application(
        [
            (r"/health", HealthHandler, args),
            (r"/scenario", ScenarioHandler, args),
            (r"/reset", ResetHandler, args),
            (r"/journal", JournalHandler, args),
            (r"/counters", CountersHandler, args),
            (r"/canary", CanaryListHandler, args),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args=args,
        log_function=lambda handler: None,
    )


class _Listener:
    """One tornado app bound to ``127.0.0.1:port`` (0 = ephemeral) on the running loop."""

    def __init__(self, app: tornado.web.Application, port: int, **server: Any) -> None:
        self._server = tornado.httpserver.HTTPServer(app, xheaders=False, **server)
        sockets = tornado.netutil.bind_sockets(port, address="127.0.0.1")
        self.port: int = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop()


class Control:
    """The addon serving the control API and the canary, and writing the ready file."""

    def __init__(
        self, credentials: Credentials, recorder: Recorder, injector: Injector, routing: Routing
    ) -> None:
        self.credentials = credentials
        self.recorder = recorder
        self.injector = injector
        self.routing = routing
        self.api: _Listener | None = None
        self.canary: _Listener | None = None
        self.listen: tuple[str, int] | None = None
        self._parser: concurrent.futures.ThreadPoolExecutor | None = None
        #: Held while the scenario changes, so loads, clears and resets apply in arrival order.
        self.changing = asyncio.Lock()

    def load(self, loader: Loader) -> None:
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
            "Once listening, write {proxy, control, canary, ...} as JSON here, mode 0600 "
            "(empty: do not).",
        )

    def configure(self, updated: set[str]) -> None:
        if "harness_control_port" in updated and not 0 <= ctx.options.harness_control_port < 65536:
            raise exceptions.OptionsError("harness_control_port must be within 0..65535")

    def running(self) -> None:
        proxyserver = ctx.master.addons.get("proxyserver")
        addrs = proxyserver.listen_addrs() if proxyserver is not None else []
        self.listen = (str(addrs[0][0]), int(addrs[0][1])) if addrs else None
        self._parser = concurrent.futures.ThreadPoolExecutor(1, "harness-scenario")
        self.api = _Listener(
            make_app(self), ctx.options.harness_control_port, max_body_size=MAX_SCENARIO_BYTES
        )
        self.canary = _Listener(make_canary_app(self.recorder.journal), 0, max_body_size=4096)
        self.injector.canary_base = self.canary.url
        if ctx.options.harness_ready_file:
            ready = self.health()
            if self.credentials.token_drawn:
                ready["token"] = self.credentials.control_token  # for whoever started us
            write_private_json(Path(ctx.options.harness_ready_file), ready)

    def done(self) -> None:
        for listener in (self.api, self.canary):
            if listener is not None:
                listener.stop()
        self.api = self.canary = None
        if self._parser is not None:
            self._parser.shutdown(wait=False, cancel_futures=True)
            self._parser = None

    # -- the verbs --------------------------------------------------------------------------

    async def load_scenario(self, text: str) -> Any:
        """Parse ``text`` in the worker thread - the event loop, and with it every flow of the
        proxy, runs on meanwhile - and install it; the scenario, or the error text (then the
        previous scenario stays)."""
        async with self.changing:
            result = await asyncio.get_running_loop().run_in_executor(self._parser, _parse, text)
            if not isinstance(result, str):
                self.injector.install(result)
            return result

    def reset(self) -> None:
        """Clear the journal, counters, canary hits and schedule state."""
        self.recorder.journal.reset()
        self.injector.install(self.injector.rules.scenario)

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` answers (and the ready file holds)."""
        from mitmproxy.version import VERSION

        scenario = self.injector.rules.scenario
        proxy_host, proxy_port = self.listen or (None, None)
        journal = self.recorder.journal
        upstream = self.routing.upstream
        return {
            "ok": True,
            "pid": os.getpid(),
            "version": __version__,
            "mitmproxy": VERSION,
            "scenario": scenario.name if scenario is not None else None,
            "rules": len(self.injector.rules),
            "mode": self.injector.mode,
            "proxy": {
                "host": proxy_host,
                "port": proxy_port,
                "scheme": self.recorder.client_scheme,
            },
            "control": {"host": "127.0.0.1", "port": self.api.port if self.api else None},
            "canary": {"host": "127.0.0.1", "port": self.canary.port if self.canary else None},
            "upstream": upstream.url if upstream else None,
            "records": len(journal),
            "in_flight": journal.in_flight,
            "dropped": journal.dropped,
            "journal_file": str(journal.file_path) if journal.file_path else None,
        }
