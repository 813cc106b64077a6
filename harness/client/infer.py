"""Inferring the policy a client actually follows, from what it does under probes.

``mdm-harness policy infer`` runs a bounded set of **probes** - one fault scenario and one run
of the client each - and writes the schema-2 policy (``docs/clients.md``) that describes what
the client did, every field with its evidence as a YAML comment. A vendor starts from the
truth; ``certify`` then holds the client to it and to the rules no policy waives.

This module is the pure part: the probe plan (:func:`plan`: plain scenario dicts, see
``docs/scenarios.md``), the analysis (:func:`infer`, fed by any :data:`Runner` that runs a
probe and returns what the proxy saw) and the rendering (:meth:`Inference.render`). It does no
I/O. ``harness.certify.infer`` runs the probes against the reference MDM behind the fault
proxy (a higher layer, which this one may not import).

The plan adapts as it learns: which statuses and failure kinds are retried (one failure, then
a pass), how many attempts and which waits (the same failure on every attempt, repeated to
see a jitter envelope), ``Retry-After`` (on which statuses, a long one, a zero), the action's
own retry set (with a forced new connection for the failures before a request is sent), and
discovery (401 and 404). About 40 runs in all; the timings are fitted to a backoff model
(:func:`fit_backoff`).

Over 400 lines: one inference - the observations of the runs, the fit of their waits to a
backoff model, the plan that chooses the next run and the policy written from it - whose four
parts (separated by rules below) share the probe and observation records.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.attempt import Attempt, answers_challenge, failure_of
from harness.client.policy import Policy, parse_policy
from harness.client.protocol import Outcome

__all__ = [
    "Inference",
    "Observation",
    "Probe",
    "Runner",
    "Site",
    "Try",
    "fit_backoff",
    "infer",
    "tries_of",
]

#: Statuses probed for retries, and those urllib3-style clients retry only with Retry-After.
STATUSES: tuple[int, ...] = (503, 502, 504, 500, 429, 408, 413)
RETRY_AFTER_CANDIDATES: tuple[int, ...] = (429, 503, 413)
#: Failures quick to inject (no timeout to wait for), in the order a series prefers them.
_QUICK_KINDS: tuple[str, ...] = (
    "closed_before_response",
    "closed_mid_response",
    "connect_refused",
    "connect_closed",
)
#: A gap at most this long (seconds) is "at once" (an immediate retry, or a silent resend).
IMMEDIATE_S = 0.05
#: Two waits within this much of each other (plus 10 %) fit the same model value.
SAME_S = 0.03
#: Two measurements of one wait within this much (plus 3 %) differ only by timing noise;
#: more is jitter.
NOISE_S = 0.025
#: Retry-After values the probes send (seconds): one to see it honoured, one to find a cap.
RA_SHORT, RA_LONG = 2, 8


@dataclass(frozen=True)
class Site:
    """What probes need to know about the MDM they run against."""

    known_mac: str
    #: The MDM's own discovery answer (version 3): a probe serves it itself, with
    #: ``Connection: close``, to make the client open a new connection for the action.
    discovery_body: str


@dataclass(frozen=True)
class Probe:
    """One question to the client: a scenario, the operation run under it, what it probes."""

    name: str
    #: What the probe injects, for the evidence comments.
    what: str
    operation: str
    args: tuple[str, ...]
    rules: tuple[Mapping[str, Any], ...]
    #: The journal operation whose tries are judged (``mdminfo``, ``devices``, ``action``).
    target: str
    #: ``lookups`` or ``actions``: the retry set the probe is about.
    cls: str = "lookups"
    #: The policy language's failure kind probed, or ``status``.
    kind: str = "status"
    status: int | None = None
    retry_after: int | None = None
    #: The failure is injected on every attempt (else: once, then the request passes).
    every: bool = False
    #: The faults act before any request (CONNECT or TLS): the tries are connections.
    connection: bool = False
    #: The longest this probe may run (seconds); a run still going then is killed.
    hard_limit_s: float = 30.0

    def scenario(self) -> dict[str, Any]:
        return {
            "name": f"infer-{self.name}",
            "description": f"policy infer: {self.what}",
            "rules": [dict(r) for r in self.rules],
        }


@dataclass(frozen=True)
class Observation:
    """What one run of a probe left behind: the client's report and the proxy's attempts."""

    probe: Probe
    outcome: Outcome
    attempts: tuple[Attempt, ...]

    @property
    def killed(self) -> bool:
        return self.outcome.kind == "crash" and "hard limit" in (self.outcome.crash_reason or "")


#: Runs one probe (the harness's side: ``harness.certify.infer``).
Runner = Callable[[Probe], Observation]


# --------------------------------------------------------------------------------------------
# Wire facts of one attempt


@dataclass(frozen=True)
class Try:
    """One try of the probed request: when it began and ended, and how it failed."""

    began: float
    end: float
    kind: str
    status: int | None
    #: The client gave up on it (a timeout): its socket may have stayed open longer.
    abandoned: bool


def tries_of(obs: Observation) -> list[Try]:
    """The tries of the probed request, in order (an answered challenge is part of its try;
    for a connection probe, the failed connections and then the request that got through)."""
    if obs.probe.connection:
        picked: list[Attempt] = []
        for a in obs.attempts:
            if not a.sent_request:
                picked.append(a)
            elif a.operation == obs.probe.target:
                picked.append(a)
                break
    else:
        picked = [a for a in obs.attempts if a.operation == obs.probe.target]
    out: list[Try] = []
    i = 0
    while i < len(picked):
        first = picked[i]
        last = first
        if i + 1 < len(picked) and answers_challenge(first, picked[i + 1]):
            i += 1
            last = picked[i]
        kind, _ = failure_of(last)
        end = last.end if last.end is not None else obs.outcome.ended
        out.append(Try(first.began, end, kind, last.status, last.client_end == "client_closed"))
        i += 1
    return out


def _gaps(tries: Sequence[Try], timeout_s: float) -> list[float]:
    """The wait before each retry: from the moment the client knew the try failed (its end;
    for a try it abandoned, no later than its timeout) to the next try's start."""
    out = []
    for a, b in itertools.pairwise(tries):
        known = min(a.end, a.began + timeout_s) if a.abandoned else a.end
        out.append(max(0.0, b.began - known))
    return out


