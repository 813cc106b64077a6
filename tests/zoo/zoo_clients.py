"""The zoo: deliberately broken clients, each the reference client with one real-world defect.

Every zoo client names the contracts it must fail - and only those: ``tests/test_zoo.py`` runs
the whole contract suite against each and compares the set of broken contracts with
:attr:`Zoo.breaks`. A defect is written the way such bugs appear in real clients (a timeout
taken from the wrong place, a retry loop that does not look at the status, a parser switched to
"recover", a redirect followed by hand), so the suite is proven against mistakes vendors make.

:data:`HONEST` holds the opposite: clients that do exactly what their policy declares (the
reference client on policies unlike its own, a client answering authentication challenges),
which must keep every contract - no false alarms.

In-process use: ``--mdm-client zoo_clients:<name>``; exec use: ``python run_zoo.py <name>
<operation> [args]`` (the adapter protocol).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import ssl
import time
import xml.sax
import xml.sax.handler
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
from lxml import etree

from harness.client.policy import load_policy
from harness.client.protocol import ClientEnv, Operation, parse_operation
from harness.client.reference import Answer, ClientFailure, ReferenceClient
from harness.client.transport import RequestClock
from harness.client.xmlparse import Device

#: What every zoo client declares: the reference policy with a shorter timeout.
POLICY_PATH = Path(__file__).with_name("zoo-policy.yaml")


class IgnoresTimeout(ReferenceClient):
    """Applies its own 4x longer timeout instead of MDM_TIMEOUT_MS (a hard-coded default)."""

    def __init__(self, env: ClientEnv, *args: Any, **kwargs: Any) -> None:
        super().__init__(dataclasses.replace(env, timeout_ms=env.timeout_ms * 4), *args, **kwargs)


class _HalfReadClock(RequestClock):
    """Once the request is sent, only half the timeout is left for the answer."""

    _sent = False

    @property  # type: ignore[override]
    def sent(self) -> bool:
        return self._sent

    @sent.setter
    def sent(self, value: bool) -> None:
        if value and not self._sent and self.deadline is not None and self.timeout_s:
            self.deadline = time.monotonic() + self.timeout_s / 2
        self._sent = value

    timeout_s = 0.0

    def start(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().start(timeout_s)


class TimesOutTooEarly(ReferenceClient):
    """Gives the answer half of MDM_TIMEOUT_MS "to leave room for a retry within the budget"
    (the connection gets all of it): a timeout waiting for the answer fires far too early."""

    def _connect(self) -> httpx.Client:
        if not isinstance(self._clock, _HalfReadClock):
            self._clock = _HalfReadClock()
        return super()._connect()


class AnswersChallenges(ReferenceClient):
    """Sends each request without credentials first and answers a 401 that carries
    ``WWW-Authenticate`` with them - what wget does by default. Ordinary HTTP authentication
    (RFC 9110 section 11): an honest client, which must keep every contract."""

    def _send_once(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str] | None
    ) -> Answer:
        assert self._http is not None
        self._clock.start(self.env.timeout_ms / 1000)
        try:
            response = self._http.request(method, url, content=content, headers=headers, auth=None)
        finally:
            self._clock.stop()
        if response.status_code == 401 and "WWW-Authenticate" in response.headers:
            return super()._send_once(method, url, content, headers)
        return Answer(method, url, response.status_code, response.headers, response.content)


class ChallengeThenRetries401(AnswersChallenges):
    """Answers challenges, and then retries a 401 to its credentials too ("the directory may
    have been slow to sync") - a retry of a 401, which no answered challenge excuses."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        if answer.status == 401:
            self._wait(1, None)
            answer = super().request(op, method, url, **kwargs)
        return answer


class RetriesServerErrorsForever(ReferenceClient):
    """Wraps lookups in its own retry loop for the statuses it retries, on top of the policy's attempts."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        for n in range(1, 13):
            if op == "action" or not self.policy.retries(status=answer.status):
                break
            self._wait(n, None)
            answer = super().request(op, method, url, **kwargs)
        return answer


class RetriesClientErrors(ReferenceClient):
    """Treats 400/401/403/404 like a transient failure and tries again."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        for n in range(1, self.policy.max_attempts_for(op)):
            if answer.status not in (400, 401, 403, 404):
                break
            self._wait(n, None)
            answer = super().request(op, method, url, **kwargs)
        return answer


class IgnoresBackoff(ReferenceClient):
    """Retries at once: the policy's backoff is never waited."""

    def _wait(self, attempt: int, retry_after: float | None, *, status: int | None = None) -> bool:
        return self.policy.delay_bounds(attempt, retry_after, status=status) is not None


class PollsAfterSuccess(ReferenceClient):
    """Looks a device up twice ("to be sure") - a second request after success."""

    def perform(self, operation: Operation) -> dict[str, Any]:
        result = super().perform(operation)
        if operation.name == "device":
            result = super().perform(operation)
        return result


class CallsProxyRefusalServerError(ReferenceClient):
    """Reports a proxy's refused CONNECT (502/503) as the MDM's server_error."""

    def _send_once(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str] | None
    ) -> Answer:
        try:
            return super()._send_once(method, url, content, headers)
        except httpx.ProxyError as exc:
            raise ClientFailure("server_error", f"{method} {url}: {exc}") from None


