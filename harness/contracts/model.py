"""The values contracts reason about: a case, what the proxy saw, and a verdict with evidence.

Everything here is plain data. A :class:`Case` says what the harness did (the scenario it loaded,
the operation it ran, what a correct client concludes); a :class:`Journal` is what the proxy and
the reference MDM observed; the client's own report is a :class:`harness.client.Outcome`. The
checks in :mod:`harness.contracts.checks` are pure functions of those and the client's declared
:class:`harness.client.Policy`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONTRACTS", "GROUPS", "Attempt", "Case", "Journal", "Verdict"]

#: Every contract: id -> (group, one-line promise). The README's contract table mirrors this.
CONTRACTS: Mapping[str, tuple[str, str]] = {
    "T1": (
        "transport",
        "a hang ends within the declared timeout plus tolerance, reported as timeout",
    ),
    "T2": ("transport", "never more attempts than declared"),
    "T3": (
        "transport",
        "only declared failures are retried (400/401/403/404 never, but a declared discovery fallback)",
    ),
    "T4": (
        "transport",
        "gaps between attempts respect the declared backoff, and Retry-After when declared",
    ),
    "T5": ("transport", "no request after success"),
    "T6": (
        "transport",
        "CONNECT- and TLS-phase failures are reported as connection_error, timeout or tls_error",
    ),
    "T7": ("transport", "a reset or close mid-body is never reported as success"),
    "T8": (
        "transport",
        "a non-idempotent action is executed at most once on the server, whatever the faults",
    ),
    "P1": ("parsing", "valid variants parse to exactly the expected values"),
    "P2": ("parsing", "malformed bodies give parse_error, never ok, never a crash"),
    "P3": (
        "parsing",
        "missing required elements or wrong types give parse_error or protocol_error",
    ),
    "P4": ("parsing", "unknown elements and element order do not matter"),
    "P5": ("parsing", "a full query_max_size page parses within a bound"),
    "R1": (
        "protocol",
        "discovery asks with ise_api_version and the client then uses the api_path it was given",
    ),
    "R2": (
        "protocol",
        "a lower api_version answer is honoured; a v3 answer without vendor fields is not accepted",
    ),
    "R3": ("protocol", "MAC addresses are sent as 12 upper-case hex digits"),
    "R4": ("protocol", "paging cursors are passed back verbatim until the end"),
    "R5": ("protocol", "a paging cursor loop is detected"),
    "R6": ("protocol", "an empty deviceList means unregistered, not an error"),
    "S1": (
        "security",
        "certificates are verified: a bad one gives tls_error and no request reaches the server",
    ),
    "S2": ("security", "an external entity is never fetched"),
    "S3": (
        "security",
        "an entity-expansion bomb ends as parse_error within time and memory bounds",
    ),
    "S4": ("security", "credentials never go to another host on a redirect, nor over plain HTTP"),
    "S5": ("security", "the password never appears in the client's output"),
}

GROUPS: tuple[str, ...] = ("transport", "parsing", "protocol", "security")


@dataclass(frozen=True)
class Attempt:
    """One attempt as the proxy's journal recorded it (see docs/proxy.md for every key)."""

    seq: int
    start: float
    end: float | None
    phase: str
    client_end: str | None
    method: str | None = None
    host: str | None = None
    scheme: str | None = None
    path: str | None = None
    query: str = ""
    params: Mapping[str, Sequence[str]] = field(default_factory=dict)
    operation: str | None = None
    fault: Mapping[str, Any] | None = None
    status: int | None = None
    response_bytes: int = 0
    upstream: bool = False
    auth: Mapping[str, Any] | None = None
    connect_start: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Attempt:
        return cls(
            seq=int(record["seq"]),
            start=float(record["start"]),
            end=None if record.get("end") is None else float(record["end"]),
            phase=str(record.get("phase")),
            client_end=record.get("client_end"),
            method=record.get("method"),
            host=record.get("host"),
            scheme=record.get("scheme"),
            path=record.get("path"),
            query=record.get("query") or "",
            params=record.get("params") or {},
            operation=record.get("operation"),
            fault=record.get("fault"),
            status=record.get("status"),
            response_bytes=int(record.get("response_bytes") or 0),
            upstream=bool(record.get("upstream")),
            auth=record.get("auth"),
            connect_start=record.get("connect_start"),
            raw=record,
        )

    @property
    def began(self) -> float:
        """When the client started this attempt (its CONNECT, when it opened a tunnel for it)."""
        return self.connect_start if self.connect_start is not None else self.start

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.began

    @property
    def sent_request(self) -> bool:
        """Whether an HTTP request was received from the client in this attempt."""
        return self.method is not None and self.phase not in ("connect", "tls")

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    @property
    def fault_kind(self) -> str | None:
        return None if not self.fault else str(self.fault.get("kind"))

    @property
    def succeeded(self) -> bool:
        """A 2xx answer delivered completely, from an unmutated body."""
        return (
            self.status is not None
            and 200 <= self.status < 300
            and self.client_end == "completed"
            and not self.fault
        )

    def describe(self, t0: float) -> str:
        """One timeline line: offset, request, fault, status, how it ended, duration."""
        what = (
            f"{self.method} {self.path}{'?' + self.query if self.query else ''}"
            if self.method
            else f"({self.phase} phase)"
        )
        fault = f" fault={self.fault_kind}" if self.fault else ""
        status = f" -> {self.status}" if self.status is not None else ""
        took = f" {1000 * self.duration:.0f} ms" if self.duration is not None else " (in flight)"
        auth = " [auth]" if self.auth else ""
        if self.raw.get("fault_error"):
            fault += f" (fault failed: {self.raw['fault_error']})"
        elif self.client_end == "error" and self.raw.get("error"):
            fault += f" ({self.raw['error']})"
        return f"+{self.began - t0:7.3f}s #{self.seq} {self.scheme or '?'}://{self.host or '?'} {what}{auth}{fault}{status} ({self.client_end}){took}"


