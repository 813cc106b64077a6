"""The document strategies keep their promises: valid ones parse to exactly what they claim,
refused ones really are malformed, incomplete, mistyped or hostile.

The expected values are checked against an independent oracle parser written here, so a
generator bug cannot hide behind the reference client agreeing with it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from lxml import etree

from harness.contracts import _scenarios as sc
from harness.contracts import cases
from harness.contracts import strategies as mdm_st
from harness.contracts.cases import Site
from harness.contracts.model import Case
from harness.faults.partial import Partial
from harness.faults.respond import Respond
from harness.scenario import (
    FaultSpec,
    ScenarioError,
    parse_scenario,
    scenario_from_dict,
    to_spec,
    validated,
)

WS = " \t\n\r"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )


class OracleError(Exception):
    pass


def _children(el: etree._Element) -> dict[str, etree._Element]:
    out: dict[str, etree._Element] = {}
    for child in el:
        if isinstance(child.tag, str):
            out.setdefault(etree.QName(child).localname.lower(), child)
    return out


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    value = (el.text or "").strip(WS)
    return value or None


def _bool(el: etree._Element | None) -> bool | None:
    value = _text(el)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise OracleError(f"bad boolean {value!r}")
    return value == "true"


def _int(el: etree._Element | None) -> int | None:
    value = _text(el)
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]+", value):
        raise OracleError(f"bad integer {value!r}")
    return int(value)


def _mac(value: str | None) -> str | None:
    if value is None:
        return None
    hexdigits = re.sub(r"[:.\-]", "", value).upper()
    if not re.fullmatch(r"[0-9A-F]{12}", hexdigits):
        raise OracleError(f"bad MAC {value!r}")
    return hexdigits


def oracle(kind: str, body: bytes) -> dict[str, Any]:
    root = etree.fromstring(body, _parser())
    if etree.QName(root).localname != "ise_api":
        raise OracleError("wrong root")
    top = _children(root)
    if _text(top.get("name")) != kind:
        raise OracleError("wrong name")
    if kind == "mdminfo":
        for tag in ("api_version", "api_path"):
            if _text(top.get(tag)) is None:
                raise OracleError(f"missing {tag}")
        version = _int(top["api_version"])
        assert version is not None
        if not 1 <= version <= 3:  # the strategies always ask for version 3
            raise OracleError("api_version out of range")
        result: dict[str, Any] = {
            "api_version": version,
            "api_path": _text(top["api_path"]),
            "redirect_url": _text(top.get("redirect_url")),
            "query_max_size": _int(top.get("query_max_size")) or 5000,
            "messaging_support": _bool(top.get("messaging_support")),
        }
        for tag in ("vendor", "product_name", "product_version"):
            result[tag] = _text(top.get(tag))
            if version >= 3 and result[tag] is None:
                raise OracleError(f"v3 without {tag}")
        if top.get("query_max_size") is not None and _int(top["query_max_size"]) == 0:
            raise OracleError("query_max_size 0")
        return result
    device_list = top.get("devicelist")
    if device_list is None:
        raise OracleError("missing deviceList")
    devices = []
    for device in device_list:
        if not isinstance(device.tag, str) or etree.QName(device).localname.lower() != "device":
            continue
        parts = _children(device)
        if kind == "action":
            result_el = parts.get("result")
            if result_el is None:
                raise OracleError("missing result")
            r = _children(result_el)
            status = _bool(r.get("action_status"))
            if status is None:
                raise OracleError("missing action_status")
            return {"action_status": status, "failure_reason": _text(r.get("failure_reason"))}
        if "macaddress" not in parts and "guid" not in parts:
            raise OracleError("device without key")
        attrs_el = parts.get("attributes")
        if attrs_el is None:
            raise OracleError("device without attributes")
        a = _children(attrs_el)
        comp = _children(a["compliance"]) if "compliance" in a else {}
        macs = _text(a.get("macaddresses"))
        devices.append(
            {
                "macaddress": _mac(_text(parts.get("macaddress"))),
                "guid": _text(parts.get("guid")) or _text(a.get("guid")),
                "register_status": _bool(a.get("register_status")),
                "disk_encryption_on": _bool(a.get("disk_encryption_on")),
                "pin_lock_on": _bool(a.get("pin_lock_on")),
                "jail_broken": _bool(a.get("jail_broken")),
                "compliance": {
                    "status": _bool(comp.get("status")),
                    "failure_reason": _text(comp.get("failure_reason")),
                    "remediation": _text(comp.get("remediation")),
                },
                **{f: _text(a.get(f)) for f in mdm_st._documents.STRING_FIELDS},
                "last_checkin_ms": _int(a.get("lastcheckintimestamp")),
                "macaddresses": [_mac(m.strip(WS)) for m in macs.split(",")] if macs else [],
            }
        )
    if kind == "action":
        raise OracleError("action reply without a device")
    return {"devices": devices}


@SETTINGS
@given(
    st.sampled_from(["mdminfo", "attributes", "action"]).flatmap(
        lambda k: mdm_st.valid_documents(k)
    )
)
def test_valid_documents_parse_to_their_expected_values(doc: mdm_st.Document) -> None:
    assert doc.outcomes == {"ok"}
    assert oracle(doc.kind, doc.body) == doc.expected


def _schema(name: str) -> etree.XMLSchema:
    from importlib.resources import as_file, files

    with as_file(files("harness.mdm.schemas") / name) as path:
        return etree.XMLSchema(etree.parse(str(path)))


@SETTINGS
@given(
    st.sampled_from(["mdminfo", "attributes", "action"]).flatmap(
        lambda k: mdm_st.valid_documents(k, canonical=True)
    )
)
def test_canonical_documents_validate_against_the_reference_schemas(doc: mdm_st.Document) -> None:
    root = etree.fromstring(doc.body, _parser())
    name = doc.kind
    if doc.kind == "mdminfo":
        name = "mdminfo-v3" if doc.expected and doc.expected["api_version"] >= 3 else "mdminfo"
    schema = _schema(f"{name}.xsd")
    assert schema.validate(root), schema.error_log
    assert oracle(doc.kind, doc.body) == doc.expected


@SETTINGS
@given(
    st.sampled_from(["mdminfo", "attributes", "action"]).flatmap(
        lambda k: mdm_st.reordered_documents(k)
    )
)
def test_reordered_documents_keep_the_expected_values(doc: mdm_st.Document) -> None:
    assert oracle(doc.kind, doc.body) == doc.expected


@SETTINGS
@given(
    st.sampled_from(["mdminfo", "attributes", "action"]).flatmap(
        lambda k: mdm_st.malformed_documents(k)
    )
)
def test_malformed_documents_are_not_well_formed(doc: mdm_st.Document) -> None:
    assert doc.outcomes == {"parse_error"} and doc.expected is None
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(doc.body, _parser())


@SETTINGS
@given(
    st.sampled_from(["mdminfo", "attributes", "action"]).flatmap(
        lambda k: st.one_of(mdm_st.incomplete_documents(k), mdm_st.mistyped_documents(k))
    )
)
def test_incomplete_and_mistyped_documents_are_well_formed_but_refused(
    doc: mdm_st.Document,
) -> None:
    assert doc.outcomes == {"parse_error", "protocol_error"}
    etree.fromstring(doc.body, _parser())  # well-formed
    with pytest.raises(OracleError):
        oracle(doc.kind, doc.body)


@pytest.mark.parametrize("how", mdm_st.HOSTILITIES)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_hostile_documents_carry_their_payload(how: str, data: st.DataObject) -> None:
    doc = data.draw(mdm_st.hostile_documents(canary_url="http://127.0.0.1:9/canary/t", how=how))
    assert doc.outcomes == {"parse_error"}
    assert b"<!DOCTYPE" in doc.body
    if how.startswith("xxe") or how == "external-dtd":
        assert b"http://127.0.0.1:9/canary/t" in doc.body
    else:
        # A parser that expands entities without limits really would blow up: libxml2's own
        # amplification guard (lxml without huge_tree) refuses it.
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(doc.body, etree.XMLParser(resolve_entities=True, no_network=True))


@SETTINGS
@given(mdm_st.paging_cursor_sequences(min_pages=2, max_pages=5))
def test_cursor_sequences_are_distinct_and_end_with_zero(cursors: list[str]) -> None:
    assert cursors[-1] == "0"
    assert len(set(cursors)) == len(cursors)
    assert all(c.strip() == c and c not in ("", "0") for c in cursors[:-1])


@SETTINGS
@given(mdm_st.mac_address_forms())
def test_mac_forms_normalise(pair: tuple[str, str]) -> None:
    written, mac = pair
    assert _mac(written) == mac and re.fullmatch(r"[0-9A-F]{12}", mac)


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (lambda: mdm_st.attributes_documents(min_devices=3, max_devices=1), "min_devices=3"),
        (lambda: mdm_st.paging_cursor_sequences(min_pages=0), "min_pages=0"),
        (lambda: mdm_st.malformed_documents(how="nope"), "how='nope'"),
    ],
)
@settings(max_examples=1, deadline=None)
@given(data=st.data())
def test_bad_arguments_raise_invalid_argument(
    strategy: Any, message: str, data: st.DataObject
) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        data.draw(strategy())


# ---- one way to write a scenario: every case the strategies draw survives to_spec -> load

_SITE = Site(
    host="acme.jamfcloud.test",
    known_mac="0026B424FEB4",
    unknown_mac="02DEADBEEF00",
    api_paths={3: "/ciscoise/v3/", 2: "/ciscoise/v2/", 1: "/ciscoise/"},
)
_CANARY = "https://127.0.0.1:9/canary/t"


@st.composite
def contract_cases(draw: st.DrawFn) -> Case:
    """Any case of :mod:`harness.contracts.cases`, its inputs drawn as the shipped tests draw them."""
    site = _SITE
    which = draw(st.sampled_from(sorted(_BUILDERS)), label="builder")
    return _BUILDERS[which](draw, site)


def _policy_case(draw: st.DrawFn, site: Site) -> Case:
    policy = draw(mdm_st.policies())
    level = draw(st.sampled_from(["request", "connection"]))
    steps = draw(mdm_st.policy_schedules(policy, level=level, max_failures=3))
    if steps:
        return cases.t4_backoff(site, policy, steps)
    return draw(
        st.sampled_from(
            [
                cases.t4_unretried(site, policy, level=level),
                cases.t4_retry_after(site, policy, seconds=draw(st.integers(0, 30))),
            ]
        )
    )


def _failure_case(draw: st.DrawFn, site: Site) -> Case:
    policy = draw(mdm_st.policies())
    operation = draw(st.sampled_from(["mdminfo", "device", "noncompliant"]))
    steps = draw(mdm_st.policy_schedules(policy, operation=operation, min_failures=0))
    pool = mdm_st.policy_steps(policy, retried=False) or list(mdm_st.REQUEST_STEPS)
    unretried = draw(st.sampled_from(pool))
    final = draw(st.sampled_from([*mdm_st.FINAL_STEPS, "unauthorized", unretried]))
    return draw(
        st.sampled_from(
            [
                cases.t5_success(site, operation, steps),
                cases.t2_failing_schedule(site, steps, operation=operation),
                cases.t3_not_retried(site, final, expect=frozenset({"protocol_error"})),
            ]
        )
    )


def _wire_case(draw: st.DrawFn, site: Site) -> Case:
    doc = draw(mdm_st.attributes_documents(min_devices=1, max_devices=2, canonical=True))
    return draw(
        st.sampled_from(
            [
                cases.t1_hang(site, draw(st.sampled_from(cases.HANG_PHASES))),
                cases.t6_early_failure(site, draw(st.sampled_from(sorted(cases.EARLY_FAILURES)))),
                cases.t7_cut_body(
                    site,
                    nbytes=draw(st.integers(0, 10**9)),
                    then=draw(st.sampled_from(["close", "reset"])),
                ),
                cases.t7_complete_then_cut(
                    site, doc, then=draw(st.sampled_from(["close", "reset"]))
                ),
                cases.t8_action(
                    site,
                    draw(st.sampled_from(sorted(cases.ACTION_FAULTS))),
                    draw(st.sampled_from(["full_wipe", "corporate_wipe", "pin_lock"])),
                    times=draw(st.none() | st.integers(1, 3)),
                ),
            ]
        )
    )


def _document_case(draw: st.DrawFn, site: Site) -> Case:
    kind = draw(st.sampled_from(["attributes", "mdminfo", "action"]))
    doc = draw(
        st.one_of(
            mdm_st.valid_documents(kind),
            mdm_st.reordered_documents(kind),
            mdm_st.refused_documents(kind),
            mdm_st.hostile_documents(kind, canary_url=_CANARY),
        )
    )
    contract = draw(st.sampled_from(["P1", "P2", "P3", "P4", "S3"]))
    if contract == "S3":
        return cases.s3_bomb(site, doc, bound_s=5.0)
    operation = "noncompliant" if kind == "attributes" and draw(st.booleans()) else None
    return cases.served(contract, site, doc, title="drawn", operation=operation)


def _protocol_case(draw: st.DrawFn, site: Site) -> Case:
    version = draw(st.sampled_from([1, 2, 3]))
    discovery = draw(mdm_st.mdminfo_documents(asked_version=version))
    answer = draw(mdm_st.attributes_documents(min_devices=1, max_devices=2, api_version=version))
    if discovery.expected is not None and "api_path" in discovery.expected:
        first = cases.r1_api_path(site, discovery, answer)
    else:
        first = cases.r2_version(site, discovery, draw(st.none() | st.just(answer)))
    cursors = draw(mdm_st.paging_cursor_sequences(min_pages=1, max_pages=4))
    pages = [
        draw(mdm_st.attributes_documents(min_devices=1, max_devices=2, api_version=3))
        for _ in cursors
    ]
    return draw(
        st.sampled_from(
            [
                first,
                cases.r3_mac(site, *draw(mdm_st.mac_address_forms())),
                cases.r4_pages(site, cursors, pages),
                cases.r5_loop(site),
                cases.r6_unregistered(site),
            ]
        )
    )


def _security_case(draw: st.DrawFn, site: Site) -> Case:
    via = draw(st.sampled_from(["entity", "parameter", "dtd"]))
    location = draw(
        st.sampled_from(["https://elsewhere.mdm-harness.test/x", f"http://{site.host}/plain"])
    )
    failure = draw(st.sampled_from(["unauthorized", "status_500", "status_404", "reset"]))
    return draw(
        st.sampled_from(
            [
                cases.s1_bad_certificate(
                    site, draw(st.sampled_from(["expired", "wrong-host", "untrusted-ca"]))
                ),
                cases.s2_xxe(site, via),
                cases.s2_file_xxe(site, via, url="file:///tmp/canary.dtd", token="tok"),
                cases.s4_redirect(site, location, draw(st.sampled_from([301, 302, 307, 308]))),
                cases.s5_output(site, "drawn", [sc.rule("fail", failure, operation="devices")]),
            ]
        )
    )


def _schedule_case(draw: st.DrawFn, site: Site) -> Case:
    """A rule whose sequence is a drawn :func:`fault_schedules` list."""
    schedule = draw(mdm_st.fault_schedules(min_size=1, then_pass=draw(st.booleans())))
    rule = sc.rule("drawn", sequence=schedule, operation="devices", phase="response")
    scenario = sc.scenario("drawn-schedule", [rule], description=mdm_st.describe_schedule(schedule))
    return Case("T5", "drawn", "device", ("--mac", site.known_mac), scenario)


_BUILDERS = {
    "documents": _document_case,
    "failures": _failure_case,
    "policy": _policy_case,
    "protocol": _protocol_case,
    "schedules": _schedule_case,
    "security": _security_case,
    "wire": _wire_case,
}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=contract_cases())
def test_every_drawn_case_survives_to_spec_and_the_proxy_loader(case: Case) -> None:
    """The text sent to the proxy (``to_spec``) reads back, through the proxy's own loader,
    as exactly the scenario the case built - so what the proxy runs is what the case says."""
    text = to_spec(case.scenario)
    assert parse_scenario(text, path="<request>") == case.scenario
    # and the record a report keeps (to_dict) reads back the same way
    assert scenario_from_dict(case.scenario.to_dict()) == case.scenario


def test_a_case_scenario_is_checked_where_it_is_built() -> None:
    """A scenario the loader would refuse fails when the case builds it, not in the proxy."""
    bad_phase = sc.rule("cut", Partial(bytes=4, then="close"), phase="request")
    with pytest.raises(ScenarioError, match=r"rules\[0\]\.fault: partial cannot act at phase"):
        sc.scenario("bad", [bad_phase], description="x")
    with pytest.raises(ScenarioError, match=r"rules\[0\]\.fault\.then"):
        sc.scenario("bad", [sc.rule("cut", Partial(bytes=4, then="later"))], description="x")
    short = sc.respond(200, "<ise_api/>", content_length=3, then="close")
    with pytest.raises(ScenarioError, match="content_length: must be at least"):
        sc.scenario("bad", [sc.rule("short", short)], description="x")
    with pytest.raises(ScenarioError, match="'status_1000' is not a fault kind"):
        sc.fault("status_1000")


def test_the_round_trip_check_bites() -> None:
    """A scenario whose text would not read back as itself is refused by validated()."""
    good = sc.scenario("ok", [sc.rule("r", "reset", operation="devices")], description="x")
    # a FaultSpec whose name says one fault and whose record is another
    lying = FaultSpec("respond", Respond(status=418), name="status_503")
    rule = dataclasses.replace(good.rules[0], fault=lying)
    with pytest.raises(ScenarioError, match=r"rules\[0\]: does not read back as itself"):
        validated(dataclasses.replace(good, rules=(rule,)))
    assert parse_scenario(to_spec(dataclasses.replace(good, rules=(rule,)))) != dataclasses.replace(
        good, rules=(rule,)
    )


def test_a_failing_document_shrinks_to_the_smallest_that_still_fails() -> None:
    """What the standard profile's shrink phase shows a vendor: for a client that cannot read
    capitalised elements, the smallest attributes document that still breaks it - one device,
    its ``Attributes`` capitalised, none of the optional fields. (``tox -e zoo`` shows the same
    through the whole lab, in a child run of the suite.)"""
    from hypothesis import find

    strategy = mdm_st.attributes_documents(min_devices=1, max_devices=3, family="capitalised")
    smallest = find(
        strategy,
        lambda doc: b"<Attributes" in doc.body,
        settings=settings(database=None, max_examples=200),
    )
    body = smallest.body.decode("utf-8", "replace")
    assert body.count("<device>") == 1 and "<Attributes" in body, body
    assert "<model>" not in body and "<udid>" not in body and "<macaddresses>" not in body, body
