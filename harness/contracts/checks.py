"""The contracts as pure functions: ``(case, outcome, journal, policy) -> Verdict``.

Each check sees only what a black box leaves behind - the client's report (:class:`Outcome`),
the proxy's journal of attempts and the reference MDM's action record (:class:`Evidence`) - and
judges it against the client's declared :class:`Policy` and the rules no policy can waive.
Nothing here does I/O or sleeps, so every check is unit-tested on hand-made journals.

**Wire facts only.** A check reads what the typed attempt record says happened on the wire -
what was sent back (``sent``: status, headers, ``Retry-After``, bytes announced and sent,
whether the body was well-formed), the certificate shown, how the client's connection ended,
whether the request reached the MDM - never which fault the scenario used or its parameters
(a test greps this module for that). :func:`harness.attempt.failure_of` turns an attempt into
the failure kind of the policy language (``connect_refused`` ... ``closed_mid_response``), and
:func:`chains_of` groups attempts into the tries of each request and says what each
transition was: a retry, a declared transparent resend, a discovery fallback, an answered
authentication challenge, or a repeat after success.

**Timing tolerances** must hold on a loaded two-core machine:

* late: an upper bound of ``x`` seconds gets :func:`late_slack` = ``0.3 s + 20 %``;
* early, for waits: ``10 ms`` (:data:`EARLY_S`) - the proxy stamps the end of an answer before
  the client can have read it and the start of a retry after it arrived, so a measured gap can
  only overstate the wait the client really made;
* early, for timeouts: :func:`early_slack` = ``0.1 s + 10 %`` of the timeout per silent
  attempt, judged on the harness's own clock (how long the client took to report), never on
  the proxy's stamps: on a busy two-core machine the proxy can see a request hundreds of
  milliseconds after the client sent it and started its timer. A client that gives up more
  than that early is "far too early" (half the declared timeout is caught from 0.4 s up).

Over 400 lines: one pure function per contract (24 of them) and the transition analysis they
share (:func:`chains_of`). They are read side by side with ``docs/contracts.md`` and the zoo;
splitting them by group would separate each check from the helpers it shares with the others.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from harness.attempt import Attempt, answers_challenge, failure_of
from harness.client.policy import FAILURE_KINDS, NEVER_RETRIED, Policy, category_of
from harness.client.protocol import Outcome

from .model import Case, Evidence, Verdict, Window

__all__ = [
    "CHECKS",
    "EARLY_S",
    "EXIT_ALLOWANCE_S",
    "Chain",
    "Transition",
    "chains_of",
    "check",
    "early_slack",
    "late_slack",
    "result_differences",
]

#: S3: the most memory an exec client may use on an entity bomb (in-process clients: not measured).
MEMORY_BOUND_KIB = 512 * 1024

#: How much earlier than its lower bound an observed wait may be.
EARLY_S = 0.01

#: T1: how long after its last attempt a client may take to print its answer and exit.
EXIT_ALLOWANCE_S = 0.5


def late_slack(seconds: float) -> float:
    """How much later than an upper bound of ``seconds`` an observed time may be."""
    return 0.3 + 0.2 * seconds


def early_slack(timeout_s: float) -> float:
    """How much sooner than its declared timeout a client may seem to give up (see above)."""
    return 0.1 + 0.1 * timeout_s


Check = Callable[[Case, Outcome, Evidence, Policy], Verdict]


# ---------------------------------------------------------------------------------- helpers


def _said(outcome: Outcome) -> str:
    if outcome.kind == "ok":
        return "ok"
    if outcome.kind == "error":
        return f"error {outcome.error}"
    return f"crash ({outcome.crash_reason})"


def _verdict(
    case: Case,
    journal: Evidence,
    problems: Sequence[str],
    ok_reason: str,
    outcome: Outcome,
    windows: Sequence[Window] = (),
) -> Verdict:
    memory = f", peak memory {outcome.max_rss_kb // 1024} MiB" if outcome.max_rss_kb else ""
    evidence = [
        f"client reported: {_said(outcome)} after {outcome.duration:.3f} s{memory}",
        *journal.timeline(),
    ]
    if problems:
        return Verdict(case.contract, False, "; ".join(problems), tuple(evidence), tuple(windows))
    return Verdict(case.contract, True, ok_reason, tuple(evidence), tuple(windows))


def _crashed(outcome: Outcome) -> list[str]:
    return [f"the client crashed: {outcome.crash_reason}"] if outcome.kind == "crash" else []


def _reported(outcome: Outcome, allowed: Iterable[str]) -> list[str]:
    """A problem unless the outcome is one of ``allowed`` (``"ok"`` or error categories)."""
    allowed = set(allowed)
    got = "ok" if outcome.kind == "ok" else outcome.error if outcome.kind == "error" else None
    if got in allowed:
        return []
    return [f"reported {_said(outcome)}, expected {' or '.join(sorted(allowed))}"]


def request_key(attempt: Attempt) -> tuple[str, ...]:
    """Attempts with the same key are tries of the same logical request (retries of each other)."""
    op = attempt.operation or "other"
    if op in ("devices", "noncompliant", "batchdevices"):
        return (op, attempt.param("paging") or "0", attempt.param("value") or attempt.path or "")
    if op == "mdminfo":
        return (op,)
    return (op, attempt.path or "")


# ---------------------------------------------------------------------------------- wire facts


def _retry_after(attempt: Attempt) -> float | None:
    return None if attempt.sent is None else attempt.sent.retry_after_s()


def _has_retry_after(attempt: Attempt) -> bool:
    return attempt.sent is not None and attempt.sent.header("Retry-After") is not None


def _failed_at_least(attempt: Attempt, policy: Policy) -> float:
    """The earliest moment the client can have known ``attempt`` failed (for lower bounds):
    when the proxy closed or reset the connection; for an answer, when its head went out; for
    a client-side timeout, not before its timeout (less the early slack) - even if it kept the
    socket open longer."""
    end = attempt.end if attempt.end is not None else math.inf
    if attempt.client_end == "client_closed":
        return min(end, attempt.began + policy.timeout_s - early_slack(policy.timeout_s))
    if attempt.client_end in ("proxy_closed", "proxy_reset", "tls_failed"):
        return end  # a cut or closed connection is news only when it happens
    if attempt.sent is not None and attempt.sent.first_byte is not None:
        return min(end, attempt.sent.first_byte)  # a status can be acted on at its head
    return end


def _asked_version(attempt: Attempt) -> int | None:
    value = attempt.param("ise_api_version")
    if value is None:
        return 1 if attempt.path and not attempt.path.endswith("/") else None
    try:
        return int(value)
    except ValueError:
        return None


def _is_fallback(policy: Policy, previous: Attempt, current: Attempt) -> bool:
    """A declared discovery fallback: a 401 (say) answered, then a lower version asked."""
    if previous.operation != "mdminfo" or current.operation != "mdminfo" or previous.status is None:
        return False
    if not policy.discovery.falls_back_on(previous.status):
        return False
    before, after = _asked_version(previous), _asked_version(current)
    return before is not None and after is not None and after < before


How = Literal["retry", "resend", "fallback", "challenge", "after_success"]


@dataclass(frozen=True)
class Transition:
    """What one attempt was, following the previous try of the same request."""

    previous: Attempt
    current: Attempt
    how: How
    #: The failure kind of ``previous`` (see :func:`harness.attempt.failure_of`) and its status.
    kind: str
    status: int | None
    #: For a retry, its number (1 = the first retry since the request - or its discovery
    #: version - began); for a resend, how many resends so far.
    number: int

    @property
    def gap(self) -> float | None:
        """From the end of ``previous`` (as the proxy saw it) to the start of ``current``."""
        if self.previous.end is None:
            return None
        return self.current.began - self.previous.end


@dataclass(frozen=True)
class Chain:
    """The tries of one request, in order, and what each transition between them was."""

    key: tuple[str, ...]
    #: The operation of the policy that governs the request (mdminfo, device, noncompliant, action).
    operation: str
    attempts: tuple[Attempt, ...]
    transitions: tuple[Transition, ...]

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]

    def retries_since_version(self) -> int:
        """Retries of the last discovery version (or of the request) so far."""
        count = 0
        for t in self.transitions:
            count = 0 if t.how == "fallback" else count + (t.how == "retry")
        return count


def _policy_op(case: Case, key: tuple[str, ...]) -> str:
    op = key[0]
    if op == "mdminfo":
        return "mdminfo"
    if op == "action":
        return "action"
    if op == "noncompliant":
        return "noncompliant"
    if op == "pending":
        return key[1]
    return case.operation if case.operation in ("device", "noncompliant") else "device"


def chains_of(case: Case, journal: Evidence, policy: Policy) -> list[Chain]:
    """The journal as chains of tries, one per request, with each transition classified.

    An attempt that failed before any request (a refused or silent CONNECT, a failed
    handshake) belongs to the request the client was trying to make: the next one it sent,
    or - if it sent none after - the last request it had not got through, else the request
    that comes next in the operation (discovery first).
    """
    grouped: dict[tuple[str, ...], list[Attempt]] = {}
    pending: list[Attempt] = []
    for a in journal.attempts:
        if not a.sent_request:
            pending.append(a)
            continue
        grouped.setdefault(request_key(a), []).extend(pending)
        grouped[request_key(a)].append(a)
        pending = []
    if pending:
        last_key = next(reversed(grouped), None)
        if last_key is not None and failure_of(grouped[last_key][-1])[0] != "ok":
            grouped[last_key].extend(pending)
        elif not any(
            k[0] == "mdminfo" and failure_of(v[-1])[0] == "ok" for k, v in grouped.items()
        ):
            grouped.setdefault(("mdminfo",), []).extend(pending)
        else:
            grouped.setdefault(("pending", case.operation), []).extend(pending)
    return [
        _walk(key, _policy_op(case, key), attempts, policy) for key, attempts in grouped.items()
    ]


def _walk(key: tuple[str, ...], op: str, attempts: list[Attempt], policy: Policy) -> Chain:
    transitions: list[Transition] = []
    retries = resends = 0
    for previous, current in itertools.pairwise(attempts):
        kind, status = failure_of(previous)
        how: How
        number = 0
        if kind == "ok":
            how = "after_success"
        elif _is_fallback(policy, previous, current):
            how, retries = "fallback", 0
        elif answers_challenge(previous, current):
            how = "challenge"
        elif (
            resends < policy.resend.max
            and kind in FAILURE_KINDS
            and policy.resends(kind, op)
            and previous.end is not None
            and current.began - previous.end <= late_slack(0.0)
        ):
            resends += 1
            how, number = "resend", resends
        else:
            retries += 1
            how, number = "retry", retries
        transitions.append(Transition(previous, current, how, kind, status, number))
    return Chain(key, op, tuple(attempts), tuple(transitions))


def _describe(kind: str, status: int | None) -> str:
    return f"status {status}" if kind == "status" else kind


def _would_retry(policy: Policy, chain: Chain) -> str | None:
    """Why the policy says the client retries after the chain's last attempt, or ``None``."""
    last = chain.last
    kind, status = failure_of(last)
    n = chain.retries_since_version() + 1
    if kind == "ok" or n >= policy.max_attempts_for(chain.operation):
        return None
    if kind == "status":
        assert status is not None
        if status in NEVER_RETRIED or not policy.retries(
            status=status, operation=chain.operation, retry_after=_has_retry_after(last)
        ):
            return None
        if policy.delay_bounds(n, _retry_after(last), status=status) is None:
            return None  # a Retry-After beyond the cap ends the retries
        return f"status {status}"
    if kind in FAILURE_KINDS and policy.retries(kind, chain.operation):
        return kind
    return None