class AcceptsTruncatedBodies(ReferenceClient):
    """Keeps whatever body arrived when the connection drops mid-body."""

    def _send_once(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str] | None
    ) -> Answer:
        assert self._http is not None
        self._clock.start(self.env.timeout_ms / 1000)
        chunks: list[bytes] = []
        try:
            with self._http.stream(method, url, content=content, headers=headers) as response:
                try:
                    for chunk in response.iter_bytes():
                        chunks.append(chunk)
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    pass  # "the server closed early; what we have is the answer"
                return Answer(method, url, response.status_code, response.headers, b"".join(chunks))
        finally:
            self._clock.stop()


class ResendsActions(ReferenceClient):
    """Re-sends an action after a timeout or reset, although the request may have arrived."""

    def request(
        self, op: str, method: str, url: str, *, content: bytes | None = None, resend: bool = True
    ) -> Answer:
        return super().request(op, method, url, content=content, resend=True)


def _strict_body(answer: Answer) -> None:
    if b"xmlns=" in answer.body or b"<Attributes" in answer.body or b"<Compliance" in answer.body:
        raise ClientFailure(
            "parse_error", "unexpected element (this parser knows only the exact Swagger spelling)"
        )


class StrictSpelling(ReferenceClient):
    """Accepts only the exact Swagger spelling: no default namespace, no capitalised elements."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        if 200 <= answer.status < 300:
            _strict_body(answer)
        return answer


#: Every element name Cisco's Swagger uses (lower case).
SWAGGER_ELEMENTS = frozenset(
    [
        "ise_api",
        "name",
        "api_version",
        "api_path",
        "redirect_url",
        "query_max_size",
        "messaging_support",
        "vendor",
        "product_name",
        "product_version",
        "paging_info",
        "server_busy_wait_seconds",
        "devicelist",
        "device",
        "macaddress",
        "guid",
        "guidhn",
        "attributes",
        "register_status",
        "compliance",
        "status",
        "failure_reason",
        "remediation",
        "disk_encryption_on",
        "pin_lock_on",
        "jail_broken",
        "manufacturer",
        "model",
        "imei",
        "meid",
        "udid",
        "serial_number",
        "os_version",
        "phone_number",
        "lastcheckintimestamp",
        "macaddresses",
        "result",
        "action_status",
    ]
)


class RejectsUnknownElements(ReferenceClient):
    """Validates answers against a closed list of elements: anything new is an error."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        if 200 <= answer.status < 300 and answer.body.strip() and b"<!DOCTYPE" not in answer.body:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            try:
                root = etree.fromstring(answer.body, parser)
            except etree.XMLSyntaxError:
                return answer  # the reference parser reports it
            for element in root.iter():
                if (
                    isinstance(element.tag, str)
                    and etree.QName(element).localname.lower() not in SWAGGER_ELEMENTS
                ):
                    raise ClientFailure("parse_error", f"unknown element <{element.tag}>")
        return answer


