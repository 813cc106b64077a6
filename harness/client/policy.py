"""The client policy: what a client declares it does, as an immutable value.

A client ships a YAML file; :func:`load_policy` parses it (with line numbers) into a
:class:`Policy` of frozen dataclasses. Contracts check observed behaviour against it, and the
reference client runs on it, so both use the same arithmetic. Modelled on urllib3's ``Retry``:
the backoff is a pure function (:meth:`Backoff.bounds`, :meth:`Backoff.delay`) tested without
sleeping, and the ``repr`` is compact and stable.

Schema (``docs/clients.md`` has the full description)::

    timeout_ms: 1000                 # per-request timeout; the harness passes it as MDM_TIMEOUT_MS
    max_attempts: {mdminfo: 3, device: 3, noncompliant: 3, action: 2}
    retry:
      categories: [timeout, connection_error]   # transport failures it retries
      statuses: [429, 502, 503, 504]            # HTTP statuses it retries
    backoff: {initial_ms: 100, multiplier: 2, cap_ms: 1000, jitter: equal}
    retry_after: {honour: true, cap_ms: 2000}
    discovery: {versions: [3, 2, 1], fallback_on: [401], max_fallbacks: 1}
    paging: {max_pages: 1000, busy_wait_cap_ms: 2000}

Every bad file raises :class:`PolicyError` naming the file, the line and the field.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness._yaml import YAMLSyntaxError, line_of, show
from harness._yaml import load as load_yaml
from harness.client.protocol import OPERATIONS

__all__ = [
    "JITTER_KINDS",
    "RETRYABLE_CATEGORIES",
    "Backoff",
    "Discovery",
    "Paging",
    "Policy",
    "PolicyError",
    "RetryAfter",
    "RetryRule",
    "load_policy",
    "parse_policy",
]

Jitter = Literal["none", "full", "equal"]
JITTER_KINDS: tuple[Jitter, ...] = ("none", "full", "equal")

#: Error categories a policy may list under ``retry.categories``: failures of the transport or
#: of the answer. Status-derived categories (unauthorized, not_found, server_error) are
#: declared by HTTP status under ``retry.statuses`` instead, so that "retries 503 but not 500"
#: can be said.
RETRYABLE_CATEGORIES: tuple[str, ...] = (
    "timeout",
    "connection_error",
    "tls_error",
    "parse_error",
    "protocol_error",
)

SUPPORTED_VERSIONS = (1, 2, 3)
_MAX_TIMEOUT_MS = 600_000
_MAX_ATTEMPTS = 100


class PolicyError(ValueError):
    """A bad policy file: ``str()`` is ``file:line: field: problem``."""

    def __init__(self, path: str, line: int | None, field: str, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


# --------------------------------------------------------------------------------------------
# The value objects


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with a cap and a jitter kind; all times in milliseconds.

    The *n*-th retry (n = 1 for the first) waits around ``base(n) = min(cap_ms, initial_ms *
    multiplier ** (n - 1))``: exactly that with ``jitter=none``, uniformly in ``[0, base]``
    with ``full`` and in ``[base / 2, base]`` with ``equal``.
    """

    initial_ms: int = 0
    multiplier: float = 1.0
    cap_ms: int = 0
    jitter: Jitter = "none"

    def __post_init__(self) -> None:
        if self.initial_ms < 0 or self.cap_ms < self.initial_ms:
            raise ValueError(
                f"need 0 <= initial_ms <= cap_ms, got {self.initial_ms}, {self.cap_ms}"
            )
        if not (self.multiplier >= 1.0 and math.isfinite(self.multiplier)):
            raise ValueError(f"multiplier={self.multiplier!r} must be a finite number >= 1")
        if self.jitter not in JITTER_KINDS:
            raise ValueError(f"jitter={self.jitter!r} is not one of {', '.join(JITTER_KINDS)}")

    def base_s(self, retry_number: int) -> float:
        """The un-jittered delay before retry ``retry_number`` (1-based), in seconds."""
        if retry_number < 1:
            raise ValueError(f"retry_number={retry_number!r} must be >= 1")
        exponent = retry_number - 1
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

    def __repr__(self) -> str:
        return (
            f"Backoff({self.initial_ms}ms x{self.multiplier:g} cap {self.cap_ms}ms "
            f"jitter={self.jitter})"
        )


