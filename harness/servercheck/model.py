"""The values the server contracts reason about: a case, what was exchanged, and a verdict.

Everything here is plain data. A :class:`ServerCase` says what the harness asks the server (its
:class:`Probe` s) and what a check needs to know to judge the answers (``params``); it is JSON,
so a failing case is written to a replay file and run again as it was. An :class:`Exchange` is
one request as sent and the answer as received, with the proxy's journal record of it
(``harness.attempt.Attempt``: the wire facts and timing). The checks
(:mod:`harness.servercheck.checks`) are pure functions of a case and its exchanges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.attempt import Attempt

from .catalog import CONTRACTS, Level

__all__ = [
    "Auth",
    "Exchange",
    "NotApplicable",
    "Probe",
    "ServerCase",
    "ServerVerdict",
    "Status",
]

#: The credentials a probe carries: the right ones, none, or the right user with a wrong password.
Auth = Literal["good", "none", "wrong-password"]
Status = Literal["holds", "broken", "inconclusive", "not applicable"]
Kind = Literal["requests", "burst", "walk"]

#: How much of a body an exchange keeps for the report (the check reads the whole body).
EXCERPT_BYTES = 2048


@dataclass(frozen=True)
class Probe:
    """One request to send: an absolute path with its query on the server's origin."""

    target: str
    #: What the request asks, for the report ("v3 lookup by guid").
    label: str
    method: str = "GET"
    auth: Auth = "good"
    #: The XML body (actions only).
    body: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.target, "label": self.label}
        if self.method != "GET":
            out["method"] = self.method
        if self.auth != "good":
            out["auth"] = self.auth
        if self.body is not None:
            out["body"] = self.body
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Probe:
        unknown = sorted(set(data) - {"target", "label", "method", "auth", "body"})
        if unknown:
            raise ValueError(f"probe: unknown field {unknown[0]!r}")
        auth = data.get("auth", "good")
        if auth not in ("good", "none", "wrong-password"):
            raise ValueError(f"probe.auth: {auth!r} is not good, none or wrong-password")
        target = data.get("target")
        if not isinstance(target, str) or not target.startswith("/"):
            raise ValueError(f"probe.target: {target!r} is not an absolute path")
        return cls(
            target=target,
            label=str(data.get("label", "")),
            method=str(data.get("method", "GET")),
            auth=auth,
            body=data.get("body"),
        )


@dataclass(frozen=True)
class ServerCase:
    """One server contract case: the probes to send and what judging them needs.

    ``kind`` is ``requests`` (the probes one after the other), ``burst`` (all at once) or
    ``walk`` (the first probe, then its ``{cursor}`` placeholder filled with each
    ``paging_info`` until the listing ends or ``params["max_pages"]`` is reached). ``budget``
    is the most requests the case may send; the plan adds them up before anything is sent.
    Cases with the same ``shared`` key judge one observation (the walk: G1-G5).
    """

    contract: str
    title: str
    probes: tuple[Probe, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    kind: Kind = "requests"
    budget: int = 0
    shared: str | None = None

    def __post_init__(self) -> None:
        if self.contract not in CONTRACTS:
            raise ValueError(f"contract {self.contract!r} is not a server contract")
        if self.budget < 1:
            object.__setattr__(self, "budget", len(self.probes))

    def describe(self) -> str:
        return f"{self.contract}: {self.title}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "contract": self.contract,
            "title": self.title,
            "kind": self.kind,
            "budget": self.budget,
            "probes": [p.to_json() for p in self.probes],
            "params": dict(self.params),
        }
        if self.shared:
            out["shared"] = self.shared
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServerCase:
        known = {"contract", "title", "kind", "budget", "probes", "params", "shared"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"case: unknown field {unknown[0]!r}")
        probes = data.get("probes")
        if not isinstance(probes, list) or not probes:
            raise ValueError("case.probes: a non-empty list is needed")
        kind = data.get("kind", "requests")
        if kind not in ("requests", "burst", "walk"):
            raise ValueError(f"case.kind: {kind!r} is not requests, burst or walk")
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise ValueError("case.params: a mapping is needed")
        budget = data.get("budget", 0)
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise ValueError("case.budget: an integer is needed")
        return cls(
            contract=str(data.get("contract")),
            title=str(data.get("title", "")),
            probes=tuple(Probe.from_json(p) for p in probes),
            params=params,
            kind=kind,
            budget=budget,
            shared=data.get("shared"),
        )


