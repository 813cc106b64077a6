"""The wire facts of a response, as the journal records them (``Attempt.sent``): what a
response mitmproxy sends is, what mitmproxy's own error page is, what a body as written forms,
and whether a request reached the upstream.
"""

from __future__ import annotations

import time

from mitmproxy import http

from harness._xml import EXAMINE_MAX_BYTES, examine
from harness.attempt import Body, Sent

#: ``flow.metadata`` key: the routing addon sent this request towards the upstream.
ROUTED = "mdm_harness.routed"


class KeptBody:
    """The first bytes of a body as written - as many as :func:`body_facts` examines."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size <= EXAMINE_MAX_BYTES:
            self.parts.append(piece)
        else:
            self.parts.clear()

    def facts(self) -> Body | None:
        return None if self.size > EXAMINE_MAX_BYTES else body_facts(b"".join(self.parts))


def body_facts(data: bytes) -> Body | None:
    """What a body as sent is (well-formed XML or not, DOCTYPE, external references)."""
    found = examine(data)
    if found is None:
        return None
    form, doctype, external = found
    return Body(form, doctype, external)  # type: ignore[arg-type]


def sent_response(response: http.Response) -> Sent:
    """The facts of a response mitmproxy sends in full (status, headers, length, body)."""
    body = response.raw_content or b""
    try:
        decoded = response.content or b""
    except ValueError:  # an encoding mitmproxy cannot undo: examine the bytes as they are
        decoded = body
    announced = response.headers.get("content-length")
    now = time.monotonic()
    return Sent(
        status=response.status_code,
        headers=[(k, v) for k, v in response.headers.items(multi=True)],
        announced=int(announced) if announced is not None and announced.isdigit() else None,
        body_bytes=len(body),
        body=body_facts(decoded),
        first_byte=now,
        last_byte=now if body else None,
        wall=time.time(),
    )


def reached_upstream(flow: http.HTTPFlow) -> bool:
    """Whether the request went to the upstream: routed there, on a connection that was set up
    (TCP, and TLS when the upstream speaks it). A response from the upstream proves it."""
    if not flow.metadata.get(ROUTED):
        return False
    server = flow.server_conn
    if server.timestamp_tcp_setup is None:
        return False
    return flow.request.scheme != "https" or server.timestamp_tls_setup is not None


def proxy_error_sent(flow: http.HTTPFlow) -> Sent | None:
    """The answer mitmproxy itself sends the client when ``flow`` fails without a response
    (its error page: 502 for an upstream failure, 400 for a request it refuses, 413 for a body
    over ``body_size_limit``); ``None`` when it sends nothing (a killed flow)."""
    from mitmproxy import version
    from mitmproxy.flow import Error
    from mitmproxy.proxy.layers.http._base import format_error

    message = flow.error.msg if flow.error else ""
    if not flow.error or message == Error.KILLED_MESSAGE or flow.response is not None:
        return None
    if message.startswith("Request body exceeds"):
        status = 413
    elif message.startswith(("Invalid request scheme", "mitmproxy received an HTTP CONNECT")) or (
        "from client, refusing" in message
    ):
        status = 400
    else:
        status = 502
    response = http.Response.make(
        status,
        format_error(status, message),
        http.Headers(Server=version.MITMPROXY, Connection="close", Content_Type="text/html"),
    )
    return sent_response(response)
