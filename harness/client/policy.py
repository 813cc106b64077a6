"""The client policy: what a client declares it does, as an immutable value.

A client ships a YAML file; :func:`load_policy` parses it (with line numbers, through the
shared :class:`harness.fields.Fields` reader) into a :class:`Policy` of frozen dataclasses.
The contracts check observed behaviour against it, and the reference client runs on it, so
both use the same arithmetic. Modelled on urllib3's ``Retry``: every question a check or a
client asks - is this failure retried for this operation (:meth:`Policy.retries`), how long
may the wait before retry *n* be (:meth:`Policy.delay_bounds`), may a failed request be
re-sent silently (:meth:`Policy.resends`) - is a pure function, tested without sleeping, and
the ``repr`` is compact and pinned.

Two schemas (``docs/clients.md`` describes both, field by field):

* **schema 2** (``schema: 2`` at the top) says what real clients do, exactly: failure kinds
  split by phase (:data:`FAILURE_KINDS`: before the request was sent, after it), retry sets
  per operation class (lookups vs actions), four backoff models (exponential - with or without
  an immediate first retry -, linear, constant, an explicit list), on which statuses
  ``Retry-After`` is honoured and what a long or a zero one does, and a declared transparent
  resend (the JDK's, libcurl's) that is not counted as an attempt::

    schema: 2
    timeout_ms: 1000
    max_attempts: {mdminfo: 3, device: 3, noncompliant: 3, action: 2}
    retry:
      lookups: {failures: [before_send, after_send], statuses: [429, 502, 503, 504]}
      actions: {failures: [connect_refused, connect_timeout, connect_closed]}
    backoff: {model: exponential, initial_ms: 100, multiplier: 2, cap_ms: 1000, jitter: equal}
    retry_after: {statuses: [429, 503], cap_ms: 2000, beyond_cap: give_up, zero: now}

* **schema 1** (no ``schema`` key): today's files, which keep meaning exactly what they
  meant - their ``retry.categories`` expand to failure kinds (:data:`CATEGORY_KINDS`) for
  both operation classes, the backoff is exponential, ``retry_after.honour`` means "on 429
  and 503, a longer one ends the retries".

Every bad file raises :class:`PolicyError` (a :class:`harness.fields.FieldError`) naming the
file, the line and the field.

Over 400 lines: the immutable policy value (urllib3-style, its backoff arithmetic shared by
the checks and the reference client) and its reader for both schemas; the seam between them is
marked below ("Parsing") and would be the place to split.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.client.protocol import OPERATIONS
from harness.fields import LIMITS as FILE_LIMITS
from harness.fields import FieldError, Fields, read_text

__all__ = [
    "AFTER_SEND",
    "BACKOFF_MODELS",
    "BEFORE_SEND",
    "CATEGORY_KINDS",
    "FAILURE_GROUPS",
    "FAILURE_KINDS",
    "JITTER_KINDS",
    "LIMITS",
    "NEVER_RETRIED",
    "OPERATION_CLASSES",
    "RETRYABLE_CATEGORIES",
    "Backoff",
    "Discovery",
    "Paging",
    "Policy",
    "PolicyError",
    "Resend",
    "RetryAfter",
    "RetryRule",
    "RetrySet",
    "category_of",
    "load_policy",
    "operation_class",
    "parse_policy",
]

Jitter = Literal["none", "full", "equal"]
JITTER_KINDS: tuple[Jitter, ...] = ("none", "full", "equal")

BackoffModel = Literal["exponential", "linear", "constant", "list"]
#: The backoff models a policy may declare.
BACKOFF_MODELS: tuple[BackoffModel, ...] = ("exponential", "linear", "constant", "list")

#: How an attempt can fail, as the wire shows it. Before the request was sent:
#: ``connect_refused`` (TCP refused, or the proxy refused the CONNECT), ``connect_timeout``
#: (nothing answered the connect, the CONNECT or the TLS handshake in time),
#: ``connect_closed`` (closed or reset before the request went out), ``tls_error`` (the
#: handshake failed on TLS grounds). After it: ``read_timeout`` (no whole answer in time),
#: ``closed_before_response`` (closed or reset before any response byte),
#: ``closed_mid_response`` (the answer was cut short). And of the answer itself:
#: ``parse_error`` (not a well-formed document), ``protocol_error`` (an answer that breaks the
#: protocol). HTTP statuses are declared by number, apart from these.
FAILURE_KINDS: tuple[str, ...] = (
    "connect_refused",
    "connect_timeout",
    "connect_closed",
    "tls_error",
    "read_timeout",
    "closed_before_response",
    "closed_mid_response",
    "parse_error",
    "protocol_error",
)
#: Failures before any byte of the request left: re-sending cannot repeat anything.
BEFORE_SEND: frozenset[str] = frozenset(FAILURE_KINDS[:4])
#: Failures after the request was sent: the server may have acted on it.
AFTER_SEND: frozenset[str] = frozenset(FAILURE_KINDS[4:7])

#: The schema-1 error categories a policy may list under ``retry.categories``, and the failure
#: kinds each stands for (schema 2 accepts the same names as shorthands).
CATEGORY_KINDS: Mapping[str, frozenset[str]] = {
    "timeout": frozenset({"connect_timeout", "read_timeout"}),
    "connection_error": frozenset(
        {"connect_refused", "connect_closed", "closed_before_response", "closed_mid_response"}
    ),
    "tls_error": frozenset({"tls_error"}),
    "parse_error": frozenset({"parse_error"}),
    "protocol_error": frozenset({"protocol_error"}),
}
RETRYABLE_CATEGORIES: tuple[str, ...] = tuple(CATEGORY_KINDS)

#: Names a schema-2 ``failures`` list may use for several kinds at once.
FAILURE_GROUPS: Mapping[str, frozenset[str]] = {
    "before_send": BEFORE_SEND,
    "after_send": AFTER_SEND,
    "timeout": CATEGORY_KINDS["timeout"],
    "connection_error": CATEGORY_KINDS["connection_error"],
}

#: The operation classes retry sets are declared for.
OPERATION_CLASSES: tuple[str, ...] = ("lookups", "actions")

#: Statuses no policy may retry (a baseline rule: a request that is wrong, unauthorised or
#: aimed at nothing stays so). A declared discovery fallback and an answered authentication
#: challenge are not retries.
NEVER_RETRIED: frozenset[int] = frozenset({400, 401, 403, 404})

#: Every bound the validator applies, by field (the docs' table is tested against it).
LIMITS: Mapping[str, tuple[int, int]] = {
    "timeout_ms": (1, 600_000),
    "max_attempts": (1, 100),
    "statuses": (400, 599),
    "delay_ms": (0, 600_000),
    "list_items": (1, 100),
    "retry_after.cap_ms": (0, 86_400_000),
    "resend.max": (1, 10),
    "paging.max_pages": (1, 1_000_000),
    "paging.busy_wait_cap_ms": (0, 600_000),
}


def operation_class(operation: str) -> str:
    """``lookups`` for mdminfo, device and noncompliant; ``actions`` for action."""
    if operation == "action":
        return "actions"
    if operation in OPERATIONS:
        return "lookups"
    raise ValueError(f"operation={operation!r} is not one of {', '.join(OPERATIONS)}")


def category_of(kind: str) -> str:
    """The error category a client reports for a failure ``kind`` (``read_timeout`` -> ``timeout``)."""
    for category, kinds in CATEGORY_KINDS.items():
        if kind in kinds:
            return category
    raise ValueError(f"kind={kind!r} is not one of {', '.join(FAILURE_KINDS)}")


class PolicyError(FieldError):
    """A bad policy file: ``str()`` is ``file:line: field: problem``."""


def _kinds_repr(kinds: Iterable[str]) -> str:
    chosen = set(kinds)
    return ",".join(k for k in FAILURE_KINDS if k in chosen) or "-"


def _codes(statuses: Iterable[int]) -> str:
    return ",".join(str(s) for s in sorted(statuses)) or "-"


# --------------------------------------------------------------------------------------------
# The value objects


@dataclass(frozen=True)
class Backoff:
    """The wait before each retry; all times in milliseconds. ``model`` picks the arithmetic:

    * ``exponential``: retry *n* waits ``min(cap_ms, initial_ms * multiplier ** (n - 1))``;
      with ``first="immediate"`` the first retry waits 0 and retry *n* (n >= 2) waits
      ``min(cap_ms, initial_ms * multiplier ** (n - 2))`` (urllib3: 0, 2f, 4f ...);
    * ``linear``: ``min(cap_ms, initial_ms + step_ms * (n - 1))`` (wget: 1, 2, 3 s ...);
    * ``constant``: ``initial_ms`` before every retry;
    * ``list``: ``delays_ms[n - 1]``, the last one repeated beyond the list (httpx: 0, 0.5, 1 s).

    ``jitter`` spreads each wait: ``none`` exactly that, ``full`` uniformly in ``[0, that]``,
    ``equal`` in ``[that / 2, that]``.
    """

    initial_ms: int = 0
    multiplier: float = 1.0
    cap_ms: int = 0
    jitter: Jitter = "none"
    model: BackoffModel = "exponential"
    first: Literal["backoff", "immediate"] = "backoff"
    step_ms: int = 0
    delays_ms: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.model not in BACKOFF_MODELS:
            raise ValueError(f"model={self.model!r} is not one of {', '.join(BACKOFF_MODELS)}")
        if self.jitter not in JITTER_KINDS:
            raise ValueError(f"jitter={self.jitter!r} is not one of {', '.join(JITTER_KINDS)}")
        if self.first not in ("backoff", "immediate"):
            raise ValueError(f"first={self.first!r} is not one of backoff, immediate")
        if self.model in ("exponential", "linear") and not 0 <= self.initial_ms <= self.cap_ms:
            raise ValueError(
                f"need 0 <= initial_ms <= cap_ms, got {self.initial_ms}, {self.cap_ms}"
            )
        if not (self.multiplier >= 1.0 and math.isfinite(self.multiplier)):
            raise ValueError(f"multiplier={self.multiplier!r} must be a finite number >= 1")
        if self.step_ms < 0 or self.initial_ms < 0:
            raise ValueError("delays must be >= 0")
        if self.model == "list":
            object.__setattr__(self, "delays_ms", tuple(self.delays_ms))
            if not self.delays_ms or min(self.delays_ms) < 0:
                raise ValueError("a list backoff needs at least one delay, each >= 0")

    # ---- constructors, one per model

    @classmethod
    def exponential(
        cls,
        initial_ms: int,
        multiplier: float,
        cap_ms: int,
        *,
        jitter: Jitter = "none",
        first: Literal["backoff", "immediate"] = "backoff",
    ) -> Backoff:
        return cls(initial_ms, multiplier, cap_ms, jitter, "exponential", first)

    @classmethod
    def linear(
        cls, step_ms: int, cap_ms: int, *, initial_ms: int | None = None, jitter: Jitter = "none"
    ) -> Backoff:
        start = step_ms if initial_ms is None else initial_ms
        return cls(start, 1.0, cap_ms, jitter, "linear", step_ms=step_ms)

    @classmethod
    def constant(cls, delay_ms: int, *, jitter: Jitter = "none") -> Backoff:
        return cls(delay_ms, 1.0, delay_ms, jitter, "constant")

    @classmethod
    def listed(cls, delays_ms: Iterable[int], *, jitter: Jitter = "none") -> Backoff:
        delays = tuple(delays_ms)
        return cls(0, 1.0, max(delays, default=0), jitter, "list", delays_ms=delays)

    # ---- arithmetic

    def base_s(self, retry_number: int) -> float:
        """The un-jittered delay before retry ``retry_number`` (1-based), in seconds."""
        if retry_number < 1:
            raise ValueError(f"retry_number={retry_number!r} must be >= 1")
        if self.model == "constant":
            return self.initial_ms / 1000
        if self.model == "list":
            return self.delays_ms[min(retry_number, len(self.delays_ms)) - 1] / 1000
        if self.model == "linear":
            return min(self.cap_ms, self.initial_ms + self.step_ms * (retry_number - 1)) / 1000
        exponent = retry_number - 1
        if self.first == "immediate":
            if retry_number == 1:
                return 0.0
            exponent -= 1
        if self.initial_ms == 0:
            return 0.0
        # Past the cap the power no longer matters (and could overflow a float).
        if exponent * math.log(self.multiplier) >= math.log(self.cap_ms / self.initial_ms):
            return self.cap_ms / 1000
        return min(self.cap_ms, self.initial_ms * self.multiplier**exponent) / 1000

    def bounds(self, retry_number: int) -> tuple[float, float]:
        """``(low_s, high_s)``: the range a correct client's delay before this retry lies in."""
        base = self.base_s(retry_number)
        if self.jitter == "full":
            return (0.0, base)
        if self.jitter == "equal":
            return (base / 2, base)
        return (base, base)

    def delay(self, retry_number: int, rng: random.Random) -> float:
        """One drawn delay in seconds (``rng`` is consulted only when there is jitter)."""
        low, high = self.bounds(retry_number)
        return low if low == high else rng.uniform(low, high)

    @property
    def max_s(self) -> float:
        """The longest delay this backoff ever asks for, in seconds."""
        if self.model == "list":
            return max(self.delays_ms) / 1000
        if self.model == "constant":
            return self.initial_ms / 1000
        if self.model == "exponential" and self.initial_ms == 0:
            return 0.0
        return self.cap_ms / 1000

    def __repr__(self) -> str:
        jitter = f"jitter={self.jitter}"
        if self.model == "constant":
            return f"Backoff(constant {self.initial_ms}ms {jitter})"
        if self.model == "list":
            return f"Backoff(list {','.join(map(str, self.delays_ms))}ms {jitter})"
        if self.model == "linear":
            return (
                f"Backoff(linear {self.initial_ms}ms +{self.step_ms}ms cap {self.cap_ms}ms "
                f"{jitter})"
            )
        now = "0ms then " if self.first == "immediate" else ""
        return (
            f"Backoff({now}{self.initial_ms}ms x{self.multiplier:g} cap {self.cap_ms}ms {jitter})"
        )


