"""Pure parts of the reference MDM: profiles, request parsing, cursors, documents and schemas."""

from __future__ import annotations

import pytest
from lxml import etree

from harness.mdm import Device, Profile, documents, schemas
from harness.mdm.protocol import (
    CursorCodec,
    ProtocolError,
    identifier,
    parse_api_version,
    parse_criterion,
    parse_deviceidentifier,
    parse_filter,
    parse_xml,
)
from harness.mdm.schemas import SchemaError

# -- profiles -------------------------------------------------------------------------------------


def test_jamf_profile_paths() -> None:
    jamf = Profile.named("jamf")
    assert jamf.instance == "/networkIntegrationEndpoint/7"
    assert [jamf.api_path_for(v) for v in jamf.versions] == [
        "/7/ciscoise/v1",
        "/7/ciscoise/v2",
        "/7/ciscoise/v3",
    ]
    assert jamf.redirect_url_value() == "https://acme.jamfcloud.test/enroll"
    assert Profile.named("jamf", instance_id="12").api_path_for(3) == "/12/ciscoise/v3"


def test_templates_may_use_the_instance() -> None:
    profile = Profile.named("jamf", api_path="{instance}/api/v{version}")
    assert profile.api_path_for(2) == "/networkIntegrationEndpoint/7/api/v2"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_api_version": 4}, "max_api_version=4"),
        ({"max_api_version": 0}, "max_api_version=0"),
        ({"max_api_version": True}, "not an integer"),
        ({"query_max_size": 0}, "query_max_size=0"),
        ({"server_busy_wait_seconds": -1}, "server_busy_wait_seconds=-1"),
        ({"messaging_support": "yes"}, "messaging_support"),
        ({"instance_id": "a/b"}, "one non-empty path segment"),
        ({"api_path": "/x/{versoin}"}, "unknown placeholder"),
        ({"api_path": "relative/{version}"}, "must start with '/'"),
        ({"api_path": "/x/v{version}/"}, "must start with '/'"),
        ({"api_path": "{instance}/ciscoise/mdminfo/v{version}"}, "overlaps discovery"),
        ({"api_path": "/_harness/v{version}"}, "reserved prefix"),
        ({"instance_prefix": "/_harness"}, "reserved prefix"),
        ({"instance_prefix": "no-slash"}, "must start with '/'"),
        ({"instance_prefix": "/x/{instance}"}, "cannot refer to itself"),
        ({"redirect_url": "https://{host}/"}, "unknown placeholder"),
    ],
)
def test_bad_profile_values_say_which_field(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Profile.named("jamf", **overrides)


def test_unknown_profile_names_and_fields() -> None:
    with pytest.raises(ValueError, match="profile='intune' is not one of generic, jamf"):
        Profile.named("intune")
    with pytest.raises(TypeError, match=r"unknown profile field.*vendorr"):
        Profile.named("jamf", vendorr="x")


# -- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("3", 3), (" 2 ", 2), ("+3", 3), ("99", 99)])
def test_api_version_parses(text: str, value: int) -> None:
    assert parse_api_version(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "x", "", "1.0", "1e3", "9999999"])
def test_api_version_rejects(text: str) -> None:
    with pytest.raises(ProtocolError) as exc:
        parse_api_version(text)
    assert exc.value.status == 400


@pytest.mark.parametrize(
    ("text", "version", "result"),
    [
        ("MacAddress", 1, "macaddress"),
        ("uid", 2, "udid"),
        ("serialnumber", 2, "serial"),
        ("guidhn", 3, "guidhn"),
    ],
)
def test_criteria_and_aliases(text: str, version: int, result: str) -> None:
    assert parse_criterion(text, version) == result


def test_a_criterion_before_its_version_lists_what_is_valid() -> None:
    with pytest.raises(
        ProtocolError,
        match=r"needs API v2; this api_path serves v1 \(valid here: macaddress, compliance, username\)",
    ):
        parse_criterion("imei", 1)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("all", None),
        ("", None),
        ("ALL", None),
        ("register_status+compliance_status", {"register_status", "compliance"}),
        ("register_status compliance", {"register_status", "compliance"}),
        ("Serial_Number,OS_version", {"serial_number", "os_version"}),
        ("period", None),
        (
            "lastCheckinTimeStamp+guid+macaddresses",
            {"lastCheckinTimeStamp", "guid", "macaddresses"},
        ),
        ("model+all", None),
    ],
)
def test_filters(text: str, names: set[str] | None) -> None:
    assert parse_filter(text) == (None if names is None else frozenset(names))


def test_deviceidentifier() -> None:
    assert parse_deviceidentifier(None, 3) is None
    assert parse_deviceidentifier("GUID", 3) == "guid"
    assert parse_deviceidentifier("macaddress", 1) == "macaddress"
    for text, version in (("guid", 2), ("udid", 3)):
        with pytest.raises(ProtocolError):
            parse_deviceidentifier(text, version)


# -- cursors --------------------------------------------------------------------------------------


def test_cursor_round_trip_and_rejections() -> None:
    codec = CursorCodec(b"k" * 32)
    cursor = codec.encode("v3|compliance|false", 41)
    assert codec.decode("v3|compliance|false", cursor) == 41
    assert codec.decode("anything", "0") == -1
    assert int(cursor) < 2**63
    for scope, text in (
        ("v3|compliance|true", cursor),  # another query
        ("v3|compliance|false", str(int(cursor) ^ 1)),  # a flipped bit
        ("v3|compliance|false", "12345678901234567890"),  # too long for a long
        ("v3|compliance|false", " "),
    ):
        with pytest.raises(ProtocolError):
            codec.decode(scope, text)
    with pytest.raises(ProtocolError):
        CursorCodec(b"j" * 32).decode("v3|compliance|false", cursor)  # another server's key
    with pytest.raises(ValueError):
        codec.encode("s", 1 << 24)