# --------------------------------------------------------------------------------------------
# Fitting waits to a backoff model


@dataclass(frozen=True)
class Fit:
    """A backoff model fitted to waits: the ``backoff`` mapping (``None``: every retry at
    once) and the reasoning, for the comment."""

    backoff: dict[str, Any] | None
    note: str


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_S + 0.1 * max(a, b)


def _noise(a: float, b: float) -> bool:
    """Whether two measurements of one wait differ by no more than timing noise."""
    return abs(a - b) <= NOISE_S + 0.03 * max(a, b)


def _ms(seconds: float) -> int:
    """Milliseconds, rounded to two significant digits (measured waits carry noise) after
    taking off 5 ms: a measured wait overstates the client's by its own latency."""
    ms = seconds * 1000 - 5
    if ms < 10:
        return 0
    digits = 2 - math.floor(math.log10(ms)) - 1
    return int(round(ms, digits))


def fit_backoff(series: Sequence[Sequence[float]]) -> Fit:
    """Fit runs of waits (``series[run][n]``: the wait before retry n+1) to a backoff model.

    Several runs show jitter: waits that spread more than measurement noise are jittered,
    ``equal`` when the smallest is at least 40 % of the largest, else ``full``. A base is then
    estimated from both ends of its sample for ``equal`` (``(max + 2 min) / 2``: the sample
    spans ``[b/2, b]``) and as ``max + spread / (runs - 1)`` for ``full``. The bases then fit, in order: nothing (all at once), ``exponential`` with an
    immediate first retry, ``constant``, ``exponential``, ``linear``, else ``list``.
    """
    runs = [list(s) for s in series if s]
    if not runs:
        return Fit(None, "no retry was observed")
    n = min(len(r) for r in runs)
    columns = [[r[i] for r in runs] for i in range(n)]
    bases: list[float] = []
    jitter = "none"
    spread = [len(col) > 1 and not _noise(min(col), max(col)) for col in columns]
    if any(spread):
        full = any(s and min(col) < 0.4 * max(col) for s, col in zip(spread, columns, strict=True))
        jitter = "full" if full else "equal"
    for col in columns:
        low, high = min(col), max(col)
        if jitter == "equal":
            bases.append((high + 2 * low) / 2)  # [b/2, b]: both ends estimate b
        elif jitter == "full":
            bases.append(high + (high - low) / (len(col) - 1))
        else:
            bases.append(statistics.median(col))
    shown = ", ".join(f"{b:.2f}" for b in bases)
    extra = {"jitter": jitter} if jitter != "none" else {}
    if all(b <= IMMEDIATE_S for b in bases):
        return Fit(None, f"every retry at once ({shown} s)")
    if len(bases) >= 2 and bases[0] <= IMMEDIATE_S and all(b > IMMEDIATE_S for b in bases[1:]):
        rest = bases[1:]
        mult = _ratio(rest)
        if mult is not None:
            return Fit(
                {
                    "model": "exponential",
                    "first": "immediate",
                    "initial_ms": _ms(rest[0]),
                    "multiplier": mult,
                    "cap_ms": _ms(max(rest)),
                    **extra,
                },
                f"waits {shown} s: the first retry at once, then x{mult:g}",
            )
    if all(_same(b, bases[0]) for b in bases) and (len(bases) == 1 or bases[0] > IMMEDIATE_S):
        return Fit(
            {"model": "constant", "delay_ms": _ms(statistics.median(bases)), **extra},
            f"waits {shown} s: constant",
        )
    mult = _ratio(bases)
    if mult is not None and bases[0] > IMMEDIATE_S:
        note = f"waits {shown} s: x{mult:g} each time"
        if len(bases) == 2 and _same(bases[1] - bases[0], bases[0]):
            note += f" (linear +{bases[0]:.2f} s fits these {len(bases)} waits as well)"
        return Fit(
            {
                "model": "exponential",
                "initial_ms": _ms(bases[0]),
                "multiplier": mult,
                "cap_ms": _ms(max(bases)),
                **extra,
            },
            note + "; the cap is the longest wait seen",
        )
    steps = [b - a for a, b in itertools.pairwise(bases)]
    if steps and steps[0] > IMMEDIATE_S and all(_same(s, steps[0]) for s in steps):
        step = statistics.median(steps)
        fit: dict[str, Any] = {"model": "linear", "step_ms": _ms(step), "cap_ms": _ms(max(bases))}
        if not _same(bases[0], step):
            fit["initial_ms"] = _ms(bases[0])
        return Fit({**fit, **extra}, f"waits {shown} s: +{step:.2f} s each time")
    return Fit(
        {"model": "list", "delays_ms": [_ms(b) for b in bases], **extra},
        f"waits {shown} s: no simpler model fits",
    )