class RecoveringParser(ReferenceClient):
    """Parses with lxml's ``recover=True``: broken XML is "repaired" instead of refused."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        if not 200 <= answer.status < 300 or not answer.body.strip():
            return answer
        parser = etree.XMLParser(
            recover=True, resolve_entities=False, no_network=True, load_dtd=False
        )
        try:
            root = etree.fromstring(answer.body, parser)
        except etree.XMLSyntaxError:
            return answer
        if root is None:
            return answer
        return dataclasses.replace(answer, body=etree.tostring(root))


class LenientStructure(ReferenceClient):
    """Reports success with defaults when a well-formed answer lacks required elements."""

    def perform(self, operation: Operation) -> dict[str, Any]:
        try:
            return super().perform(operation)
        except ClientFailure as failure:
            if (
                failure.category not in ("parse_error", "protocol_error")
                or not self._last_well_formed
                or "paging cursor" in failure.message  # lenient about structure, not paging
            ):
                raise
            if operation.name == "mdminfo":
                return {
                    "api_version": 3,
                    "api_path": "/",
                    "redirect_url": None,
                    "vendor": None,
                    "product_name": None,
                    "product_version": None,
                    "query_max_size": 5000,
                    "messaging_support": None,
                }
            if operation.name == "action":
                return {"action_status": False, "failure_reason": None}
            return {"devices": []}

    _last_well_formed = False

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        try:
            etree.fromstring(
                answer.body,
                etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False),
            )
            self._last_well_formed = b"<!DOCTYPE" not in answer.body
        except etree.XMLSyntaxError:
            self._last_well_formed = False
        return answer


class SlowParser(ReferenceClient):
    """Does 5 ms of work per device (an O(n) database write per record, say)."""

    def _listing(self, op: str, api: str, version: int, criterion: str, value: str) -> list[Device]:
        devices = super()._listing(op, api, version, criterion, value)
        time.sleep(0.005 * len(devices))
        return devices


class HardcodedApiPath(ReferenceClient):
    """Assumes Jamf's layout (``/<instance id>/ciscoise/v3``) instead of the api_path discovery gave."""

    def _api_base(self, api_path: str) -> str:
        instance = str(self._base.path).rstrip("/").rsplit("/", 1)[-1]
        return f"{self._origin}/{instance}/ciscoise/v3"


class IgnoresApiVersion(ReferenceClient):
    """Always uses the v2/v3 query form, whatever api_version the server answered."""

    def _page_url(self, api: str, version: int, criterion: str, value: str, cursor: str) -> str:
        return super()._page_url(api, max(version, 2), criterion, value, cursor)


class SendsMacAsGiven(ReferenceClient):
    """Sends the MAC address exactly as the caller wrote it."""

    raw_mac: str | None = None

    def _listing(self, op: str, api: str, version: int, criterion: str, value: str) -> list[Device]:
        if criterion == "macaddress" and self.raw_mac:
            value = self.raw_mac
        return super()._listing(op, api, version, criterion, value)


class UnencodedCursor(ReferenceClient):
    """Pastes the paging cursor into the URL without encoding it."""

    def _page_url(self, api: str, version: int, criterion: str, value: str, cursor: str) -> str:
        url = super()._page_url(api, version, criterion, value, "CURSOR-PLACEHOLDER")
        return url.replace("CURSOR-PLACEHOLDER", cursor)


class FollowsCursorLoops(ReferenceClient):
    """Follows cursors until ``0`` with no guard against a cursor that repeats."""

    def _listing(self, op: str, api: str, version: int, criterion: str, value: str) -> list[Device]:
        from harness.client.xmlparse import XMLParseError, parse_attributes

        devices: list[Device] = []
        cursor = "0"
        for _ in range(60):
            answer = self.request(op, "GET", self._page_url(api, version, criterion, value, cursor))
            self.check_status(answer)
            try:
                parsed = parse_attributes(answer.body)
            except XMLParseError as exc:
                raise ClientFailure("parse_error", str(exc)) from None
            devices.extend(parsed["devices"])
            if parsed["paging_info"] is None:
                return devices
            cursor = parsed["paging_info"]
        raise ClientFailure("protocol_error", "gave up after 60 pages")


class EmptyListIsNotFound(ReferenceClient):
    """Reports an empty deviceList as not_found."""

    def perform(self, operation: Operation) -> dict[str, Any]:
        result = super().perform(operation)
        if operation.name == "device" and not result["devices"]:
            raise ClientFailure("not_found", "no such device")
        return result


