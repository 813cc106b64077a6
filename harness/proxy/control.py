"""The control API: a small JSON-over-HTTP server on loopback, in mitmproxy's own event loop.

=======  ====================  ===============================================================
GET      /health               ok, versions, scenario, proxy address and mode, record counts
GET      /scenario             the active scenario (name and YAML), or null
PUT      /scenario             body: scenario YAML/JSON text, or JSON ``{"name": "<library>"}``;
                               200, or 400 with the error - and the previous scenario stays
DELETE   /scenario             no scenario: every attempt passes
POST     /reset                clear journal, counters, canary hits and schedule state
GET      /journal              JSON lines; ``?wait_idle=S`` first waits (up to S seconds) until
                               no attempt is in flight (header ``X-Harness-Idle: true|false``)
GET      /counters             attempts, how they ended, faults per kind and per rule
GET      /canary               the canary hits
GET      /canary/<token>       a canary URL (what XXE documents point at): records the hit
=======  ====================  ===============================================================

Tornado runs on the asyncio loop mitmproxy already runs, so handlers touch the journal and
the rules without locks.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

import tornado.httpserver
import tornado.netutil
import tornado.web

if TYPE_CHECKING:
    from harness.proxy.hooks import Harness

#: The longest ``wait_idle`` a caller may ask for (seconds).
MAX_WAIT_IDLE_S = 600.0

_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class _Handler(tornado.web.RequestHandler):
    harness: Harness

    def initialize(self, harness: Harness) -> None:
        self.harness = harness

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
        self.send_json(self.harness.health())


class ScenarioHandler(_Handler):
    def get(self) -> None:
        scenario = self.harness.rules.scenario
        if scenario is None:
            self.send_json({"ok": True, "scenario": None})
        else:
            self.send_json({"ok": True, "scenario": scenario.name, "yaml": scenario.to_yaml()})

    def put(self) -> None:
        from harness.scenario import ScenarioError

        try:
            text = self.request.body.decode("utf-8")
        except UnicodeDecodeError:
            self.send_json({"ok": False, "error": "<request>: (body): not UTF-8"}, 400)
            return
        from harness.scenario import library_scenario, parse_scenario

        name = _library_name(text)
        try:
            if name is not None:
                scenario = library_scenario(name)
            else:
                scenario = parse_scenario(text, path="<request>")
        except ScenarioError as exc:
            self.send_json({"ok": False, "error": str(exc)}, 400)
            return
        self.harness.install(scenario)
        self.send_json({"ok": True, "scenario": scenario.name, "rules": len(scenario.rules)})

    def delete(self) -> None:
        self.harness.install(None)
        self.send_json({"ok": True, "scenario": None})


def _library_name(text: str) -> str | None:
    """``name`` when the body is exactly the JSON object ``{"name": "<library name>"}``."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(data, dict) and set(data) == {"name"} and isinstance(data["name"], str):
        return data["name"]
    return None


class ResetHandler(_Handler):
    def post(self) -> None:
        self.harness.reset()
        self.send_json({"ok": True})


class JournalHandler(_Handler):
    async def get(self) -> None:
        idle = True
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
            idle = await self.harness.journal.wait_idle(wait)
        else:
            idle = self.harness.journal.in_flight == 0
        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("X-Harness-Idle", "true" if idle else "false")
        self.finish(self.harness.journal.jsonl())


class CountersHandler(_Handler):
    def get(self) -> None:
        counters = self.harness.journal.counters()
        counters["rules"] = self.harness.rules.counters()
        self.send_json(counters)


class CanaryListHandler(_Handler):
    def get(self) -> None:
        self.send_json(list(self.harness.journal.canary))


class CanaryHandler(_Handler):
    def get(self, token: str) -> None:
        if not _TOKEN.match(token):
            self.send_json({"ok": False, "error": "bad canary token"}, 400)
            return
        peer = self.request.connection.context.address if self.request.connection else None  # type: ignore[attr-defined]
        seq = re.match(r"^a(\d+)-", token)
        self.harness.journal.canary.append(
            {
                "token": token,
                "seq": int(seq.group(1)) if seq else None,
                "time": time.monotonic(),
                "wall": time.time(),
                "peer": f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else None,
                "user_agent": self.request.headers.get("User-Agent"),
            }
        )
        if token.endswith(".dtd"):
            self.set_header("Content-Type", "application/xml-dtd")
            self.finish(b"<!-- mdm-harness canary: this DTD was fetched, so was the entity -->\n")
        else:
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(b"mdm-harness-canary")


class NotFoundHandler(_Handler):
    def prepare(self) -> None:
        self.send_json({"ok": False, "error": f"no such endpoint: {self.request.path}"}, 404)


def make_app(harness: Harness) -> tornado.web.Application:
    """The control API's routes."""
    args = {"harness": harness}
    return tornado.web.Application(
        [
            (r"/health", HealthHandler, args),
            (r"/scenario", ScenarioHandler, args),
            (r"/reset", ResetHandler, args),
            (r"/journal", JournalHandler, args),
            (r"/counters", CountersHandler, args),
            (r"/canary", CanaryListHandler, args),
            (r"/canary/([^/]+)", CanaryHandler, args),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args=args,
        log_function=lambda handler: None,
    )


class ControlServer:
    """The control API bound to ``127.0.0.1:port`` (0 = ephemeral) on the running loop."""

    def __init__(self, harness: Harness, port: int = 0) -> None:
        self._server = tornado.httpserver.HTTPServer(make_app(harness), xheaders=False)
        sockets = tornado.netutil.bind_sockets(port, address="127.0.0.1")
        self.port: int = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop()