@dataclass(frozen=True)
class NotApplicable:
    """A case that cannot be built on this server (no known device with a UDID, a version it
    does not speak, actions not allowed): the reason, shown in the report."""

    contract: str
    reason: str


@dataclass(frozen=True)
class Exchange:
    """One request as sent and the answer as received (or why there was none)."""

    probe: Probe
    #: The request target as sent (a walk fills the cursor in).
    target: str
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    #: Why no answer came: ``timeout: ...``, ``connection: ...`` (then ``status`` is None).
    error: str | None = None
    #: ``time.monotonic()`` before the request and after the answer (the harness's clock).
    started: float = 0.0
    ended: float = 0.0
    #: The proxy's record of this request (the wire facts), when it was found in the journal.
    attempt: Attempt | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").strip()

    @property
    def seconds(self) -> float:
        """How long the answer took as the client sees it: from the journal (request headers in
        to last byte out at the proxy) when known, else the harness's own clock."""
        a = self.attempt
        if a is not None and a.sent is not None and a.sent.last_byte is not None:
            return max(0.0, a.sent.last_byte - a.start)
        return max(0.0, self.ended - self.started)

    @property
    def answered(self) -> bool:
        return self.status is not None

    def request_line(self) -> str:
        creds = {"good": "", "none": " [no credentials]", "wrong-password": " [wrong password]"}
        return f"{self.probe.method} {self.target}{creds[self.probe.auth]}"

    def answer_line(self) -> str:
        if self.status is None:
            return f"no answer: {self.error}"
        where = f"seq {self.attempt.seq}, " if self.attempt is not None else ""
        kind = self.content_type or "no content type"
        return f"{self.status} {kind}, {len(self.body)} bytes, {self.seconds * 1000:.1f} ms ({where}{self.probe.label})"

    def excerpt(self, near: bytes | None = None, size: int = 240) -> str:
        """Up to ``size`` characters of the body, around ``near`` when it occurs."""
        body = self.body
        if not body:
            return "(empty body)"
        start = 0
        if near:
            found = body.find(near)
            if found > size // 2:
                start = found - size // 3
        text = body[start : start + size].decode("utf-8", "replace")
        text = text.replace("\n", " ").replace("\r", " ")
        more = "..." if start + size < len(body) else ""
        return ("..." if start else "") + text + more

    def describe(self, near: bytes | None = None) -> list[str]:
        """The evidence lines for the report: request, answer, body excerpt."""
        lines = [self.request_line(), "  -> " + self.answer_line()]
        if self.status is not None:
            lines.append("     " + self.excerpt(near))
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "probe": self.probe.to_json(),
            "target": self.target,
            "status": self.status,
            "headers": [list(h) for h in self.headers],
            "body_bytes": len(self.body),
            "body_excerpt": self.body[:EXCERPT_BYTES].decode("utf-8", "replace"),
            "error": self.error,
            "seconds": round(self.seconds, 6),
            "seq": self.attempt.seq if self.attempt is not None else None,
        }


@dataclass(frozen=True)
class ServerVerdict:
    """A contract's judgement of one case: its status, why, and the evidence.

    ``holds`` and ``broken`` judge the server; ``inconclusive`` means the answers needed to
    judge were missing for a reason another contract owns (a broken document, an unusable
    api_path), and ``not applicable`` that the case could not be built here. A broken
    ``SHOULD`` contract is advice, not a failure.
    """

    contract: str
    status: Status
    reason: str
    evidence: tuple[str, ...] = ()

    @property
    def level(self) -> Level:
        return CONTRACTS[self.contract].level

    @property
    def passed(self) -> bool:
        """Not broken (what the report's failure records are keyed on)."""
        return self.status != "broken"

    @property
    def advice(self) -> bool:
        """A broken SHOULD: shown as advice, never breaking certification."""
        return self.status == "broken" and self.level == "SHOULD"

    def report(self) -> str:
        contract = CONTRACTS[self.contract]
        word = {
            "holds": "holds",
            "broken": "ADVICE" if self.advice else "BROKEN",
            "inconclusive": "inconclusive",
            "not applicable": "not applicable",
        }[self.status]
        lines = [f"{self.contract} {word}: {self.reason}"]
        if self.status == "broken":
            lines += [
                f"  rule ({contract.level}): {contract.correct}",
                f"  source: {contract.source}",
            ]
        return "\n".join([*lines, *("  " + line for line in self.evidence)])

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "level": self.level,
            "status": self.status,
            "passed": self.passed,
            "reason": self.reason,
            "evidence": list(self.evidence),
        }
