"""The contracts as pure functions: ``(case, outcome, journal, policy) -> Verdict``.

Each check sees only what a black box leaves behind - the client's report (:class:`Outcome`),
the proxy's journal of attempts and the reference MDM's action record (:class:`Evidence`) - and
judges it against the client's declared :class:`Policy` and the rules no policy can waive.
Nothing here does I/O or sleeps, so every check is unit-tested on hand-made journals.

Timing tolerances are generous on purpose (they must hold on a loaded two-core machine):
an upper bound gets ``0.3 s + 20 %`` of slack. A lower bound gets only ``10 ms``: the
proxy stamps the end of an answer before the client can have read it and the start of a retry
after it arrived, so a measured gap can only overstate the wait the client really made.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from harness.attempt import Attempt
from harness.client.policy import Policy
from harness.client.protocol import Outcome

from .model import Case, Evidence, Verdict

__all__ = ["CHECKS", "EARLY_S", "check", "late_slack", "result_differences"]

#: S3: the most memory an exec client may use on an entity bomb (in-process clients: not measured).
MEMORY_BOUND_KIB = 512 * 1024

#: How much earlier than its lower bound an observed wait may be.
EARLY_S = 0.01


def late_slack(seconds: float) -> float:
    """How much later than an upper bound of ``seconds`` an observed time may be."""
    return 0.3 + 0.2 * seconds


Check = Callable[[Case, Outcome, Evidence, Policy], Verdict]


# ---------------------------------------------------------------------------------- helpers


def _said(outcome: Outcome) -> str:
    if outcome.kind == "ok":
        return "ok"
    if outcome.kind == "error":
        return f"error {outcome.error}"
    return f"crash ({outcome.crash_reason})"


def _verdict(
    case: Case, journal: Evidence, problems: Sequence[str], ok_reason: str, outcome: Outcome
) -> Verdict:
    memory = f", peak memory {outcome.max_rss_kb // 1024} MiB" if outcome.max_rss_kb else ""
    evidence = [
        f"client reported: {_said(outcome)} after {outcome.duration:.3f} s{memory}",
        *journal.timeline(),
    ]
    if problems:
        return Verdict(case.contract, False, "; ".join(problems), tuple(evidence))
    return Verdict(case.contract, True, ok_reason, tuple(evidence))


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


def _retry_chains(attempts: Iterable[Attempt]) -> dict[tuple[str, ...], list[Attempt]]:
    chains: dict[tuple[str, ...], list[Attempt]] = {}
    for a in attempts:
        chains.setdefault(request_key(a), []).append(a)
    return chains


def failure_of(attempt: Attempt) -> tuple[str, int | None]:
    """How an attempt failed, as the client saw it on the wire: ``(category, status)``;
    ``("ok", 2xx)`` if it did not. Judged from the record's wire facts alone."""
    if attempt.client_end == "tls_failed" or attempt.certificate not in (None, "valid"):
        return "tls_error", None
    sent = attempt.sent
    if sent is None or attempt.phase == "connect":
        # Nothing came back (or only the proxy's refusal of the CONNECT).
        if attempt.client_end == "client_closed" and sent is None:
            return "timeout", None
        return "connection_error", None
    if not attempt.answered:
        if attempt.client_end == "client_closed":
            return "timeout", sent.status
        return "connection_error", sent.status
    if sent.status >= 300 or sent.status < 200:
        return "status", sent.status
    if sent.body is not None and sent.body.form == "malformed":
        return "parse_error", sent.status
    return "ok", sent.status


def _retry_after(attempt: Attempt) -> float | None:
    return None if attempt.sent is None else attempt.sent.retry_after_s()


def _policy_op(case: Case, attempt: Attempt) -> str:
    if attempt.operation == "mdminfo":
        return "mdminfo"
    if attempt.operation == "action":
        return "action"
    return case.operation if case.operation in ("device", "noncompliant") else "device"


def _is_fallback(policy: Policy, previous: Attempt, current: Attempt) -> bool:
    """A declared discovery fallback: a 401 (say) answered, then a lower version asked."""
    if previous.operation != "mdminfo" or current.operation != "mdminfo" or previous.status is None:
        return False
    if not policy.discovery.falls_back_on(previous.status):
        return False
    before, after = _asked_version(previous), _asked_version(current)
    return before is not None and after is not None and after < before


def _asked_version(attempt: Attempt) -> int | None:
    value = attempt.param("ise_api_version")
    if value is None:
        return 1 if attempt.path and not attempt.path.endswith("/") else None
    try:
        return int(value)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------- transport


