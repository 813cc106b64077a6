"""The HTTP around the reference MDM's operations: one tornado handler for every API path.

:class:`ApiHandler` checks, in this order, the path (404), the credentials (401), the method
(405) and the body size (413), then hands the request to :func:`harness.mdm.operations.answer`
(which refuses bad parameters with 400) and writes the answer in one send. Each refusal has a
small XML body (:func:`harness.mdm.documents.error`) and one log line on the ``harness.mdm``
logger. Admin requests (``/_harness/``) go to :mod:`harness.mdm.admin` instead.

The server zoo's defects that change how an answer travels - its bytes, its headers, its
timing, a redirect - are applied here (:mod:`harness.mdm.defects`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from types import TracebackType
from typing import Any

import tornado.web

from harness._xml import XML_CONTENT_TYPE
from harness.mdm import documents, operations, routes
from harness.mdm.defects import rewrite
from harness.mdm.protocol import ProtocolError
from harness.mdm.routes import Route
from harness.mdm.state import RequestRecord, ServerState

__all__ = ["DRAIN_FACTOR", "ApiHandler"]

logger = logging.getLogger("harness.mdm")

#: Bodies up to this multiple of the cap are read and dropped (the connection stays usable);
#: bigger ones get their 413 at once and the connection is closed.
DRAIN_FACTOR = 8

_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")
#: How long a lookup by MAC waits with the ``race-under-concurrency`` defect (long enough for
#: lookups sent together to overlap on a loaded machine).
_RACE_WINDOW_S = 0.2


@tornado.web.stream_request_body
class ApiHandler(tornado.web.RequestHandler):
    """Every path outside ``/_harness/``: discovery, device queries, actions, messages."""

    SUPPORTED_METHODS = _METHODS

    def initialize(self, state: ServerState) -> None:
        self.state = state
        self._arrived = time.monotonic()
        self._chunks: list[bytes] = []
        self._size = 0
        self._too_large = False

    def set_default_headers(self) -> None:
        self.clear_header("Server")

    def compute_etag(self) -> None:
        return None

    # -- the body ----------------------------------------------------------------------------

    def prepare(self) -> None:
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.state.max_body_bytes:
            self._too_large = True
            if int(length) > self.state.max_body_bytes * DRAIN_FACTOR:
                # Too big to read and drop: answer now; tornado closes after the reply.
                connection: Any = self.request.connection  # an HTTP1Connection
                connection.set_max_body_size(int(length))
                self.set_header("Connection", "close")
                self._fail(413, self._too_large_message())

    def data_received(self, chunk: bytes) -> None:
        if self._too_large:
            return
        self._size += len(chunk)
        if self._size > self.state.max_body_bytes:
            self._too_large, self._chunks = True, []
        else:
            self._chunks.append(chunk)

    def _too_large_message(self) -> str:
        return f"request body larger than {self.state.max_body_bytes} bytes"

    # -- dispatch ----------------------------------------------------------------------------

    # Every method goes through one dispatcher: the route decides what is allowed.
    async def get(self) -> None:
        try:
            await self._dispatch()
        except ProtocolError as exc:
            self._fail(exc.status, exc.message, allow=exc.allow)

    post = put = delete = patch = head = options = get

    async def _dispatch(self) -> None:
        state, request = self.state, self.request
        route = routes.resolve(state, request.path)
        defects = state.defects
        if "accepts-bad-credentials" not in defects:
            if not state.basic_auth_enabled:
                self._unauthorized("Basic authentication is disabled on this server")
                return
            if not state.authorized(request.headers.get("Authorization")):
                self._unauthorized("missing or wrong credentials")
                return
        if request.method != route.method:
            raise ProtocolError(
                405, f"{request.method} is not allowed here; use {route.method}", allow=route.method
            )
        if self._too_large:
            raise ProtocolError(413, self._too_large_message())
        call = operations.Call(
            method=request.method or "",
            path=request.path,
            args={name: self.get_query_arguments(name)[-1] for name in request.query_arguments},
            body=b"".join(self._chunks),
        )
        if defects:
            redirect = route.kind == "mdminfo" and not request.path.endswith("/")
            if redirect and "discovery-slash-redirect" in defects:
                query = f"?{request.query}" if request.query else ""
                self._redirect(request.path + "/" + query)
                return
            call = await self._misbehave(route, call)
        reply = operations.answer(state, route, call)
        self._reply(rewrite(reply.kind, reply.version, reply.body, defects))

    async def _misbehave(self, route: Route, call: operations.Call) -> operations.Call:
        """The zoo's timing defects on device queries: late answers, a shared-state race."""
        defects = self.state.defects
        if route.kind not in ("devices", "devices-path"):
            return call
        if "slow" in defects and _is_lookup(route, call):
            await asyncio.sleep(defects.slow_ms / 1000)
        criterion = (call.arg("querycriteria") or "").strip().lower()
        if (
            "race-under-concurrency" in defects
            and route.kind == "devices"
            and criterion == "macaddress"
        ):
            # A handler that keeps the request in shared state across an await: a request that
            # arrives meanwhile overwrites it, and both answer the later one.
            self.state.race_slot = dict(call.args)
            await asyncio.sleep(_RACE_WINDOW_S)
            call = dataclasses.replace(call, args=self.state.race_slot or call.args)
        return call

    # -- answers -----------------------------------------------------------------------------

    def _reply(self, body: bytes, status: int = 200) -> None:
        """Send the whole response in one write, after recording the request (a client that
        reads the answer must find the request already in the log)."""
        self.set_status(status)
        html = status == 200 and "html-content-type" in self.state.defects
        self.set_header("Content-Type", "text/html; charset=utf-8" if html else XML_CONTENT_TYPE)
        self._record(status)
        self.finish(body)

    def _record(self, status: int) -> None:
        request = self.request
        self.state.record_request(
            RequestRecord(request.method or "", request.path, request.query, status, self._arrived)
        )

    def _redirect(self, location: str) -> None:
        self.set_status(301)
        self.set_header("Location", location)
        self._record(301)
        self.finish(b"")

    def _fail(self, status: int, message: str, *, allow: str | None = None) -> None:
        logger.warning("%d %s %s: %s", status, self.request.method, self.request.path, message)
        if allow:
            self.set_header("Allow", allow)
        self._reply(documents.error(status, message), status)

    def _unauthorized(self, message: str) -> None:
        if "challenge-missing" not in self.state.defects:
            realm = self.state.profile.realm.replace('"', "'")
            self.set_header("WWW-Authenticate", f'Basic realm="{realm}", charset="UTF-8"')
        self._fail(401, message)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason if status_code != 500 else "internal server error"
        if status_code == 405:
            self.set_header("Allow", ", ".join(sorted(set(routes.ALLOWED.values()))))
        self._reply(documents.error(status_code, reason), status_code)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, tornado.web.HTTPError):
            logger.warning("%d %s %s", value.status_code, self.request.method, self.request.path)
            return
        logger.error(
            "500 %s %s: unexpected error",
            self.request.method,
            self.request.path,
            exc_info=(typ, value, tb),  # type: ignore[arg-type]
        )
        if value is not None:
            self.state.record_error(value)


def _is_lookup(route: Route, call: operations.Call) -> bool:
    """A compliance lookup of one device: by MAC or by GUID."""
    if route.kind == "devices":
        criterion = (call.arg("querycriteria") or "").strip().lower()
    else:
        parts = route.rest.split("/")
        criterion = parts[1].lower() if len(parts) >= 3 else ""
    return criterion in ("macaddress", "guid")
