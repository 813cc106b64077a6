"""Routing: every request goes to ``harness_upstream``, whatever host the client asked for.

``acme.jamfcloud.test`` is never resolved. The ``request`` hook - after the injector, so a
request a fault answered stays with the proxy - points the flow at the upstream (so upstream
connections are reused) and marks it as routed (``flow.metadata``); ``server_connect`` pins
the address and the SNI of every connection mitmproxy opens, so nothing else is ever a target.
Without an upstream every request gets a 502 saying so. The upstream's certificate is verified
with ``harness_upstream_ca`` (default: the harness CA in mitmproxy's confdir).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import server_hooks

from harness.proxy.facts import ROUTED


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


class Routing:
    """Sends every request that is still live to the upstream, and nowhere else."""

    def __init__(self) -> None:
        self.upstream: Upstream | None = None
        self._running = False

    def load(self, loader: Loader) -> None:
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

    def configure(self, updated: set[str]) -> None:
        try:
            if "harness_upstream" in updated:
                url = ctx.options.harness_upstream
                self.upstream = Upstream.parse(url) if url else None
            if "harness_upstream_ca" in updated or "confdir" in updated:
                ca = self._upstream_ca()
                if ca is not None and not ca.is_file():
                    raise ValueError(f"harness_upstream_ca: no such file: {ca}")
                if self._running:
                    asyncio.get_running_loop().call_soon(self._verify_upstream_with_ca)
        except ValueError as e:
            raise exceptions.OptionsError(str(e)) from e

    def running(self) -> None:
        self._running = True
        self._verify_upstream_with_ca()

    def _upstream_ca(self) -> Path | None:
        if ctx.options.harness_upstream_ca:
            return Path(ctx.options.harness_upstream_ca).expanduser()
        default = Path(ctx.options.confdir).expanduser() / "mitmproxy-ca-cert.pem"
        return default if default.is_file() else None

    def _verify_upstream_with_ca(self) -> None:
        ca = self._upstream_ca()
        if ca is not None and ctx.options.ssl_verify_upstream_trusted_ca != str(ca):
            ctx.options.update(ssl_verify_upstream_trusted_ca=str(ca))

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self.upstream is None and flow.response is None and flow.live:
            flow.response = http.Response.make(
                502,
                b"mdm-harness: no upstream configured (harness_upstream)\n",
                {"Content-Type": "text/plain"},
            )

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.error is not None or not flow.live:
            return
        if self.upstream is None:
            return
        flow.request.scheme = self.upstream.scheme
        flow.request.data.host = self.upstream.host
        flow.request.data.port = self.upstream.port
        flow.metadata[ROUTED] = True

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if self.upstream is None:
            data.server.error = "mdm-harness: no upstream configured"
            return
        data.server.address = (self.upstream.host, self.upstream.port)
        data.server.sni = self.upstream.host