@dataclass(frozen=True)
class RetrySet:
    """What one operation class retries: failure kinds, HTTP statuses, and statuses retried
    only when they carry a ``Retry-After`` (urllib3's ``respect_retry_after_header``)."""

    failures: frozenset[str] = frozenset()
    statuses: frozenset[int] = frozenset()
    if_retry_after: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        for name in ("failures", "statuses", "if_retry_after"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        unknown = set(self.failures) - set(FAILURE_KINDS)
        if unknown:
            raise ValueError(f"unknown failure kinds {sorted(unknown)}")

    def retries_status(self, status: int, *, retry_after: bool = False) -> bool:
        return status in self.statuses or (retry_after and status in self.if_retry_after)

    @property
    def empty(self) -> bool:
        return not (self.failures or self.statuses or self.if_retry_after)

    def __repr__(self) -> str:
        out = f"{_kinds_repr(self.failures)} | {_codes(self.statuses)}"
        if self.if_retry_after:
            out += f" (+{_codes(self.if_retry_after)} with Retry-After)"
        return out


@dataclass(frozen=True, init=False)
class RetryRule:
    """Which failures are retried, per operation class (:data:`OPERATION_CLASSES`).

    ``RetryRule(categories, statuses)`` builds a schema-1 rule (the same set for both
    classes); ``RetryRule(lookups=RetrySet(...), actions=RetrySet(...))`` a schema-2 one.
    """

    lookups: RetrySet
    actions: RetrySet

    def __init__(
        self,
        categories: Iterable[str] = (),
        statuses: Iterable[int] = (),
        *,
        lookups: RetrySet | None = None,
        actions: RetrySet | None = None,
    ) -> None:
        if lookups is None and actions is None:
            kinds: set[str] = set()
            for category in categories:
                if category not in CATEGORY_KINDS:
                    raise ValueError(f"category={category!r} is not one of {RETRYABLE_CATEGORIES}")
                kinds |= CATEGORY_KINDS[category]
            both = RetrySet(frozenset(kinds), frozenset(statuses))
            lookups = actions = both
        elif categories or statuses:
            raise ValueError("give categories/statuses (schema 1) or lookups/actions, not both")
        object.__setattr__(self, "lookups", lookups or RetrySet())
        object.__setattr__(self, "actions", actions or RetrySet())

    def of(self, operation_or_class: str) -> RetrySet:
        """The set of an operation (``device``) or an operation class (``lookups``)."""
        if operation_or_class in OPERATION_CLASSES:
            cls = operation_or_class
        else:
            cls = operation_class(operation_or_class)
        return self.lookups if cls == "lookups" else self.actions

    @property
    def categories(self) -> frozenset[str]:
        """The schema-1 categories whose kinds the lookups retry in full."""
        return frozenset(c for c, k in CATEGORY_KINDS.items() if k <= self.lookups.failures)

    @property
    def statuses(self) -> frozenset[int]:
        """The statuses the lookups retry."""
        return self.lookups.statuses

    def __repr__(self) -> str:
        legacy = frozenset().union(*(CATEGORY_KINDS[c] for c in self.categories))
        if (
            self.lookups == self.actions
            and legacy == self.lookups.failures
            and not self.lookups.if_retry_after
        ):
            cats = ",".join(c for c in RETRYABLE_CATEGORIES if c in self.categories) or "-"
            return f"RetryRule({cats} | {_codes(self.statuses)})"
        return f"RetryRule(lookups {self.lookups!r}; actions {self.actions!r})"


@dataclass(frozen=True)
class RetryAfter:
    """How ``Retry-After`` is treated: on which statuses it decides the wait (``"any"``: on
    every retried one), the longest wait accepted (``cap_ms``; ``None``: no cap), whether a
    longer one is ``clamp``\\ ed to the cap or makes the client ``give_up``, and whether
    ``Retry-After: 0`` means ``now`` or "use the ``backoff``" (curl, urllib3).

    ``RetryAfter(honour=True, cap_ms=2000)`` is the schema-1 form: on 429 and 503, a longer
    one ends the retries.
    """

    honour: bool = False
    cap_ms: int | None = 0
    statuses: frozenset[int] | Literal["any"] = frozenset()
    beyond_cap: Literal["give_up", "clamp"] = "give_up"
    zero: Literal["now", "backoff"] = "now"

    def __post_init__(self) -> None:
        if self.statuses != "any":
            object.__setattr__(self, "statuses", frozenset(self.statuses))
        if self.honour and self.statuses == frozenset():
            object.__setattr__(self, "statuses", frozenset({429, 503}))
        object.__setattr__(self, "honour", self.statuses == "any" or bool(self.statuses))
        if self.cap_ms is not None and self.cap_ms < 0:
            raise ValueError(f"cap_ms={self.cap_ms!r} must be >= 0 (or None: no cap)")
        if self.beyond_cap not in ("give_up", "clamp"):
            raise ValueError(f"beyond_cap={self.beyond_cap!r} is not one of give_up, clamp")
        if self.zero not in ("now", "backoff"):
            raise ValueError(f"zero={self.zero!r} is not one of now, backoff")

    def honoured_on(self, status: int | None) -> bool:
        """Whether a ``Retry-After`` on an answer with ``status`` decides the wait
        (``None``: on some status it is honoured on)."""
        if not self.honour:
            return False
        return status is None or self.statuses == "any" or status in self.statuses

    @property
    def cap_s(self) -> float | None:
        return None if self.cap_ms is None else self.cap_ms / 1000

    def __repr__(self) -> str:
        if not self.honour:
            return "RetryAfter(ignored)"
        cap = "no cap" if self.cap_ms is None else f"cap {self.cap_ms}ms"
        if (
            self.statuses == frozenset({429, 503})
            and self.beyond_cap == "give_up"
            and self.zero == "now"
        ):
            return f"RetryAfter(honour {cap})"
        on = "any status" if isinstance(self.statuses, str) else _codes(self.statuses)
        return f"RetryAfter(on {on} {cap} beyond={self.beyond_cap} zero={self.zero})"


@dataclass(frozen=True)
class Resend:
    """A declared transparent resend: at most ``max`` silent, immediate extra attempts of a
    request after one of the listed failure kinds, per operation class; not counted against
    ``max_attempts`` (the JDK ``HttpClient``'s, libcurl's on a dead reused connection)."""

    max: int = 0
    lookups: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in ("lookups", "actions"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if self.max < 0:
            raise ValueError(f"max={self.max!r} must be >= 0")

    def allows(self, kind: str, operation: str) -> bool:
        """Whether a failure ``kind`` of an ``operation`` (or class) may be re-sent silently."""
        if self.max == 0:
            return False
        cls = operation if operation in OPERATION_CLASSES else operation_class(operation)
        return kind in (self.lookups if cls == "lookups" else self.actions)

    def __repr__(self) -> str:
        if self.max == 0:
            return "Resend(none)"
        return (
            f"Resend({self.max} after lookups {_kinds_repr(self.lookups)}; "
            f"actions {_kinds_repr(self.actions)})"
        )


@dataclass(frozen=True)
class Discovery:
    """Discovery: versions asked in order, which statuses fall back, how many fallbacks."""

    versions: tuple[int, ...] = (3,)
    fallback_on: frozenset[int] = frozenset()
    max_fallbacks: int = 0

    def falls_back_on(self, status: int) -> bool:
        """Whether a discovery answered with ``status`` is retried at the next lower version."""
        return self.max_fallbacks > 0 and status in self.fallback_on

    def __repr__(self) -> str:
        on = ",".join(str(s) for s in sorted(self.fallback_on)) or "-"
        versions = ",".join(map(str, self.versions))
        return f"Discovery(v{versions} fallback on {on} max {self.max_fallbacks})"


@dataclass(frozen=True)
class Paging:
    """Guards on paging: the page cap and how long a ``server_busy_wait_seconds`` is honoured."""

    max_pages: int = 1000
    busy_wait_cap_ms: int = 0

    def __repr__(self) -> str:
        return f"Paging(max {self.max_pages} pages, busy wait cap {self.busy_wait_cap_ms}ms)"


@dataclass(frozen=True)
class Policy:
    """What a client promises. Build one with :func:`load_policy` or :func:`parse_policy`."""

    timeout_ms: int
    max_attempts: Mapping[str, int]
    retry: RetryRule = RetryRule()
    backoff: Backoff = Backoff()
    retry_after: RetryAfter = RetryAfter()
    discovery: Discovery = Discovery()
    paging: Paging = Paging()
    resend: Resend = Resend()
    #: The schema the policy was written in (1 or 2); it changes no meaning.
    schema: int = dataclasses.field(default=1, compare=False)
    source: str = dataclasses.field(default="<policy>", compare=False)

    def __post_init__(self) -> None:
        missing = [op for op in OPERATIONS if op not in self.max_attempts]
        if missing:
            raise ValueError(f"max_attempts lacks {', '.join(missing)}")
        # A read-only copy, so the value object stays immutable all the way down.
        object.__setattr__(self, "max_attempts", _FrozenMap(self.max_attempts))

    # ---- queries the contract checks and the reference client use

    @property
    def timeout_s(self) -> float:
        """The per-request timeout in seconds."""
        return self.timeout_ms / 1000

    def max_attempts_for(self, operation: str) -> int:
        """How many attempts one request of ``operation`` gets (1 = never retried); a declared
        transparent resend comes on top."""
        try:
            return self.max_attempts[operation]
        except KeyError:
            raise ValueError(
                f"operation={operation!r} is not one of {', '.join(OPERATIONS)}"
            ) from None

    def retries(
        self,
        kind: str | None = None,
        operation: str = "device",
        *,
        status: int | None = None,
        category: str | None = None,
        retry_after: bool = False,
    ) -> bool:
        """Whether a failure is retried for ``operation`` (or an operation class).

        Give exactly one of: ``kind`` (one of :data:`FAILURE_KINDS`), ``status`` (an HTTP
        status; ``retry_after``: the answer carried a ``Retry-After``), or ``category`` (a
        schema-1 category: retried when any of its kinds is). The baseline rules still
        apply: 400/401/403/404 are never retried (:data:`NEVER_RETRIED`) whatever this says,
        and an attempt is retried only while :meth:`max_attempts_for` allows.
        """
        if sum(x is not None for x in (kind, status, category)) != 1:
            raise ValueError("give exactly one of kind, category= or status=")
        rules = self.retry.of(operation)
        if status is not None:
            return rules.retries_status(status, retry_after=retry_after)
        if category is not None:
            if category not in CATEGORY_KINDS:
                return False
            return bool(CATEGORY_KINDS[category] & rules.failures)
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind={kind!r} is not one of {', '.join(FAILURE_KINDS)}")
        return kind in rules.failures

    def retries_anything(self, operation: str = "device") -> bool:
        """Whether anything at all is retried (or re-sent) for ``operation``."""
        if self.max_attempts_for(operation) > 1 and not self.retry.of(operation).empty:
            return True
        return self.resend.max > 0 and bool(
            self.resend.lookups if operation_class(operation) == "lookups" else self.resend.actions
        )

    def resends(self, kind: str, operation: str = "device") -> bool:
        """Whether a failure ``kind`` of ``operation`` may be followed by a transparent resend."""
        return self.resend.allows(kind, operation)

    @property
    def retry_after_honoured(self) -> bool:
        """Whether ``Retry-After`` decides the wait on any status at all."""
        return self.retry_after.honour

    @property
    def retry_after_cap_s(self) -> float:
        """The longest ``Retry-After`` waited for (``inf``: no cap)."""
        cap = self.retry_after.cap_s
        return math.inf if cap is None else cap

    def delay_bounds(
        self, retry_number: int, retry_after_s: float | None = None, *, status: int | None = None
    ) -> tuple[float, float] | None:
        """The wait before retry ``retry_number`` (1-based), or ``None`` if the client gives
        up instead.

        ``retry_after_s`` is the ``Retry-After`` of the failed answer, ``status`` its status
        (``None``: a status on which ``Retry-After`` is honoured). An honoured ``Retry-After``
        decides the wait: exactly that; beyond the cap, the cap (``clamp``) or ``None``
        (``give_up``); ``0`` is "now" or, with ``zero: backoff``, the backoff. Otherwise the
        backoff's bounds.
        """
        ra = self.retry_after
        if retry_after_s is not None and ra.honoured_on(status):
            wait = max(0.0, retry_after_s)
            if wait == 0 and ra.zero == "backoff":
                return self.backoff.bounds(retry_number)
            cap = ra.cap_s
            if cap is not None and wait > cap:
                if ra.beyond_cap == "give_up":
                    return None
                wait = cap
            return (wait, wait)
        return self.backoff.bounds(retry_number)

    def next_delay(
        self,
        retry_number: int,
        rng: random.Random,
        retry_after_s: float | None = None,
        *,
        status: int | None = None,
    ) -> float | None:
        """One drawn wait within :meth:`delay_bounds` (``None``: give up)."""
        bounds = self.delay_bounds(retry_number, retry_after_s, status=status)
        if bounds is None:
            return None
        low, high = bounds
        return low if low == high else rng.uniform(low, high)

    def longest_wait_s(self, retry_after_s: float = 0.0) -> float:
        """The longest wait before any retry, for a ``Retry-After`` of at most ``retry_after_s``."""
        cap = self.retry_after.cap_s
        ra = min(retry_after_s, cap) if cap is not None else retry_after_s
        return max(self.backoff.max_s, ra if self.retry_after.honour else 0.0)

    def replace(self, **changes: Any) -> Policy:
        """A copy with ``changes`` (e.g. ``timeout_ms=5000``) applied and validated."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        attempts = ",".join(f"{op}={self.max_attempts[op]}" for op in OPERATIONS)
        resend = f" {self.resend!r}" if self.resend.max else ""
        return (
            f"Policy({self.timeout_ms}ms attempts[{attempts}] {self.retry!r} {self.backoff!r} "
            f"{self.retry_after!r} {self.discovery!r} {self.paging!r}{resend})"
        )


class _FrozenMap(Mapping[str, int]):
    """A read-only mapping (``types.MappingProxyType`` is not hashable or comparable by value)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, int]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> int:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(other) == self._data

    def __repr__(self) -> str:
        return repr(self._data)


# --------------------------------------------------------------------------------------------
# Parsing (both schemas, through harness.fields)

_TOP_1 = ("timeout_ms", "max_attempts", "retry", "backoff", "retry_after", "discovery", "paging")
_TOP_2 = (*_TOP_1, "resend", "schema")


def _section(parent: Fields, key: str) -> Fields:
    """The mapping at ``key``, with errors about it reported at the key's line."""
    value = parent.raw(key)
    if not isinstance(value, Mapping):
        raise parent.fail(key, f"expected a mapping, got {_show(value)}")
    return Fields(
        value, source=parent.source, field=parent.path(key), line=parent.line_for(key, value=False)
    )


def _show(value: Any) -> str:
    from harness._yaml import show

    return show(value)


def _int(node: Fields, key: str | int, limits: tuple[int, int], default: Any = ...) -> int:
    """An integer within ``limits`` (the message shows the bounds in full)."""
    value = node.integer(key) if default is ... else node.integer(key, default)
    low, high = limits
    if not low <= value <= high:
        raise node.fail(key, f"{value} is not between {low} and {high}")
    return value


def _statuses(node: Fields, key: str) -> frozenset[int]:
    if key not in node:
        return frozenset()
    items = node.sequence(key, max_len=200)
    return frozenset(_int(items, i, LIMITS["statuses"]) for i in items.indexes())


def _kinds(node: Fields, key: str) -> frozenset[str]:
    """A list of failure kinds and group names (``before_send``, ``timeout``, ...)."""
    if key not in node:
        return frozenset()
    items = node.sequence(key, max_len=50)
    names = (*FAILURE_KINDS, *FAILURE_GROUPS)
    kinds: set[str] = set()
    for i in items.indexes():
        name = items.choice(i, names)
        kinds |= FAILURE_GROUPS.get(name, frozenset({name}))
    return frozenset(kinds)


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse policy YAML ``text``; ``source`` names it in errors and in ``Policy.source``."""
    try:
        try:
            bounds = FILE_LIMITS["policy"]
            top = Fields.load(
                text,
                source=source,
                kind="file",
                max_bytes=bounds.max_bytes,
                max_depth=bounds.max_depth,
                max_nodes=bounds.max_nodes,
            )
        except FieldError as exc:
            if exc.field == "" and exc.problem.startswith("expected a mapping"):
                raise FieldError(exc.source, exc.line, "policy", exc.problem) from None
            raise
        schema = 1
        if "schema" in top:
            schema = top.choice("schema", (1, 2))
        return _parse(top, source, schema)
    except PolicyError:
        raise
    except FieldError as exc:
        raise PolicyError(exc.source, exc.line, exc.field, exc.problem) from None


def _parse(top: Fields, source: str, schema: int) -> Policy:
    top.check_keys(
        (*_TOP_1, "schema") if schema == 1 else _TOP_2, required=("timeout_ms", "max_attempts")
    )
    kwargs: dict[str, Any] = {"source": source, "schema": schema}
    kwargs["timeout_ms"] = _int(top, "timeout_ms", LIMITS["timeout_ms"])

    attempts = _section(top, "max_attempts")
    attempts.check_keys(OPERATIONS, required=OPERATIONS)
    kwargs["max_attempts"] = {op: _int(attempts, op, LIMITS["max_attempts"]) for op in OPERATIONS}

    if "retry" in top:
        kwargs["retry"] = _retry_v1(top) if schema == 1 else _retry_v2(top)
    if "backoff" in top:
        kwargs["backoff"] = _backoff_v1(top) if schema == 1 else _backoff_v2(top)
    if "retry_after" in top:
        kwargs["retry_after"] = _retry_after_v1(top) if schema == 1 else _retry_after_v2(top)
    if "resend" in top:
        kwargs["resend"] = _resend(top)
    if "discovery" in top:
        kwargs["discovery"] = _discovery(top)
    if "paging" in top:
        node = _section(top, "paging")
        node.check_keys(("max_pages", "busy_wait_cap_ms"))
        kwargs["paging"] = Paging(
            max_pages=_int(node, "max_pages", LIMITS["paging.max_pages"], 1000),
            busy_wait_cap_ms=_int(node, "busy_wait_cap_ms", LIMITS["paging.busy_wait_cap_ms"], 0),
        )
    return Policy(**kwargs)


def _retry_v1(top: Fields) -> RetryRule:
    node = _section(top, "retry")
    node.check_keys(("categories", "statuses"))
    categories: list[str] = []
    if "categories" in node:
        items = node.sequence("categories", max_len=50)
        categories = [items.choice(i, RETRYABLE_CATEGORIES) for i in items.indexes()]
    return RetryRule(categories, _statuses(node, "statuses"))


def _retry_v2(top: Fields) -> RetryRule:
    node = _section(top, "retry")
    node.check_keys(OPERATION_CLASSES)
    sets: dict[str, RetrySet] = {}
    for cls in OPERATION_CLASSES:
        if cls not in node:
            sets[cls] = RetrySet()
            continue
        rules = _section(node, cls)
        rules.check_keys(("failures", "statuses", "if_retry_after"))
        sets[cls] = RetrySet(
            _kinds(rules, "failures"),
            _statuses(rules, "statuses"),
            _statuses(rules, "if_retry_after"),
        )
    return RetryRule(lookups=sets["lookups"], actions=sets["actions"])


def _delay(node: Fields, key: str | int, default: Any = ...) -> int:
    return _int(node, key, LIMITS["delay_ms"], default)


def _backoff_v1(top: Fields) -> Backoff:
    node = _section(top, "backoff")
    fields = ("initial_ms", "multiplier", "cap_ms", "jitter")
    node.check_keys(fields, required=fields)
    initial, cap = _delay(node, "initial_ms"), _delay(node, "cap_ms")
    if cap < initial:
        raise node.fail("cap_ms", f"{cap} is less than initial_ms {initial}")
    return Backoff(
        initial_ms=initial,
        multiplier=_multiplier(node),
        cap_ms=cap,
        jitter=node.choice("jitter", JITTER_KINDS),
    )


def _multiplier(node: Fields) -> float:
    value = node.number("multiplier")
    if value < 1:
        raise node.fail("multiplier", f"{value:g} must be a finite number >= 1")
    return value


_MODEL_FIELDS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # model: (known fields, required fields)
    "exponential": (
        ("model", "initial_ms", "multiplier", "cap_ms", "jitter", "first"),
        ("initial_ms", "multiplier", "cap_ms"),
    ),
    "linear": (("model", "step_ms", "initial_ms", "cap_ms", "jitter"), ("step_ms", "cap_ms")),
    "constant": (("model", "delay_ms", "jitter"), ("delay_ms",)),
    "list": (("model", "delays_ms", "jitter"), ("delays_ms",)),
}


def _backoff_v2(top: Fields) -> Backoff:
    node = _section(top, "backoff")
    model = node.choice("model", BACKOFF_MODELS)
    known, required = _MODEL_FIELDS[model]
    node.check_keys(known, required=required)
    jitter: Jitter = node.choice("jitter", JITTER_KINDS, "none")
    if model == "constant":
        return Backoff.constant(_delay(node, "delay_ms"), jitter=jitter)
    if model == "list":
        items = node.sequence("delays_ms", min_len=1, max_len=LIMITS["list_items"][1])
        return Backoff.listed([_delay(items, i) for i in items.indexes()], jitter=jitter)
    cap = _delay(node, "cap_ms")
    if model == "linear":
        step = _delay(node, "step_ms")
        initial = _delay(node, "initial_ms", step)
        if cap < initial:
            raise node.fail("cap_ms", f"{cap} is less than initial_ms {initial}")
        return Backoff.linear(step, cap, initial_ms=initial, jitter=jitter)
    initial = _delay(node, "initial_ms")
    if cap < initial:
        raise node.fail("cap_ms", f"{cap} is less than initial_ms {initial}")
    first: Literal["backoff", "immediate"] = node.choice(
        "first", ("backoff", "immediate"), "backoff"
    )
    return Backoff.exponential(initial, _multiplier(node), cap, jitter=jitter, first=first)


def _retry_after_v1(top: Fields) -> RetryAfter:
    node = _section(top, "retry_after")
    node.check_keys(("honour", "cap_ms"), required=("honour",))
    honour = node.boolean("honour")
    cap = 0
    if "cap_ms" in node:
        cap = _int(node, "cap_ms", LIMITS["delay_ms"])
    elif honour:
        raise FieldError(
            node.source, node.line, "retry_after.cap_ms", "missing (required when honour is true)"
        )
    return RetryAfter(honour=honour, cap_ms=cap)


def _retry_after_v2(top: Fields) -> RetryAfter:
    node = _section(top, "retry_after")
    node.check_keys(("statuses", "cap_ms", "beyond_cap", "zero"))
    statuses: frozenset[int] | Literal["any"] = (
        "any" if node.raw("statuses", None) == "any" else _statuses(node, "statuses")
    )
    cap: int | None = 0
    if "cap_ms" in node:
        cap = (
            None
            if node.raw("cap_ms") == "unlimited"
            else _int(node, "cap_ms", LIMITS["retry_after.cap_ms"])
        )
    elif statuses:
        raise node.missing("cap_ms")
    return RetryAfter(
        cap_ms=cap,
        statuses=statuses,
        beyond_cap=node.choice("beyond_cap", ("give_up", "clamp"), "give_up"),
        zero=node.choice("zero", ("now", "backoff"), "now"),
    )


def _resend(top: Fields) -> Resend:
    node = _section(top, "resend")
    node.check_keys(("max", *OPERATION_CLASSES), required=("max",))
    return Resend(
        max=_int(node, "max", LIMITS["resend.max"]),
        lookups=_kinds(node, "lookups"),
        actions=_kinds(node, "actions"),
    )


def _discovery(top: Fields) -> Discovery:
    node = _section(top, "discovery")
    node.check_keys(("versions", "fallback_on", "max_fallbacks"), required=("versions",))
    items = node.sequence("versions", max_len=10)
    if not len(items):
        raise node.fail("versions", "must list at least one version")
    versions: list[int] = []
    for i in items.indexes():
        version = _int(items, i, (1, 3))
        if version in versions:
            raise items.fail(i, f"version {version} is listed twice")
        versions.append(version)
    fallback_on = _statuses(node, "fallback_on")
    max_fallbacks = 0
    if "max_fallbacks" in node:
        max_fallbacks = _int(node, "max_fallbacks", (0, len(versions) - 1))
    elif fallback_on:
        max_fallbacks = len(versions) - 1
    return Discovery(tuple(versions), fallback_on, max_fallbacks)


def load_policy(path: str | Path) -> Policy:
    """Read and parse the policy file at ``path`` (errors name the file, line and field).

    Reads at most the policy size limit (1 MiB) and one byte more: ``/dev/zero``, a FIFO or a
    100 MB file is refused at once, never read whole."""
    text = read_text(path, max_bytes=FILE_LIMITS["policy"].max_bytes, error=PolicyError)
    return parse_policy(text, source=str(path))
