"""The mitmproxy settings the harness relies on, kept in force by one small addon.

* ``listen_host``: loopback (``127.0.0.1``) unless the user named a host - mitmproxy's own
  default (empty) listens on every interface, and plain ``mitmdump -s "$(mdm-harness
  addon-path)"`` must not expose a fault proxy to the network;
* ``rawtcp`` off: mitmproxy otherwise treats a connection whose first bytes do not look like a
  complete HTTP request line (``GET `` in one TLS record and the rest in the next, or a line
  longer than one read) as raw TCP, and such a request would pass unjournaled and unfaulted;
* ``http2`` off: clients speak HTTP/1.1 to the proxy (as ISE does), so a fault can shape the
  exact bytes;
* ``connection_strategy`` lazy: a request answered by a fault never opens an upstream
  connection (the MDM's own request log proves it).
"""

from __future__ import annotations

from typing import Any

from mitmproxy import ctx

#: What the harness sets when the user left mitmproxy's default (or set something unsafe).
LOOPBACK = "127.0.0.1"


class MitmproxySettings:
    """Forces the settings above whenever they are set otherwise (an explicit ``listen_host``
    is kept: listening elsewhere is then the user's decision)."""

    def configure(self, updated: set[str]) -> None:
        wanted: dict[str, Any] = {}
        if "listen_host" in updated and not ctx.options.listen_host:
            wanted["listen_host"] = LOOPBACK
        if "rawtcp" in updated and ctx.options.rawtcp:
            wanted["rawtcp"] = False
        if "http2" in updated and ctx.options.http2:
            wanted["http2"] = False
        if "connection_strategy" in updated and ctx.options.connection_strategy != "lazy":
            wanted["connection_strategy"] = "lazy"
        if wanted:
            ctx.options.update(**wanted)
