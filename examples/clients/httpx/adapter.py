#!/usr/bin/env python3
"""An mdm-harness adapter on httpx, with httpx's own connection retries.

The HTTP stack is configured the way the httpx documentation shows it (Transports ->
"HTTP Transport": ``retries`` "when trying to establish a connection")::

    transport = httpx.HTTPTransport(retries=3, verify=ssl_context, proxy=MDM_PROXY)
    client = httpx.Client(transport=transport, timeout=MDM_TIMEOUT_MS / 1000, trust_env=False)

and nothing else decides a retry: what the harness certifies here is httpx's (httpcore's)
behaviour. ``policy.yaml`` beside this file declares what the documentation promises for it.

The adapter protocol (docs/clients.md): MDM_BASE_URL, MDM_USERNAME, MDM_PASSWORD, MDM_PROXY
(empty: none), MDM_CA_BUNDLE (the only CA trusted), MDM_TIMEOUT_MS in; one JSON object out.
The XML is read by ``../common/mdmapi.py`` (standard library expat, DOCTYPE refused).
"""

from __future__ import annotations

import os
import ssl
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import mdmapi  # the gallery's shared XML side, beside this folder

#: The configuration certified (README.md; policy.yaml declares what it promises).
RETRIES = 3


def category(exc: httpx.HTTPError) -> str:
    """The protocol category of an httpx exception (a failed handshake is a ConnectError
    whose cause is an ``ssl.SSLError``)."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError) and not isinstance(
            cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError)
        ):
            return "tls_error"
        cause = cause.__cause__ or cause.__context__
    return "connection_error"


def main(argv: list[str]) -> int:
    try:
        request = mdmapi.parse_args(argv)
    except mdmapi.UsageError as exc:
        print(f"httpx-adapter: {exc}", file=sys.stderr)
        return 2
    env = os.environ
    base_url, username = env["MDM_BASE_URL"], env["MDM_USERNAME"]
    password, proxy = env.get("MDM_PASSWORD", ""), env.get("MDM_PROXY", "")
    timeout = int(env.get("MDM_TIMEOUT_MS") or 1000) / 1000

    # Only MDM_CA_BUNDLE: create_default_context(cafile=...) loads that file and no system store.
    context = ssl.create_default_context(cafile=env["MDM_CA_BUNDLE"])
    transport = httpx.HTTPTransport(verify=context, retries=RETRIES, proxy=proxy or None)
    client = httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        trust_env=False,
        follow_redirects=False,
        auth=(username, password),
        headers={"Accept": "application/xml"},
    )

    def fetch(method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        if not url.startswith("https://"):
            raise mdmapi.MdmError(
                "protocol_error", f"{url!r} is not https: credentials stay off plain http"
            )
        headers = {"Content-Type": "application/xml"} if body is not None else {}
        try:
            reply = client.request(method, url, content=body, headers=headers)
            return reply.status_code, reply.content
        except httpx.HTTPError as exc:
            raise mdmapi.MdmError(
                category(exc), f"{method} {url}: {type(exc).__name__}: {exc}"
            ) from None

    try:
        outcome = {"outcome": "ok", "result": mdmapi.run(request, base_url, fetch)}
    except mdmapi.MdmError as exc:
        outcome = mdmapi.error(exc.category, exc.message)
    finally:
        client.close()
    mdmapi.answer(outcome, secrets=[password])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
