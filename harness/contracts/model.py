"""The values contracts reason about: a case, what the proxy saw, and a verdict with evidence.

Everything here is plain data. A :class:`Case` says what the harness did (the scenario it loaded,
the operation it ran, what a correct client concludes); an :class:`Evidence` is what the proxy and
the reference MDM observed; the client's own report is a :class:`harness.client.Outcome`. The
checks in :mod:`harness.contracts.checks` are pure functions of those and the client's declared
:class:`harness.client.Policy`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.attempt import Attempt
from harness.scenario import Scenario

from .catalog import CONTRACTS, GROUPS, Level

__all__ = ["CONTRACTS", "GROUPS", "Case", "Evidence", "Verdict", "Window"]


@dataclass(frozen=True)
class Window:
    """A wait the policy allows (or a deadline), for the picture of a failing case.

    Times are on the attempts' clock (monotonic). ``low``/``high`` bound the moment the next
    thing (a retry, the client's report, the end of an attempt) may happen; ``breached_by`` is
    the ``seq`` of the attempt that came outside it (0: the client's report), if any.
    """

    kind: Literal["timeout", "backoff", "retry-after", "deadline"]
    #: The attempt the wait follows (``None``: from the start of the case).
    after_seq: int | None
    low: float
    high: float
    label: str
    breached_by: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "after_seq": self.after_seq,
            "low": self.low,
            "high": self.high,
            "label": self.label,
            "breached_by": self.breached_by,
        }


@dataclass(frozen=True)
class Evidence:
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
    def of_attempts(
        cls,
        records: Sequence[Attempt],
        *,
        actions: Sequence[tuple[str, str]] = (),
        canary_hits: Sequence[Mapping[str, Any]] = (),
        secrets: Sequence[str] = (),
    ) -> Evidence:
        attempts = sorted(records, key=lambda a: (a.began, a.seq))
        return cls(tuple(attempts), tuple(actions), tuple(canary_hits), tuple(secrets))

    def of(self, *operations: str) -> tuple[Attempt, ...]:
        return tuple(a for a in self.attempts if a.operation in operations)

    def timeline(self, t0: float | None = None) -> list[str]:
        if not self.attempts:
            return ["(no attempt reached the proxy)"]
        origin = self.attempts[0].began if t0 is None else t0
        return [a.describe(origin) for a in self.attempts]


#: The scenario of a case that injects nothing.
NO_FAULT = Scenario(name="no-fault")


@dataclass(frozen=True)
class Case:
    """One contract case: what the harness serves and runs, and what a correct client concludes.

    ``scenario`` is a checked :class:`~harness.scenario.Scenario` (loaded into the proxy as
    is, and exported for replay when the case fails). ``expect`` lists the acceptable outcomes
    (``"ok"`` or error categories). The optional fields carry what one contract needs to know.
    """

    contract: str
    title: str
    operation: str
    args: tuple[str, ...] = ()
    scenario: Scenario = NO_FAULT
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
    #: S2: the unique token of the canary file the case's external entities point at; it must
    #: never appear in the client's answer.
    canary_token: str | None = None

    def describe(self) -> str:
        args = " ".join(self.args)
        return f"{self.contract}: {self.title} [{self.operation}{' ' + args if args else ''}]"


@dataclass(frozen=True)
class Verdict:
    """A contract's judgement of one case: passed or not, why, and the evidence.

    ``level`` is the contract's (``MUST`` or ``SHOULD``); a failed ``SHOULD`` verdict is advice,
    not a broken contract. ``windows`` are the waits the policy allowed, for the report's
    picture of the case.
    """

    contract: str
    passed: bool
    reason: str
    evidence: tuple[str, ...] = ()
    windows: tuple[Window, ...] = ()

    @property
    def level(self) -> Level:
        return CONTRACTS[self.contract].level if self.contract in CONTRACTS else "MUST"

    @property
    def advice(self) -> bool:
        """A failed SHOULD: shown as advice, never breaking certification."""
        return not self.passed and self.level == "SHOULD"

    def report(self) -> str:
        word = "holds" if self.passed else "ADVICE" if self.advice else "BROKEN"
        head = f"{self.contract} {word}: {self.reason}"
        return "\n".join([head, *("  " + line for line in self.evidence)])

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "level": self.level,
            "passed": self.passed,
            "reason": self.reason,
            "evidence": list(self.evidence),
            "windows": [w.to_json() for w in self.windows],
        }