def _ratio(bases: Sequence[float]) -> float | None:
    """The common ratio of a growing geometric series (rounded to a half), or ``None``."""
    if len(bases) < 2 or min(bases) <= IMMEDIATE_S:
        return None
    ratios = [b / a for a, b in itertools.pairwise(bases)]
    mult = round(statistics.median(ratios) * 2) / 2
    if mult < 1.5:
        return None
    for a, b in itertools.pairwise(bases):
        if not _same(b, a * mult):
            return None
    return mult


# --------------------------------------------------------------------------------------------
# The probes


def _rule(
    name: str, match: Mapping[str, Any], fault: Any = None, **schedule: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "match": dict(match)}
    if fault is not None:
        out["fault"] = fault
    if schedule:
        out["schedule"] = schedule
    return out


def _status_fault(status: int, retry_after: int | None) -> Any:
    if retry_after is None:
        return f"status_{status}"
    return {
        "kind": "respond",
        "status": status,
        "headers": {"Retry-After": str(retry_after), "Content-Type": "application/xml"},
    }


#: Request-level failures: kind -> (fault, slow).
_REQUEST_FAULTS: Mapping[str, tuple[Any, bool]] = {
    "closed_before_response": ("close", False),
    "closed_mid_response": ({"kind": "partial", "bytes": 20, "then": "close"}, False),
    "parse_error": ("xml_truncate", False),
    "read_timeout": ("hang", True),
}
#: Connection-level failures (the CONNECT or the handshake): kind -> (fault, phase, slow).
_CONNECTION_FAULTS: Mapping[str, tuple[Any, str, bool]] = {
    "connect_refused": ({"kind": "connect_refuse", "status": 502}, "connect", False),
    "connect_closed": ("close", "connect", False),
    "connect_timeout": ("hang", "connect", True),
    "tls_error": ({"kind": "tls_bad_cert", "cert": "untrusted-ca"}, "tls", False),
}


