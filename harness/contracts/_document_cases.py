"""The parsing, protocol and security contract cases: P1-P5, R1-R6, S1-S5."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from harness._xml import error_document
from harness.faults.redirect import Redirect
from harness.faults.tls_bad_cert import TlsBadCert
from harness.faults.xml_xxe import XmlXxe
from harness.scenario import Rule

from . import _scenarios as sc
from ._case_site import Site, device_args, glob_literal
from .model import Case
from .strategies import Document

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
        args = device_args(site)
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
        device_args(site),
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
        device_args(site),
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
                query={"paging": glob_literal(cursor)},
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
        device_args(site),
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
        device_args(site),
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
        device_args(site),
        scenario,
        outcomes,
        target="devices",
        host=site.host,
    )


def s5_output(site: Site, name: str, rules: Sequence[Rule], operation: str = "device") -> Case:
    scenario = sc.scenario(f"s5-{name}", list(rules), description=f"watch the output: {name}")
    args = device_args(site) if operation == "device" else ()
    outcomes = frozenset({"ok", "unauthorized", "server_error", "not_found"})
    return Case("S5", name, operation, args, scenario, outcomes)
