"""The property test's client: it follows a drawn policy exactly, and the baseline rules.

Written for the test on httpx - not the reference client - so that the property test holds
the checks and the policy arithmetic against an independent implementation. It borrows only
plumbing: the deadline transport (one timeout for the whole request, and whether a byte of
the request left) and the hardened XML parser. In-process form: ``policy_client:factory``,
configured through :data:`CURRENT` (the policy, an optional :data:`MUTATIONS` entry that
breaks one aspect of it, how it authenticates, a seed for its jitter).
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from harness.client.policy import BEFORE_SEND, NEVER_RETRIED, Policy, category_of
from harness.client.protocol import ClientEnv, Operation, parse_operation
from harness.client.transport import DeadlineTransport, RequestClock
from harness.client.xmlparse import (
    ProtocolViolation,
    XMLParseError,
    parse_action,
    parse_attributes,
    parse_mdminfo,
    parse_xml,
)

#: Ways to break one aspect of the policy, and the contract that must then fail.
MUTATIONS: Mapping[str, str] = {
    "one_retry_too_many": "T2",  # one attempt more than max_attempts
    "retries_undeclared": "T3",  # retries any failure, declared or not
    "backoff_too_short": "T4",  # never waits before a retry
    "never_retries": "T4",  # retries nothing it declares
    "ignores_retry_after": "T4",  # waits the backoff where Retry-After decides
    "timeout_too_long": "T1",  # waits 4 times its declared timeout
    "timeout_too_short": "T1",  # gives up after 25 % of its declared timeout
}


@dataclass(frozen=True)
class Config:
    policy: Policy
    mutation: str | None = None
    #: ``challenge``: each request goes out without credentials first and a 401 carrying
    #: WWW-Authenticate is answered with them (as wget does).
    auth: str = "preemptive"
    seed: int = 0


CURRENT: Config | None = None


class Failure(Exception):
    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes


class PolicyClient:
    def __init__(self, env: ClientEnv, config: Config) -> None:
        self.env, self.config, self.policy = env, config, config.policy
        self.rng = random.Random(config.seed)
        factor = {"timeout_too_long": 4.0, "timeout_too_short": 0.25}.get(
            config.mutation or "", 1.0
        )
        self.timeout_s = env.timeout_ms / 1000 * factor
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=str(env.ca_bundle))
        self.context = context
        self.clock = RequestClock()
        self.answered = False
        self.http = self._client()
        base = httpx.URL(env.base_url.rstrip("/"))
        self.base, self.origin = str(base), f"https://{base.netloc.decode()}"

    def _client(self) -> httpx.Client:
        transport = DeadlineTransport(
            ssl_context=self.context, proxy=self.env.proxy, clock=self.clock
        )
        return httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(self.timeout_s),
            follow_redirects=False,
            trust_env=False,
        )

    # ---- one request, as the policy says

    def request(self, op: str, method: str, url: str, content: bytes | None = None) -> Answer:
        p, mutation = self.policy, self.config.mutation
        limit = p.max_attempts_for(op) + (mutation == "one_retry_too_many")
        tries = resends = 0
        while True:
            tries += 1
            try:
                answer = self._send(method, url, content)
            except httpx.HTTPError as exc:
                kind = self._kind(exc)
                self.http.close()
                self.http = self._client()
                if (
                    resends < p.resend.max
                    and p.resends(kind, op)
                    and mutation != "retries_undeclared"
                ):
                    resends += 1
                    tries -= 1  # not counted against max_attempts
                    continue
                declared = p.retries(kind, op) and (op != "action" or kind in BEFORE_SEND)
                if tries < limit and self._retries(declared):
                    self._sleep(tries, None, None)
                    continue
                raise Failure(category_of(kind), f"{method} {url}: {kind}: {exc}") from None
            if 200 <= answer.status < 300 and not self._well_formed(answer.body):
                declared = p.retries("parse_error", op)
                if tries < limit and self._retries(declared):
                    self._sleep(tries, None, None)
                    continue
                raise Failure("parse_error", f"{method} {url}: not well-formed XML")
            if 200 <= answer.status < 300 or answer.status in NEVER_RETRIED:
                return answer
            header = answer.headers.get("Retry-After")
            after = float(header) if header is not None and header.strip().isdigit() else None
            declared = p.retries(status=answer.status, operation=op, retry_after=header is not None)
            if tries < limit and self._retries(declared):
                if mutation == "retries_undeclared" and not declared:
                    self._sleep(tries, None, None)
                    continue
                if self._sleep(tries, after, answer.status):
                    continue
            return answer

    def _retries(self, declared: bool) -> bool:
        mutation = self.config.mutation
        if mutation == "never_retries":
            return False
        return declared or mutation == "retries_undeclared"

    def _sleep(self, tries: int, after: float | None, status: int | None) -> bool:
        p = self.policy
        if self.config.mutation == "ignores_retry_after":
            after = None
        delay = p.next_delay(tries, self.rng, after, status=status)
        if delay is None:
            return False  # a Retry-After beyond the cap: give up
        if self.config.mutation != "backoff_too_short":
            time.sleep(delay)
        return True

    def _send(self, method: str, url: str, content: bytes | None) -> Answer:
        credentials = (self.env.username, self.env.password)
        first = None if self.config.auth == "challenge" else credentials
        answer = self._exchange(method, url, content, first)
        if first is None and answer.status == 401 and "WWW-Authenticate" in answer.headers:
            answer = self._exchange(method, url, content, credentials)
        return answer

    def _exchange(self, method: str, url: str, content: bytes | None, auth: Any) -> Answer:
        self.answered = False
        self.clock.start(self.timeout_s)
        try:
            with self.http.stream(
                method, url, content=content, auth=auth, headers={"Accept": "application/xml"}
            ) as response:
                self.answered = True
                body = b"".join(response.iter_bytes())
                return Answer(response.status_code, response.headers, body)
        finally:
            self.clock.stop()

    def _kind(self, exc: httpx.HTTPError) -> str:
        sent = self.clock.sent
        if isinstance(exc, httpx.TimeoutException):
            return "read_timeout" if sent else "connect_timeout"
        if isinstance(exc, httpx.ProxyError):
            return "connect_refused"
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLError) and not isinstance(
                cause, ssl.SSLEOFError | ssl.SSLZeroReturnError
            ):
                return "tls_error"
            cause = cause.__cause__ or cause.__context__
        if not sent:
            return "connect_closed"
        return "closed_mid_response" if self.answered else "closed_before_response"

    @staticmethod
    def _well_formed(body: bytes) -> bool:
        try:
            parse_xml(body)
        except XMLParseError as exc:
            return "DOCTYPE" in str(exc)  # well-formed, refused for other reasons
        return True

    # ---- the operations

    def run(self, op: Operation) -> dict[str, Any]:
        try:
            return {"outcome": "ok", "result": self.perform(op)}
        except Failure as failure:
            return {"outcome": "error", "error": failure.category, "message": str(failure)}

    def perform(self, op: Operation) -> dict[str, Any]:
        info = self.discover()
        if op.name == "mdminfo":
            return dict(info)
        api = self.origin + "/" + info["api_path"].strip("/")
        if op.name == "action":
            body = f"<ise_api><identifier><macaddress>{op.value}</macaddress></identifier></ise_api>".encode()
            answer = self.request("action", "POST", f"{api}/action/actionType={op.action}", body)
            self.check(answer)
            try:
                return dict(parse_action(answer.body))
            except XMLParseError as exc:
                raise Failure("parse_error", str(exc)) from None
        criterion, value = (
            ("compliance", "false") if op.name == "noncompliant" else ("macaddress", op.value or "")
        )
        devices: list[Any] = []
        cursor, seen = "0", {"0"}
        while True:
            query = f"paging={quote(cursor, safe='')}&querycriteria={criterion}&value={quote(value, safe='')}"
            if criterion == "compliance":
                query += "&deviceidentifier=guid"
            answer = self.request(op.name, "GET", f"{api}/devices/?{query}&filter=all")
            self.check(answer)
            try:
                page = parse_attributes(answer.body)
            except XMLParseError as exc:
                raise Failure("parse_error", str(exc)) from None
            devices.extend(page["devices"])
            following = page["paging_info"]
            if following is None:
                return {"devices": devices}
            if following in seen:
                raise Failure("protocol_error", f"cursor {following!r} repeated")
            seen.add(following)
            cursor = following

    def discover(self) -> Any:
        versions = self.policy.discovery.versions
        for index, version in enumerate(versions):
            url = f"{self.base}/ciscoise/mdminfo/?ise_api_version={version}"
            answer = self.request("mdminfo", "GET", url)
            if (
                self.policy.discovery.falls_back_on(answer.status)
                and index == 0
                and len(versions) > 1
            ):
                continue
            self.check(answer)
            try:
                return parse_mdminfo(answer.body, asked_version=version)
            except XMLParseError as exc:
                raise Failure("parse_error", str(exc)) from None
            except ProtocolViolation as exc:
                raise Failure("protocol_error", str(exc)) from None
        raise AssertionError("unreachable")

    @staticmethod
    def check(answer: Answer) -> None:
        status = answer.status
        if 200 <= status < 300:
            return
        if status in (401, 403):
            raise Failure("unauthorized", f"HTTP {status}")
        if status == 404:
            raise Failure("not_found", "HTTP 404")
        if status == 429 or status >= 500:
            raise Failure("server_error", f"HTTP {status}")
        raise Failure("protocol_error", f"HTTP {status}")


class Adapter:
    def run(self, operation: str, args: list[str], env: Mapping[str, str]) -> dict[str, Any]:
        if CURRENT is None:
            raise RuntimeError("policy_client.CURRENT is not set")
        op = parse_operation(operation, args)
        client = PolicyClient(ClientEnv.from_environ(env), CURRENT)
        try:
            return client.run(op)
        finally:
            client.http.close()


def factory() -> Adapter:
    return Adapter()