# ---------------------------------------------------------------------------------- transport


def t1_hang_times_out(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    """A hang ends at the declared timeout: not much later, not far sooner.

    *Upper bound*, per attempt: what follows an unanswered attempt - the next attempt, or the
    client's report - comes no later than its last activity + the timeout + the longest wait
    the policy allows before that + slack. The socket's own close is not judged: a client may
    keep it open through its backoff sleep.

    *Lower bound*, on the harness's own clock: a client that gave up on ``n`` silent attempts
    took at least ``n`` x (timeout - early slack) to report. The proxy's stamps are not used
    for it: on a busy machine the proxy may see a request a few hundred milliseconds after the
    client sent it (and started its timer), which would make an honest timeout look early.
    """
    timeout = policy.timeout_s
    problems = _crashed(outcome) + _reported(outcome, {"timeout"})
    windows: list[Window] = []
    follows: dict[int, Transition] = {}
    for chain in chains_of(case, journal, policy):
        for t in chain.transitions:
            follows[t.previous.seq] = t
    ordered = list(journal.attempts)
    abandoned, backoff_least = 0, 0.0
    for i, a in enumerate(ordered):
        transition = follows.get(a.seq)
        if a.answered or (transition is not None and transition.how == "challenge"):
            # A 401 challenge the client answered with credentials gave it what it needed,
            # however much of the 401's body it read before moving on (wget reads the head
            # and part of the body, then leaves): nothing hung, nothing was given up on.
            continue
        if _given_up(a):
            abandoned += 1
            if transition is not None and transition.how == "retry":
                # the retry after a timeout waits at least its declared backoff too
                bounds = policy.delay_bounds(transition.number, _retry_after(a))
                backoff_least += bounds[0] if bounds is not None else 0.0
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        if nxt is not None:
            wait = 0.0
            if transition is not None and transition.current is nxt and transition.how == "retry":
                bounds = policy.delay_bounds(
                    transition.number, _retry_after(a), status=transition.status
                )
                wait = bounds[1] if bounds is not None else 0.0
            event, what, breacher = nxt.began, f"attempt #{nxt.seq} began", nxt.seq
            allowance = wait
        else:
            event, what, breacher = outcome.ended, "the client reported", 0
            wait, allowance = 0.0, EXIT_ALLOWANCE_S
        deadline = a.last_activity + timeout + allowance + late_slack(timeout + wait)
        late = event > deadline
        windows.append(
            Window(
                "timeout",
                a.seq,
                a.began + timeout - early_slack(timeout),
                a.last_activity + timeout + late_slack(timeout),
                f"attempt #{a.seq}: timeout {timeout:.3f} s",
            )
        )
        if nxt is not None and wait:
            windows.append(
                Window(
                    "backoff",
                    a.seq,
                    a.last_activity + timeout,
                    deadline,
                    f"timeout + up to {wait:.3f} s before attempt #{nxt.seq}",
                    breached_by=breacher if late else None,
                )
            )
        elif late or nxt is None:
            windows.append(
                Window(
                    "deadline",
                    a.seq,
                    a.began,
                    deadline,
                    f"{what} by then",
                    breached_by=breacher if late else None,
                )
            )
        if late:
            problems.append(
                f"{what} {event - a.last_activity:.2f} s after attempt #{a.seq}'s last activity; "
                f"the declared timeout {timeout:.2f} s"
                + (f" + up to {wait:.2f} s of backoff" if wait else "")
                + f" + {allowance - wait + late_slack(timeout + wait):.2f} s tolerance allows no more"
            )
    least = abandoned * (timeout - early_slack(timeout)) + backoff_least
    if abandoned and outcome.kind != "crash":
        early = outcome.duration < least
        windows.append(
            Window(
                "deadline",
                None,
                outcome.started + least,
                outcome.started + least,
                f"{abandoned} timeout(s) of {timeout:.3f} s: the report no sooner",
                breached_by=0 if early else None,
            )
        )
        if early:
            problems.append(
                f"the client gave up on {abandoned} silent attempt(s) and reported after "
                f"{outcome.duration:.2f} s, far sooner than {abandoned} x its declared "
                f"{timeout:.2f} s timeout allows ({least:.2f} s with a tolerance of "
                f"{early_slack(timeout):.2f} s each"
                + (f", and {backoff_least:.2f} s of backoff between them" if backoff_least else "")
                + ")"
            )
    return _verdict(
        case,
        journal,
        problems,
        f"every hang ended at the declared {timeout:.2f} s (within tolerance) as timeout",
        outcome,
        windows,
    )


def _given_up(a: Attempt) -> bool:
    """The client left a silent attempt: it closed it while nothing came (or the proxy never
    saw it end), or left a valid TLS handshake half done (a timeout that fired during TLS)."""
    if a.end is None or a.client_end == "client_closed":
        return True
    return a.client_end == "tls_failed" and a.certificate in (None, "valid") and a.sent is None


def t2_bounded_attempts(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    problems = _crashed(outcome)
    for chain in chains_of(case, journal, policy):
        limit = policy.max_attempts_for(chain.operation)
        tries, worst = 1, 1
        for t in chain.transitions:
            if t.how == "fallback":
                tries = 1
            elif t.how == "retry":
                tries += 1
            worst = max(worst, tries)
        what = "/".join(chain.key[:2])
        if worst > limit:
            problems.append(
                f"{worst} attempts at {what}, the policy declares at most {limit} for {chain.operation}"
            )
        resends = sum(t.how == "resend" for t in chain.transitions)
        if resends > policy.resend.max:  # pragma: no cover - _walk never counts more
            problems.append(f"{resends} silent resends of {what}")
    return _verdict(
        case, journal, problems, "no request was tried more often than declared", outcome
    )


def t3_only_declared_retries(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome)
    for chain in chains_of(case, journal, policy):
        fallbacks = 0
        for t in chain.transitions:
            if t.how == "fallback":
                fallbacks += 1
                if fallbacks > policy.discovery.max_fallbacks:
                    problems.append(
                        f"attempt #{t.current.seq} is discovery fallback number {fallbacks}; the policy declares at most {policy.discovery.max_fallbacks}"
                    )
                continue
            if t.how != "retry":
                continue  # a resend, an answered challenge, a repeat after success (T5)
            if t.kind == "status":
                assert t.status is not None
                if t.status in NEVER_RETRIED:
                    problems.append(
                        f"attempt #{t.current.seq} retried after status {t.status}, which is never retried"
                    )
                elif not policy.retries(
                    status=t.status,
                    operation=chain.operation,
                    retry_after=_has_retry_after(t.previous),
                ):
                    problems.append(
                        f"attempt #{t.current.seq} retried after status {t.status}, which the policy does not retry for {chain.operation}"
                    )
            elif not policy.retries(t.kind, chain.operation):
                problems.append(
                    f"attempt #{t.current.seq} retried after {t.kind} ({category_of(t.kind)}), which the policy does not retry for {chain.operation}"
                )
    return _verdict(case, journal, problems, "only declared failures were retried", outcome)


def t4_backoff(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    """The wait before each retry lies within the declared backoff (or an honoured
    ``Retry-After``); a declared resend is immediate; every retry the policy declares for the
    failures seen happened; and the outcome is what the policy makes of the case."""
    problems = _crashed(outcome) + (_reported(outcome, case.expect) if case.expect else [])
    windows: list[Window] = []
    checked = 0
    for chain in chains_of(case, journal, policy):
        for t in chain.transitions:
            previous, current, end = t.previous, t.current, t.previous.end
            if t.how not in ("retry", "resend") or end is None:
                continue
            if t.how == "resend":
                checked += 1
                windows.append(
                    Window(
                        "backoff",
                        previous.seq,
                        end,
                        end + late_slack(0.0),
                        "declared resend: at once",
                    )
                )
                continue
            after = _retry_after(previous)
            bounds = policy.delay_bounds(t.number, after, status=t.status)
            honoured = after is not None and policy.retry_after.honoured_on(t.status)
            checked += 1
            if bounds is None:
                problems.append(
                    f"attempt #{current.seq} came after a Retry-After of {after:g} s, beyond the declared cap: the client should have given up"
                )
                continue
            low, high = bounds
            since = _failed_at_least(previous, policy)
            waited_at_least = current.began - end
            waited_at_most = current.began - since
            label = f"retry #{t.number}: " + (
                f"Retry-After {after:g} s" if honoured else f"backoff {low:.3f}-{high:.3f} s"
            )
            breach = None
            if waited_at_most < low - EARLY_S:
                breach = current.seq
                problems.append(
                    f"retry #{t.number} (attempt #{current.seq}) waited {waited_at_most:.3f} s, less than the declared {low:.3f} s"
                    + (f" (Retry-After {after:g} s)" if honoured and after is not None else "")
                )
            elif waited_at_least > high + late_slack(high):
                breach = current.seq
                problems.append(
                    f"retry #{t.number} (attempt #{current.seq}) waited {waited_at_least:.3f} s, more than the declared {high:.3f} s + tolerance"
                )
            windows.append(
                Window(
                    "retry-after" if honoured else "backoff",
                    previous.seq,
                    since + low - EARLY_S,
                    end + high + late_slack(high),
                    label,
                    breached_by=breach,
                )
            )
        missing = _would_retry(policy, chain)
        if missing is not None and outcome.kind != "crash":
            problems.append(
                f"the policy retries {missing} for {chain.operation}, but attempt #{chain.last.seq} "
                f"was not retried ({len(chain.attempts)} of {policy.max_attempts_for(chain.operation)} attempts)"
            )
    reason = (
        f"{checked} waits between attempts within the declared backoff"
        if checked
        else "nothing was retried, as the policy declares, and the failure was reported"
    )
    return _verdict(case, journal, problems, reason, outcome, windows)


def t5_quiet_after_success(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    for chain in chains_of(case, journal, policy):
        done = next((a for a in chain.attempts if a.succeeded), None)
        if done is not None:
            again = [a for a in chain.attempts if a.began > done.began]
            if again:
                problems.append(
                    f"{'/'.join(chain.key[:2])} succeeded at #{done.seq} and was sent again (#{', #'.join(str(a.seq) for a in again)})"
                )
    if outcome.kind == "ok" and journal.attempts:
        finals = [a for a in journal.attempts if a.succeeded and a.operation == case.target]
        if finals:
            last = max(finals, key=lambda a: a.began)
            later = [a for a in journal.attempts if a.began > (last.end or last.began)]
            if later:
                problems.append(
                    f"requests continued after the final answer (#{', #'.join(str(a.seq) for a in later)})"
                )
    return _verdict(case, journal, problems, "nothing was sent after success", outcome)


def t6_early_failures_reported(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    return _verdict(
        case, journal, problems, f"reported as {' or '.join(sorted(case.expect))}", outcome
    )


def t7_cut_body_is_not_success(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome)
    if outcome.kind == "ok":
        complete = [a for a in journal.of(case.target or "devices") if a.succeeded]
        if not complete:
            problems.append("reported ok although every answer was cut short")
    elif outcome.kind == "error" and outcome.error not in case.expect:
        problems.append(f"reported {outcome.error}, expected {' or '.join(sorted(case.expect))}")
    return _verdict(case, journal, problems, "a cut body was not taken for an answer", outcome)


def t8_action_at_most_once(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome)
    executed = [a for a in journal.actions if case.device_key is None or a[1] == case.device_key]
    if len(executed) > 1:
        problems.append(f"the MDM executed the action {len(executed)} times: {executed}")
    if (
        outcome.kind == "ok"
        and outcome.result
        and outcome.result.get("action_status")
        and not executed
    ):
        problems.append("reported a successful action the MDM never executed")
    return _verdict(case, journal, problems, f"executed {len(executed)} time(s)", outcome)


# ---------------------------------------------------------------------------------- parsing


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip(" \t\n\r")
        return value or None
    return value


def result_differences(expected: Any, actual: Any, path: str = "result") -> list[str]:
    """Where ``actual`` differs from ``expected`` (extra keys in ``actual`` are ignored)."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{path}: expected an object, got {actual!r}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing (expected {value!r})")
            else:
                out.extend(result_differences(value, actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        if len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} item(s), got {len(actual)}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(result_differences(e, a, f"{path}[{i}]"))
        return out
    if isinstance(expected, bool) or expected is None:
        return (
            []
            if actual is expected or (expected is None and _norm(actual) is None)
            else [f"{path}: expected {expected!r}, got {actual!r}"]
        )
    if isinstance(expected, int):
        return (
            []
            if type(actual) is int and actual == expected
            else [f"{path}: expected {expected!r}, got {actual!r}"]
        )
    return (
        []
        if _norm(actual) == _norm(expected)
        else [f"{path}: expected {expected!r}, got {actual!r}"]
    )


def p1_valid_parses(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, {"ok"})
    if outcome.kind == "ok" and case.expected_result is not None:
        diffs = result_differences(case.expected_result, outcome.result or {})
        problems += diffs[:8] + (
            [f"... and {len(diffs) - 8} more differences"] if len(diffs) > 8 else []
        )
    return _verdict(case, journal, problems, "parsed to exactly the expected values", outcome)


def p2_malformed_refused(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    return _verdict(case, journal, problems, "refused the malformed body", outcome)


p3_incomplete_refused = p2_malformed_refused
p4_order_and_unknowns_ignored = p1_valid_parses


def p5_full_page_in_bound(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    verdict = p1_valid_parses(case, outcome, journal, policy)
    problems = [] if verdict.passed else [verdict.reason]
    bound = case.bound_s or 2.0
    served = [a for a in journal.of(case.target or "noncompliant") if a.end is not None]
    if served:
        after = outcome.ended - max(a.end for a in served if a.end is not None)
        if after > bound:
            problems.append(
                f"took {after:.2f} s after the last byte of the page, the bound is {bound:.2f} s"
            )
    return _verdict(case, journal, problems, f"parsed the full page within {bound:.1f} s", outcome)


# ---------------------------------------------------------------------------------- protocol


def r1_uses_given_api_path(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    discovery = journal.of("mdminfo")
    if not discovery:
        problems.append("no discovery request was made")
    else:
        first = discovery[0]
        asked = first.param("ise_api_version")
        if policy.discovery.versions[0] >= 2 and asked is None:
            problems.append(f"discovery #{first.seq} did not send ise_api_version")
        elif asked is not None and asked.strip() != str(policy.discovery.versions[0]):
            problems.append(
                f"discovery #{first.seq} asked ise_api_version={asked}, the policy declares {policy.discovery.versions[0]} first"
            )
    prefix = (case.api_path or "").rstrip("/") + "/"
    later = [a for a in journal.attempts if a.operation != "mdminfo" and a.sent_request]
    if not later:
        problems.append("no request followed discovery")
    for a in later:
        if not (a.path or "").startswith(prefix):
            problems.append(
                f"#{a.seq} went to {a.path}, not under the api_path {case.api_path!r} discovery gave"
            )
    return _verdict(
        case, journal, problems, f"asked with ise_api_version, then used {case.api_path}", outcome
    )


def r2_api_version_honoured(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    later = [a for a in journal.attempts if a.operation not in ("mdminfo", None) and a.sent_request]
    if "ok" not in case.expect:
        if later:
            problems.append(
                f"went on to #{later[0].seq} {later[0].path} after a discovery answer it should have refused"
            )
    else:
        version = case.api_version or 3
        for a in later:
            query_form = bool(a.params.get("querycriteria"))
            if version == 1 and query_form:
                problems.append(
                    f"#{a.seq} used the v2/v3 query form although the server answered api_version 1"
                )
            if version >= 2 and not query_form and a.operation == "devices":
                problems.append(
                    f"#{a.seq} used the v1 path form although the server answered api_version {version}"
                )
        if not later:
            problems.append("no device request followed discovery")
    return _verdict(
        case, journal, problems, "the answered api_version decided what followed", outcome
    )


def r3_mac_normalised(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    problems = _crashed(outcome)
    queries = [a for a in journal.of("devices") if a.sent_request]
    if not queries:
        problems.append("no device query was sent")
    for a in queries:
        value = a.param("value")
        if (
            value is None and a.path
        ):  # v1 path form: .../devices/{paging}/{criteria}/{value}/{filter}
            parts = a.path.rstrip("/").split("/")
            value = parts[-2] if len(parts) >= 2 else None
        if value != case.device_key:
            problems.append(
                f"#{a.seq} sent the MAC as {value!r}; given {case.mac_written!r} it must send {case.device_key!r}"
            )
    return _verdict(case, journal, problems, f"sent {case.device_key}", outcome)


def r4_cursors_verbatim(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, {"ok"})
    pages = [
        a for a in journal.attempts if a.operation in ("noncompliant", "devices") and a.sent_request
    ]
    sent = [a.param("paging") for a in pages]
    cursors = list(case.cursors or ())
    wanted = ["0", *cursors[:-1]]
    # Retries repeat a cursor; what matters is the sequence of distinct pages asked for, in order.
    distinct = [c for i, c in enumerate(sent) if i == 0 or c != sent[i - 1]]
    if distinct != wanted:
        problems.append(
            f"asked for pages with paging={distinct}, the server handed out {wanted} (then 0)"
        )
    if outcome.kind == "ok" and case.expected_result is not None:
        problems += result_differences(case.expected_result, outcome.result or {})[:5]
    return _verdict(
        case, journal, problems, f"walked {len(wanted)} pages with the server's cursors", outcome
    )


def r5_cursor_loop_detected(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    pages = [
        a for a in journal.attempts if a.operation in ("noncompliant", "devices") and a.sent_request
    ]
    repeats: dict[str, int] = {}
    for a in pages:
        cursor = a.param("paging") or "0"
        if a.succeeded:
            repeats[cursor] = repeats.get(cursor, 0) + 1
    worst = max(repeats.values(), default=0)
    if worst > 2:
        problems.append(
            f"asked the same page {worst} times: a loop must be detected at its first repeat"
        )
    if len(pages) > 10:
        problems.append(f"{len(pages)} page requests for a loop of one cursor")
    return _verdict(case, journal, problems, "stopped at the repeated cursor", outcome)


def r6_empty_list_is_unregistered(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, {"ok"})
    if outcome.kind == "ok":
        devices = (outcome.result or {}).get("devices")
        if devices != []:
            problems.append(f"reported devices={devices!r} for an empty deviceList")
    return _verdict(
        case, journal, problems, "an empty deviceList was reported as no devices", outcome
    )


# ---------------------------------------------------------------------------------- security


def s1_certificates_verified(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, {"tls_error"})
    leaked = [a for a in journal.attempts if a.sent_request]
    if leaked:
        problems.append(
            f"sent {len(leaked)} request(s) over a connection with a bad certificate (#{', #'.join(str(a.seq) for a in leaked)})"
        )
    return _verdict(
        case, journal, problems, "refused the certificate before sending anything", outcome
    )


def s2_no_external_entities(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    """No fetch of the canary URL, and no trace of the canary file's token in the client's
    answer (stdout, stderr, the message, the result): an external entity, parameter entity
    or DTD was resolved neither over the network nor from the local file system."""
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    if journal.canary_hits:
        hit = journal.canary_hits[0]
        problems.insert(
            0,
            f"fetched the external entity: {len(journal.canary_hits)} request(s) to the canary, first {hit}",
        )
    token = case.canary_token
    if token:
        streams = {
            "stdout": outcome.stdout or "",
            "stderr": outcome.stderr or "",
            "message": outcome.message or "",
            "result": json.dumps(outcome.result, ensure_ascii=False) if outcome.result else "",
        }
        leaked = [name for name, text in streams.items() if token in text]
        if leaked:
            problems.insert(
                0,
                f"read a local file through an external entity: the canary file's token appears in {', '.join(leaked)}",
            )
    return _verdict(
        case, journal, problems, "resolved no external entity, remote or local", outcome
    )


def s3_bomb_defused(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    bound = case.bound_s or (policy.timeout_s * policy.max_attempts_for(case.operation) + 5.0)
    if outcome.duration > bound:
        problems.append(f"took {outcome.duration:.2f} s, the bound is {bound:.2f} s")
    rss = outcome.max_rss_kb
    if rss is not None and rss > MEMORY_BOUND_KIB:
        problems.append(
            f"peaked at {rss // 1024} MiB of memory, the bound is {MEMORY_BOUND_KIB // 1024} MiB"
        )
    return _verdict(case, journal, problems, "refused the entity bomb quickly", outcome)


def s4_credentials_stay_home(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome)
    for a in journal.attempts:
        if not a.auth:
            continue
        if a.scheme != "https":
            problems.append(f"#{a.seq} sent credentials over plain {a.scheme} to {a.host}")
        elif case.host and (a.host or "").lower() != case.host.lower():
            problems.append(f"#{a.seq} sent credentials to another host, {a.host}")
    return _verdict(
        case, journal, problems, f"credentials went only to https://{case.host}", outcome
    )


def secrets_of(username: str, password: str) -> tuple[str, ...]:
    """The forms of a password that must never appear in output: as is, and inside Basic auth."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return (password, token)


def s5_password_not_printed(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    secrets = journal.secrets
    problems = _crashed(outcome)
    streams = {
        "stdout": outcome.stdout or "",
        "stderr": outcome.stderr or "",
        "message": outcome.message or "",
    }
    for name, text in streams.items():
        for secret in secrets:
            if secret and secret in text:
                problems.append(
                    f"the {'password' if secret == secrets[0] else 'Basic credentials'} appear(s) in {name}"
                )
    return _verdict(case, journal, problems, "the password appears nowhere in the output", outcome)


CHECKS: Mapping[str, Check] = {
    "T1": t1_hang_times_out,
    "T2": t2_bounded_attempts,
    "T3": t3_only_declared_retries,
    "T4": t4_backoff,
    "T5": t5_quiet_after_success,
    "T6": t6_early_failures_reported,
    "T7": t7_cut_body_is_not_success,
    "T8": t8_action_at_most_once,
    "P1": p1_valid_parses,
    "P2": p2_malformed_refused,
    "P3": p3_incomplete_refused,
    "P4": p4_order_and_unknowns_ignored,
    "P5": p5_full_page_in_bound,
    "R1": r1_uses_given_api_path,
    "R2": r2_api_version_honoured,
    "R3": r3_mac_normalised,
    "R4": r4_cursors_verbatim,
    "R5": r5_cursor_loop_detected,
    "R6": r6_empty_list_is_unregistered,
    "S1": s1_certificates_verified,
    "S2": s2_no_external_entities,
    "S3": s3_bomb_defused,
    "S4": s4_credentials_stay_home,
    "S5": s5_password_not_printed,
}


def check(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    """Judge ``case`` by its own contract."""
    return CHECKS[case.contract](case, outcome, journal, policy)
