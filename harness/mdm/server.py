"""The reference MDM: a tornado HTTPS server speaking the Cisco ISE MDM API v1-v3.

:class:`ReferenceMDM` is a context manager. It binds a loopback port (0 = any free one) in the
caller's thread, so a bind error raises at once, then runs tornado's event loop in a
background thread until :meth:`ReferenceMDM.stop`. An unexpected exception in that thread is
logged, answered with a 500, kept, and re-raised by :meth:`ReferenceMDM.check` and on leaving
the ``with`` block: it is never swallowed.

Every request goes through one handler that resolves the path (404), checks Basic credentials
(401), the method (405) and the body size (413), then parses its parameters (400) and answers.
Each refusal has a small XML body (see :func:`harness.mdm.documents.error`) and one log line on
the ``harness.mdm`` logger; the server keeps serving. Admin requests (``/_harness/``) are JSON
and are handled by :mod:`harness.mdm.admin`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hmac
import logging
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from harness import _util
from harness._xml import XML_CONTENT_TYPE
from harness.mdm import documents, protocol
from harness.mdm.inventory import Device, Inventory, QueryError, _Slot, normalize_mac
from harness.mdm.profile import RESERVED_PREFIX, Profile
from harness.mdm.protocol import ACTION_TYPES, CursorCodec, ProtocolError
from harness.tls import DEFAULT_IDENTITIES, CertificateAuthority

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_USERNAME",
    "ActionRecord",
    "MDMServerError",
    "ReferenceMDM",
    "RequestRecord",
]

logger = logging.getLogger("harness.mdm")

#: Request bodies above this many bytes are answered with 413.
DEFAULT_MAX_BODY_BYTES = 1 << 20
#: Bodies up to this multiple of the cap are read and dropped (the connection stays usable);
#: bigger ones get their 413 at once and the connection is closed.
_DRAIN_FACTOR = 8
DEFAULT_USERNAME = "ise-harness"
#: How many requests :attr:`ReferenceMDM.requests` remembers (the oldest are dropped).
REQUEST_LOG_SIZE = 10_000


class MDMServerError(RuntimeError):
    """An unexpected error inside the server thread, surfaced to the test that started it."""


@dataclass(frozen=True)
class ActionRecord:
    """One executed action (or sent message) on one device."""

    action: str  #: full_wipe, corporate_wipe, pin_lock or sendmessage
    identifier: str  #: the identifier element the client used: macaddress, guid or guidhn
    key: str  #: the value of that element (a MAC normalised to 12 upper-case hex digits)
    guid: str  #: the device's GUID
    macaddress: str  #: the device's primary MAC
    api_version: int
    monotonic: float  #: ``time.monotonic()`` when the server executed it
    time_ms: int  #: wall-clock milliseconds since the epoch
    message: str | None = None  #: for sendmessage: header and body

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the server saw it (admin requests are not recorded)."""

    method: str
    path: str
    query: str
    status: int
    monotonic: float  #: when the request arrived

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return dict(self.__dict__)


class _ThreadErrors(logging.Handler):
    """Catches errors tornado logs itself (outside our handlers) on one server's thread."""

    def __init__(self, state: _State, thread_name: str) -> None:
        super().__init__(logging.ERROR)
        self.state, self.thread_name = state, thread_name

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName != self.thread_name:
            return
        exc = record.exc_info[1] if record.exc_info else None
        self.state.record_error(exc or RuntimeError(record.getMessage()))


