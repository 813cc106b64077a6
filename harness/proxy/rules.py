"""Rule matching and schedules: which rule owns an attempt, and whether its fault fires.

A :class:`RuleSet` is built once per loaded scenario. Rules are compiled (globs to regular
expressions, methods and operations to sets), indexed by operation, and a match cache keyed by
what matching looks at makes a repeated request cost one dictionary lookup - so a scenario of
a thousand rules costs the proxy almost nothing per request. Schedules are the only mutable
part: per-rule counters and a per-rule random generator seeded from the scenario seed and the
rule name (so a rule's draws do not depend on the other rules).

Matching is layered: the exact request (cache) -> the rules whose method, operation, host and
path match (cached per method/operation/host/path, then split by a literal query value they
require) -> the query globs of those few.
"""

from __future__ import annotations

import fnmatch
import heapq
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.attempt import REQUEST_OPERATIONS, FaultFired
from harness.scenario import FaultSpec, Rule, Scenario

#: Decision points: a connection's CONNECT/accept, its TLS ClientHello, and each request.
Group = Literal["connect", "tls", "request"]

_CACHE_MAX = 4096


@dataclass(frozen=True)
class AttemptInfo:
    """What matching looks at."""

    host: str | None
    method: str | None = None
    path: str | None = None
    query: str = ""
    params: Mapping[str, Sequence[str]] = field(default_factory=dict)
    operation: str | None = None


@dataclass(frozen=True)
class Decision:
    """The owning rule and what its schedule decided (``spec`` ``None`` = let it pass)."""

    rule: Rule
    spec: FaultSpec | None
    rng: random.Random
    state: dict[str, Any] = field(default_factory=dict)
    step: int | None = None
    seed: int | None = None
    draw: float | None = None

    def fault_record(self) -> FaultFired | None:
        """The journal's ``fault`` value for this decision."""
        if self.spec is None:
            return None
        return FaultFired(
            rule=self.rule.name,
            kind=self.spec.kind,
            phase=self.rule.phase,
            params=self.spec.fault.params(),
            name=self.spec.name,
            step=self.step,
        )


@dataclass
class _RuleState:
    matched: int = 0
    fired: int = 0
    scratch: dict[str, Any] = field(default_factory=dict)


_WILDCARDS = frozenset("*?[")


def _glob(pattern: str, *, ignore_case: bool = False) -> Callable[[str], Any]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE if ignore_case else 0).match


def _literal_prefix(pattern: str) -> str:
    for i, char in enumerate(pattern):
        if char in _WILDCARDS:
            return pattern[:i]
    return pattern


class _Compiled:
    """One rule's match, compiled: literal checks first, regular expressions last."""

    __slots__ = (
        "host",
        "host_literal",
        "index",
        "literal_query",
        "methods",
        "operations",
        "path",
        "path_prefix",
        "query",
        "rule",
    )

    def __init__(self, index: int, rule: Rule) -> None:
        m = rule.match
        self.index = index
        self.rule = rule
        self.methods = frozenset(m.methods) or None
        self.operations = frozenset(m.operations) or None
        self.path = _glob(m.path) if m.path is not None else None
        self.path_prefix = _literal_prefix(m.path) if m.path is not None else ""
        self.host = _glob(m.host, ignore_case=True) if m.host is not None else None
        literal_host = m.host is not None and not _WILDCARDS & set(m.host)
        self.host_literal = m.host.lower() if literal_host and m.host is not None else None
        self.query = tuple(
            (name, _glob(value) if value is not None else None) for name, value in m.query
        )
        #: A (name, value) the request must carry, when some query value is a plain literal.
        self.literal_query = next(
            (
                (name, value)
                for name, value in m.query
                if value is not None and not _WILDCARDS & set(value)
            ),
            None,
        )

    def matches_static(self, info: AttemptInfo) -> bool:
        """Everything but the query: method, operation, host and path."""
        if self.methods is not None and info.method not in self.methods:
            return False
        if self.operations is not None and info.operation not in self.operations:
            return False
        if self.host is not None:
            if info.host is None:
                return False
            if self.host_literal is not None:
                if info.host.lower() != self.host_literal:
                    return False
            elif not self.host(info.host):
                return False
        return self.path is None or (
            info.path is not None
            and info.path.startswith(self.path_prefix)
            and bool(self.path(info.path))
        )

    def matches_query(self, info: AttemptInfo) -> bool:
        for name, glob in self.query:
            values = info.params.get(name)
            if glob is None:
                if values:
                    return False
            elif not values or not any(glob(v) for v in values):
                return False
        return True

    def matches(self, info: AttemptInfo) -> bool:
        return self.matches_static(info) and self.matches_query(info)


class _Candidates:
    """The rules whose static part matches one (operation, method, host, path), split so a
    query-only difference costs a few dictionary lookups, not a scan."""

    __slots__ = ("always", "by_param")

    def __init__(self, compiled: list[_Compiled]) -> None:
        self.always: list[_Compiled] = []
        self.by_param: dict[tuple[str, str], list[_Compiled]] = {}
        for c in compiled:
            if c.literal_query is None:
                self.always.append(c)
            else:
                self.by_param.setdefault(c.literal_query, []).append(c)

    def first(self, info: AttemptInfo) -> int:
        best = -1
        for c in self.always:
            if c.matches_query(info):
                best = c.index
                break
        if self.by_param:
            for name, values in info.params.items():
                for value in values:
                    for c in self.by_param.get((name, value), ()):
                        if best >= 0 and c.index >= best:
                            break
                        if c.matches_query(info):
                            best = c.index
                            break
        return best