class _Planner:
    """Builds probes for one site and timeout (hard limits follow from what is known)."""

    def __init__(self, site: Site, timeout_s: float, budget_s: float) -> None:
        self.site, self.timeout_s, self.budget_s = site, timeout_s, budget_s

    def _args(self, cls: str) -> tuple[str, str, tuple[str, ...]]:
        if cls == "actions":
            return "action", "action", ("pin_lock", "--mac", self.site.known_mac)
        return "device", "devices", ("--mac", self.site.known_mac)

    def request(
        self,
        kind: str,
        *,
        cls: str = "lookups",
        status: int | None = None,
        retry_after: int | None = None,
        every: bool = False,
    ) -> Probe:
        operation, target, args = self._args(cls)
        if kind == "status":
            assert status is not None
            fault, slow = _status_fault(status, retry_after), False
            label = f"{status}" + (
                f" with Retry-After: {retry_after}" if retry_after is not None else ""
            )
        else:
            fault, slow = _REQUEST_FAULTS[kind]
            label = kind
        match = {"operation": target, "phase": "response"}
        if every:
            rule = _rule("every", match, fault)
        elif retry_after is not None or kind == "status":
            rule = _rule("once", match, sequence=[fault, "pass"])
        else:
            # Twice: a client that answers authentication challenges (wget) sends its first
            # request without credentials, and a failure that lets the 401 head through is
            # part of that challenge, not of the try; the second hits the request itself.
            rule = _rule("once", match, sequence=[fault, fault, "pass"])
        name = f"{cls}-{label.replace(' ', '').replace(':', '')}-{'every' if every else 'once'}"
        what = f"{target} {label} {'on every attempt' if every else 'once, then the answer'}"
        limit = self.budget_s if (every or slow or retry_after) else 20 + 2 * self.timeout_s
        return Probe(
            name,
            what,
            operation,
            args,
            (rule,),
            target,
            cls,
            kind,
            status,
            retry_after,
            every,
            hard_limit_s=limit,
        )

    def connection(self, kind: str, *, cls: str = "lookups", every: bool = False) -> Probe:
        fault, phase, slow = _CONNECTION_FAULTS[kind]
        operation, target, args = self._args(cls)
        schedule: dict[str, Any] = {"sequence": [fault] * (8 if every else 1) + ["pass"]}
        rules: list[dict[str, Any]] = []
        if cls == "actions":
            # Discovery passes on the first connection, answered by the probe itself, whole,
            # and then closed (FIN), so that the action needs a connection of its own.
            schedule["after"] = 1
            rules.append(
                _rule(
                    "discovery-then-close",
                    {"operation": "mdminfo", "phase": "request"},
                    {
                        "kind": "respond",
                        "status": 200,
                        "headers": {"Content-Type": "application/xml", "Connection": "close"},
                        "body": self.site.discovery_body,
                        "content_length": len(self.site.discovery_body.encode("utf-8")),
                        "then": "close",
                    },
                )
            )
        else:
            operation, target, args = "mdminfo", "mdminfo", ()
        rules.insert(0, _rule("connection", {"phase": phase}, **schedule))
        name = f"{cls}-{kind}-{'every' if every else 'once'}"
        what = f"the {'action' if cls == 'actions' else 'discovery'} connection: {kind} {'on every attempt' if every else 'once'}"
        limit = self.budget_s if (every or slow) else 20 + 2 * self.timeout_s
        return Probe(
            name,
            what,
            operation,
            args,
            tuple(rules),
            target,
            cls,
            kind,
            None,
            None,
            every,
            True,
            hard_limit_s=limit,
        )

    def discovery(self, status: int) -> Probe:
        fault = {"kind": "unauthorized"} if status == 401 else f"status_{status}"
        return Probe(
            f"discovery-{status}",
            f"discovery answered {status} on every request",
            "mdminfo",
            (),
            (_rule("discovery", {"operation": "mdminfo"}, fault),),
            "mdminfo",
            kind="status",
            status=status,
            every=True,
            hard_limit_s=self.budget_s,
        )


# --------------------------------------------------------------------------------------------
# The inference


@dataclass
class _Field:
    """One line of the policy and its evidence."""

    value: Any
    evidence: list[str] = field(default_factory=list)


@dataclass
class Inference:
    """The inferred policy, field by field, each with the evidence for it."""

    timeout_ms: _Field
    max_attempts: dict[str, _Field]
    retry: dict[str, dict[str, _Field]]
    backoff: _Field
    retry_after: _Field
    resend: _Field
    discovery: _Field
    runs: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def render(self, *, client: str = "") -> str:
        """The policy as YAML (schema 2), every field with its evidence as comments."""
        lines = [
            f"# Inferred by mdm-harness policy infer{' from ' + client if client else ''}:",
            f"# {self.runs} runs of the client under probes, {self.seconds:.0f} s. Each field says what was seen.",
            *(f"# {n}" for n in self.notes),
            "schema: 2",
        ]

        def put(key: str, f: _Field, indent: str = "") -> None:
            lines.extend(f"{indent}# {e}" for e in f.evidence)
            lines.append(f"{indent}{key}: {_yaml(f.value)}")

        put("timeout_ms", self.timeout_ms)
        for op, f in self.max_attempts.items():
            lines.extend(f"# {op}: {e}" for e in f.evidence)
        attempts = {op: f.value for op, f in self.max_attempts.items()}
        lines.append(f"max_attempts: {_yaml(attempts)}")
        lines.append("retry:")
        for cls, sets in self.retry.items():
            lines.append(f"  {cls}:")
            for key, f in sets.items():
                put(key, f, "    ")
        if self.backoff.value is not None:
            put("backoff", self.backoff)
        else:
            lines.extend(f"# {e}" for e in self.backoff.evidence)
        if self.retry_after.value is not None:
            put("retry_after", self.retry_after)
        else:
            lines.extend(f"# {e}" for e in self.retry_after.evidence)
        if self.resend.value is not None:
            put("resend", self.resend)
        else:
            lines.extend(f"# {e}" for e in self.resend.evidence)
        put("discovery", self.discovery)
        return "\n".join(lines) + "\n"

    def policy(self, *, client: str = "") -> Policy:
        """The rendered policy, parsed (it always parses: a test holds this)."""
        return parse_policy(self.render(client=client), source="<inferred>")