class SkipsCertificateChecks(ReferenceClient):
    """``verify=False``: any certificate will do."""

    def __init__(self, env: ClientEnv, *args: Any, **kwargs: Any) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(env, *args, ssl_context=context, **kwargs)


class ResolvesExternalEntities(ReferenceClient):
    """Pre-validates answers with a SAX parser that has external entities switched on."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        if b"<!DOCTYPE" in answer.body:
            parser = xml.sax.make_parser()
            parser.setFeature(xml.sax.handler.feature_external_ges, True)
            parser.setContentHandler(xml.sax.handler.ContentHandler())
            with contextlib.suppress(Exception):
                parser.parse(io.BytesIO(answer.body))
        return answer


class ResolvesFileEntities(ReferenceClient):
    """Parses with lxml's ``resolve_entities=True`` (network off, "so it is safe"): external
    entities, parameter entities and DTDs on the local file system are read into the answer."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        if b"<!DOCTYPE" in answer.body:
            parser = etree.XMLParser(
                resolve_entities=True, load_dtd=True, no_network=True, huge_tree=False
            )
            try:
                root = etree.fromstring(answer.body, parser)
            except etree.XMLSyntaxError as exc:
                raise ClientFailure("parse_error", str(exc)) from None
            return dataclasses.replace(answer, body=etree.tostring(root))
        return answer