def t1_hang_times_out(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    timeout = policy.timeout_s
    problems = _crashed(outcome) + _reported(outcome, {"timeout"})
    allowed = timeout + late_slack(timeout)
    for a in journal.attempts:
        if a.duration is None:
            problems.append(f"attempt #{a.seq} never ended")
        elif not a.answered and a.duration > allowed:
            problems.append(
                f"attempt #{a.seq} hung for {a.duration:.2f} s, longer than the declared {timeout:.2f} s + {late_slack(timeout):.2f} s tolerance"
            )
    return _verdict(
        case,
        journal,
        problems,
        f"every hang ended within {timeout:.2f} s (+tolerance) as timeout",
        outcome,
    )


def t2_bounded_attempts(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    problems = _crashed(outcome)
    for key, chain in _retry_chains(journal.attempts).items():
        op = _policy_op(case, chain[0])
        limit = policy.max_attempts_for(op)
        if key[0] == "mdminfo":
            limit += min(policy.discovery.max_fallbacks, len(policy.discovery.versions) - 1) * limit
        if len(chain) > limit:
            problems.append(
                f"{len(chain)} attempts at {'/'.join(key[:2])}, the policy declares at most {limit} for {op}"
            )
    return _verdict(
        case, journal, problems, "no request was tried more often than declared", outcome
    )


def t3_only_declared_retries(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome)
    for chain in _retry_chains(journal.attempts).values():
        fallbacks = 0
        for previous, current in itertools.pairwise(chain):
            category, status = failure_of(previous)
            if _is_fallback(policy, previous, current):
                fallbacks += 1
                if fallbacks > policy.discovery.max_fallbacks:
                    problems.append(
                        f"attempt #{current.seq} is discovery fallback number {fallbacks}; the policy declares at most {policy.discovery.max_fallbacks}"
                    )
                continue
            if category == "ok":
                continue  # a repeat after success is T5's business
            if category == "status":
                assert status is not None
                if status in (400, 401, 403, 404) or not policy.retries(status=status):
                    problems.append(
                        f"attempt #{current.seq} retried after status {status}, which the policy does not retry"
                    )
            elif not policy.retries(category=category):
                problems.append(
                    f"attempt #{current.seq} retried after {category}, which the policy does not retry"
                )
    return _verdict(case, journal, problems, "only declared failures were retried", outcome)


def t4_backoff(case: Case, outcome: Outcome, journal: Evidence, policy: Policy) -> Verdict:
    problems = _crashed(outcome)
    checked = 0
    for chain in _retry_chains(journal.attempts).values():
        for n, (previous, current) in enumerate(itertools.pairwise(chain), start=1):
            if previous.end is None or _is_fallback(policy, previous, current):
                continue
            if failure_of(previous)[0] == "ok":
                continue  # a repeat after success is not a retry (T5 judges it)
            after = _retry_after(previous) if previous.status in (429, 503) else None
            bounds = policy.delay_bounds(n, after)
            gap = current.began - previous.end
            checked += 1
            if bounds is None:
                problems.append(
                    f"attempt #{current.seq} came {gap:.3f} s after a Retry-After of {after} s beyond the declared cap: the client should have given up"
                )
                continue
            low, high = bounds
            if gap < low - EARLY_S:
                problems.append(
                    f"retry #{n} (attempt #{current.seq}) waited {gap:.3f} s, less than the declared {low:.3f} s"
                    + (
                        f" (Retry-After {after:g} s)"
                        if after is not None and policy.retry_after_honoured
                        else ""
                    )
                )
            elif gap > high + late_slack(high):
                problems.append(
                    f"retry #{n} (attempt #{current.seq}) waited {gap:.3f} s, more than the declared {high:.3f} s + tolerance"
                )
    if checked == 0 and not problems:
        problems.append(
            "no retry was observed, so the backoff cannot be judged (the case injects retryable failures)"
        )
    return _verdict(
        case,
        journal,
        problems,
        f"{checked} gaps between attempts within the declared backoff",
        outcome,
    )


def t5_quiet_after_success(
    case: Case, outcome: Outcome, journal: Evidence, policy: Policy
) -> Verdict:
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    for key, chain in _retry_chains(journal.attempts).items():
        done = next((a for a in chain if a.succeeded), None)
        if done is not None:
            again = [a for a in chain if a.began > done.began]
            if again:
                problems.append(
                    f"{'/'.join(key[:2])} succeeded at #{done.seq} and was sent again (#{', #'.join(str(a.seq) for a in again)})"
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
    problems = _crashed(outcome) + _reported(outcome, case.expect)
    if journal.canary_hits:
        hit = journal.canary_hits[0]
        problems.insert(
            0,
            f"fetched the external entity: {len(journal.canary_hits)} request(s) to the canary, first {hit}",
        )
    return _verdict(case, journal, problems, "never fetched the external entity", outcome)


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
