"""The contract cases: a scenario, an operation, and what a correct client concludes.

Each builder returns a :class:`~harness.contracts.model.Case`. Cases only describe; the
harness (:mod:`harness.contracts.session`) runs them and the checks judge them. A case's
scenario is an ordinary scenario (``docs/scenarios.md``), so a failing case is exported as a
file that ``mdm-harness replay`` runs again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import _scenarios as sc
from .model import Case
from .strategies import Document
from .strategies._faults import describe_schedule


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
        rules = [
            sc.rule(
                "body-then-hang",
                {"kind": "partial", "bytes": 64, "then": "hang"},
                operation="devices",
            )
        ]
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


def t2_failing_schedule(site: Site, schedule: Sequence[Any], *, operation: str = "device") -> Case:
    """Retryable failures on every attempt of one request: never more attempts than declared."""
    target = (
        "mdminfo"
        if operation == "mdminfo"
        else "devices"
        if operation == "device"
        else "noncompliant"
    )
    rules = [sc.rule("failing", sequence=list(schedule), operation=target)]
    scenario = sc.scenario(
        "t2-" + "-".join(describe_schedule(schedule).split(", ")),
        rules,
        description=f"{target} attempts fail: {describe_schedule(schedule)}",
    )
    args = _device_args(site) if operation == "device" else ()
    return Case(
        "T2",
        f"{target} fails {describe_schedule(schedule)}",
        operation,
        args,
        scenario,
        frozenset({"server_error", "connection_error", "timeout"}),
        target=target,
    )


def t3_not_retried(
    site: Site, fault: Any, *, operation: str = "device", expect: frozenset[str]
) -> Case:
    """A failure the policy does not retry (or no policy may retry) on every attempt."""
    target = "mdminfo" if operation == "mdminfo" else "devices"
    name = fault if isinstance(fault, str) else fault["kind"]
    scenario = sc.scenario(
        f"t3-{target}-{name}",
        [sc.rule("not-retryable", fault, operation=target)],
        description=f"every {target} request gets {name}",
        expect=sorted(expect)[0],
    )
    args = _device_args(site) if operation == "device" else ()
    return Case("T3", f"{target} answers {name}", operation, args, scenario, expect, target=target)


def t4_backoff(site: Site, schedule: Sequence[Any]) -> Case:
    """Failures then success: the gaps between attempts must follow the declared backoff."""
    scenario = sc.scenario(
        "t4-" + "-".join(describe_schedule(schedule).split(", ")),
        [sc.rule("fail-then-pass", sequence=list(schedule), operation="devices")],
        description=f"device queries: {describe_schedule(schedule)}",
        expect="ok",
    )
    return Case(
        "T4",
        f"devices {describe_schedule(schedule)}",
        "device",
        _device_args(site),
        scenario,
        frozenset({"ok"}),
        target="devices",
    )


def t5_success(site: Site, operation: str, schedule: Sequence[Any]) -> Case:
    """A request that (eventually) succeeds: nothing may follow the success."""
    target = {"mdminfo": "mdminfo", "device": "devices", "noncompliant": "noncompliant"}[operation]
    rules = (
        [sc.rule("until-success", sequence=list(schedule), operation=target)] if schedule else []
    )
    scenario = sc.scenario(
        f"t5-{operation}",
        rules,
        description=f"{target}: {describe_schedule(schedule) or 'no fault'}",
        expect="ok",
    )
    args = _device_args(site) if operation == "device" else ()
    return Case(
        "T5",
        f"{operation} after {describe_schedule(schedule) or 'no fault'}",
        operation,
        args,
        scenario,
        frozenset({"ok"}),
        target=target,
    )


#: T6: what goes wrong before any request, and how a correct client reports it.
EARLY_FAILURES: Mapping[str, tuple[str, Any, frozenset[str]]] = {
    "connect-refused-502": (
        "connect",
        {"kind": "connect_refuse", "status": 502},
        CONNECTION_ERRORS,
    ),
    "connect-refused-503": (
        "connect",
        {"kind": "connect_refuse", "status": 503},
        CONNECTION_ERRORS,
    ),
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
    return Case("T6", name, "mdminfo", (), scenario, expect, target=None, fault=name)


def t7_cut_body(site: Site, *, nbytes: int, then: str) -> Case:
    """Every device answer is cut after ``nbytes`` (a huge number: all but its last byte)."""
    scenario = sc.scenario(
        f"t7-cut-{nbytes}-{then}",
        [sc.rule("cut", {"kind": "partial", "bytes": nbytes, "then": then}, operation="devices")],
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
    fault = sc.respond(200, doc.body)
    fault["content_length"] = len(doc.body) + 64
    fault["then"] = then
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
ACTION_FAULTS: Mapping[str, tuple[str, Any]] = {
    "reply-lost-reset": ("response", "reset"),
    "reply-lost-close": ("response", "close"),
    "reply-hangs": ("response", "hang"),
    "reply-cut": ("response", {"kind": "partial", "bytes": 20, "then": "close"}),
    "reply-503": ("response", "status_503"),
    "request-reset": ("request", "reset"),
    "request-hang": ("request", "hang"),
    "connect-refused": ("connect", {"kind": "connect_refuse", "status": 502}),
}


def t8_action(site: Site, fault_name: str, action: str, *, times: int | None = None) -> Case:
    phase, fault = ACTION_FAULTS[fault_name]
    rule_kwargs: dict[str, Any] = {"phase": phase, "times": times}
    if phase != "connect":
        rule_kwargs["operation"] = "action"
    scenario = sc.scenario(
        f"t8-{action}-{fault_name}",
        [sc.rule(fault_name, fault, **rule_kwargs)],
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
    from dataclasses import replace

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
            sc.respond(400, "<ise_api><name>error</name></ise_api>"),
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
        [sc.rule(f"bad-cert-{kind}", {"kind": "tls_bad_cert", "cert": kind}, phase="tls")],
        description=f"every TLS handshake presents a {kind} certificate",
        expect="tls_error",
    )
    return Case("S1", f"{kind} certificate", "mdminfo", (), scenario, frozenset({"tls_error"}))


def s2_xxe(site: Site, via: str) -> Case:
    scenario = sc.scenario(
        f"s2-xxe-{via}",
        [sc.rule("xxe", {"kind": "xml_xxe", "via": via}, operation="devices")],
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


def s3_bomb(site: Site, doc: Document, *, bound_s: float) -> Case:
    case = served("S3", site, doc, title=f"entity bomb ({doc.variant[-1]})")
    from dataclasses import replace

    return replace(case, bound_s=bound_s)


def s4_redirect(site: Site, location: str, status: int) -> Case:
    scenario = sc.scenario(
        f"s4-redirect-{status}",
        [
            sc.rule(
                "redirect",
                {"kind": "redirect", "status": status, "location": location},
                operation="devices",
            )
        ],
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


def s5_output(
    site: Site, name: str, rules: Sequence[Mapping[str, Any]], operation: str = "device"
) -> Case:
    scenario = sc.scenario(f"s5-{name}", list(rules), description=f"watch the output: {name}")
    args = _device_args(site) if operation == "device" else ()
    outcomes = frozenset({"ok", "unauthorized", "server_error", "not_found"})
    return Case("S5", name, operation, args, scenario, outcomes)