# -- request XML ----------------------------------------------------------------------------------


def test_a_namespaced_request_is_accepted() -> None:
    root = parse_xml(b'<ise_api xmlns="urn:x"><identifier><guid>G-1</guid></identifier></ise_api>')
    assert identifier(root, 3) == ("guid", "G-1")


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE ise_api [<!ENTITY x "y">]><ise_api/>',
        b"<!doctype ise_api><ise_api/>",
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE ise_api [<!ENTITY x "y">]><ise_api/>'.encode(
            "utf-16"
        ),
    ],
)
def test_any_doctype_is_refused(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="DOCTYPE"):
        parse_xml(body)


def test_a_huge_text_node_is_refused_without_huge_tree() -> None:
    body = b"<ise_api><value>" + b"A" * (11 * 1024 * 1024) + b"</value></ise_api>"
    with pytest.raises(ProtocolError, match="malformed XML"):
        parse_xml(body)


# -- documents against schemas (and the schemas' negative controls) -------------------------------

DEVICE = Device(
    macaddress="0026B424FEB4",
    guid="g-1",
    macaddresses=("0026B424FEB4",),
    compliant=False,
    failure_reason="a & b < c",
    last_checkin_ms=1,
)


def test_documents_validate_against_their_schemas() -> None:
    jamf = Profile.named("jamf")
    assert schemas.validate(documents.mdminfo(jamf, 1)) == "mdminfo"
    assert schemas.validate(documents.mdminfo(jamf, 3)) == "mdminfo-v3"
    fragment = documents.device_fragment(DEVICE, 3, "guid", "g-1")
    assert schemas.validate(documents.attributes(3, "0", 0, [fragment, fragment])) == "attributes"
    assert schemas.validate(documents.attributes(1, "0", None, [])) == "attributes"
    assert (
        schemas.validate(documents.action_reply(2, "macaddress", "0026B424FEB4", False, "x & y"))
        == "action"
    )
    assert (
        schemas.validate(documents.message_reply(3, "guidhn", "host-1", True, None))
        == "sendmessage"
    )
    assert schemas.validate(documents.error(413, "too big & <bad>")) == "error"


def test_the_envelope_is_spliced_correctly() -> None:
    fragment = documents.device_fragment(DEVICE, 2, "macaddress", "0026B424FEB4")
    doc = documents.attributes(2, "123456789012", None, [fragment])
    root = etree.fromstring(doc)
    assert root.findtext("paging_info") == "123456789012"
    assert root.findtext("deviceList/device/attributes/compliance/failure_reason") == "a & b < c"


MDMINFO_V3 = (
    "<ise_api><name>mdminfo</name><api_version>3</api_version><api_path>/a</api_path>"
    "<redirect_url>https://x/</redirect_url><query_max_size>5</query_max_size>"
    "<messaging_support>false</messaging_support>{vendor}<product_name>P</product_name>"
    "<product_version>1</product_version></ise_api>"
)


def _attributes(device: str, paging: str = "0") -> bytes:
    return (
        f"<ise_api><name>attributes</name><api_version>3</api_version><paging_info>{paging}</paging_info>"
        f"<deviceList><device>{device}</device></deviceList></ise_api>"
    ).encode()


@pytest.mark.parametrize(
    ("kind", "document"),
    [
        ("mdminfo-v3", MDMINFO_V3.format(vendor="").encode()),  # vendor is mandatory in v3
        (
            "mdminfo",
            MDMINFO_V3.format(vendor="<vendor>V</vendor>").encode(),
        ),  # v1/v2 schema: version <= 2
        (
            "attributes",
            _attributes("<macaddress>0026b424feb4</macaddress><attributes/>"),
        ),  # lower-case MAC
        (
            "attributes",
            _attributes(
                "<guid>g</guid><attributes><register_status>1</register_status></attributes>"
            ),
        ),
        (
            "attributes",
            _attributes(
                "<guid>g</guid><attributes><macaddresses>"
                + ",".join(["0026B424FEB4"] * 6)
                + "</macaddresses></attributes>"
            ),
        ),
        ("attributes", _attributes("<guid>g</guid><attributes/>", paging="abc")),
        ("attributes", _attributes("<guid>g</guid><attributes/>", paging="99999999999999999999")),
        ("attributes", _attributes("<attributes/>")),  # no key element
        (
            "action",
            b"<ise_api><name>action</name><api_version>3</api_version><deviceList><device><guid>g</guid><result><action_status>yes</action_status></result></device></deviceList></ise_api>",
        ),
        (
            "error",
            b"<ise_api><name>error</name><error><status>200</status><message>m</message></error></ise_api>",
        ),
    ],
)
def test_schemas_reject_what_the_protocol_forbids(kind: str, document: bytes) -> None:
    with pytest.raises(SchemaError):
        schemas.validate(document, kind)


def test_schema_kinds() -> None:
    assert schemas.kind_of(documents.error(400, "x")) == "error"
    with pytest.raises(SchemaError):
        schemas.kind_of(b"<ise_api><name>weird</name></ise_api>")
    with pytest.raises(ValueError):
        schemas.schema("nope")