class ExpandsInternalEntities(ReferenceClient):
    """Runs answers with a DOCTYPE through ElementTree, which expands internal entities."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        if b"<!DOCTYPE" in answer.body:
            try:
                root = ElementTree.fromstring(answer.body)
            except ElementTree.ParseError as exc:
                raise ClientFailure("parse_error", str(exc)) from None
            return dataclasses.replace(answer, body=ElementTree.tostring(root))
        return answer


class FollowsRedirectsWithCredentials(ReferenceClient):
    """Follows a redirect by hand and re-attaches the Basic credentials."""

    def request(self, op: str, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(op, method, url, **kwargs)
        location = answer.headers.get("Location")
        if 300 <= answer.status < 400 and location and self._http is not None:
            token = base64.b64encode(f"{self.env.username}:{self.env.password}".encode()).decode()
            try:
                response = self._http.request(
                    method, location, headers={"Authorization": f"Basic {token}"}
                )
            except httpx.HTTPError as exc:
                raise ClientFailure("connection_error", f"following the redirect: {exc}") from None
            return Answer(
                method, location, response.status_code, response.headers, response.content
            )
        return answer


class PrintsPassword(ReferenceClient):
    """Puts the login it tried into its error messages."""

    def run(self, operation: Operation) -> dict[str, Any]:
        obj = super().run(operation)
        if obj["outcome"] == "error":
            obj["message"] += f" (login {self.env.username}:{self.env.password})"
        return obj


@dataclass(frozen=True)
class Zoo:
    """A broken client and the contracts it must break (by their failure, or, for a SHOULD
    contract, by the advice it gets); ``policy`` is what it declares."""

    client: type[ReferenceClient]
    breaks: frozenset[str]
    exec_form: bool = False
    policy: Path = POLICY_PATH
    #: Contracts a consequence of the defect may also fail, depending on what the cases
    #: draw (another seed may draw a case that shows it, or not).
    may_break: frozenset[str] = frozenset()


ZOO: Mapping[str, Zoo] = {
    "ignores_timeout": Zoo(IgnoresTimeout, frozenset({"T1"})),
    "times_out_too_early": Zoo(TimesOutTooEarly, frozenset({"T1"})),
    "challenge_then_retries_401": Zoo(ChallengeThenRetries401, frozenset({"T3"})),
    "retries_5xx_forever": Zoo(RetriesServerErrorsForever, frozenset({"T2"})),
    "retries_401": Zoo(RetriesClientErrors, frozenset({"T3"})),
    "ignores_backoff": Zoo(IgnoresBackoff, frozenset({"T4"})),
    "polls_after_success": Zoo(PollsAfterSuccess, frozenset({"T5"})),
    # a refused CONNECT it takes for the MDM's answer is not the failure its policy retries
    # (T4 advice when a drawn case refuses the CONNECT)
    "proxy_refusal_is_server_error": Zoo(
        CallsProxyRefusalServerError, frozenset({"T6"}), may_break=frozenset({"T4"})
    ),
    # a cut it does not notice is no failure to it, so a declared retry of a cut answer does
    # not happen either (T4/T5 advice when a drawn case cuts an answer)
    "accepts_truncated": Zoo(
        AcceptsTruncatedBodies, frozenset({"T7"}), may_break=frozenset({"T4", "T5"})
    ),
    "resends_wipe": Zoo(ResendsActions, frozenset({"T8"})),
    "strict_spelling": Zoo(StrictSpelling, frozenset({"P1"})),
    "recovering_parser": Zoo(RecoveringParser, frozenset({"P2"})),
    "rejects_unknown_elements": Zoo(RejectsUnknownElements, frozenset({"P4"})),
    "lenient_structure": Zoo(LenientStructure, frozenset({"P3", "R2"})),
    "slow_parser": Zoo(SlowParser, frozenset({"P5"})),
    "hardcoded_api_path": Zoo(HardcodedApiPath, frozenset({"R1"})),
    "ignores_api_version": Zoo(IgnoresApiVersion, frozenset({"R2"})),
    "mac_as_given": Zoo(SendsMacAsGiven, frozenset({"R3"})),
    "unencoded_cursor": Zoo(UnencodedCursor, frozenset({"R4"})),
    "follows_cursor_loops": Zoo(FollowsCursorLoops, frozenset({"R5"})),
    "empty_is_not_found": Zoo(EmptyListIsNotFound, frozenset({"R6"})),
    "skips_cert_checks": Zoo(SkipsCertificateChecks, frozenset({"S1"})),
    "resolves_external_entities": Zoo(ResolvesExternalEntities, frozenset({"S2"})),
    "resolves_file_entities": Zoo(ResolvesFileEntities, frozenset({"S2"})),
    "expands_internal_entities": Zoo(ExpandsInternalEntities, frozenset({"S3"}), exec_form=True),
    "follows_redirects_with_credentials": Zoo(FollowsRedirectsWithCredentials, frozenset({"S4"})),
    "prints_password": Zoo(PrintsPassword, frozenset({"S5"}), exec_form=True),
}


#: Honest clients that declare exactly what they do: each must keep every contract. The
#: reference client on policies unlike its own (no retries at all; an immediate first retry;
#: linear backoff; a listed backoff with Retry-After clamped), and one answering challenges.
HONEST: Mapping[str, Zoo] = {
    "answers_challenges": Zoo(AnswersChallenges, frozenset()),
    "never_retries": Zoo(
        ReferenceClient, frozenset(), policy=POLICY_PATH.with_name("never-retries.yaml")
    ),
    "immediate_first_retry": Zoo(
        ReferenceClient, frozenset(), policy=POLICY_PATH.with_name("immediate-first.yaml")
    ),
    "linear_backoff": Zoo(
        ReferenceClient, frozenset(), policy=POLICY_PATH.with_name("linear.yaml")
    ),
    "listed_backoff": Zoo(
        ReferenceClient, frozenset(), policy=POLICY_PATH.with_name("listed.yaml")
    ),
}


class ZooAdapter:
    """The in-process adapter for one zoo client (``module:factory`` form)."""

    def __init__(self, client: type[ReferenceClient], policy: Path = POLICY_PATH) -> None:
        self.client = client
        self.policy_path = policy

    def run(self, operation: str, args: list[str], env: Mapping[str, str]) -> dict[str, Any]:
        policy = load_policy(self.policy_path)
        op = parse_operation(operation, args)
        client_env = ClientEnv.from_environ(env, default_timeout_ms=policy.timeout_ms)
        with self.client(client_env, policy) as client:
            if isinstance(client, SendsMacAsGiven) and "--mac" in args:
                client.raw_mac = args[args.index("--mac") + 1]
            return client.run(op)


def _factory(name: str) -> Callable[[], ZooAdapter]:
    def factory() -> ZooAdapter:
        zoo = ZOO.get(name) or HONEST[name]
        return ZooAdapter(zoo.client, zoo.policy)

    factory.__name__ = name
    return factory


for _name in (*ZOO, *HONEST):
    globals()[_name] = _factory(_name)
