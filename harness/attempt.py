"""One attempt on the wire: the record the fault proxy writes and the contracts read.

An *attempt* is one HTTP request a client sent, or a connection that failed or was abandoned
before any request (CONNECT refused or hung, TLS handshake failed or stalled, client connected
then left). A connection that carries requests is not an attempt of its own: its first
request's record keeps the connection's start as ``connect_start``.

The record is the one type both sides share: the proxy (``harness.proxy``) fills it in while
the attempt runs and serves it as JSON lines; the harness reads the lines back with
:meth:`Attempt.from_json`. It holds **wire facts** - what the client sent, what it was shown
(the certificate), what it received (status, headers, bytes announced and sent, whether the
body was well-formed XML), how each side's connection ended and whether the upstream saw the
request - and, apart from them, *what the scenario did* (rule, fault, draw) for the timeline
and for replay. The contract checks judge from the wire facts alone, never from a fault's name
or parameters: a client is judged on what happened to it, not on how the harness made it
happen.

Times are ``time.monotonic()`` of the proxy process (CLOCK_MONOTONIC: comparable with the
harness's own clock on Linux). ``docs/proxy.md`` describes every field.

Over 400 lines: the one record both processes share, with every field documented where it is
declared, its JSON form and the versioned reading of older records.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

__all__ = [
    "CERTIFICATES",
    "CLIENT_ENDS",
    "PHASES",
    "REQUEST_OPERATIONS",
    "SCHEMA_VERSION",
    "Attempt",
    "Body",
    "ClientEnd",
    "FaultFired",
    "Phase",
    "Sent",
    "answers_challenge",
    "failure_of",
    "operation_of",
    "params_of",
]

#: The version of the record's JSON form (``"v"``). Version 1 (the untyped dict of mdm-harness
#: 0.x) is read too; a newer version is refused.
SCHEMA_VERSION = 2

Phase = Literal["connect", "tls", "request", "response", "complete"]
#: How far an attempt got, in order.
PHASES: tuple[Phase, ...] = ("connect", "tls", "request", "response", "complete")
_RANK = {p: i for i, p in enumerate(PHASES)}

ClientEnd = Literal[
    "completed", "client_closed", "proxy_closed", "proxy_reset", "tls_failed", "error"
]
#: How an attempt ended, seen from the client's connection: ``completed`` (the whole response
#: was handed over), ``client_closed`` (the client went away first: it gave up),
#: ``proxy_closed``/``proxy_reset`` (the proxy ended it with a FIN / an RST), ``tls_failed``
#: (the client refused the handshake, or completed it with a bad certificate and left without
#: a request), ``error`` (the proxy failed; see ``error``).
CLIENT_ENDS: tuple[ClientEnd, ...] = (
    "completed",
    "client_closed",
    "proxy_closed",
    "proxy_reset",
    "tls_failed",
    "error",
)

#: The certificate a client was shown: the harness's valid one, or a deliberately bad one.
CERTIFICATES: tuple[str, ...] = ("valid", "expired", "wrong-host", "untrusted-ca")

#: Which request of the ISE MDM API an attempt carried (``other``: none of them).
REQUEST_OPERATIONS: tuple[str, ...] = (
    "mdminfo",
    "devices",
    "noncompliant",
    "batchdevices",
    "action",
    "sendmessage",
    "other",
)
_OPERATION_SEGMENTS = ("mdminfo", "batchdevices", "devices", "action", "sendmessage")


def params_of(query: str) -> dict[str, list[str]]:
    """Query parameters as name -> values (``+`` decodes to a space, blanks kept)."""
    return parse_qs(query, keep_blank_values=True) if query else {}


def operation_of(method: str, path: str, params: Mapping[str, Sequence[str]]) -> str:
    """Which ISE MDM API operation a request is (one of :data:`REQUEST_OPERATIONS`).

    The first path segment naming an operation decides (``.../ciscoise/mdminfo/``,
    ``{api_path}/devices/...``, ``{api_path}/action/...``); a device query for
    ``querycriteria=compliance`` with ``value=false`` (or the v1 path form
    ``devices/{paging}/compliance/false``) is the non-compliant listing.
    """
    segments = [s for s in path.split("/") if s]
    for i, segment in enumerate(segments):
        name = segment.split("?", 1)[0].lower()
        if name not in _OPERATION_SEGMENTS:
            continue
        if name == "devices":
            criteria = (params.get("querycriteria") or [""])[0].lower()
            value = (params.get("value") or [""])[0].lower()
            rest = [s.lower() for s in segments[i + 1 : i + 4]]
            if (criteria, value) == ("compliance", "false") or rest[1:3] == ["compliance", "false"]:
                return "noncompliant"
        return name
    return "other"


@dataclass(slots=True)
class FaultFired:
    """What the scenario did to an attempt - for the timeline and replay, never for a verdict."""

    rule: str
    kind: str
    phase: str
    params: dict[str, Any] = field(default_factory=dict)
    #: The named fault (``faults:``) or ``status_NNN`` shorthand it came from.
    name: str | None = None
    #: The position in the rule's ``sequence`` that fired.
    step: int | None = None
    #: Why a body mutation found nothing to mutate (the response then passed unchanged).
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "kind": self.kind,
            "phase": self.phase,
            "params": self.params,
        }
        for key in ("name", "step", "skipped"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> FaultFired | None:
        if not data:
            return None
        return cls(
            rule=str(data.get("rule") or ""),
            kind=str(data.get("kind") or ""),
            phase=str(data.get("phase") or ""),
            params=dict(data.get("params") or {}),
            name=data.get("name"),
            step=data.get("step"),
            skipped=data.get("skipped"),
        )


@dataclass(slots=True)
class Body:
    """The response body as the client received it (the bytes actually sent)."""

    #: ``xml`` (well-formed), ``malformed`` (not well-formed XML), ``empty``.
    form: Literal["xml", "malformed", "empty"]
    #: The document declares a DOCTYPE (a DTD, and with it possibly entities).
    doctype: bool = False
    #: The DOCTYPE names something outside the document (``SYSTEM``/``PUBLIC``).
    external: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"form": self.form, "doctype": self.doctype, "external": self.external}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Body | None:
        if not data:
            return None
        return cls(
            form=data.get("form", "malformed"),
            doctype=bool(data.get("doctype")),
            external=bool(data.get("external")),
        )


@dataclass(slots=True)
class Sent:
    """The response the client was sent (as far as it went out)."""

    status: int
    #: Header fields in the order sent (framing headers of a raw response included).
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: The ``Content-Length`` announced, or ``None`` (none announced).
    announced: int | None = None
    #: Body bytes actually written to the client.
    body_bytes: int = 0
    #: What the bytes sent form; ``None`` when not examined (the body was not XML-typed).
    body: Body | None = None
    #: When the response head went out, and the last body byte (monotonic; ``None``: not yet).
    first_byte: float | None = None
    last_byte: float | None = None
    #: The proxy's wall clock when the head went out (for ``Retry-After`` dates).
    wall: float | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def short(self) -> bool:
        """Fewer body bytes went out than the ``Content-Length`` announced."""
        return self.announced is not None and self.body_bytes < self.announced

    def retry_after_s(self) -> float | None:
        """The ``Retry-After`` header sent, in seconds (delta-seconds, or an HTTP date relative
        to when the response went out); ``None`` when absent or not a valid value."""
        value = self.header("Retry-After")
        if value is None:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None or self.wall is None:
            return None
        return max(0.0, when.timestamp() - self.wall)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": [list(h) for h in self.headers],
            "announced": self.announced,
            "body_bytes": self.body_bytes,
            "body": None if self.body is None else self.body.to_json(),
            "first_byte": self.first_byte,
            "last_byte": self.last_byte,
            "wall": self.wall,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Sent | None:
        if not data:
            return None
        return cls(
            status=int(data["status"]),
            headers=[(str(k), str(v)) for k, v in data.get("headers") or ()],
            announced=data.get("announced"),
            body_bytes=int(data.get("body_bytes") or 0),
            body=Body.from_json(data.get("body")),
            first_byte=data.get("first_byte"),
            last_byte=data.get("last_byte"),
            wall=data.get("wall"),
        )


@dataclass(slots=True)
class Attempt:
    """One attempt (see the module docstring). Mutable while the proxy fills it in."""

    seq: int
    start: float
    conn: str = "?"
    peer: str | None = None
    end: float | None = None
    #: For a connection's first request: when the connection was accepted.
    connect_start: float | None = None
    phase: Phase = "connect"
    scheme: str = "http"
    #: As the client asked: CONNECT target, SNI, or Host (lower case, no port).
    host: str | None = None
    # -- the request
    method: str | None = None
    path: str | None = None
    query: str = ""
    params: dict[str, list[str]] = field(default_factory=dict)
    operation: str | None = None
    request_bytes: int = 0
    #: ``{"scheme": "Basic", "hash": "<16 hex>"}``: never the credentials themselves.
    auth: dict[str, str] | None = None
    # -- what the client was shown and sent
    #: The certificate the client's TLS handshake was shown (``None``: no TLS with the client).
    certificate: str | None = None
    #: The response as sent (``None``: no response went out).
    sent: Sent | None = None
    #: Whether the request reached the upstream (the MDM saw it).
    upstream: bool = False
    # -- how it ended
    client_end: ClientEnd | None = None
    error: str | None = None
    #: The self-check of a raw FIN/RST ending (``{"end": "fin"|"rst", ...}``).
    wire: dict[str, Any] | None = None
    # -- what the scenario did (display and replay only)
    rule: str | None = None
    fault: FaultFired | None = None
    conn_fault: FaultFired | None = None
    fault_error: str | None = None
    seed: int | None = None
    draw: float | None = None

    # ---- the proxy's side

    def advance(self, phase: Phase) -> None:
        """Move :attr:`phase` forward to ``phase`` (never back)."""
        if _RANK[phase] > _RANK[self.phase]:
            self.phase = phase

    # ---- reading

    @property
    def status(self) -> int | None:
        """The status sent to the client, if a response went out."""
        return None if self.sent is None else self.sent.status

    @property
    def began(self) -> float:
        """When the client started this attempt (its connection, when it opened one for it)."""
        return self.connect_start if self.connect_start is not None else self.start

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.began

    @property
    def sent_request(self) -> bool:
        """Whether an HTTP request was received from the client in this attempt."""
        return self.method is not None and self.phase not in ("connect", "tls")

    @property
    def answered(self) -> bool:
        """A whole response went out and the client took it (nothing cut, nothing left out)."""
        return (
            self.sent is not None
            and self.client_end == "completed"
            and not self.sent.short
            and self.phase == "complete"
        )

    @property
    def succeeded(self) -> bool:
        """A whole 2xx response with a well-formed (or empty) body reached the client."""
        return (
            self.answered
            and self.sent is not None
            and 200 <= self.sent.status < 300
            and (self.sent.body is None or self.sent.body.form != "malformed")
        )

    @property
    def last_activity(self) -> float:
        """The last moment the proxy did something the client could notice (a byte sent), or
        when the attempt began: a client's timeout cannot fire before this plus its timeout."""
        if self.sent is not None:
            moments = [t for t in (self.sent.last_byte, self.sent.first_byte) if t is not None]
            if moments:
                return max(moments)
        return self.began if self.method is None else self.start

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    def describe(self, t0: float) -> str:
        """One timeline line: offset, request, fault, status, how it ended, duration."""
        what = (
            f"{self.method} {self.path}{'?' + self.query if self.query else ''}"
            if self.method
            else f"({self.phase} phase)"
        )
        fault = f" fault={self.fault.kind}" if self.fault else ""
        if self.certificate not in (None, "valid"):
            fault += f" certificate={self.certificate}"
        status = f" -> {self.status}" if self.status is not None else ""
        if self.sent is not None and self.sent.short:
            status += f" ({self.sent.body_bytes} of {self.sent.announced} bytes)"
        took = f" {1000 * self.duration:.0f} ms" if self.duration is not None else " (in flight)"
        auth = " [auth]" if self.auth else ""
        mdm = " [reached the MDM]" if self.upstream else ""
        if self.fault_error:
            fault += f" (fault failed: {self.fault_error})"
        elif self.client_end == "error" and self.error:
            fault += f" ({self.error})"
        return (
            f"+{self.began - t0:7.3f}s #{self.seq} {self.scheme or '?'}://{self.host or '?'} "
            f"{what}{auth}{fault}{status}{mdm} ({self.client_end}){took}"
        )

    # ---- JSON

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``"v"`` is :data:`SCHEMA_VERSION`)."""
        return {
            "v": SCHEMA_VERSION,
            "seq": self.seq,
            "conn": self.conn,
            "peer": self.peer,
            "start": self.start,
            "end": self.end,
            "connect_start": self.connect_start,
            "phase": self.phase,
            "scheme": self.scheme,
            "host": self.host,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "params": self.params,
            "operation": self.operation,
            "request_bytes": self.request_bytes,
            "auth": self.auth,
            "certificate": self.certificate,
            "sent": None if self.sent is None else self.sent.to_json(),
            "upstream": self.upstream,
            "client_end": self.client_end,
            "error": self.error,
            "wire": self.wire,
            "rule": self.rule,
            "fault": None if self.fault is None else self.fault.to_json(),
            "conn_fault": None if self.conn_fault is None else self.conn_fault.to_json(),
            "fault_error": self.fault_error,
            "seed": self.seed,
            "draw": self.draw,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attempt:
        """Read a record back; :class:`ValueError` for a newer schema or a record without ``seq``."""
        version = data.get("v", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(
                f"attempt record version {version!r} is newer than this harness reads ({SCHEMA_VERSION})"
            )
        try:
            seq, start = int(data["seq"]), float(data["start"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("an attempt record needs an integer seq and a start time") from None
        sent = Sent.from_json(data.get("sent"))
        if sent is None and version == 1 and data.get("status") is not None:
            sent = Sent(status=int(data["status"]), body_bytes=int(data.get("response_bytes") or 0))
        phase: Phase = data["phase"] if data.get("phase") in PHASES else "connect"
        end = data.get("end")
        return cls(
            seq=seq,
            start=start,
            conn=str(data.get("conn") or "?"),
            peer=data.get("peer"),
            end=None if end is None else float(end),
            connect_start=data.get("connect_start"),
            phase=phase,
            scheme=str(data.get("scheme") or "http"),
            host=data.get("host"),
            method=data.get("method"),
            path=data.get("path"),
            query=data.get("query") or "",
            params={str(k): list(v) for k, v in (data.get("params") or {}).items()},
            operation=data.get("operation"),
            request_bytes=int(data.get("request_bytes") or 0),
            auth=data.get("auth"),
            certificate=data.get("certificate"),
            sent=sent,
            upstream=bool(data.get("upstream")),
            client_end=data.get("client_end"),
            error=data.get("error"),
            wire=data.get("wire"),
            rule=data.get("rule"),
            fault=FaultFired.from_json(data.get("fault")),
            conn_fault=FaultFired.from_json(data.get("conn_fault")),
            fault_error=data.get("fault_error"),
            seed=data.get("seed"),
            draw=data.get("draw"),
        )


# ---------------------------------------------------------------------------------- reading


def failure_of(attempt: Attempt) -> tuple[str, int | None]:
    """How an attempt failed, as the wire shows it: ``(kind, status)``.

    ``kind`` is one of the policy language's failure kinds (``connect_refused``,
    ``connect_timeout``, ``connect_closed``, ``tls_error``, ``read_timeout``,
    ``closed_before_response``, ``closed_mid_response``, ``parse_error``), ``"status"`` (a
    whole answer with a status other than 2xx) or ``"ok"`` (a whole 2xx answer with a
    well-formed or empty body, or one the harness did not examine); ``status`` is the status
    sent, if any. Judged from the record's wire facts alone - never from the fault that caused
    them. The contracts and ``policy infer`` both read attempts through this one function.
    """
    if attempt.client_end == "tls_failed" or attempt.certificate not in (None, "valid"):
        return "tls_error", None
    sent = attempt.sent
    if not attempt.sent_request:
        # Nothing of the request left the client: the CONNECT or the handshake failed.
        if sent is not None:
            return "connect_refused", sent.status  # the proxy answered the CONNECT itself
        if attempt.client_end == "client_closed":
            return "connect_timeout", None
        return "connect_closed", None
    if sent is None:
        if attempt.client_end == "client_closed":
            return "read_timeout", None
        return "closed_before_response", None
    if not attempt.answered:
        if attempt.client_end == "client_closed":
            return "read_timeout", sent.status
        return "closed_mid_response", sent.status
    if not 200 <= sent.status < 300:
        return "status", sent.status
    if sent.body is not None and sent.body.form == "malformed":
        return "parse_error", sent.status
    return "ok", sent.status


def answers_challenge(previous: Attempt, current: Attempt) -> bool:
    """``current`` answers an authentication challenge (RFC 9110 section 11): ``previous`` was
    sent without credentials and got a 401 carrying ``WWW-Authenticate``, and ``current``
    carries credentials. Ordinary HTTP authentication, not a retry - and ``previous`` is not a
    failure, however much of the 401's body the client read before it moved on."""
    return (
        previous.status == 401
        and previous.auth is None
        and current.auth is not None
        and previous.sent is not None
        and previous.sent.header("WWW-Authenticate") is not None
    )
