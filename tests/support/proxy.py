"""Helpers for the fault proxy's tests.

* :class:`Lab` - one CA, one reference MDM and one real mitmdump fault proxy, with clients that
  talk through it: plain ``curl`` (scrubbed environment, ``--cacert`` the harness CA) and raw
  sockets (CONNECT, then TLS with the ``ssl`` module) for what must be seen on the wire.
* :func:`addon` and the ``drive_*`` coroutines - the addon in ``mitmproxy.test.taddons`` with
  ``tflow`` flows, for unit tests that need no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness._util import scrubbed_env
from harness.mdm import ReferenceMDM
from harness.proxy import FaultProxy
from harness.tls import CertificateAuthority

PUBLIC_HOST = "acme.jamfcloud.test"
DISCOVERY = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version=3"
DEVICES = "/7/ciscoise/v3/devices/?paging=0&querycriteria=macaddress&value=0026B424FEB4&filter=all"
#: Every device (v1 path form): a reply of several kilobytes.
ALL_DEVICES = "/7/ciscoise/v1/devices/0/all"
NONCOMPLIANT = (
    "/7/ciscoise/v3/devices/?paging=0&querycriteria=compliance&value=false"
    "&deviceidentifier=guid&filter=all"
)


@dataclass
class CurlResult:
    rc: int
    status: int
    size: int
    stderr: str
    body: bytes
    elapsed: float


@dataclass
class Lab:
    """A CA, a reference MDM and a fault proxy in front of it."""

    ca: CertificateAuthority
    mdm: ReferenceMDM
    proxy: FaultProxy
    tmp: Path

    def load(self, scenario: Any) -> None:
        """Reset the proxy and load ``scenario`` (name, YAML text or dict); reset the MDM's log."""
        self.proxy.control.reset()
        if scenario is None:
            self.proxy.control.clear_scenario()
        else:
            self.proxy.control.load_scenario(scenario)
        self.mdm.reset_records()

    def journal(self, wait_idle: float = 10.0) -> list[dict[str, Any]]:
        return self.proxy.control.journal(wait_idle=wait_idle)

    def url(self, path: str) -> str:
        return f"https://{PUBLIC_HOST}{path}"

    def curl(
        self,
        path: str,
        *args: str,
        max_time: float = 10,
        auth: bool = True,
        insecure: bool = False,
    ) -> CurlResult:
        """``curl`` through the proxy, trusting only the harness CA; the environment is scrubbed."""
        out = self.tmp / f"curl-{time.monotonic_ns()}.body"
        cmd = [
            "curl",
            "-sS",
            "--http1.1",
            "--max-time",
            str(max_time),
            "--cacert",
            str(self.ca.bundle_path),
            "--proxy",
            self.proxy.url,
            "-o",
            str(out),
            "-w",
            "%{http_code} %{size_download}",
        ]
        if auth:
            cmd += ["-u", f"{self.mdm.username}:{self.mdm.password}"]
        if insecure:
            cmd.append("-k")
        cmd += [*args, self.url(path)]
        start = time.monotonic()
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=scrubbed_env(), timeout=max_time + 30
        )
        elapsed = time.monotonic() - start
        status, size = (int(x) for x in proc.stdout.split())
        body = out.read_bytes() if out.exists() else b""
        return CurlResult(proc.returncode, status, size, proc.stderr.strip(), body, elapsed)

    def tunnel(self, *, timeout: float = 10.0, tls: bool = True, host: str = PUBLIC_HOST) -> Any:
        """A raw CONNECT tunnel to ``host``, then :class:`RawTLS` on it (unless ``tls=False``)."""
        raw = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=timeout)
        raw.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        head = _read_head(raw)
        if not head.startswith(b"HTTP/1.1 200"):
            raw.close()
            raise ConnectionError(f"CONNECT refused: {head!r}")
        if not tls:
            return raw
        return RawTLS(raw, self.ca.client_context(), host)

    def request_bytes(self, path: str, method: str = "GET", body: bytes = b"") -> bytes:
        """One HTTP/1.1 request with ``Connection: close`` (so a complete answer ends in EOF)."""
        auth = self.mdm.authorization
        return (
            f"{method} {path} HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nAuthorization: {auth}\r\n"
            f"Accept: application/xml\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body


class RawTLS:
    """TLS over memory BIOs on a raw socket, so the socket's own end shows: an RST raises
    ``ConnectionResetError``, a FIN reads as ``b""`` (Python's ``ssl`` sockets report both as EOF)."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, hostname: str) -> None:
        self.sock = sock
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self._in, self._out, server_hostname=hostname)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError(
                        "the proxy closed the connection during the handshake"
                    ) from None
                self._in.write(data)
        self._flush()

    def _flush(self) -> None:
        data = self._out.read()
        if data:
            self.sock.sendall(data)

    def sendall(self, data: bytes) -> None:
        self.tls.write(data)
        self._flush()

    def recv(self, size: int) -> bytes:
        while True:
            try:
                return self.tls.read(size)
            except ssl.SSLWantReadError:
                data = self.sock.recv(65536)  # ConnectionResetError / TimeoutError pass through
                if not data:
                    return b""
                self._in.write(data)
            except ssl.SSLZeroReturnError:
                return b""

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawTLS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_to_end(sock: Any) -> tuple[bytes, str, list[tuple[float, int]]]:
    """Read until the peer ends the stream: ``(data, "eof" | "reset" | "timeout", arrivals)``.

    ``arrivals`` are ``(monotonic time, bytes so far)`` per read, for rate measurements.
    """
    data = bytearray()
    arrivals: list[tuple[float, int]] = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(data), "reset", arrivals
        except TimeoutError:
            return bytes(data), "timeout", arrivals
        except ssl.SSLError as exc:
            if "UNEXPECTED_EOF" in str(exc) or "EOF occurred" in str(exc):
                return bytes(data), "eof", arrivals
            raise
        if not chunk:
            return bytes(data), "eof", arrivals
        data += chunk
        arrivals.append((time.monotonic(), len(data)))


@contextlib.contextmanager
def lab(tmp: Path, *, devices: int = 20, **proxy_kwargs: Any) -> Iterator[Lab]:
    """Start a :class:`Lab` under ``tmp`` (one CA shared by the MDM and the proxy)."""
    ca = CertificateAuthority.load_or_create(tmp / "ca")
    with ReferenceMDM(state_dir=tmp / "mdm", ca=ca, devices=devices, seed=1) as mdm:
        proxy_kwargs.setdefault("max_hang_s", 20)
        with FaultProxy(
            upstream=mdm.origin, ca=ca, state_dir=tmp / "proxy", **proxy_kwargs
        ) as proxy:
            yield Lab(ca, mdm, proxy, tmp)


# -- the addon in taddons --------------------------------------------------------------------


class Chain:
    """The harness's addons as mitmproxy runs them: ``chain.hook(...)`` calls each addon's hook
    in order, awaiting an addon's before the next one's (``None`` when no addon returned an
    awaitable); attributes are read from the addon that has them (``journal``, ``install``...)."""

    def __init__(self, addons: list[Any]) -> None:
        self.addons = addons

    def __getattr__(self, name: str) -> Any:
        owners = [a for a in self.addons if hasattr(a, name)]
        if not owners:
            raise AttributeError(name)
        first = getattr(owners[0], name)
        if not callable(first) or name not in _HOOKS:
            return first

        def hook(*args: Any) -> Any:
            return _call_in_order([getattr(a, name) for a in owners], args)

        return hook

    @property
    def journal(self) -> Any:
        return self._one("recorder").journal

    @property
    def max_hang_s(self) -> float:
        injector: Any = self._one("injector")
        return float(injector.max_hang_s)

    def install(self, scenario: Any) -> None:
        self._one("injector").install(scenario)

    def _one(self, kind: str) -> Any:
        from harness.proxy.inject import Injector
        from harness.proxy.recorder import Recorder

        cls = {"recorder": Recorder, "injector": Injector}[kind]
        return next(a for a in self.addons if isinstance(a, cls))


_HOOKS = frozenset(
    {
        "client_connected",
        "client_disconnected",
        "http_connect",
        "tls_clienthello",
        "tls_start_client",
        "tls_established_client",
        "tls_failed_client",
        "requestheaders",
        "request",
        "response",
        "error",
        "server_connect",
    }
)


def _call_in_order(hooks: list[Any], args: tuple[Any, ...]) -> Any:
    for i, hook in enumerate(hooks):
        result = hook(*args)
        if result is not None and inspect.isawaitable(result):

            async def rest(first: Any = result, later: list[Any] = hooks[i + 1 :]) -> None:
                await first
                more = _call_in_order(later, args)
                if more is not None:
                    await more

            return rest()
    return None


@contextlib.contextmanager
def addon(scenario: Mapping[str, Any] | None = None, **options: Any) -> Iterator[Any]:
    """The harness's addons (:func:`harness.proxy.chain.make_addons`) in a taddons context, as
    one :class:`Chain`, with ``scenario`` installed."""
    from mitmproxy.test import taddons

    from harness.proxy.chain import make_addons
    from harness.scenario import scenario_from_dict

    addons = make_addons()
    with taddons.context(*addons) as tctx:
        options.setdefault("harness_upstream", "https://127.0.0.1:9")
        tctx.configure(addons[0], **options)
        chain = Chain(addons)
        if scenario is not None:
            chain.install(scenario_from_dict(scenario))
        yield chain


def flow(
    path: str = DISCOVERY,
    method: str = "GET",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> Any:
    """A live ``tflow`` for a request to the public host."""
    from mitmproxy import http
    from mitmproxy.test import tflow, tutils

    fields = [
        (b"Host", PUBLIC_HOST.encode()),
        *((k.encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    req = tutils.treq(
        host=PUBLIC_HOST,
        port=443,
        scheme=b"https",
        method=method.encode(),
        path=path.encode(),
        headers=http.Headers(fields),
        content=body,
    )
    f = tflow.tflow(req=req)
    return f


def response(
    body: bytes, status: int = 200, content_type: str = "application/xml;charset=UTF-8"
) -> Any:
    from mitmproxy import http

    return http.Response.make(status, body, {"Content-Type": content_type})


def client_leaves_after(f: Any, seconds: float) -> None:
    """Make ``f``'s client go away after ``seconds`` (as mitmproxy marks a client that closed)."""
    from mitmproxy.connection import ConnectionState

    asyncio.get_running_loop().call_later(
        seconds, setattr, f.client_conn, "state", ConnectionState.CLOSED
    )


async def _maybe(result: Any) -> None:
    if result is not None:
        await result


async def drive_request(harness: Any, f: Any) -> None:
    """The hooks mitmproxy runs for a new connection carrying request ``f``."""
    await _maybe(harness.client_connected(f.client_conn))
    await _maybe(harness.requestheaders(f))
    await _maybe(harness.request(f))


async def drive_response(harness: Any, f: Any, upstream: Any) -> None:
    """The hooks for the upstream's response ``upstream`` (unless the flow was answered or killed)."""
    if f.response is None and f.live:
        f.server_conn.timestamp_tcp_setup = time.time()
        f.response = upstream
        await _maybe(harness.response(f))
    elif f.response is not None and f.live:
        await _maybe(harness.response(f))


def run(coro: Any) -> Any:
    """Run a coroutine to completion (the tests need no async plugin)."""
    return asyncio.run(coro)


def record_of(harness: Any) -> dict[str, Any]:
    """The one record in the addon's journal."""
    records = harness.journal.records()
    assert len(records) == 1, records
    return records[0]


@functools.cache
def mdm_document(kind: str) -> bytes:
    """A real reply of the reference MDM (``mdminfo``, or ``attributes`` listing 3 devices)."""
    import urllib.request

    with ReferenceMDM(plain_http=True, devices=3, seed=1) as mdm:
        path = DISCOVERY if kind == "mdminfo" else ALL_DEVICES
        req = urllib.request.Request(
            mdm.origin + path, headers={"Authorization": mdm.authorization}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as reply:
            data: bytes = reply.read()
    return data


def one_rule(
    fault: Mapping[str, Any] | str, *, phase: str | None = None, **match: Any
) -> dict[str, Any]:
    """A scenario dict with one rule that fires ``fault`` on every attempt it matches."""
    m = dict(match)
    if phase is not None:
        m["phase"] = phase
    return {"name": "unit", "seed": 1, "rules": [{"name": "r", "match": m, "fault": fault}]}


def bad_spec_message(kind: str, spec: Mapping[str, Any]) -> str:
    """The ``SpecError`` message ``from_spec`` raises for ``spec`` (fails if it accepts it)."""
    from harness.faults import SpecError, fault_from_spec

    try:
        fault_from_spec({"kind": kind, **spec})
    except SpecError as exc:
        return str(exc)
    raise AssertionError(f"{kind} accepted {dict(spec)!r}")


def apply_at_response(
    scenario: Mapping[str, Any], body: bytes, path: str = DISCOVERY, status: int = 200
) -> tuple[Any, dict[str, Any]]:
    """Run a request through the addon with ``scenario``; the upstream answers ``body``.

    Returns the flow (its ``response`` is what the client would get) and the journal record.
    """
    with addon(scenario) as harness:
        f = flow(path)

        async def go() -> None:
            await drive_request(harness, f)
            await drive_response(harness, f, response(body, status))

        run(go())
        return f, record_of(harness)
