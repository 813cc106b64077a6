"""The reference MDM's lifecycle: bind, serve in a background thread, stop, surface errors.

:class:`ReferenceMDM` is a context manager. It binds a loopback port (0 = any free one) in the
caller's thread, so a bind error raises at once, then runs tornado's event loop in a background
thread until :meth:`ReferenceMDM.stop`. An unexpected exception in that thread is logged,
answered with a 500, kept, and re-raised by :meth:`ReferenceMDM.check` and on leaving the
``with`` block: it is never swallowed.

What a request does is elsewhere: :mod:`harness.mdm.handlers` (the HTTP: routing, credentials,
methods, body size), :mod:`harness.mdm.operations` (discovery, device queries, actions),
:mod:`harness.mdm.admin` (the JSON admin surface under ``/_harness/``); the state they share is a
:class:`harness.mdm.state.ServerState`.

A little over 400 lines: the lifecycle and the running server's public surface (addresses,
credentials, live settings and records) that tests and the CLI use, in one class.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import ssl
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from harness import _util
from harness._util import normalise_mac
from harness.mdm.defects import Defects
from harness.mdm.handlers import DRAIN_FACTOR, ApiHandler
from harness.mdm.inventory import Device, Inventory
from harness.mdm.profile import RESERVED_PREFIX, Profile
from harness.mdm.state import ActionRecord, RequestRecord, ServerState
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
DEFAULT_USERNAME = "ise-harness"


class MDMServerError(RuntimeError):
    """An unexpected error inside the server thread, surfaced to the test that started it."""


class _ThreadErrors(logging.Handler):
    """Catches errors tornado logs itself (outside our handlers) on one server's thread."""

    def __init__(self, state: ServerState, thread_name: str) -> None:
        super().__init__(logging.ERROR)
        self.state, self.thread_name = state, thread_name

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName != self.thread_name:
            return
        exc = record.exc_info[1] if record.exc_info else None
        self.state.record_error(exc or RuntimeError(record.getMessage()))


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
        defects: Iterable[str] | Defects = (),
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
        self._state = ServerState(
            self.profile,
            _resolve_inventory(inventory, devices, seed),
            username or DEFAULT_USERNAME,
            # never a leading "-": a generated password must survive "--password VALUE"
            password if password is not None else "pw" + secrets.token_urlsafe(18),
            basic_auth_enabled,
            max_body_bytes,
            defects if isinstance(defects, Defects) else Defects.parse(defects),
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
                    (r".*", ApiHandler, {"state": self._state}),
                ],
                log_function=_no_access_log,
                compress_response=False,
            )
            server = tornado.httpserver.HTTPServer(
                app,
                ssl_options=ssl_ctx,
                max_body_size=self._state.max_body_bytes * DRAIN_FACTOR,
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
    def defects(self) -> Defects:
        """The deliberate defects switched on (none unless asked; see :mod:`harness.mdm.defects`)."""
        return self._state.defects

    @defects.setter
    def defects(self, value: Iterable[str] | Defects) -> None:
        self._state.defects = value if isinstance(value, Defects) else Defects.parse(value)

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
        broken = f" defects {','.join(self.defects.specs())}" if self.defects else ""
        return f"<ReferenceMDM {self.profile.name} {where} {len(self.inventory)} devices{broken}>"


def _matches_record(record: ActionRecord, key: str, inventory: Inventory) -> bool:
    device = inventory.get(key)
    if device is not None:
        return record.guid == device.guid
    try:
        mac = normalise_mac(key)
    except ValueError:
        mac = None
    lowered = key.strip().lower()
    return record.guid == lowered or (mac is not None and record.macaddress == mac)


def _no_access_log(handler: tornado.web.RequestHandler) -> None:
    """No per-request access log: it would cost time on the hot path (errors log themselves)."""


def _admin_handler() -> type[tornado.web.RequestHandler]:
    from harness.mdm.admin import AdminHandler

    return AdminHandler
