"""The contract cases: a scenario, an operation, and what a correct client concludes.

Each builder returns a :class:`~harness.contracts.model.Case`. Cases only describe; the
harness (:mod:`harness.contracts.session`) runs them and the checks judge them. A case's
scenario is an ordinary scenario (``docs/scenarios.md``), so a failing case is exported as a
file that ``mdm-harness replay`` runs again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness._xml import error_document
from harness.client.policy import NEVER_RETRIED, Policy
from harness.faults.connect_refuse import ConnectRefuse
from harness.faults.partial import Partial
from harness.faults.redirect import Redirect
from harness.faults.tls_bad_cert import TlsBadCert
from harness.faults.xml_xxe import XmlXxe
from harness.scenario import Rule

from . import _scenarios as sc
from .model import Case
from .strategies import Document, FailureStep, policy_steps, status_step


@dataclass(frozen=True)
class Site:
    """What cases need to know about the harness they run in."""

    host: str
    known_mac: str
    unknown_mac: str
    #: The reference MDM's real api_path per API version.
    api_paths: Mapping[int, str]


#: Every fault a client may answer with a timeout, for T1.
HANG_PHASES = ("connect", "tls", "request", "response", "body")
CONNECTION_ERRORS = frozenset({"connection_error"})
CUT_BODY_OUTCOMES = frozenset({"connection_error"})


def _glob_literal(text: str) -> str:
    """``text`` as a glob that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _device_args(site: Site) -> tuple[str, ...]:
    return ("--mac", site.known_mac)


# ------------------------------------------------------------------------------------ transport


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
        _device_args(site),
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
    args = _device_args(site) if operation == "device" else ()
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
    args = _device_args(site) if operation == "device" else ()
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
    return frozenset({"ok"}) if then_pass else frozenset()


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
        _device_args(site),
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
    args = _device_args(site) if operation == "device" else ()
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
        _device_args(site),
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
        _device_args(site),
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


# ------------------------------------------------------------------------------------ parsing

_OPERATION_FOR = {
    "mdminfo": ("mdminfo", "mdminfo"),
    "attributes": ("device", "devices"),
    "action": ("action", "action"),
}


def served(
    contract: str, site: Site, doc: Document, *, title: str, operation: str | None = None
) -> Case:
    """``doc`` is the answer to the operation's main request (the proxy serves it itself)."""
    op, target = _OPERATION_FOR[doc.kind]
    if operation == "noncompliant":
        op, target = "noncompliant", "noncompliant"
    args: tuple[str, ...] = ()
    if op == "device":
        args = _device_args(site)
    elif op == "action":
        args = ("pin_lock", "--mac", site.known_mac)
    scenario = sc.scenario(
        f"{contract.lower()}-{doc.kind}-{'-'.join(doc.variant) or 'plain'}"[:120],
        [
            sc.rule(
                "serve-document",
                sc.respond(200, doc.body, content_type=doc.content_type),
                operation=target,
                phase="request",
            )
        ],
        description=f"{target} is answered with a {doc.kind} document ({', '.join(doc.variant) or 'plain'})",
        expect=sorted(doc.outcomes)[0],
    )
    return Case(
        contract,
        title,
        op,
        args,
        scenario,
        doc.outcomes,
        target=target,
        expected_result=doc.expected,
    )


def p5_full_page(site: Site, body: bytes, expected: Mapping[str, Any], *, bound_s: float) -> Case:
    case = served(
        "P5",
        site,
        Document("attributes", body, expected, frozenset({"ok"})),
        title=f"{len(expected['devices'])} devices in one page",
        operation="noncompliant",
    )
    return replace(case, bound_s=bound_s)


# ------------------------------------------------------------------------------------ protocol


def r1_api_path(site: Site, discovery: Document, answer: Document) -> Case:
    api_path = str((discovery.expected or {})["api_path"])
    scenario = sc.scenario(
        "r1-given-api-path",
        [
            sc.rule(
                "discovery", sc.respond(200, discovery.body), operation="mdminfo", phase="request"
            ),
            sc.rule("devices", sc.respond(200, answer.body), operation="devices", phase="request"),
        ],
        description=f"discovery answers api_path {api_path}; device queries are answered wherever they go",
        expect="ok",
    )
    return Case(
        "R1",
        f"api_path {api_path}",
        "device",
        _device_args(site),
        scenario,
        frozenset({"ok"}),
        target="devices",
        api_path=api_path,
    )


def r2_version(site: Site, discovery: Document, answer: Document | None) -> Case:
    version = (discovery.expected or {}).get("api_version")
    rules = [
        sc.rule("discovery", sc.respond(200, discovery.body), operation="mdminfo", phase="request")
    ]
    if answer is not None:
        rules.append(
            sc.rule("devices", sc.respond(200, answer.body), operation="devices", phase="request")
        )
    title = (
        f"discovery answers api_version {version}"
        if discovery.valid
        else f"discovery answer refused ({', '.join(discovery.variant)})"
    )
    scenario = sc.scenario(
        "r2-api-version", rules, description=title, expect=sorted(discovery.outcomes)[0]
    )
    return Case(
        "R2",
        title,
        "device",
        _device_args(site),
        scenario,
        discovery.outcomes,
        target="devices",
        api_version=version,
    )


def r3_mac(site: Site, written: str, normalised: str) -> Case:
    scenario = sc.scenario("r3-mac-form", [], description=f"look up {written!r}", expect="ok")
    return Case(
        "R3",
        f"MAC written as {written!r}",
        "device",
        ("--mac", written),
        scenario,
        frozenset({"ok"}),
        target="devices",
        device_key=normalised,
        mac_written=written,
    )