class _State:
    """What the handlers share; one per server. Handlers run on the server thread only."""

    def __init__(
        self,
        profile: Profile,
        inventory: Inventory,
        username: str,
        password: str,
        basic_auth_enabled: bool,
        max_body_bytes: int,
    ) -> None:
        self.profile = profile
        self.inventory = inventory
        self.username = username
        self.password = password
        self._credentials = (username.encode(), password.encode())
        self.basic_auth_enabled = basic_auth_enabled
        self.server_busy_wait_seconds = profile.server_busy_wait_seconds
        self.max_body_bytes = max_body_bytes
        self.cursors = CursorCodec()
        self.mdminfo = {v: documents.mdminfo(profile, v) for v in profile.versions}
        instance = profile.instance
        self.discovery_paths = frozenset(
            {instance + "/ciscoise/mdminfo", instance + "/ciscoise/mdminfo/"}
        )
        api: dict[str, int] = {}
        for version in profile.versions:  # a version-less template serves the highest version
            api[profile.api_path_for(version)] = version
        self.api_prefixes = sorted(api.items(), key=lambda item: -len(item[0]))
        self.lock = threading.Lock()
        self.actions: list[ActionRecord] = []
        self.requests: collections.deque[RequestRecord] = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self.request_count = 0
        self.errors: list[BaseException] = []
        self.started = time.monotonic()

    def authorized(self, header: str | None) -> bool:
        """Constant-time check of a Basic ``Authorization`` header against the credentials."""
        if not header:
            return False
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        user_ok = hmac.compare_digest(user, self._credentials[0])
        password_ok = hmac.compare_digest(password, self._credentials[1])
        return bool(sep) and user_ok and password_ok

    def record_error(self, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(exc)


_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")


@tornado.web.stream_request_body
class _ApiHandler(tornado.web.RequestHandler):
    """Every path outside ``/_harness/``: discovery, device queries, actions, messages."""

    SUPPORTED_METHODS = _METHODS

    def initialize(self, state: _State) -> None:
        self.state = state
        self._arrived = time.monotonic()
        self._chunks: list[bytes] = []
        self._size = 0
        self._too_large = False

    def set_default_headers(self) -> None:
        self.clear_header("Server")

    def compute_etag(self) -> None:
        return None

    def prepare(self) -> None:
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.state.max_body_bytes:
            self._too_large = True
            if int(length) > self.state.max_body_bytes * _DRAIN_FACTOR:
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

    # Every method goes through one dispatcher: the route decides what is allowed.
    def get(self) -> None:
        try:
            self._dispatch()
        except ProtocolError as exc:
            self._fail(exc.status, exc.message, allow=exc.allow)

    post = put = delete = patch = head = options = get

    def _dispatch(self) -> None:
        state, request = self.state, self.request
        path = request.path
        if path in state.discovery_paths:
            kind, version, rest = "mdminfo", 0, ""
        else:
            kind, version, rest = self._api_route(path)
        if not state.basic_auth_enabled:
            self._unauthorized("Basic authentication is disabled on this server")
            return
        if not state.authorized(request.headers.get("Authorization")):
            self._unauthorized("missing or wrong credentials")
            return
        allowed = _ALLOWED[kind]
        if request.method != allowed:
            raise ProtocolError(
                405, f"{request.method} is not allowed here; use {allowed}", allow=allowed
            )
        if self._too_large:
            raise ProtocolError(413, self._too_large_message())
        if kind == "mdminfo":
            self._mdminfo()
        elif kind == "devices":
            self._devices_query(version)
        elif kind == "devices-path":
            self._devices_path(version, rest)
        elif kind == "batch":
            self._batch(version)
        elif kind == "action":
            self._action(version, rest)
        else:
            self._sendmessage(version)

    def _api_route(self, path: str) -> tuple[str, int, str]:
        for prefix, version in self.state.api_prefixes:
            if not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1 :]
            head = rest.rstrip("/").split("/", 1)[0]
            if head == "devices":
                if rest.rstrip("/") == "devices":
                    if version == 1:
                        raise ProtocolError(
                            404, "API v1 asks devices/{paging}/{querycriteria}/{value}/{filter}"
                        )
                    return "devices", version, ""
                if version >= 2:
                    raise ProtocolError(
                        404, f"API v{version} asks devices/?paging=..&querycriteria=..&value=.."
                    )
                return "devices-path", version, rest[len("devices/") :]
            if head == "batchdevices" and rest.rstrip("/") == "batchdevices":
                if version >= 3:
                    raise ProtocolError(404, "batchdevices is part of API v1 and v2 only")
                return "batch", version, ""
            if head == "action":
                tail = rest[len("action") :].strip("/")
                if tail == "" or tail.startswith("actionType="):
                    return "action", version, tail
            if head == "sendmessage" and rest.rstrip("/") == "sendmessage":
                if not self.state.profile.messaging_support:
                    raise ProtocolError(404, "messaging is not supported (messaging_support false)")
                return "sendmessage", version, ""
            break
        raise ProtocolError(404, f"no such resource: {path}")

    # -- answers -------------------------------------------------------------------------

    def _reply(self, body: bytes, status: int = 200) -> None:
        """Send the whole response in one write, after recording the request (a client that
        reads the answer must find the request already in the log)."""
        self.set_status(status)
        self.set_header("Content-Type", XML_CONTENT_TYPE)
        state = self.state
        record = RequestRecord(
            self.request.method or "", self.request.path, self.request.query, status, self._arrived
        )
        with state.lock:
            state.request_count += 1
            state.requests.append(record)
        self.finish(body)

    def _fail(self, status: int, message: str, *, allow: str | None = None) -> None:
        logger.warning("%d %s %s: %s", status, self.request.method, self.request.path, message)
        if allow:
            self.set_header("Allow", allow)
        self._reply(documents.error(status, message), status)

    def _unauthorized(self, message: str) -> None:
        realm = self.state.profile.realm.replace('"', "'")
        self.set_header("WWW-Authenticate", f'Basic realm="{realm}", charset="UTF-8"')
        self._fail(401, message)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason if status_code != 500 else "internal server error"
        if status_code == 405:
            self.set_header("Allow", ", ".join(sorted(set(_ALLOWED.values()))))
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

    # -- discovery -----------------------------------------------------------------------

    def _mdminfo(self) -> None:
        asked = self.get_query_argument("ise_api_version", None)
        profile = self.state.profile
        version = (
            1 if asked is None else min(profile.max_api_version, protocol.parse_api_version(asked))
        )
        self._reply(self.state.mdminfo[version])

    # -- device queries ------------------------------------------------------------------

    def _devices_query(self, version: int) -> None:
        arg = self.get_query_argument
        criterion_text = arg("querycriteria", None)
        criterion = value = None
        if criterion_text is not None and criterion_text.strip():
            criterion = protocol.parse_criterion(criterion_text, version)
            value = arg("value", None)
            if value is None:
                raise ProtocolError(400, f"querycriteria={criterion_text} needs a value")
        self._answer_devices(
            version,
            paging=arg("paging", None) or "0",
            criterion=criterion,
            values=[] if value is None else [value],
            filter_text=arg("filter", None) or "all",
            identifier=arg("deviceidentifier", None),
        )

    def _devices_path(self, version: int, rest: str) -> None:
        parts = [unquote(p) for p in rest.rstrip("/").split("/")]
        if len(parts) == 2 and parts[1].lower() == "all":
            paging, criterion, values, filter_text = parts[0], None, [], "all"
        elif len(parts) in (3, 4):
            paging, values = parts[0], [parts[2]]
            criterion = protocol.parse_criterion(parts[1], version)
            filter_text = parts[3] if len(parts) == 4 else "all"
        else:
            raise ProtocolError(
                400, "API v1 device path is devices/{paging}/{querycriteria}/{value}/{filter}"
            )
        self._answer_devices(version, paging, criterion, values, filter_text, None)

    def _batch(self, version: int) -> None:
        arg = self.get_query_argument
        criterion_text = arg("querycriteria", None)
        if not criterion_text:
            raise ProtocolError(400, "batchdevices needs querycriteria")
        criterion = protocol.parse_criterion(criterion_text, version)
        root = protocol.parse_xml(b"".join(self._chunks))
        self._answer_devices(
            version,
            paging=arg("paging", None) or "0",
            criterion=criterion,
            values=protocol.values(root),
            filter_text=arg("filter", None) or "all",
            identifier=arg("deviceidentifier", None),
        )

    def _answer_devices(
        self,
        version: int,
        paging: str,
        criterion: str | None,
        values: list[str],
        filter_text: str,
        identifier: str | None,
    ) -> None:
        state = self.state
        fields = protocol.parse_filter(filter_text)
        key_kind = protocol.parse_deviceidentifier(identifier, version) or _default_key(
            version, criterion
        )
        keys = (
            list(dict.fromkeys(protocol.parse_value(criterion, v) for v in values))
            if criterion
            else []
        )
        scope = f"v{version}|{criterion}|" + "\x1f".join(sorted(keys))
        after = state.cursors.decode(scope, paging)
        slots, more = state.inventory.window(criterion, keys, after, state.profile.query_max_size)
        wanted = frozenset(keys) if criterion == "macaddress" else frozenset()
        fragments = [_fragment(slot, version, key_kind, wanted, fields) for slot in slots]
        paging_info = state.cursors.encode(scope, slots[-1].seq) if more else "0"
        self._reply(
            documents.attributes(version, paging_info, state.server_busy_wait_seconds, fragments)
        )

    # -- actions and messages ------------------------------------------------------------

    def _action(self, version: int, tail: str) -> None:
        action = tail[len("actionType=") :] if tail else self.get_query_argument("actionType", None)
        if not action:
            raise ProtocolError(400, "actionType is required (full_wipe, corporate_wipe, pin_lock)")
        action = unquote(action).strip()
        if action not in ACTION_TYPES:
            raise ProtocolError(
                400, f"actionType={action!r} is not one of {', '.join(ACTION_TYPES)}"
            )
        root = protocol.parse_xml(b"".join(self._chunks))
        kind, value = protocol.identifier(root, version)
        status, reason = self._run_action(action, kind, value, version, None)
        self._reply(documents.action_reply(version, kind, value, status, reason))

    def _sendmessage(self, version: int) -> None:
        root = protocol.parse_xml(b"".join(self._chunks))
        kind, value = protocol.identifier(root, version)
        fields = protocol.message_fields(root)
        text = " - ".join(t for t in (fields["message_header"], fields["message_body"]) if t)
        status, reason = self._run_action("sendmessage", kind, value, version, text)
        self._reply(documents.message_reply(version, kind, value, status, reason))

    def _run_action(
        self, action: str, kind: str, value: str, version: int, message: str | None
    ) -> tuple[bool, str | None]:
        found = self.state.inventory.find(kind, value)  # kinds are criteria names too
        if not found:
            return False, f"no managed device with {kind} {value}"
        device = found[0]
        if not device.register_status:
            return False, f"device {device.guid} is not enrolled (register_status false)"
        record = ActionRecord(
            action=action,
            identifier=kind,
            key=value,
            guid=device.guid,
            macaddress=device.macaddress,
            api_version=version,
            monotonic=time.monotonic(),
            time_ms=int(time.time() * 1000),
            message=message,
        )
        with self.state.lock:
            self.state.actions.append(record)
        logger.info("%s executed on %s (%s %s)", action, device.guid, kind, value)
        return True, None


