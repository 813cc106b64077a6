"""The document strategies keep their promises: valid ones parse to exactly what they claim,
refused ones really are malformed, incomplete, mistyped or hostile.

The expected values are checked against an independent oracle parser written here, so a
generator bug cannot hide behind the reference client agreeing with it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from lxml import etree

from harness.contracts import strategies as mdm_st

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