def _yaml(value: Any) -> str:
    """A flow-style YAML value (ints, floats, strings of safe words, lists, mappings)."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _s(seconds: Sequence[float]) -> str:
    return ", ".join(f"{g:.2f}" for g in seconds) + " s" if seconds else "-"


def infer(
    run: Runner,
    site: Site,
    *,
    timeout_ms: int = 1000,
    budget_s: float = 90.0,
    log: Callable[[str], None] = lambda line: None,
) -> Inference:
    """Probe the client through ``run`` and infer its policy.

    ``timeout_ms`` is passed to the client as ``MDM_TIMEOUT_MS``; ``budget_s`` bounds any one
    run (a client still waiting then is killed, and the evidence says so).
    """
    import time

    started = time.monotonic()
    timeout_s = timeout_ms / 1000
    plan = _Planner(site, timeout_s, budget_s)
    runs = 0

    def go(probe: Probe) -> Observation:
        nonlocal runs
        runs += 1
        obs = run(probe)
        tries = tries_of(obs)
        log(
            f"{probe.name}: {len(tries)} tr{'y' if len(tries) == 1 else 'ies'}, waits "
            f"{_s(_gaps(tries, timeout_s))}, {_said(obs.outcome)}"
        )
        return obs

    # 1. A hang on every attempt: the timeout, and whether a read timeout is retried.
    hang = go(plan.request("read_timeout", every=True))
    hang_tries = tries_of(hang)
    abandoned = [t.end - t.began for t in hang_tries if t.abandoned]
    if hang.outcome.kind in ("ok", "error") and hang.outcome.ended is not None and hang_tries:
        last = hang_tries[-1]
        abandoned.append(min(last.end, hang.outcome.ended) - last.began)
    timeout = _Field(timeout_ms)
    if abandoned:
        measured = min(abandoned)
        slack = 0.1 + 0.1 * timeout_s
        timeout.evidence.append(
            f"a hang on every attempt: each given up after {_s(abandoned)}; reported {_said(hang.outcome)}"
        )
        if abs(measured - timeout_s) > slack:
            timeout.value = max(1, _ms(measured))
            timeout.evidence.append(
                f"MDM_TIMEOUT_MS was {timeout_ms}: the client does not apply it; this is what it waits"
            )
    else:
        timeout.evidence.append(
            f"a hang on every attempt: not given up within {budget_s:.0f} s ({_said(hang.outcome)}); "
            f"MDM_TIMEOUT_MS was {timeout_ms}"
        )

    #: Waits after a try the client gave up on count from its (measured) timeout.
    wait_s = (timeout.value / 1000) if abandoned else timeout_s
    retried: dict[str, dict[str, Observation]] = {"lookups": {}, "actions": {}}
    seen: dict[str, dict[str, Observation]] = {"lookups": {}, "actions": {}}

    def note(cls: str, key: str, obs: Observation) -> bool:
        seen[cls][key] = obs
        again = len(tries_of(obs)) > 1
        if again:
            retried[cls][key] = obs
        return again

    note("lookups", "read_timeout", hang)

    # 2. Lookups: each status and failure once, then the answer.
    for status in STATUSES:
        note("lookups", f"status {status}", go(plan.request("status", status=status)))
    for status in RETRY_AFTER_CANDIDATES:
        if f"status {status}" not in retried["lookups"]:
            obs = go(plan.request("status", status=status, retry_after=1))
            note("lookups", f"status {status} with Retry-After", obs)
    for kind in ("closed_before_response", "closed_mid_response", "parse_error"):
        note("lookups", kind, go(plan.request(kind)))
    for kind in _CONNECTION_FAULTS:
        note("lookups", kind, go(plan.connection(kind)))

    # 3. The series: one retried failure on every attempt, repeated: attempts and waits.
    series_obs: list[Observation] = []
    series_key = ""
    statuses_retried = [
        k for k in retried["lookups"] if k.startswith("status") and "Retry-After" not in k
    ]
    others = [k for k in _QUICK_KINDS if k in retried["lookups"]]
    if statuses_retried or others:
        series_key = (statuses_retried or others)[0]
        probe = _series_probe(plan, series_key, "lookups")
        series_obs = [go(probe)]
        slow = sum(_gaps(tries_of(series_obs[0]), wait_s)) > 6.0
        series_obs += [go(probe) for _ in range(1 if slow else 2)]
        runs_gaps = [_gaps(tries_of(o), wait_s) for o in series_obs]
        spread = any(len(g) != len(runs_gaps[0]) for g in runs_gaps) or any(
            not _noise(min(col), max(col)) for col in zip(*runs_gaps, strict=False)
        )
        if spread and not slow:
            series_obs += [go(probe) for _ in range(6)]  # a jitter envelope needs samples
    elif "read_timeout" in retried["lookups"]:
        series_obs, series_key = [hang], "read_timeout"
    series_gaps = [_gaps(tries_of(o), wait_s) for o in series_obs]
    counts = [len(tries_of(o)) for o in series_obs]

    # Silent resends: one more try at once, below a client's retries - told apart from an
    # immediate retry by a backoff whose first wait is not immediate, or by being all there
    # is (one immediate extra try, and no status retried).
    fit = fit_backoff(series_gaps)
    first_wait = _backoff_bounds(fit.backoff)(1)[0]
    resend_kinds: dict[str, set[str]] = {"lookups": set(), "actions": set()}
    lone = not statuses_retried and bool(counts) and max(counts) == 2 and fit.backoff is None

    def resent(key: str, obs: Observation) -> bool:
        if key.startswith("status"):
            return False
        gaps = _gaps(tries_of(obs), wait_s)
        return (
            bool(gaps)
            and gaps[0] <= IMMEDIATE_S
            and (gaps[0] < first_wait / 2 or lone or not series_key)
        )

    for key, obs in list(retried["lookups"].items()):
        if resent(key, obs):
            resend_kinds["lookups"].add(key)
            del retried["lookups"][key]
    if series_key and series_key not in retried["lookups"]:
        # The series was a resend: the client retries nothing of its own.
        series_obs, series_gaps, counts, series_key = [], [], [], ""
        fit = fit_backoff([])

    # 4. Attempts and backoff.
    attempts = _Field(1)
    if series_obs:
        attempts.value = max(counts)
        killed = any(o.killed for o in series_obs)
        attempts.evidence.append(
            f"{series_key} on every attempt: {', '.join(map(str, counts))} attempts"
            + (
                f" (a run was still going at {budget_s:.0f} s: at least that many)"
                if killed
                else ""
            )
        )
    else:
        attempts.evidence.append("no failure was retried: one attempt")
    backoff = _Field(fit.backoff)
    if series_obs:
        backoff.evidence.append(
            f"{series_key} on every attempt, {len(series_obs)} runs: waits "
            + "; ".join(_s(g) for g in series_gaps)
        )
    backoff.evidence.append(fit.note)
    policy_backoff = _backoff_bounds(fit.backoff)

    # 5. Retry-After.
    retry_after = _Field(None, ["Retry-After: never seen to decide a wait"])
    ra_status = next(
        (
            s
            for s in (503, 429, 413, 500, 502, 504)
            if f"status {s}" in retried["lookups"]
            or f"status {s} with Retry-After" in retried["lookups"]
        ),
        None,
    )
    if ra_status is not None:
        retry_after = _infer_retry_after(go, plan, ra_status, retried, policy_backoff, wait_s)

    # 6. Actions: the same failures, for the POST.
    for key in list(retried["lookups"]):
        if key.startswith("status"):
            status = int(key.split()[1])
            ra = 1 if "Retry-After" in key else None
            note(
                "actions",
                key,
                go(plan.request("status", cls="actions", status=status, retry_after=ra)),
            )
    if "status 503" not in seen["actions"]:
        note("actions", "status 503", go(plan.request("status", cls="actions", status=503)))
    for kind in ("closed_before_response", "closed_mid_response"):
        note("actions", kind, go(plan.request(kind, cls="actions")))
    if "read_timeout" in retried["lookups"]:
        note("actions", "read_timeout", go(plan.request("read_timeout", cls="actions")))
    connection_kinds = ["connect_refused", "connect_closed", "tls_error"]
    if "connect_timeout" in retried["lookups"]:
        connection_kinds.append("connect_timeout")
    for kind in connection_kinds:
        obs = go(plan.connection(kind, cls="actions"))
        if any(not a.sent_request for a in obs.attempts):
            note("actions", kind, obs)
        else:
            seen["actions"][kind + " (not observable)"] = obs
    for key, obs in list(retried["actions"].items()):
        if resent(key, obs):
            resend_kinds["actions"].add(key)
            del retried["actions"][key]
    action_attempts = _Field(1, ["no failure of the action was retried: one attempt"])
    if retried["actions"]:
        key = next(iter(retried["actions"]))
        obs = go(_series_probe(plan, key, "actions"))
        action_attempts = _Field(
            len(tries_of(obs)), [f"{key} on every attempt: {len(tries_of(obs))} attempts"]
        )

    # 7. Resends: how many at most.
    resend = _Field(None, ["no silent resend was seen"])
    if resend_kinds["lookups"] or resend_kinds["actions"]:
        key = next(iter(resend_kinds["lookups"] or resend_kinds["actions"]))
        cls = "lookups" if resend_kinds["lookups"] else "actions"
        obs = go(_series_probe(plan, key, cls))
        extra = max(1, len(tries_of(obs)) - 1)
        value: dict[str, Any] = {"max": extra}
        for c in ("lookups", "actions"):
            if resend_kinds[c]:
                value[c] = sorted(resend_kinds[c])
        resend = _Field(
            value,
            [
                f"{k} ({c}) once: tried again {_s(_gaps(tries_of(seen[c][k]), wait_s))} later, at once"
                for c in ("lookups", "actions")
                for k in sorted(resend_kinds[c])
            ]
            + [f"{key} on every attempt: {len(tries_of(obs))} tries in all"],
        )

    # 8. Discovery.
    discovery = _infer_discovery(go, plan)

    retry_sets: dict[str, dict[str, _Field]] = {}
    for cls in ("lookups", "actions"):
        failures = sorted(k for k in retried[cls] if not k.startswith("status"))
        statuses = sorted(
            {
                int(k.split()[1])
                for k in retried[cls]
                if k.startswith("status") and "Retry-After" not in k
            }
        )
        if_ra = sorted(
            {int(k.split()[1]) for k in retried[cls] if k.endswith("with Retry-After")}
            - set(statuses)
        )
        lines = [
            f"{k}: {'retried' if k in retried[cls] else 'resent at once' if k in resend_kinds[cls] else 'not retried'}"
            + (f" after {_s(_gaps(tries_of(o), wait_s)[:1])}" if k in retried[cls] else "")
            + f" ({_said(o.outcome)})"
            for k, o in seen[cls].items()
        ]
        sets = {
            "failures": _Field(failures, lines),
            "statuses": _Field(statuses),
        }
        if if_ra:
            sets["if_retry_after"] = _Field(
                if_ra, ["retried only when the answer carries Retry-After"]
            )
        retry_sets[cls] = sets

    lookups_attempts = attempts.value
    max_attempts = {
        "mdminfo": replace(
            attempts, evidence=["as for device (discovery is a lookup; not probed apart)"]
        ),
        "device": attempts,
        "noncompliant": _Field(lookups_attempts, ["as for device (not probed apart)"]),
        "action": action_attempts,
    }
    inference = Inference(
        timeout,
        max_attempts,
        retry_sets,
        backoff,
        retry_after,
        resend,
        discovery,
        runs=runs,
        seconds=time.monotonic() - started,
    )
    inference.notes.append("Not probed: paging (max_pages, busy_wait_cap_ms keep their defaults).")
    return inference


def _said(outcome: Outcome) -> str:
    if outcome.kind == "ok":
        return "ok"
    if outcome.kind == "error":
        return f"error {outcome.error}"
    return f"crash: {outcome.crash_reason}"


def _series_probe(plan: _Planner, key: str, cls: str) -> Probe:
    if key.startswith("status"):
        status = int(key.split()[1])
        ra = 1 if "Retry-After" in key else None
        return plan.request("status", cls=cls, status=status, retry_after=ra, every=True)
    if key in _CONNECTION_FAULTS:
        return plan.connection(key, cls=cls, every=True)
    return plan.request(key, cls=cls, every=True)


def _backoff_bounds(backoff: Mapping[str, Any] | None) -> Callable[[int], tuple[float, float]]:
    if backoff is None:
        return lambda n: (0.0, 0.0)
    text = "schema: 2\ntimeout_ms: 1000\nmax_attempts: {mdminfo: 1, device: 1, noncompliant: 1, action: 1}\n"
    policy = parse_policy(text + f"backoff: {_yaml(backoff)}\n")
    return policy.backoff.bounds


def _infer_retry_after(
    go: Callable[[Probe], Observation],
    plan: _Planner,
    status: int,
    retried: Mapping[str, Mapping[str, Observation]],
    bounds: Callable[[int], tuple[float, float]],
    timeout_s: float,
) -> _Field:
    """On which statuses Retry-After decides the wait, what a long one does, and a zero."""
    evidence: list[str] = []

    def gap_after(probe: Probe) -> tuple[list[float], Observation]:
        obs = go(probe)
        return _gaps(tries_of(obs), timeout_s), obs

    def honoured(s: int, seconds: int) -> bool | None:
        gaps, obs = gap_after(plan.request("status", status=s, retry_after=seconds))
        if not gaps:
            evidence.append(f"{s} with Retry-After: {seconds}: not retried ({_said(obs.outcome)})")
            return None
        low, high = bounds(1)
        yes = abs(gaps[0] - seconds) <= 0.3 + 0.1 * seconds and not (
            low - 0.05 <= gaps[0] <= high + 0.3
        )
        evidence.append(
            f"{s} then {s} with Retry-After: {seconds}: retried after {gaps[0]:.2f} s"
            + (" (the Retry-After)" if yes else " (the backoff)")
        )
        return yes

    short = RA_SHORT if not (bounds(1)[0] - 0.5 <= RA_SHORT <= bounds(1)[1] + 0.5) else RA_SHORT + 2
    on: list[int] = []
    for s in (503, 429, 413):
        if (
            f"status {s}" in retried["lookups"]
            or f"status {s} with Retry-After" in retried["lookups"]
        ) and honoured(s, short):
            on.append(s)
    other = next((s for s in (500, 502, 504, 408) if f"status {s}" in retried["lookups"]), None)
    anywhere = other is not None and bool(honoured(other, short))
    if not on and not anywhere:
        return _Field(None, [*evidence, "Retry-After: ignored (the backoff decides every wait)"])
    statuses: Any = "any" if anywhere else on
    probe_status = on[0] if on else other
    assert probe_status is not None
    # A long one: given up at once, clamped to a cap, or waited in full.
    gaps, obs = gap_after(plan.request("status", status=probe_status, retry_after=RA_LONG))
    if not gaps:
        cap: Any = short * 1000
        beyond = "give_up"
        evidence.append(
            f"{probe_status} with Retry-After: {RA_LONG}: given up at once ({_said(obs.outcome)}): "
            f"the cap lies between {short} and {RA_LONG} s"
        )
    elif gaps[0] < RA_LONG - 0.5:
        cap, beyond = _ms(gaps[0]), "clamp"
        evidence.append(
            f"{probe_status} with Retry-After: {RA_LONG}: retried after {gaps[0]:.2f} s: clamped"
        )
    else:
        cap, beyond = "unlimited", "clamp"
        evidence.append(
            f"{probe_status} with Retry-After: {RA_LONG}: retried after {gaps[0]:.2f} s: no cap found up to {RA_LONG} s"
        )
    # Zero: now, or the backoff (judged on the second retry, which a backoff never makes immediate... mostly).
    obs = go(
        replace(
            plan.request("status", status=probe_status, retry_after=0),
            rules=(
                _rule(
                    "zero",
                    {"operation": "devices", "phase": "response"},
                    sequence=[_status_fault(probe_status, 0)] * 2 + ["pass"],
                ),
            ),
            name=f"lookups-{probe_status}-retry-after-0-twice",
            what=f"devices {probe_status} with Retry-After: 0 twice, then the answer",
        )
    )
    zgaps = _gaps(tries_of(obs), timeout_s)
    expected = [bounds(n)[1] for n in range(1, len(zgaps) + 1)]
    zero = "now"
    if (
        zgaps
        and any(e > IMMEDIATE_S for e in expected)
        and all(g > IMMEDIATE_S or e <= IMMEDIATE_S for g, e in zip(zgaps, expected, strict=False))
    ):
        zero = "backoff"
    evidence.append(
        f"{probe_status} with Retry-After: 0, twice: retried after {_s(zgaps)} "
        + ("(the backoff)" if zero == "backoff" else "(at once)")
    )
    value: dict[str, Any] = {
        "statuses": statuses,
        "cap_ms": cap,
        "beyond_cap": beyond,
        "zero": zero,
    }
    return _Field(value, evidence)


def _infer_discovery(go: Callable[[Probe], Observation], plan: _Planner) -> _Field:
    evidence: list[str] = []
    versions: list[int] = []
    fallback_on: list[int] = []
    for status in (401, 404):
        obs = go(plan.discovery(status))
        asked: list[int] = []
        for a in obs.attempts:
            if a.operation != "mdminfo" or not a.sent_request:
                continue
            if a.auth is None and a.status == 401:
                continue  # an authentication challenge, not a version
            param = a.param("ise_api_version")
            version = int(param) if param and param.isdigit() else 1
            if not asked or asked[-1] != version:
                asked.append(version)
        evidence.append(
            f"discovery {status} on every request: asked version{'s' if len(asked) > 1 else ''} "
            f"{', '.join(map(str, asked)) or 'none'} ({_said(obs.outcome)})"
        )
        for v in asked:
            if v not in versions:
                versions.append(v)
        if len(asked) > 1:
            fallback_on.append(status)
    found: dict[str, Any] = {"versions": versions or [3]}
    if fallback_on:
        found["fallback_on"] = fallback_on
        found["max_fallbacks"] = len(versions) - 1
    return _Field(found, evidence)