def r4_pages(site: Site, cursors: Sequence[str], pages: Sequence[Document]) -> Case:
    """Page ``i`` is served when the client asks with the cursor that leads to it."""
    rules = []
    asked = ["0", *cursors[:-1]]
    for i, (cursor, page) in enumerate(zip(asked, pages, strict=True)):
        rules.append(
            sc.rule(
                f"page-{i + 1}",
                sc.respond(200, page.body),
                operation="noncompliant",
                phase="request",
                query={"paging": _glob_literal(cursor)},
            )
        )
    rules.append(
        sc.rule(
            "unknown-cursor",
            sc.respond(400, error_document(400, "no page has this cursor")),
            operation="noncompliant",
            phase="request",
        )
    )
    expected = {"devices": [d for page in pages for d in (page.expected or {}).get("devices", [])]}
    scenario = sc.scenario(
        "r4-cursors", rules, description=f"{len(pages)} pages, cursors {list(cursors)}", expect="ok"
    )
    return Case(
        "R4",
        f"{len(pages)} pages",
        "noncompliant",
        (),
        scenario,
        frozenset({"ok"}),
        target="noncompliant",
        cursors=tuple(cursors),
        expected_result=expected,
    )


def r5_loop(site: Site) -> Case:
    scenario = sc.scenario(
        "r5-cursor-loop",
        [sc.rule("loop", "paging_loop", operation="noncompliant")],
        description="paging_info sends the client back to a cursor it already used",
        expect="protocol_error",
    )
    return Case(
        "R5",
        "the cursor repeats",
        "noncompliant",
        (),
        scenario,
        frozenset({"protocol_error"}),
        target="noncompliant",
    )


def r6_unregistered(site: Site) -> Case:
    scenario = sc.scenario(
        "r6-unregistered", [], description=f"{site.unknown_mac} is not enrolled", expect="ok"
    )
    return Case(
        "R6",
        "an unknown MAC",
        "device",
        ("--mac", site.unknown_mac),
        scenario,
        frozenset({"ok"}),
        target="devices",
    )


# ------------------------------------------------------------------------------------ security


def s1_bad_certificate(site: Site, kind: str) -> Case:
    scenario = sc.scenario(
        f"s1-{kind}",
        [sc.rule(f"bad-cert-{kind}", TlsBadCert(cert=kind), phase="tls")],
        description=f"every TLS handshake presents a {kind} certificate",
        expect="tls_error",
    )
    return Case("S1", f"{kind} certificate", "mdminfo", (), scenario, frozenset({"tls_error"}))


def s2_xxe(site: Site, via: str) -> Case:
    scenario = sc.scenario(
        f"s2-xxe-{via}",
        [sc.rule("xxe", XmlXxe(via=via), operation="devices")],
        description=f"device answers carry an external {via} pointing at the canary",
        expect="parse_error",
    )
    # Refusing the DOCTYPE (parse_error) is what a hardened parser does; ignoring the DTD and
    # reading the content is acceptable too. Fetching the canary never is.
    return Case(
        "S2",
        f"external {via}",
        "device",
        _device_args(site),
        scenario,
        frozenset({"parse_error", "ok"}),
        target="devices",
    )


def s2_file_xxe(site: Site, via: str, *, url: str, token: str) -> Case:
    """An external entity (or parameter entity, or DTD) pointing at a local canary file: its
    token must never appear in the client's answer."""
    # beyond a plain entity, the reference is to the entity the canary DTD defines
    reference = None if via == "entity" else "leak"
    fault = XmlXxe(via=via, url=url, element="model", reference=reference)
    scenario = sc.scenario(
        f"s2-file-{via}",
        [sc.rule("xxe-file", fault, operation="devices")],
        description=f"device answers carry an external {via} pointing at a local canary file",
        expect="parse_error",
    )
    return Case(
        "S2",
        f"external {via} on a local file",
        "device",
        _device_args(site),
        scenario,
        frozenset({"parse_error", "ok"}),
        target="devices",
        canary_token=token,
    )


def s3_bomb(site: Site, doc: Document, *, bound_s: float) -> Case:
    case = served("S3", site, doc, title=f"entity bomb ({doc.variant[-1]})")
    return replace(case, bound_s=bound_s)


def s4_redirect(site: Site, location: str, status: int) -> Case:
    scenario = sc.scenario(
        f"s4-redirect-{status}",
        [sc.rule("redirect", Redirect(location=location, status=status), operation="devices")],
        description=f"device queries are redirected ({status}) to {location}",
    )
    outcomes = frozenset(
        {
            "ok",
            "protocol_error",
            "connection_error",
            "not_found",
            "server_error",
            "parse_error",
            "unauthorized",
            "tls_error",
            "timeout",
        }
    )
    return Case(
        "S4",
        f"{status} to {location}",
        "device",
        _device_args(site),
        scenario,
        outcomes,
        target="devices",
        host=site.host,
    )


def s5_output(site: Site, name: str, rules: Sequence[Rule], operation: str = "device") -> Case:
    scenario = sc.scenario(f"s5-{name}", list(rules), description=f"watch the output: {name}")
    args = _device_args(site) if operation == "device" else ()
    outcomes = frozenset({"ok", "unauthorized", "server_error", "not_found"})
    return Case("S5", name, operation, args, scenario, outcomes)