@dataclass(frozen=True)
class RetryRule:
    """Which failures are retried: transport categories and HTTP statuses."""

    categories: frozenset[str] = frozenset()
    statuses: frozenset[int] = frozenset()

    def __repr__(self) -> str:
        cats = ",".join(c for c in RETRYABLE_CATEGORIES if c in self.categories) or "-"
        codes = ",".join(str(s) for s in sorted(self.statuses)) or "-"
        return f"RetryRule({cats} | {codes})"


@dataclass(frozen=True)
class RetryAfter:
    """Whether ``Retry-After`` is honoured, and the longest wait the client accepts."""

    honour: bool = False
    cap_ms: int = 0

    def __repr__(self) -> str:
        return f"RetryAfter(honour cap {self.cap_ms}ms)" if self.honour else "RetryAfter(ignored)"


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
        """How many attempts one request of ``operation`` gets (1 = never retried)."""
        try:
            return self.max_attempts[operation]
        except KeyError:
            raise ValueError(
                f"operation={operation!r} is not one of {', '.join(OPERATIONS)}"
            ) from None

    def retries(self, *, category: str | None = None, status: int | None = None) -> bool:
        """Whether a failure of this ``category`` (transport) or HTTP ``status`` is retried.

        Exactly one of the two must be given. Whether a retry actually happens also depends
        on :meth:`max_attempts_for` and, for actions, on whether the request may have reached
        the server (never re-sent then).
        """
        if (category is None) == (status is None):
            raise ValueError("give exactly one of category= or status=")
        if status is not None:
            return status in self.retry.statuses
        return category in self.retry.categories

    @property
    def retry_after_honoured(self) -> bool:
        """Whether ``Retry-After`` decides the wait before a retried 429/503."""
        return self.retry_after.honour

    @property
    def retry_after_cap_s(self) -> float:
        """The longest ``Retry-After`` waited for; a longer one ends the retries."""
        return self.retry_after.cap_ms / 1000

    def delay_bounds(
        self, retry_number: int, retry_after_s: float | None = None
    ) -> tuple[float, float] | None:
        """The wait before retry ``retry_number``, or ``None`` if the client gives up instead.

        With ``Retry-After`` honoured and given: exactly that many seconds, or ``None`` when it
        exceeds the cap. Otherwise the backoff bounds.
        """
        if retry_after_s is not None and self.retry_after.honour:
            if retry_after_s > self.retry_after_cap_s:
                return None
            wait = max(0.0, retry_after_s)
            return (wait, wait)
        return self.backoff.bounds(retry_number)

    def next_delay(
        self, retry_number: int, rng: random.Random, retry_after_s: float | None = None
    ) -> float | None:
        """One drawn wait within :meth:`delay_bounds` (``None``: give up)."""
        bounds = self.delay_bounds(retry_number, retry_after_s)
        if bounds is None:
            return None
        low, high = bounds
        return low if low == high else rng.uniform(low, high)

    def replace(self, **changes: Any) -> Policy:
        """A copy with ``changes`` (e.g. ``timeout_ms=5000``) applied and validated."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        attempts = ",".join(f"{op}={self.max_attempts[op]}" for op in OPERATIONS)
        return (
            f"Policy({self.timeout_ms}ms attempts[{attempts}] {self.retry!r} {self.backoff!r} "
            f"{self.retry_after!r} {self.discovery!r} {self.paging!r})"
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
# Parsing


class _Reader:
    """Walks a ruamel.yaml round-trip tree, raising :class:`PolicyError` with line numbers."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: Any, key: Any, field: str, problem: str) -> PolicyError:
        return PolicyError(self.path, line_of(node, key), field, problem)

    def mapping(
        self,
        parent: Any,
        key: Any,
        field: str,
        known: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> Mapping[str, Any]:
        node = parent[key] if key is not None else parent
        if not isinstance(node, Mapping):
            raise self.fail(parent, key, field or "policy", f"expected a mapping, got {show(node)}")
        for name in node:
            if name not in known:
                raise self.fail(
                    node,
                    name,
                    _join(field, str(name)),
                    f"unknown field; expected one of {', '.join(known)}",
                )
        for name in required:
            if name not in node:
                raise self.fail(parent, key, _join(field, name), "missing")
        return node

    def integer(self, node: Any, key: Any, field: str, *, low: int, high: int) -> int:
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(node, key, field, f"expected an integer, got {show(value)}")
        if not low <= value <= high:
            raise self.fail(node, key, field, f"{value} is not between {low} and {high}")
        return int(value)

    def number(self, node: Any, key: Any, field: str, *, low: float) -> float:
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(node, key, field, f"expected a number, got {show(value)}")
        if not (math.isfinite(value) and value >= low):
            raise self.fail(node, key, field, f"{value} must be a finite number >= {low:g}")
        return float(value)

    def boolean(self, node: Any, key: Any, field: str) -> bool:
        value = node[key]
        if not isinstance(value, bool):
            raise self.fail(node, key, field, f"expected true or false, got {show(value)}")
        return value

    def choice(self, node: Any, key: Any, field: str, choices: tuple[str, ...]) -> str:
        value = node[key]
        if not isinstance(value, str) or value not in choices:
            raise self.fail(node, key, field, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def sequence(self, node: Any, key: Any, field: str) -> list[Any]:
        value = node[key]
        if not isinstance(value, list):
            raise self.fail(node, key, field, f"expected a list, got {show(value)}")
        return value

    def statuses(self, node: Any, key: Any, field: str) -> frozenset[int]:
        items = self.sequence(node, key, field)
        return frozenset(
            self.integer(items, i, f"{field}[{i}]", low=400, high=599) for i in range(len(items))
        )


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


_TOP = ("timeout_ms", "max_attempts", "retry", "backoff", "retry_after", "discovery", "paging")


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse policy YAML ``text``; ``source`` names it in errors and in ``Policy.source``."""
    reader = _Reader(source)
    try:
        doc = load_yaml(text)
    except YAMLSyntaxError as exc:
        raise PolicyError(source, exc.line, "", f"not valid YAML: {exc.problem}") from None
    if doc is None:
        raise PolicyError(source, None, "", "the file is empty")
    top = reader.mapping(doc, None, "", _TOP, required=("timeout_ms", "max_attempts"))
    kwargs: dict[str, Any] = {"source": source}
    kwargs["timeout_ms"] = reader.integer(
        top, "timeout_ms", "timeout_ms", low=1, high=_MAX_TIMEOUT_MS
    )

    attempts = reader.mapping(top, "max_attempts", "max_attempts", OPERATIONS, required=OPERATIONS)
    kwargs["max_attempts"] = {
        op: reader.integer(attempts, op, f"max_attempts.{op}", low=1, high=_MAX_ATTEMPTS)
        for op in OPERATIONS
    }

    if "retry" in top:
        node = reader.mapping(top, "retry", "retry", ("categories", "statuses"))
        categories: set[str] = set()
        if "categories" in node:
            items = reader.sequence(node, "categories", "retry.categories")
            for i in range(len(items)):
                categories.add(
                    reader.choice(items, i, f"retry.categories[{i}]", RETRYABLE_CATEGORIES)
                )
        statuses = (
            reader.statuses(node, "statuses", "retry.statuses")
            if "statuses" in node
            else frozenset()
        )
        kwargs["retry"] = RetryRule(frozenset(categories), statuses)

    if "backoff" in top:
        node = reader.mapping(
            top,
            "backoff",
            "backoff",
            ("initial_ms", "multiplier", "cap_ms", "jitter"),
            required=("initial_ms", "multiplier", "cap_ms", "jitter"),
        )
        initial = reader.integer(
            node, "initial_ms", "backoff.initial_ms", low=0, high=_MAX_TIMEOUT_MS
        )
        cap = reader.integer(node, "cap_ms", "backoff.cap_ms", low=0, high=_MAX_TIMEOUT_MS)
        if cap < initial:
            raise reader.fail(
                node, "cap_ms", "backoff.cap_ms", f"{cap} is less than initial_ms {initial}"
            )
        kwargs["backoff"] = Backoff(
            initial_ms=initial,
            multiplier=reader.number(node, "multiplier", "backoff.multiplier", low=1.0),
            cap_ms=cap,
            jitter=reader.choice(node, "jitter", "backoff.jitter", JITTER_KINDS),  # type: ignore[arg-type]
        )

    if "retry_after" in top:
        node = reader.mapping(
            top, "retry_after", "retry_after", ("honour", "cap_ms"), required=("honour",)
        )
        honour = reader.boolean(node, "honour", "retry_after.honour")
        cap = 0
        if "cap_ms" in node:
            cap = reader.integer(node, "cap_ms", "retry_after.cap_ms", low=0, high=_MAX_TIMEOUT_MS)
        elif honour:
            raise reader.fail(
                top, "retry_after", "retry_after.cap_ms", "missing (required when honour is true)"
            )
        kwargs["retry_after"] = RetryAfter(honour=honour, cap_ms=cap)

    if "discovery" in top:
        kwargs["discovery"] = _parse_discovery(reader, top)

    if "paging" in top:
        node = reader.mapping(top, "paging", "paging", ("max_pages", "busy_wait_cap_ms"))
        paging = Paging()
        if "max_pages" in node:
            paging = dataclasses.replace(
                paging,
                max_pages=reader.integer(node, "max_pages", "paging.max_pages", low=1, high=10**6),
            )
        if "busy_wait_cap_ms" in node:
            cap = reader.integer(
                node, "busy_wait_cap_ms", "paging.busy_wait_cap_ms", low=0, high=_MAX_TIMEOUT_MS
            )
            paging = dataclasses.replace(paging, busy_wait_cap_ms=cap)
        kwargs["paging"] = paging
    return Policy(**kwargs)


def _parse_discovery(reader: _Reader, top: Mapping[str, Any]) -> Discovery:
    node = reader.mapping(
        top,
        "discovery",
        "discovery",
        ("versions", "fallback_on", "max_fallbacks"),
        required=("versions",),
    )
    items = reader.sequence(node, "versions", "discovery.versions")
    if not items:
        raise reader.fail(node, "versions", "discovery.versions", "must list at least one version")
    versions: list[int] = []
    for i in range(len(items)):
        version = reader.integer(
            items, i, f"discovery.versions[{i}]", low=1, high=max(SUPPORTED_VERSIONS)
        )
        if version in versions:
            raise reader.fail(
                items, i, f"discovery.versions[{i}]", f"version {version} is listed twice"
            )
        versions.append(version)
    fallback_on = (
        reader.statuses(node, "fallback_on", "discovery.fallback_on")
        if "fallback_on" in node
        else frozenset()
    )
    max_fallbacks = 0
    if "max_fallbacks" in node:
        max_fallbacks = reader.integer(
            node, "max_fallbacks", "discovery.max_fallbacks", low=0, high=len(versions) - 1
        )
    elif fallback_on:
        max_fallbacks = len(versions) - 1
    return Discovery(tuple(versions), fallback_on, max_fallbacks)


def load_policy(path: str | Path) -> Policy:
    """Read and parse the policy file at ``path`` (errors name the file, line and field)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), None, "", f"cannot read: {exc}") from None
    return parse_policy(text, source=str(path))