@dataclass(frozen=True)
class Journal:
    """What the harness saw of one case: the proxy's attempts and the server-side facts."""

    attempts: tuple[Attempt, ...]
    #: Actions the reference MDM executed during the case, as ``(action, device key)``.
    actions: tuple[tuple[str, str], ...] = ()
    #: Requests for the canary URL (an external entity being fetched).
    canary_hits: tuple[Mapping[str, Any], ...] = ()
    #: What must never appear in the client's output: the password, and the Basic credentials
    #: it forms (the harness knows them; they are never written to a report).
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_records(
        cls,
        records: Sequence[Mapping[str, Any]],
        *,
        actions: Sequence[tuple[str, str]] = (),
        canary_hits: Sequence[Mapping[str, Any]] = (),
        secrets: Sequence[str] = (),
    ) -> Journal:
        attempts = sorted((Attempt.from_record(r) for r in records), key=lambda a: (a.began, a.seq))
        return cls(tuple(attempts), tuple(actions), tuple(canary_hits), tuple(secrets))

    def of(self, *operations: str) -> tuple[Attempt, ...]:
        return tuple(a for a in self.attempts if a.operation in operations)

    def timeline(self, t0: float | None = None) -> list[str]:
        if not self.attempts:
            return ["(no attempt reached the proxy)"]
        origin = self.attempts[0].began if t0 is None else t0
        return [a.describe(origin) for a in self.attempts]


@dataclass(frozen=True)
class Case:
    """One contract case: what the harness serves and runs, and what a correct client concludes.

    ``scenario`` is a scenario in the schema of ``docs/scenarios.md`` (loaded into the proxy as
    is, and exported for replay when the case fails). ``expect`` lists the acceptable outcomes
    (``"ok"`` or error categories). The optional fields carry what one contract needs to know.
    """

    contract: str
    title: str
    operation: str
    args: tuple[str, ...] = ()
    scenario: Mapping[str, Any] = field(default_factory=dict)
    expect: frozenset[str] = frozenset({"ok"})
    #: The journal ``operation`` the case's faults aim at (mdminfo, devices, noncompliant, action).
    target: str | None = None
    expected_result: Mapping[str, Any] | None = None
    api_path: str | None = None
    api_version: int | None = None
    cursors: tuple[str, ...] | None = None
    device_key: str | None = None
    mac_written: str | None = None
    #: The host the credentials belong to (the MDM's public host name).
    host: str | None = None
    #: A bound (seconds) a contract applies beyond the policy (P5 parse time, S3 time).
    bound_s: float | None = None
    #: The fault family the case injects (e.g. ``connect_hang``), for T6's expectations.
    fault: str | None = None

    def describe(self) -> str:
        args = " ".join(self.args)
        return f"{self.contract}: {self.title} [{self.operation}{' ' + args if args else ''}]"


@dataclass(frozen=True)
class Verdict:
    """A contract's judgement of one case: passed or not, why, and the evidence."""

    contract: str
    passed: bool
    reason: str
    evidence: tuple[str, ...] = ()

    def report(self) -> str:
        head = f"{self.contract} {'holds' if self.passed else 'BROKEN'}: {self.reason}"
        return "\n".join([head, *("  " + line for line in self.evidence)])

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "passed": self.passed,
            "reason": self.reason,
            "evidence": list(self.evidence),
        }
