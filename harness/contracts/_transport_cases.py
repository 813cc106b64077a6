"""The transport contract cases, T1-T8: hangs, failures and retries, cut bodies, actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.client.policy import NEVER_RETRIED, Policy
from harness.faults.connect_refuse import ConnectRefuse
from harness.faults.partial import Partial
from harness.scenario import Rule

from . import _scenarios as sc
from ._case_site import Site, device_args
from .model import Case
from .strategies import Document, FailureStep, policy_steps, status_step

#: Every fault a client may answer with a timeout, for T1.
HANG_PHASES = ("connect", "tls", "request", "response", "body")
CONNECTION_ERRORS = frozenset({"connection_error"})
CUT_BODY_OUTCOMES = frozenset({"connection_error"})


def t1_hang(site: Site, phase: str) -> Case:
    """A hang at ``phase`` on every attempt: the client must give up at its timeout."""
    if phase in ("connect", "tls"):
        rules = [sc.rule(f"hang-at-{phase}", "hang", phase=phase)]
        target = None
    elif phase == "body":
        rules = [sc.rule("body-then-hang", Partial(bytes=64, then="hang"), operation="devices")]
        target = "devices"
    else:
        rules = [sc.rule(f"hang-at-{phase}", "hang", phase=phase, operation="devices")]
        target = "devices"
    scenario = sc.scenario(
        f"t1-hang-{phase}",
        rules,
        description=f"every attempt hangs at {phase}; only the client's timeout ends it",
        expect="timeout",
    )
    return Case(
        "T1",
        f"hang at {phase}",
        "device",
        device_args(site),
        scenario,
        frozenset({"timeout"}),
        target=target,
    )


def _schedule_rule(
    name: str, steps: Sequence[FailureStep], *, target: str, then_pass: bool
) -> Rule:
    """One rule carrying ``steps`` as a per-attempt sequence: connection-level steps at the
    CONNECT phase (any request), request-level ones at the response phase of ``target``."""
    sequence = [s.fault for s in steps] + ([None] if then_pass else [])
    if steps and steps[0].level == "connection":
        return sc.rule(name, sequence=sequence, phase="connect")
    return sc.rule(name, sequence=sequence, operation=target, phase="response")


def _title(steps: Sequence[FailureStep], then_pass: bool) -> str:
    names = [s.name for s in steps] + (["pass"] if then_pass else [])
    return ", ".join(names) or "no fault"


def t2_failing_schedule(
    site: Site, steps: Sequence[FailureStep], *, operation: str = "device"
) -> Case:
    """Failures on every attempt of one request (the ``steps``, then again the last one):
    never more attempts than declared."""
    target = _TARGETS[operation]
    steps = list(steps) or [status_step(503)]
    padded = steps + [steps[-1]] * 8
    rules = [_schedule_rule("failing", padded, target=target, then_pass=False)]
    scenario = sc.scenario(
        "t2-" + "-".join(s.name for s in steps),
        rules,
        description=f"{target} attempts fail: {_title(steps, False)}, then the last again",
    )
    args = device_args(site) if operation == "device" else ()
    return Case(
        "T2",
        f"{target} fails {_title(steps, False)}",
        operation,
        args,
        scenario,
        frozenset({s.category for s in steps}),
        target=target,
    )


_TARGETS = {"mdminfo": "mdminfo", "device": "devices", "noncompliant": "noncompliant"}


def t3_not_retried(
    site: Site,
    fault: FailureStep | sc.FaultRef,
    *,
    operation: str = "device",
    expect: frozenset[str],
) -> Case:
    """A failure the policy does not retry (or no policy may retry) on every attempt."""
    target = "mdminfo" if operation == "mdminfo" else "devices"
    if isinstance(fault, FailureStep):
        name, rules = (
            fault.name,
            [_schedule_rule("not-retryable", [fault] * 10, target=target, then_pass=False)],
        )
    else:
        spec = sc.fault(fault)
        name = spec.name or spec.kind
        rules = [sc.rule("not-retryable", spec, operation=target)]
    scenario = sc.scenario(
        f"t3-{target}-{name}",
        rules,
        description=f"every {target} request gets {name}",
        expect=sorted(expect)[0],
    )
    args = device_args(site) if operation == "device" else ()
    return Case("T3", f"{target} answers {name}", operation, args, scenario, expect, target=target)


def outcome_of(
    policy: Policy, steps: Sequence[FailureStep], *, operation: str, then_pass: bool = True
) -> frozenset[str]:
    """What a client following ``policy`` reports when one request meets ``steps`` and then
    (``then_pass``) gets through: ``ok`` if its retries absorb every failure, else the
    category of the first failure it does not retry. A failure a declared resend could
    absorb allows either (a resend is "at most")."""
    op = "mdminfo" if steps and steps[0].level == "connection" else operation
    attempts = policy.max_attempts_for(op)
    for n, step in enumerate(steps, start=1):
        if step.kind == "status":
            assert step.status is not None
            after = None if step.retry_after_s is None else float(step.retry_after_s)
            retried = (
                step.status not in NEVER_RETRIED
                and policy.retries(status=step.status, operation=op, retry_after=after is not None)
                and policy.delay_bounds(n, after, status=step.status) is not None
            )
        else:
            retried = policy.retries(step.kind, op)
        if retried and n < attempts:
            continue
        if step.kind != "status" and policy.resends(step.kind, op):
            return frozenset({"ok", step.category})
        return frozenset({step.category})
    # Every step was retried with attempts to spare: a used-up sequence passes (with or
    # without an explicit ``pass`` after it), so the client gets through.
    return frozenset({"ok"})


def t4_backoff(
    site: Site,
    policy: Policy,
    steps: Sequence[FailureStep],
    *,
    then_pass: bool = True,
    title: str | None = None,
) -> Case:
    """Failures, then success: every wait must follow the declared backoff, every declared
    retry must happen, and the outcome must be what the policy makes of it. Drawn from the
    policy, the failures are ones it retries; with nothing retryable (``steps`` of failures it
    does not retry), the client must report the failure without retrying - a pass for a client
    that declares no retries."""
    if not steps:
        raise ValueError("t4_backoff needs at least one failure")
    expect = outcome_of(policy, steps, operation="device", then_pass=then_pass)
    rules = [_schedule_rule("fail-then-pass", steps, target="devices", then_pass=then_pass)]
    text = _title(steps, then_pass)
    where = "connections" if steps[0].level == "connection" else "device queries"
    scenario = sc.scenario(
        "t4-" + "-".join(s.name for s in steps),
        rules,
        description=f"{where}: {text}",
        expect=sorted(expect)[0],
    )
    return Case(
        "T4",
        title or f"{where} {text}",
        "device",
        device_args(site),
        scenario,
        expect,
        target="devices",
    )


def t4_unretried(site: Site, policy: Policy, *, level: str = "request") -> Case:
    """One failure the policy does not retry, on every attempt: reported, never retried."""
    steps = policy_steps(policy, operation="device", level=level, retried=False)  # type: ignore[arg-type]
    if not steps:
        steps = [status_step(400)]
    return t4_backoff(site, policy, [steps[0]] * 6, then_pass=False)


def t4_retry_after(site: Site, policy: Policy, *, seconds: int = 1) -> Case:
    """A status carrying ``Retry-After``: the wait is that long when the policy honours it on
    that status (or the client gives up, beyond a ``give_up`` cap), the backoff when it does
    not; when the policy retries no status, the answer is reported without a retry."""
    step = status_step(retry_after_status(policy), retry_after_s=seconds)
    return t4_backoff(site, policy, [step], then_pass=True)


def retry_after_status(policy: Policy) -> int:
    """The status T4's Retry-After case answers with: one the policy retries and honours a
    Retry-After on (503, 429 first), else one it retries, else 503."""
    rules = policy.retry.of("device")
    retried = sorted((rules.statuses | rules.if_retry_after) - NEVER_RETRIED)
    honoured = [s for s in retried if policy.retry_after.honoured_on(s)]
    preferred = [s for s in (503, 429) if s in honoured] or honoured or retried or [503]
    return preferred[0]


def t5_success(site: Site, operation: str, steps: Sequence[FailureStep]) -> Case:
    """A request that (eventually) succeeds: nothing may follow the success."""
    target = _TARGETS[operation]
    rules = [_schedule_rule("until-success", steps, target=target, then_pass=True)] if steps else []
    text = _title(steps, bool(steps))
    scenario = sc.scenario(f"t5-{operation}", rules, description=f"{target}: {text}", expect="ok")
    args = device_args(site) if operation == "device" else ()
    return Case(
        "T5",
        f"{operation} after {text}",
        operation,
        args,
        scenario,
        frozenset({"ok"}),
        target=target,
    )


#: T6: what goes wrong before any request, and how a correct client reports it.
EARLY_FAILURES: Mapping[str, tuple[str, sc.FaultRef, frozenset[str]]] = {
    "connect-refused-502": ("connect", ConnectRefuse(status=502), CONNECTION_ERRORS),
    "connect-refused-503": ("connect", ConnectRefuse(status=503), CONNECTION_ERRORS),
    "connect-closed": ("connect", "close", CONNECTION_ERRORS),
    "connect-reset": ("connect", "reset", CONNECTION_ERRORS),
    "connect-hang": ("connect", "hang", frozenset({"timeout"})),
    "tls-stall": ("tls", "hang", frozenset({"timeout"})),
    "tls-closed": ("tls", "close", frozenset({"connection_error", "tls_error"})),
    "tls-reset": ("tls", "reset", frozenset({"connection_error", "tls_error"})),
}


def t6_early_failure(site: Site, name: str) -> Case:
    phase, fault, expect = EARLY_FAILURES[name]
    scenario = sc.scenario(
        f"t6-{name}",
        [sc.rule(name, fault, phase=phase)],
        description=f"every connection fails before any request: {name}",
        expect=sorted(expect)[0],
    )
    return Case("T6", name, "mdminfo", (), scenario, expect, target=None)


def t7_cut_body(site: Site, *, nbytes: int, then: str) -> Case:
    """Every device answer is cut after ``nbytes`` (a huge number: all but its last byte)."""
    scenario = sc.scenario(
        f"t7-cut-{nbytes}-{then}",
        [sc.rule("cut", Partial(bytes=nbytes, then=then), operation="devices")],
        description=f"device answers stop after {nbytes} bytes, then {then}",
        expect="connection_error",
    )
    return Case(
        "T7",
        f"body cut after {nbytes} bytes then {then}",
        "device",
        device_args(site),
        scenario,
        CUT_BODY_OUTCOMES | {"timeout", "parse_error"},
        target="devices",
    )


def t7_complete_then_cut(site: Site, doc: Document, *, then: str) -> Case:
    """A complete document, but the connection ends before the announced length: not an answer."""
    fault = sc.respond(200, doc.body, content_length=len(doc.body) + 64, then=then)
    scenario = sc.scenario(
        f"t7-complete-xml-then-{then}",
        [sc.rule("short", fault, operation="devices")],
        description=f"the document is complete but 64 announced bytes never come ({then})",
        expect="connection_error",
    )
    return Case(
        "T7",
        f"complete XML, announced length unmet, then {then}",
        "device",
        device_args(site),
        scenario,
        CUT_BODY_OUTCOMES | {"timeout"},
        target="devices",
    )


#: T8: faults around an action, and whether the MDM has executed it when the fault strikes.
ACTION_FAULTS: Mapping[str, tuple[str, sc.FaultRef]] = {
    "reply-lost-reset": ("response", "reset"),
    "reply-lost-close": ("response", "close"),
    "reply-hangs": ("response", "hang"),
    "reply-cut": ("response", Partial(bytes=20, then="close")),
    "reply-503": ("response", "status_503"),
    "request-reset": ("request", "reset"),
    "request-hang": ("request", "hang"),
    "connect-refused": ("connect", ConnectRefuse(status=502)),
}


def t8_action(site: Site, fault_name: str, action: str, *, times: int | None = None) -> Case:
    phase, fault = ACTION_FAULTS[fault_name]
    operation = None if phase == "connect" else "action"
    scenario = sc.scenario(
        f"t8-{action}-{fault_name}",
        [sc.rule(fault_name, fault, phase=phase, times=times, operation=operation)],
        description=f"{action}: {fault_name} ({'every attempt' if times is None else f'{times} time(s)'})",
    )
    any_outcome = frozenset(
        {"ok", "timeout", "connection_error", "server_error", "parse_error", "protocol_error"}
    )
    return Case(
        "T8",
        f"{action} with {fault_name}",
        "action",
        (action, "--mac", site.known_mac),
        scenario,
        any_outcome,
        target="action",
        device_key=site.known_mac,
    )
