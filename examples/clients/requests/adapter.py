#!/usr/bin/env python3
"""An mdm-harness adapter on requests + urllib3, with urllib3's own ``Retry``.

The HTTP stack is configured the way the urllib3 and requests documentation shows it::

    Retry(total=3, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504])
    session.mount("https://", HTTPAdapter(max_retries=retry))

and nothing else decides a retry: what the harness certifies here is urllib3's behaviour.
``policy.yaml`` beside this file declares what urllib3's documentation promises for it.

The adapter protocol (docs/clients.md): MDM_BASE_URL, MDM_USERNAME, MDM_PASSWORD, MDM_PROXY
(empty: none), MDM_CA_BUNDLE (the only CA trusted), MDM_TIMEOUT_MS in; one JSON object out.
The XML is read by ``../common/mdmapi.py`` (standard library expat, DOCTYPE refused).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import mdmapi  # the gallery's shared XML side, beside this folder

#: The configuration certified (README.md; policy.yaml declares what it promises).
RETRY = Retry(total=3, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504])


def category(exc: BaseException) -> str:
    """The protocol category of a requests exception, from the chain of causes it wraps."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        todo.append(getattr(item, "original_error", None))
    if any(
        isinstance(e, (socket.timeout, TimeoutError, urllib3.exceptions.TimeoutError)) for e in seen
    ):
        return "timeout"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls_error"
    if isinstance(exc, requests.exceptions.RetryError):
        return "server_error"  # status_forcelist retries used up: the last answer was a 5xx
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return "protocol_error"
    return "connection_error"


def main(argv: list[str]) -> int:
    try:
        request = mdmapi.parse_args(argv)
    except mdmapi.UsageError as exc:
        print(f"requests-adapter: {exc}", file=sys.stderr)
        return 2
    env = os.environ
    base_url, username = env["MDM_BASE_URL"], env["MDM_USERNAME"]
    password, proxy = env.get("MDM_PASSWORD", ""), env.get("MDM_PROXY", "")
    timeout = int(env.get("MDM_TIMEOUT_MS") or 1000) / 1000

    session = requests.Session()
    session.trust_env = False  # no REQUESTS_CA_BUNDLE, no *_proxy, no .netrc: only what is given
    session.verify = env["MDM_CA_BUNDLE"]
    session.proxies = {"https": proxy} if proxy else {}
    session.auth = (username, password)
    session.headers["Accept"] = "application/xml"
    session.mount("https://", HTTPAdapter(max_retries=RETRY))

    def fetch(method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        if not url.startswith("https://"):
            raise mdmapi.MdmError(
                "protocol_error", f"{url!r} is not https: credentials stay off plain http"
            )
        headers = {"Content-Type": "application/xml"} if body is not None else {}
        try:
            reply = session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=(timeout, timeout),
                allow_redirects=False,
            )
            return reply.status_code, reply.content
        except requests.exceptions.RequestException as exc:
            raise mdmapi.MdmError(category(exc), f"{method} {url}: {exc}") from None

    try:
        outcome = {"outcome": "ok", "result": mdmapi.run(request, base_url, fetch)}
    except mdmapi.MdmError as exc:
        outcome = mdmapi.error(exc.category, exc.message)
    finally:
        session.close()
    mdmapi.answer(outcome, secrets=[password])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