_ALLOWED = {
    "mdminfo": "GET",
    "devices": "GET",
    "devices-path": "GET",
    "batch": "POST",
    "action": "POST",
    "sendmessage": "PUT",
}
#: Criteria answered with the v2 shape (a macaddress key) in v3, as Cisco's v3 text says.
_LEGACY_CRITERIA = frozenset({"macaddress", "udid", "imei", "meid", "serial"})


def _default_key(version: int, criterion: str | None) -> str:
    """The key element of each ``<device>``: macaddress before v3; in v3 macaddress for the
    legacy identifier queries and guid for guid, guidhn, compliance, username and all-devices."""
    if version < 3 or criterion in _LEGACY_CRITERIA:
        return "macaddress"
    return "guid"


def _fragment(
    slot: _Slot, version: int, key_kind: str, wanted: frozenset[str], fields: frozenset[str] | None
) -> bytes:
    device, cache = slot.state
    if key_kind == "macaddress":
        key_value = device.macaddress
        if wanted and key_value not in wanted:  # asked by a secondary MAC: answer with that MAC
            key_value = next(m for m in device.macaddresses if m in wanted)
    else:
        key_value = device.guid
    if fields is not None:
        return documents.device_fragment(device, version, key_kind, key_value, fields)
    cache_key = (version, key_kind, key_value)
    fragment = cache.get(cache_key)
    if fragment is None:
        fragment = cache[cache_key] = documents.device_fragment(
            device, version, key_kind, key_value
        )
    return fragment


