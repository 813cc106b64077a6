"""A mitmproxy addon that sends the fault proxy's upstream connections through ISE's proxy.

ISE reaches an MDM through an explicit HTTP proxy (``CONNECT host:443``, port 3128 in the
seed). ``certify-server --proxy http://host:port`` keeps that path: the harness's own proxy
(which journals every exchange) sits in front, and this addon, loaded after the harness addon
(``mitmdump -s harness/proxy/addon.py -s harness/servercheck/chain.py``), makes every
connection to the upstream go through ISE's proxy:

* ``request`` sets the flow's ``server_conn.via``, so mitmproxy opens the upstream connection
  as a tunnel: a CONNECT to the harness upstream's host and port, sent to ISE's proxy;
* ``server_connect`` runs after the harness addon's (which pins every connection it opens to
  the upstream) and points the connection it opens - the tunnel's outer connection - back at
  ISE's proxy. The inner connection, TLS to the MDM with the MDM's own name, is not opened by
  a hook, so it keeps the upstream's address and SNI.

Option ``harness_chain_proxy``: ``http://host:port`` (empty: no chaining, the addon does nothing).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import server_hooks


def parse_chain(url: str) -> tuple[str, int]:
    """``http://host:port`` -> ``(host, port)``; :class:`ValueError` otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise ValueError(f"harness_chain_proxy={url!r}: expected http://host:port")
    return parts.hostname, parts.port


class ChainProxy:
    """Route upstream connections through an explicit HTTP proxy."""

    def __init__(self) -> None:
        self.address: tuple[str, int] | None = None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "harness_chain_proxy",
            str,
            "",
            "Explicit HTTP proxy (http://host:port) every upstream connection goes through.",
        )

    def configure(self, updated: set[str]) -> None:
        if "harness_chain_proxy" in updated:
            url = ctx.options.harness_chain_proxy
            try:
                self.address = parse_chain(url) if url else None
            except ValueError as exc:
                raise exceptions.OptionsError(str(exc)) from exc

    def request(self, flow: http.HTTPFlow) -> None:
        if self.address is None or flow.response is not None or not flow.live:
            return
        flow.server_conn.via = ("http", self.address)

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if self.address is None:
            return
        data.server.address = self.address
        data.server.sni = None


addons = [ChainProxy()]