class _HostIndex:
    """Rules split by a literal ``host`` (looked up) versus any other (scanned), order kept."""

    __slots__ = ("any_host", "by_host")

    def __init__(self, compiled: list[_Compiled]) -> None:
        self.any_host = [c for c in compiled if c.host_literal is None]
        self.by_host: dict[str, list[_Compiled]] = {}
        for c in compiled:
            if c.host_literal is not None:
                self.by_host.setdefault(c.host_literal, []).append(c)

    def for_host(self, host: str | None) -> Iterable[_Compiled]:
        named = self.by_host.get(host.lower()) if host is not None else None
        if not named:
            return self.any_host
        return heapq.merge(self.any_host, named, key=lambda c: c.index)


class RuleSet:
    """A scenario's rules, compiled, with their schedule state."""

    def __init__(self, scenario: Scenario | None, *, default_seed: int = 0) -> None:
        self.scenario = scenario
        self.seed = default_seed if scenario is None or scenario.seed is None else scenario.seed
        rules = scenario.rules if scenario is not None else ()
        self._state = [_RuleState() for _ in rules]
        self._rng = [random.Random(f"{self.seed}:{rule.name}") for rule in rules]
        compiled = [_Compiled(i, rule) for i, rule in enumerate(rules)]
        by_group: dict[Group, list[_Compiled]] = {"connect": [], "tls": [], "request": []}
        for c in compiled:
            group: Group = "request" if c.rule.phase in ("request", "response") else c.rule.phase  # type: ignore[assignment]
            by_group[group].append(c)
        self._groups = by_group
        # Request rules indexed by operation: each list keeps scenario order.
        self._by_operation = {
            op: _HostIndex(
                [c for c in by_group["request"] if c.operations is None or op in c.operations]
            )
            for op in REQUEST_OPERATIONS
        }
        self._by_group = {group: _HostIndex(items) for group, items in by_group.items()}
        self._cache: dict[tuple[Any, ...], int] = {}
        self._static: dict[tuple[Any, ...], _Candidates] = {}

    def __len__(self) -> int:
        return len(self._state)

    def candidates(
        self, group: Group, operation: str | None, host: str | None
    ) -> Iterable[_Compiled]:
        """The rules of ``group`` that can match ``operation`` and ``host``, in scenario order."""
        if group == "request" and operation in self._by_operation:
            return self._by_operation[operation].for_host(host)
        return self._by_group[group].for_host(host)

    def owner(self, group: Group, info: AttemptInfo) -> Rule | None:
        """The first rule of ``group`` whose match accepts ``info`` (pure; cached)."""
        index = self._owner_index(group, info)
        return None if index < 0 else self._rules_at(index)

    def _rules_at(self, index: int) -> Rule:
        assert self.scenario is not None
        return self.scenario.rules[index]

    def _owner_index(self, group: Group, info: AttemptInfo) -> int:
        if not self._groups[group]:
            return -1
        key = (group, info.host, info.method, info.path, info.query, info.operation)
        index = self._cache.get(key)
        if index is None:
            static_key = key[:4] + key[5:]
            candidates = self._static.get(static_key)
            if candidates is None:
                candidates = _Candidates(
                    [
                        c
                        for c in self.candidates(group, info.operation, info.host)
                        if c.matches_static(info)
                    ]
                )
                if len(self._static) >= _CACHE_MAX:
                    self._static.clear()
                self._static[static_key] = candidates
            index = candidates.first(info)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[key] = index
        return index

    def decide(self, group: Group, info: AttemptInfo) -> Decision | None:
        """Match ``info`` and run the owning rule's schedule; ``None`` if no rule owns it."""
        index = self._owner_index(group, info)
        if index < 0:
            return None
        rule = self._rules_at(index)
        state, rng = self._state[index], self._rng[index]
        state.matched += 1
        schedule = rule.schedule
        nth = state.matched - schedule.after
        scratch = state.scratch
        if nth < 1:
            return Decision(rule, None, rng, scratch)
        if schedule.sequence is not None:
            step = nth - 1
            spec = schedule.sequence[step] if step < len(schedule.sequence) else None
            if spec is not None:
                state.fired += 1
            return Decision(
                rule, spec, rng, scratch, step=step if step < len(schedule.sequence) else None
            )
        if schedule.times is not None and state.fired >= schedule.times:
            return Decision(rule, None, rng, scratch)
        if schedule.probability is not None:
            draw = rng.random()
            if draw >= schedule.probability:
                return Decision(rule, None, rng, scratch, seed=self.seed, draw=draw)
            state.fired += 1
            return Decision(rule, rule.fault, rng, scratch, seed=self.seed, draw=draw)
        state.fired += 1
        return Decision(rule, rule.fault, rng, scratch)

    def counters(self) -> dict[str, dict[str, int]]:
        """Per rule: how many attempts it owned (``matched``) and how often it fired."""
        if self.scenario is None:
            return {}
        return {
            rule.name: {"matched": st.matched, "fired": st.fired}
            for rule, st in zip(self.scenario.rules, self._state, strict=True)
        }
