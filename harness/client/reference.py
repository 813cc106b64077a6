"""The reference client: an ISE-like client of the MDM API that passes every contract.

Run it through the adapter protocol as ``mdm-harness reference-client <operation> [args]``
or ``python -m harness.client.reference <operation> [args]``, or in-process as
``harness.client.reference:factory``. It runs on its shipped policy
(``reference-policy.yaml``, see :data:`REFERENCE_POLICY_PATH`) unless given another.

What it does, and why (``docs/clients.md`` says the same at more length):

* **Trust and proxy**: exactly ``MDM_CA_BUNDLE`` and ``MDM_PROXY``; no environment variable
  such as ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE`` or ``HTTPS_PROXY`` is read.
* **Per-request timeout** (``MDM_TIMEOUT_MS``): connect, CONNECT, TLS handshake, sending and
  receiving the whole body of one request finish within it (see
  :mod:`harness.client.transport`).
* **Discovery**: ``GET {base}/ciscoise/mdminfo/?ise_api_version=N`` (``{base}/ciscoise/mdminfo``
  for v1) for the policy's first version; on a status listed in ``discovery.fallback_on``
  (401 in the shipped policy) it asks once more at the next lower version, as ISE does in the
  seed's scenario 3; any other failure (404 included: a wrong instance stays wrong at every
  version) ends it. Then every call goes to the returned ``api_path`` on the base URL's origin.
* **Retries**: it runs on its policy's arithmetic: a failure is retried only when the retry
  set of the operation's class lists its failure kind (what the wire showed: refused, timed
  out, closed or failed TLS before the request left; timed out, closed or cut short after it)
  or its status, at most ``max_attempts`` per request, waiting the policy's backoff or an
  honoured ``Retry-After``. 400/401/403/404 are never retried. An action is re-sent only when
  the failed attempt provably never sent a byte of the request inside TLS, whatever a policy
  says.
* **Paging**: cursors sent back verbatim until ``0``/absent; a repeated cursor or more than
  ``paging.max_pages`` pages is a ``protocol_error``; ``server_busy_wait_seconds`` is waited
  (up to ``paging.busy_wait_cap_ms``) before the next page.
* **Credentials** go only to the base URL's origin over https: redirects are never followed,
  and an ``api_path`` on another origin is refused. The password never appears in the output.

Over 400 lines: the reference client is one behaviour - discovery with its fallbacks, retries
and backoff, paging, actions and credentials - read as one program, top to bottom.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email.utils
import functools
import json
import os
import random
import ssl
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from harness.client import REFERENCE_POLICY_PATH
from harness.client.cli import add_reference_arguments
from harness.client.policy import (
    FAILURE_KINDS,
    NEVER_RETRIED,
    Policy,
    PolicyError,
    category_of,
    load_policy,
)
from harness.client.protocol import (
    DEVICE_IDENTIFIERS,
    ClientEnv,
    Operation,
    OperationError,
    parse_operation,
)
from harness.client.transport import DeadlineTransport, RequestClock
from harness.client.xmlparse import (
    MAX_BODY_BYTES,
    Device,
    MdmInfo,
    ProtocolViolation,
    XMLParseError,
    parse_action,
    parse_attributes,
    parse_mdminfo,
)

__all__ = [
    "REFERENCE_POLICY_PATH",
    "ClientFailure",
    "ReferenceAdapter",
    "ReferenceClient",
    "factory",
    "main",
    "ssl_context_for",
]

#: The lowest API version that knows each lookup criterion (docs/protocol.md section 4).
CRITERION_MIN_VERSION: Mapping[str, int] = {
    "macaddress": 1,
    "udid": 2,
    "imei": 2,
    "meid": 2,
    "serial": 2,
    "guid": 3,
}

_USER_AGENT = "mdm-harness-reference-client"


class ClientFailure(Exception):
    """An operation ended in an error ``category`` (one of the protocol's) with a message."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, fully read: status, headers, body."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    body: bytes


def _causes(exc: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def failure_kind(exc: httpx.HTTPError, *, sent: bool, answered: bool = False) -> str:
    """The failure kind (:data:`harness.client.policy.FAILURE_KINDS`) of a transport failure.

    ``sent``: a byte of the request was written inside TLS; ``answered``: the response head
    had arrived. Together with the exception they say what the wire shows: refused,
    timed out, closed or failed TLS before the request left; timed out, closed before any
    answer or cut short after it.
    """
    if isinstance(exc, httpx.TimeoutException):
        return "read_timeout" if sent else "connect_timeout"
    if isinstance(exc, httpx.ProxyError):
        return "connect_refused"  # the proxy refused the CONNECT
    if isinstance(exc, httpx.ConnectError):
        for cause in _causes(exc):
            if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError):
                return "connect_closed"  # the peer closed during the handshake
            if isinstance(cause, ssl.SSLError):
                return "tls_error"
            if isinstance(cause, ConnectionRefusedError):
                return "connect_refused"
        return "connect_closed"
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc).lower()
        if not ("peer closed" in text or "disconnected" in text or "incomplete" in text):
            return "protocol_error"
    elif isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol):
        return "protocol_error"
    if not sent:
        return "connect_closed"
    return "closed_mid_response" if answered else "closed_before_response"


