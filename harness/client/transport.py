"""An httpx transport with a per-request deadline and a record of whether a request was sent.

httpx's own timeouts bound each socket operation; a server that trickles one byte just
inside the read timeout can stretch a request without end. This transport wires httpcore's
connection pool to a small network backend whose streams clamp every connect, TLS handshake,
read and write to the time left until the *request's* deadline (:class:`RequestClock`). So a
request - connect, CONNECT through the proxy, TLS handshake, sending, the headers and the whole
body - ends within the timeout, whatever the server does.

The same streams note when the first byte of a request is written inside TLS. Before that,
nothing of the request can have reached the MDM (a connect failure, a refused or hanging
CONNECT, a failed TLS handshake): :attr:`RequestClock.sent` is what lets a client re-send an
action only when that is provably safe.

Only ``https`` targets, directly or through an ``http://`` proxy (CONNECT), are supported -
everything the adapter protocol needs. No environment variable is consulted.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

__all__ = ["DeadlineTransport", "RequestClock"]

_TCP_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

# Most specific first: the first match wins.
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    """Re-raise httpcore's exceptions as httpx's, keeping the original as ``__cause__``."""
    try:
        yield
    except Exception as exc:
        for source, target in _EXCEPTIONS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class RequestClock:
    """The deadline of the request in flight and whether any of it was sent yet."""

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.sent = False

    def start(self, timeout_s: float) -> None:
        """A new request begins: it must be over within ``timeout_s``."""
        self.deadline = time.monotonic() + timeout_s
        self.sent = False

    def stop(self) -> None:
        self.deadline = None

    def clamp(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """``timeout`` shortened to the time left; raise ``expired`` when none is left."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise expired("the per-request deadline passed")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, clock: RequestClock, *, tls: bool) -> None:
        self._inner, self._clock, self._tls = inner, clock, tls

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._clock.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout = self._clock.clamp(timeout, httpcore.WriteTimeout)
        if self._tls and buffer:
            # From here on the request may reach the server (only https targets are spoken to,
            # so plain-text writes are the CONNECT to the proxy).
            self._clock.sent = True
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._clock.clamp(timeout, httpcore.ConnectTimeout)
        inner = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(inner, self._clock, tls=True)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, clock: RequestClock) -> None:
        self._inner, self._clock = httpcore.SyncBackend(), clock

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._clock.clamp(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, self._clock, tls=False)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("unix sockets are not used by the reference client")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        with _mapped():
            yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            with _mapped():
                close()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport for ``https`` URLs, direct or through an ``http://`` proxy.

    ``ssl_context`` is the only trust the transport has; ``clock`` is shared with the caller,
    who calls :meth:`RequestClock.start` before each request. One connection at a time (the
    reference client is sequential), reused while the server keeps it alive.
    """

    def __init__(
        self, *, ssl_context: ssl.SSLContext, proxy: str | None, clock: RequestClock
    ) -> None:
        backend = _Backend(clock)
        self._pool: httpcore.ConnectionPool | httpcore.HTTPProxy
        if proxy:
            url = httpx.URL(proxy)
            if url.scheme != "http" or not url.host:
                raise ValueError(f"proxy {proxy!r} must be an http:// URL with a host")
            self._pool = httpcore.HTTPProxy(
                proxy_url=httpcore.URL(
                    scheme=b"http", host=url.raw_host, port=url.port, target=b"/"
                ),
                ssl_context=ssl_context,
                max_connections=1,
                network_backend=backend,
                socket_options=_TCP_NODELAY,
            )
        else:
            self._pool = httpcore.ConnectionPool(
                ssl_context=ssl_context,
                max_connections=1,
                network_backend=backend,
                socket_options=_TCP_NODELAY,
            )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https":
            raise httpx.UnsupportedProtocol(f"refusing {request.url.scheme}:// (https only)")
        stream = request.stream
        if not isinstance(stream, httpx.SyncByteStream):  # pragma: no cover - sync client only
            raise TypeError("a synchronous request stream is required")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=stream,
            extensions=request.extensions,
        )
        with _mapped():
            response = self._pool.handle_request(core_request)
        content = response.stream
        if not isinstance(content, Iterable):  # pragma: no cover - sync pool only
            raise TypeError("a synchronous response stream is required")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(content),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with _mapped():
            self._pool.close()