def _resolve_inventory(
    inventory: Inventory | str | Path | None, devices: int, seed: int
) -> Inventory:
    if inventory is None:
        return Inventory.generate(devices, seed)
    if isinstance(inventory, Inventory):
        return inventory
    return Inventory.load(inventory)


class ReferenceMDM:
    """The reference MDM server; use it as a context manager.

    ``with ReferenceMDM(state_dir=tmp_path, devices=1000, seed=7) as mdm:`` starts a server on
    ``127.0.0.1`` and a free port with a certificate from the CA in ``state_dir`` (or ``ca``);
    ``mdm.base_url``, ``mdm.ca_bundle``, ``mdm.username`` and ``mdm.password`` are what a
    client needs. Keyword arguments beyond the named ones override profile fields
    (``api_path=``, ``max_api_version=``, ``query_max_size=``, ``messaging_support=``, ...;
    see :class:`~harness.mdm.profile.Profile`).

    The password is random per server unless given; the username defaults to
    :data:`DEFAULT_USERNAME`. ``basic_auth_enabled=False`` reproduces Jamf Pro with API Basic
    authentication switched off: every API request gets 401, even with the right credentials.
    """

    def __init__(
        self,
        *,
        state_dir: str | Path | None = None,
        devices: int = 100,
        seed: int = 7,
        inventory: Inventory | str | Path | None = None,
        profile: str | Profile = "jamf",
        basic_auth_enabled: bool = True,
        username: str | None = None,
        password: str | None = None,
        plain_http: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        ca: CertificateAuthority | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        allow_non_loopback: bool = False,
        **profile_overrides: Any,
    ) -> None:
        if not allow_non_loopback and not _util.is_loopback_host(host):
            raise ValueError(
                f"host={host!r} is not a loopback address (the harness serves loopback only)"
            )
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes={max_body_bytes!r} must be at least 1")
        base = Profile.named(profile) if isinstance(profile, str) else profile
        self.profile = base.replace(**profile_overrides)
        if username is not None and (not username or ":" in username):
            raise ValueError(f"username={username!r} must be non-empty and contain no ':'")
        self.host = host
        self._requested_port = port
        self.plain_http = plain_http
        if ca is None and not plain_http:
            ca = CertificateAuthority.load_or_create(
                state_dir if state_dir is not None else _util.default_state_dir()
            )
        self.ca = ca
        self._state = _State(
            self.profile,
            _resolve_inventory(inventory, devices, seed),
            username or DEFAULT_USERNAME,
            password if password is not None else secrets.token_urlsafe(18),
            basic_auth_enabled,
            max_body_bytes,
        )
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> ReferenceMDM:
        self.start()
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if typ is None:
            self.check()

    def start(self) -> ReferenceMDM:
        """Bind the port and start serving in a background thread (returns ``self``)."""
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        sockets = tornado.netutil.bind_sockets(self._requested_port, address=self.host)
        self.port = sockets[0].getsockname()[1]
        ssl_ctx = None
        if self.ca is not None and not self.plain_http:
            names = dict.fromkeys(
                (*DEFAULT_IDENTITIES, self.host.strip("[]"), self.public_hostname)
            )
            ssl_ctx = self.ca.server_context(*names)
        ready = threading.Event()
        failure: list[BaseException] = []
        name = f"reference-mdm-{self.port}-{id(self):x}"
        self._tornado_errors = _ThreadErrors(self._state, name)
        logging.getLogger("tornado.application").addHandler(self._tornado_errors)
        self._thread = threading.Thread(
            target=self._run, args=(sockets, ssl_ctx, ready, failure), name=name, daemon=True
        )
        self._thread.start()
        if not ready.wait(60):
            failure.append(TimeoutError("the server thread did not report ready within 60 s"))
        if failure:
            self._thread.join(10)
            self._thread = None
            logging.getLogger("tornado.application").removeHandler(self._tornado_errors)
            raise MDMServerError(f"the reference MDM did not start: {failure[0]!r}") from failure[0]
        logger.info("reference MDM serving %s (%d devices)", self.base_url, len(self.inventory))
        return self

    def _run(
        self,
        sockets: list[Any],
        ssl_ctx: ssl.SSLContext | None,
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        loop: asyncio.AbstractEventLoop | None = None
        try:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loop.set_exception_handler(self._loop_exception)
            app = tornado.web.Application(
                [
                    (
                        RESERVED_PREFIX + r"/(.*)",
                        _admin_handler(),
                        {"state": self._state, "mdm": self},
                    ),
                    (r".*", _ApiHandler, {"state": self._state}),
                ],
                log_function=_no_access_log,
                compress_response=False,
            )
            server = tornado.httpserver.HTTPServer(
                app,
                ssl_options=ssl_ctx,
                max_body_size=self._state.max_body_bytes * _DRAIN_FACTOR,
                idle_connection_timeout=3600,
                decompress_request=False,
            )
            server.add_sockets(sockets)
        except BaseException as exc:
            failure.append(exc)
            for sock in sockets:
                sock.close()
            if loop is not None:
                loop.close()
            ready.set()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.stop()
            try:
                loop.run_until_complete(asyncio.wait_for(server.close_all_connections(), 5))
            except Exception as exc:
                logger.warning("closing connections: %r", exc)
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if exc is None or isinstance(
            exc, (ConnectionError, ssl.SSLError, tornado.iostream.StreamClosedError, TimeoutError)
        ):
            logger.debug("event loop: %s", context.get("message"))
            return
        logger.error("event loop: %s", context.get("message"), exc_info=exc)
        self._state.record_error(exc)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and close every connection (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            raise MDMServerError(f"the reference MDM thread did not stop within {timeout} s")
        logging.getLogger("tornado.application").removeHandler(self._tornado_errors)
        self._thread = self._loop = None

    def check(self) -> None:
        """Raise :class:`MDMServerError` if an unexpected error happened in the server thread."""
        with self._state.lock:
            errors = list(self._state.errors)
        if errors:
            raise MDMServerError(
                f"{len(errors)} unexpected error(s) in the reference MDM; first: {errors[0]!r}"
            ) from errors[0]

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    # -- addresses and credentials ------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "http" if self.plain_http else "https"

    @property
    def origin(self) -> str:
        """``https://127.0.0.1:PORT``."""
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The origin plus the instance prefix: what an MDM URL setting holds."""
        return self.origin + self.profile.instance

    @property
    def public_hostname(self) -> str:
        """The profile's public-looking host (e.g. ``acme.jamfcloud.test``), never resolved."""
        return self.profile.public_hostname

    @property
    def public_base_url(self) -> str:
        """The base URL under the public host name (port 443), as a client sees it through the proxy."""
        return f"{self.scheme}://{self.public_hostname}{self.profile.instance}"

    @property
    def ca_bundle(self) -> Path | None:
        """The CA PEM a client must trust (``None`` for plain HTTP without a CA)."""
        return None if self.ca is None else self.ca.bundle_path

    @property
    def username(self) -> str:
        return self._state.username

    @property
    def password(self) -> str:
        return self._state.password

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value for the server's credentials."""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"

    # -- live state ----------------------------------------------------------------------------

    @property
    def inventory(self) -> Inventory:
        """The live inventory (thread-safe mutations)."""
        return self._state.inventory

    @property
    def basic_auth_enabled(self) -> bool:
        """False reproduces Jamf's "Basic authentication disabled" (401 for every API request)."""
        return self._state.basic_auth_enabled

    @basic_auth_enabled.setter
    def basic_auth_enabled(self, value: bool) -> None:
        self._state.basic_auth_enabled = bool(value)

    @property
    def server_busy_wait_seconds(self) -> int:
        """``server_busy_wait_seconds`` sent in v3 attribute replies."""
        return self._state.server_busy_wait_seconds

    @server_busy_wait_seconds.setter
    def server_busy_wait_seconds(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"server_busy_wait_seconds={value!r} must be a non-negative integer")
        self._state.server_busy_wait_seconds = value

    def set_compliance(
        self,
        key: str,
        compliant: bool,
        failure_reason: str | None = None,
        remediation: str | None = None,
    ) -> Device:
        """Flip a device's compliance (``key``: GUID, any MAC, host name, UDID, serial, IMEI, MEID)."""
        return self.inventory.set_compliance(key, compliant, failure_reason, remediation)

    def actions(self, key: str | None = None) -> list[ActionRecord]:
        """Every executed action (and sent message), in order; only those of device ``key`` if given."""
        with self._state.lock:
            records = list(self._state.actions)
        if key is None:
            return records
        return [r for r in records if _matches_record(r, key, self.inventory)]

    @property
    def requests(self) -> list[RequestRecord]:
        """The last API requests (up to 10 000), oldest first; admin requests are not included."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def request_count(self) -> int:
        """How many API requests were answered since the start or :meth:`reset_records`."""
        return self._state.request_count

    def reset_records(self) -> None:
        """Forget recorded actions and requests (a long-lived server between test cases)."""
        with self._state.lock:
            self._state.actions.clear()
            self._state.requests.clear()
            self._state.request_count = 0

    def __repr__(self) -> str:
        where = self.base_url if self.port else "not started"
        return f"<ReferenceMDM {self.profile.name} {where} {len(self.inventory)} devices>"


def _matches_record(record: ActionRecord, key: str, inventory: Inventory) -> bool:
    device = inventory.get(key)
    if device is not None:
        return record.guid == device.guid
    try:
        mac = normalize_mac(key)
    except QueryError:
        mac = None
    lowered = key.strip().lower()
    return record.guid == lowered or (mac is not None and record.macaddress == mac)


def _no_access_log(handler: tornado.web.RequestHandler) -> None:
    """No per-request access log: it would cost time on the hot path (errors log themselves)."""


def _admin_handler() -> type[tornado.web.RequestHandler]:
    from harness.mdm.admin import AdminHandler

    return AdminHandler