def classify(exc: httpx.HTTPError) -> str:
    """The protocol's error category for a transport failure."""
    return category_of(failure_kind(exc, sent=True))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); ``None`` if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class ReferenceClient:
    """One client session: an httpx client, the policy, and a trace of what it did.

    ``ssl_context`` defaults to one that trusts ``env.ca_bundle`` only. ``sleep`` and ``rng``
    are injectable so tests can observe waits without taking them.
    """

    def __init__(
        self,
        env: ClientEnv,
        policy: Policy,
        *,
        ssl_context: ssl.SSLContext | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.env = env
        self.policy = policy
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.trace: list[str] = []
        self._log = log
        self._secrets = [s for s in (env.password, _basic(env.username, env.password)) if s]
        base = httpx.URL(env.base_url.rstrip("/"))
        self._base = base
        self._origin = f"{base.scheme}://{base.netloc.decode('ascii')}"
        self._clock = RequestClock()
        self._answered = False
        self._http: httpx.Client | None = None
        if base.scheme != "https" or not base.host:
            self._setup_error: ClientFailure | None = ClientFailure(
                "protocol_error",
                f"MDM_BASE_URL {env.base_url!r} is not an https URL; credentials are never sent "
                "over plain http",
            )
            return
        self._setup_error = None
        self._ssl_context = ssl_context or ssl_context_for(env.ca_bundle)
        self._http = self._connect()

    def _connect(self) -> httpx.Client:
        """A fresh HTTP client: its own connection pool, the trust and proxy of the environment."""
        try:
            transport = DeadlineTransport(
                ssl_context=self._ssl_context, proxy=self.env.proxy, clock=self._clock
            )
        except ValueError as exc:
            raise OperationError(f"MDM_PROXY: {exc}") from None
        return httpx.Client(
            transport=transport,
            auth=(self.env.username, self.env.password),
            timeout=httpx.Timeout(self.env.timeout_ms / 1000),
            follow_redirects=False,
            trust_env=False,
            headers={
                "Accept": "application/xml",
                "Accept-Encoding": "identity",
                "User-Agent": _USER_AGENT,
            },
        )

    def _reconnect(self) -> None:
        """Drop every connection after a transport failure, so the next attempt starts clean.

        A failed attempt can leave a half-open connection in the pool (httpcore keeps a proxy
        tunnel whose TLS handshake failed as if it were usable); a retry must not wait on it.
        """
        if self._http is not None:
            with contextlib.suppress(Exception):
                self._http.close()
        self._http = self._connect()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> ReferenceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the protocol object

    def run(self, operation: Operation) -> dict[str, Any]:
        """Perform ``operation`` and return the protocol object (never raises for the MDM's faults)."""
        try:
            result = self.perform(operation)
        except ClientFailure as failure:
            return {
                "outcome": "error",
                "error": failure.category,
                "message": self.redact(failure.message),
            }
        return {"outcome": "ok", "result": result}

    def perform(self, operation: Operation) -> dict[str, Any]:
        """Perform ``operation`` and return its ``result``; raise :class:`ClientFailure`."""
        info = self.discover()
        if operation.name == "mdminfo":
            return dict(info)
        api = self._api_base(info["api_path"])
        version = info["api_version"]
        if operation.name == "device":
            identifier, value = _target(operation)
            criterion = DEVICE_IDENTIFIERS[identifier]
            self._require_version(criterion, version)
            devices = self._listing("device", api, version, criterion, value)
            return {"devices": devices}
        if operation.name == "noncompliant":
            return {"devices": self._listing("noncompliant", api, version, "compliance", "false")}
        if operation.name == "action":
            return self._action(operation, api, version)
        raise OperationError(f"unknown operation {operation.name!r}")  # pragma: no cover

    # ---- discovery

    def discovery_url(self, version: int) -> str:
        """Where discovery for ``version`` is asked (v1 has no query string)."""
        base = str(self._base).rstrip("/")
        if version == 1:
            return f"{base}/ciscoise/mdminfo"
        return f"{base}/ciscoise/mdminfo/?ise_api_version={version}"

    def discover(self) -> MdmInfo:
        """Discovery with the policy's version order and fallbacks (see the module docstring)."""
        versions = self.policy.discovery.versions
        fallbacks = 0
        for index, version in enumerate(versions):
            answer = self.request("mdminfo", "GET", self.discovery_url(version))
            can_fall_back = (
                self.policy.discovery.falls_back_on(answer.status)
                and fallbacks < self.policy.discovery.max_fallbacks
                and index + 1 < len(versions)
            )
            if can_fall_back:
                fallbacks += 1
                self.note(
                    f"HTTP {answer.status}: retry connecting using api version {versions[index + 1]}"
                )
                continue
            self.check_status(answer)
            try:
                return parse_mdminfo(answer.body, asked_version=version)
            except XMLParseError as exc:
                raise ClientFailure("parse_error", f"discovery answer: {exc}") from None
            except ProtocolViolation as exc:
                raise ClientFailure("protocol_error", f"discovery answer: {exc}") from None
        raise AssertionError("unreachable: the last version never falls back")  # pragma: no cover

    def _api_base(self, api_path: str) -> str:
        """The absolute URL of ``api_path`` on the base URL's origin (another origin is refused)."""
        if "://" in api_path:
            url = httpx.URL(api_path)
            origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
            if origin.lower() != self._origin.lower():
                raise ClientFailure(
                    "protocol_error",
                    f"api_path {api_path!r} points at {origin}; credentials are only sent to {self._origin}",
                )
            api_path = url.raw_path.decode("ascii").split("?", 1)[0]
        if not api_path.startswith("/"):
            api_path = "/" + api_path
        return self._origin + api_path.rstrip("/")

    @staticmethod
    def _require_version(criterion: str, version: int) -> None:
        needed = CRITERION_MIN_VERSION.get(criterion, 1)
        if version < needed:
            raise ClientFailure(
                "protocol_error",
                f"lookups by {criterion} need API version {needed}; the server speaks {version}",
            )

    # ---- lookups and listings

    def _page_url(self, api: str, version: int, criterion: str, value: str, cursor: str) -> str:
        if version == 1:
            return f"{api}/devices/{_q(cursor)}/{_q(criterion)}/{_q(value)}/all"
        params = [("paging", cursor), ("querycriteria", criterion), ("value", value)]
        if criterion == "compliance":
            params.append(("deviceidentifier", "guid" if version >= 3 else "macaddress"))
        params.append(("filter", "all"))
        return f"{api}/devices/?{'&'.join(f'{key}={_q(val)}' for key, val in params)}"

    def _listing(self, op: str, api: str, version: int, criterion: str, value: str) -> list[Device]:
        paging = self.policy.paging
        devices: list[Device] = []
        cursor, seen = "0", {"0"}
        for page in range(1, paging.max_pages + 1):
            answer = self.request(op, "GET", self._page_url(api, version, criterion, value, cursor))
            self.check_status(answer)
            try:
                parsed = parse_attributes(answer.body)
            except XMLParseError as exc:
                raise ClientFailure("parse_error", f"page {page}: {exc}") from None
            devices.extend(parsed["devices"])
            following = parsed["paging_info"]
            if following is None:
                return devices
            if following in seen:
                raise ClientFailure(
                    "protocol_error", f"page {page}: paging cursor {following!r} was already used"
                )
            seen.add(following)
            cursor = following
            busy = parsed["server_busy_wait_seconds"]
            if busy:
                wait = min(float(busy), paging.busy_wait_cap_ms / 1000)
                if wait > 0:
                    self.note(f"server_busy_wait_seconds={busy}: waiting {wait:.3f} s")
                    self.sleep(wait)
        raise ClientFailure(
            "protocol_error", f"the listing did not end within {paging.max_pages} pages"
        )

    # ---- actions

    def _action(self, operation: Operation, api: str, version: int) -> dict[str, Any]:
        identifier, value = _target(operation)
        criterion = DEVICE_IDENTIFIERS[identifier]
        self._require_version(criterion, version)
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><ise_api><identifier><{criterion}>'
            f"{_escape(value)}</{criterion}></identifier></ise_api>"
        ).encode()
        url = f"{api}/action/actionType={operation.action}"
        answer = self.request("action", "POST", url, content=body, resend=False)
        self.check_status(answer)
        try:
            return dict(parse_action(answer.body))
        except XMLParseError as exc:
            raise ClientFailure("parse_error", f"action answer: {exc}") from None

    # ---- one request, with the policy's retries

    def request(
        self, op: str, method: str, url: str, *, content: bytes | None = None, resend: bool = True
    ) -> Answer:
        """Send one request (re-sending per the policy) and return the final answer.

        ``resend=False`` (actions): another attempt is made only when the failed one provably
        never sent a byte of the request, and never after any HTTP answer.
        """
        if self._setup_error is not None:
            raise self._setup_error
        attempts = self.policy.max_attempts_for(op)
        headers = {"Content-Type": "application/xml"} if content is not None else None
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            self._answered = False
            try:
                answer = self._send_once(method, url, content, headers)
            except httpx.HTTPError as exc:
                sent = self._clock.sent
                kind = failure_kind(exc, sent=sent, answered=self._answered)
                category = category_of(kind)
                self._reconnect()
                self.note(
                    f"{op} attempt {attempt}/{attempts}: {method} {url} -> {category} "
                    f"({kind}, {_ms(started)} ms, {'sent' if sent else 'not sent'}): {exc}"
                )
                # The policy decides; an action is never re-sent once a byte of it may have
                # reached the MDM, whatever a policy says (a wipe is not idempotent).
                retry = attempt < attempts and self.policy.retries(kind, op)
                if retry and (resend or not sent):
                    self._wait(attempt, None)
                    continue
                raise ClientFailure(category, f"{method} {url}: {category}: {exc}") from None
            except ClientFailure as failure:
                self.note(
                    f"{op} attempt {attempt}/{attempts}: {method} {url} -> {failure.category}"
                )
                retryable = failure.category in FAILURE_KINDS and self.policy.retries(
                    failure.category, op
                )
                if attempt < attempts and resend and retryable:
                    self._wait(attempt, None)
                    continue
                raise
            self.note(
                f"{op} attempt {attempt}/{attempts}: {method} {url} -> HTTP {answer.status} ({_ms(started)} ms)"
            )
            header = answer.headers.get("Retry-After")
            retryable = answer.status not in NEVER_RETRIED and self.policy.retries(
                None, op, status=answer.status, retry_after=header is not None
            )
            if (
                resend
                and attempt < attempts
                and retryable
                and self._wait(attempt, parse_retry_after(header), status=answer.status)
            ):
                continue
            return answer

    def _send_once(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str] | None
    ) -> Answer:
        if self._http is None:  # pragma: no cover - guarded by _setup_error
            raise RuntimeError("no HTTP client")
        self._clock.start(self.env.timeout_ms / 1000)
        try:
            with self._http.stream(method, url, content=content, headers=headers) as response:
                self._answered = True
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise ClientFailure(
                            "parse_error", f"{method} {url}: body exceeds {MAX_BODY_BYTES} bytes"
                        )
                    chunks.append(chunk)
                return Answer(method, url, response.status_code, response.headers, b"".join(chunks))
        finally:
            self._clock.stop()

    def _wait(self, attempt: int, retry_after: float | None, *, status: int | None = None) -> bool:
        """Wait before retry number ``attempt``; False when the policy gives up instead."""
        delay = self.policy.next_delay(attempt, self.rng, retry_after, status=status)
        if delay is None:
            self.note(f"Retry-After {retry_after:g} s exceeds the policy's cap: not retrying")
            return False
        self.note(f"waiting {delay:.3f} s before retry {attempt}")
        self.sleep(delay)
        return True

    def check_status(self, answer: Answer) -> None:
        """Raise the protocol's category for a non-success answer."""
        status = answer.status
        if 200 <= status < 300:
            return
        where = f"{answer.method} {answer.url}"
        if status in (401, 403):
            raise ClientFailure("unauthorized", f"{where}: HTTP {status}")
        if status == 404:
            raise ClientFailure("not_found", f"{where}: HTTP 404")
        if status == 429 or status >= 500:
            raise ClientFailure("server_error", f"{where}: HTTP {status}")
        if 300 <= status < 400:
            location = answer.headers.get("Location", "?")
            raise ClientFailure(
                "protocol_error",
                f"{where}: HTTP {status} redirect to {location} not followed "
                f"(credentials stay with {self._origin})",
            )
        raise ClientFailure("protocol_error", f"{where}: unexpected HTTP {status}")

    # ---- output hygiene

    def redact(self, text: str) -> str:
        """``text`` with the password (and the Basic credentials) masked."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def note(self, line: str) -> None:
        line = self.redact(line)
        self.trace.append(line)
        if self._log is not None:
            self._log(line)


def _basic(username: str, password: str) -> str:
    if not password:
        return ""
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _escape(text: str) -> str:
    """XML text escaping (xml.sax.saxutils would pull in urllib.request: 9 ms of startup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _q(text: str) -> str:
    return quote(text, safe="-._~")


def _target(operation: Operation) -> tuple[str, str]:
    if operation.identifier is None or operation.value is None:
        raise OperationError(f"{operation.name} needs an identifier")
    return operation.identifier, operation.value


def ssl_context_for(ca_bundle: Path) -> ssl.SSLContext:
    """Trust ``ca_bundle`` and nothing else (no system store, no environment variables)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise OperationError(f"cannot load the CA bundle {str(ca_bundle)!r}: {exc}") from None
    return context


# --------------------------------------------------------------------------------------------
# Entry points: in-process factory and the exec form


@functools.cache
def reference_policy() -> Policy:
    """The shipped policy, parsed once per process (a :class:`Policy` is immutable)."""
    return load_policy(REFERENCE_POLICY_PATH)


class ReferenceAdapter:
    """The in-process form (``harness.client.reference:factory``)."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy

    def run(self, operation: str, args: list[str], env: Mapping[str, str]) -> dict[str, Any]:
        """Perform one operation; raises :class:`OperationError` for bad arguments."""
        policy = self.policy or reference_policy()
        op = parse_operation(operation, args)
        client_env = ClientEnv.from_environ(env, default_timeout_ms=policy.timeout_ms)
        with ReferenceClient(client_env, policy) as client:
            return client.run(op)


def factory(policy: Policy | None = None) -> ReferenceAdapter:
    """The in-process reference client on ``policy`` (default: the shipped one)."""
    return ReferenceAdapter(policy)


def build_parser(prog: str = "python -m harness.client.reference") -> argparse.ArgumentParser:
    """The argument parser of the exec form (shared with ``mdm-harness reference-client``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "The ISE-like reference client, driven through the adapter protocol: reads MDM_* "
            "environment variables, prints one JSON object."
        ),
    )
    add_reference_arguments(parser)
    return parser


def run_cli(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """Run one operation from parsed arguments; print the protocol object. Returns the exit code."""
    environ = os.environ if environ is None else environ
    try:
        policy = load_policy(args.policy) if args.policy else reference_policy()
        op = parse_operation(args.operation, args.args)
        env = ClientEnv.from_environ(environ, default_timeout_ms=policy.timeout_ms)
        log = None if args.quiet else (lambda line: print(line, file=sys.stderr))
        with ReferenceClient(env, policy, log=log) as client:
            obj = client.run(op)
    except (OperationError, PolicyError) as exc:
        print(f"reference-client: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.client.reference <operation> [args]``."""
    return run_cli(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
