"""The hardened ISE-like parser on fixed documents: tolerant where ISE is, strict where it must
be, and closed to DTDs and entities."""

from __future__ import annotations

import pytest

from harness.client.xmlparse import (
    ProtocolViolation,
    XMLParseError,
    parse_action,
    parse_attributes,
    parse_mdminfo,
    parse_xml,
)

JAMF_MDMINFO = b"""<?xml version="1.0" encoding="UTF-8"?>
<ise_api>
  <name>mdminfo</name>
  <api_version>3</api_version>
  <api_path>/7/ciscoise/v3</api_path>
  <redirect_url>https://acme.jamfcloud.test/enroll</redirect_url>
  <query_max_size>1000</query_max_size>
  <messaging_support>false</messaging_support>
  <vendor>JAMF Software</vendor>
  <product_name>JSS</product_name>
  <product_version>10.48.1-t1689600654</product_version>
</ise_api>
"""


def test_jamf_discovery_answer() -> None:
    assert parse_mdminfo(JAMF_MDMINFO, asked_version=3) == {
        "api_version": 3,
        "api_path": "/7/ciscoise/v3",
        "redirect_url": "https://acme.jamfcloud.test/enroll",
        "vendor": "JAMF Software",
        "product_name": "JSS",
        "product_version": "10.48.1-t1689600654",
        "query_max_size": 1000,
        "messaging_support": False,
    }


def test_v1_discovery_answer_with_defaults() -> None:
    body = (
        b"<ise_api><name>mdminfo</name><api_version> 1 </api_version>"
        b"<api_path>/ciscoise/mdmapi/v1</api_path><query_max_size/><redirect_url>\n</redirect_url>"
        b"</ise_api>"
    )
    assert parse_mdminfo(body, asked_version=3) == {
        "api_version": 1,
        "api_path": "/ciscoise/mdmapi/v1",
        "redirect_url": None,
        "vendor": None,
        "product_name": None,
        "product_version": None,
        "query_max_size": 5000,
        "messaging_support": None,
    }


def test_discovery_tolerates_a_namespace_and_capitals() -> None:
    body = JAMF_MDMINFO.replace(b"<ise_api>", b'<ise_api xmlns="urn:example:mdm">').replace(
        b"<vendor>JAMF Software</vendor>", b"<Vendor>JAMF Software</Vendor>"
    )
    assert parse_mdminfo(body, asked_version=3)["vendor"] == "JAMF Software"


@pytest.mark.parametrize(
    ("body", "asked", "error", "message"),
    [
        (JAMF_MDMINFO, 2, ProtocolViolation, "answered api_version 3 to a request for version 2"),
        (
            JAMF_MDMINFO.replace(b"<vendor>JAMF Software</vendor>", b""),
            3,
            ProtocolViolation,
            "must name vendor",
        ),
        (
            JAMF_MDMINFO.replace(b"<product_name>JSS</product_name>", b"<product_name/>").replace(
                b"<product_version>10.48.1-t1689600654</product_version>", b""
            ),
            3,
            ProtocolViolation,
            "must name product_name, product_version",
        ),
        (
            JAMF_MDMINFO.replace(b"<api_path>/7/ciscoise/v3</api_path>", b""),
            3,
            XMLParseError,
            "ise_api/api_path: missing",
        ),
        (
            JAMF_MDMINFO.replace(b"/7/ciscoise/v3", b"  "),
            3,
            XMLParseError,
            "ise_api/api_path: empty",
        ),
        (
            JAMF_MDMINFO.replace(b">3<", b">three<"),
            3,
            XMLParseError,
            "ise_api/api_version: expected an integer, got 'three'",
        ),
        (
            JAMF_MDMINFO.replace(b">3<", b">0<"),
            3,
            XMLParseError,
            "ise_api/api_version: 0 is less than 1",
        ),
        (JAMF_MDMINFO.replace(b">3<", b">-3<"), 3, XMLParseError, "expected an integer, got '-3'"),
        (
            JAMF_MDMINFO.replace(b">1000<", b">1e3<"),
            3,
            XMLParseError,
            "ise_api/query_max_size: expected an integer",
        ),
        (
            JAMF_MDMINFO.replace(b">1000<", b">0<"),
            3,
            XMLParseError,
            "query_max_size: 0 is less than 1",
        ),
        (
            JAMF_MDMINFO.replace(b">false<", b">no<"),
            3,
            XMLParseError,
            "ise_api/messaging_support: expected true or false, got 'no'",
        ),
        (
            JAMF_MDMINFO.replace(b"<name>mdminfo</name>", b"<name>attributes</name>"),
            3,
            XMLParseError,
            "ise_api/name is 'attributes', expected 'mdminfo'",
        ),
        (
            JAMF_MDMINFO.replace(b"ise_api>", b"mdm_api>"),
            3,
            XMLParseError,
            "root element is <mdm_api>, expected <ise_api>",
        ),
        (
            JAMF_MDMINFO.replace(
                b"<api_version>3</api_version>",
                b"<api_version>3</api_version><api_version>2</api_version>",
            ),
            3,
            XMLParseError,
            "ise_api/api_version: appears 2 times, expected once",
        ),
        (
            JAMF_MDMINFO.replace(
                b"<vendor>JAMF Software</vendor>", b"<vendor><b>JAMF</b></vendor>"
            ),
            3,
            XMLParseError,
            "ise_api/vendor: expected text, found element <b>",
        ),
    ],
)
def test_discovery_strictness(
    body: bytes, asked: int, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        parse_mdminfo(body, asked_version=asked)
    assert message in str(info.value)


# ------------------------------------------------------------------------------ attributes

ATTRIBUTES_V3 = b"""<?xml version="1.0" encoding="UTF-8"?>
<ise_api>
  <name>attributes</name>
  <api_version>3</api_version>
  <paging_info>0</paging_info>
  <server_busy_wait_seconds>0</server_busy_wait_seconds>
  <deviceList>
    <device>
      <guid>1759c0fd-c8da-49e8-b14f-19d85acfacea</guid>
      <attributes>
        <register_status>true</register_status>
        <compliance>
          <status>false</status>
          <failure_reason>Passcode not set &amp; OS &lt; 17</failure_reason>
          <remediation>Set a passcode</remediation>
        </compliance>
        <disk_encryption_on>true</disk_encryption_on>
        <pin_lock_on>false</pin_lock_on>
        <jail_broken>false</jail_broken>
        <manufacturer>Apple</manufacturer>
        <model>iPad 8th Gen 10.2-inch (Wi-Fi Only)</model>
        <udid>00008020-0015784C218A402E</udid>
        <serial_number>F9GDX3RQQ1GC</serial_number>
        <os_version>iOS 14.4</os_version>
        <phone_number>PDA 2</phone_number>
        <lastCheckinTimeStamp>1621571561000</lastCheckinTimeStamp>
        <guid>1759c0fd-c8da-49e8-b14f-19d85acfacea</guid>
        <macaddresses>F434F0A1E478,f4:34:f0:a1:e4:79</macaddresses>
      </attributes>
    </device>
  </deviceList>
</ise_api>
"""

V3_DEVICE = {
    "macaddress": None,
    "guid": "1759c0fd-c8da-49e8-b14f-19d85acfacea",
    "register_status": True,
    "compliance": {
        "status": False,
        "failure_reason": "Passcode not set & OS < 17",
        "remediation": "Set a passcode",
    },
    "disk_encryption_on": True,
    "pin_lock_on": False,
    "jail_broken": False,
    "manufacturer": "Apple",
    "model": "iPad 8th Gen 10.2-inch (Wi-Fi Only)",
    "imei": None,
    "meid": None,
    "udid": "00008020-0015784C218A402E",
    "serial_number": "F9GDX3RQQ1GC",
    "os_version": "iOS 14.4",
    "phone_number": "PDA 2",
    "last_checkin_ms": 1621571561000,
    "macaddresses": ["F434F0A1E478", "F434F0A1E479"],
}


def test_v3_attributes() -> None:
    page = parse_attributes(ATTRIBUTES_V3)
    assert page["devices"] == [V3_DEVICE]
    assert page["paging_info"] is None and page["server_busy_wait_seconds"] == 0
    assert page["api_version"] == 3


def test_intune_style_namespace_capitals_and_empty_elements() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<ise_api xmlns="http://schemas.microsoft.com/intune/ise">'
        b"<name>attributes</name><api_version>2</api_version>"
        b"<deviceList><device><macaddress>00:26:b4:24:fe:b4</macaddress><Attributes>"
        b"<register_status>true</register_status><Compliance><status>true</status></Compliance>"
        b"<udid/><imei></imei><model>  Surface  </model><unknown_field>x</unknown_field>"
        b"</Attributes></device></deviceList></ise_api>"
    )
    [device] = parse_attributes(body)["devices"]
    assert device["macaddress"] == "0026B424FEB4"
    assert device["register_status"] is True
    assert device["compliance"] == {"status": True, "failure_reason": None, "remediation": None}
    assert device["udid"] is None and device["imei"] is None
    assert device["model"] == "Surface"
    assert device["macaddresses"] == []


def test_attributes_api_version_may_differ_and_unknown_elements_are_ignored() -> None:
    body = ATTRIBUTES_V3.replace(b"<api_version>3</api_version>", b"<api_version>2</api_version>")
    body = body.replace(
        b"<deviceList>", b"<extension><value>1</value></extension><deviceList><note/>"
    )
    page = parse_attributes(body)
    assert page["api_version"] == 2 and page["devices"] == [V3_DEVICE]


def test_empty_device_list_means_unregistered() -> None:
    page = parse_attributes(b"<ise_api><name>attributes</name><deviceList/></ise_api>")
    assert page == {
        "devices": [],
        "paging_info": None,
        "server_busy_wait_seconds": None,
        "api_version": None,
    }


@pytest.mark.parametrize(
    ("paging", "expected"),
    [
        (b"<paging_info>0</paging_info>", None),
        (b"", None),
        (b"<paging_info/>", None),
        (b"<paging_info> AbC+/= </paging_info>", "AbC+/="),
        (b"<paging_info>1000</paging_info>", "1000"),
    ],
)
def test_paging_cursor_is_opaque(paging: bytes, expected: str | None) -> None:
    body = b"<ise_api><name>attributes</name>" + paging + b"<deviceList/></ise_api>"
    assert parse_attributes(body)["paging_info"] == expected


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            b"<register_status>true<",
            b"<register_status>yes<",
            "ise_api/devicelist/device/attributes/register_status: expected true or false, got 'yes'",
        ),
        (
            b"<status>false</status>",
            b"<status>compliant</status>",
            "compliance/status: expected true or false",
        ),
        (
            b"1621571561000",
            b"yesterday",
            "lastcheckintimestamp: expected an integer, got 'yesterday'",
        ),
        (b"F434F0A1E478,", b"F434F0A1E4,", "macaddresses: 'F434F0A1E4' is not a MAC address"),
        (
            b"<guid>1759c0fd-c8da-49e8-b14f-19d85acfacea</guid>\n      <attributes>",
            b"<attributes>",
            "device: no <macaddress> or <guid> key identifies the device",
        ),
        (
            b"<guid>1759c0fd-c8da-49e8-b14f-19d85acfacea</guid>\n      <attributes>",
            b"<guid>another</guid><attributes>",
            "<guid> 'another' contradicts attributes/guid",
        ),
        (b"deviceList>", b"devices>", "ise_api/devicelist: missing"),
        (b"</deviceList>", b"</deviceList><deviceList/>", "ise_api/devicelist: appears 2 times"),
        (
            b"<server_busy_wait_seconds>0<",
            b"<server_busy_wait_seconds>-1<",
            "expected an integer, got '-1'",
        ),
        (b"compliance>", b"old_compliance>", "expected status/failure_reason/remediation"),
        (
            b"<name>attributes</name>",
            b"<name>mdminfo</name>",
            "ise_api/name is 'mdminfo', expected 'attributes'",
        ),
    ],
)
def test_attributes_strictness(old: bytes, new: bytes, message: str) -> None:
    body = ATTRIBUTES_V3.replace(old, new)
    assert body != ATTRIBUTES_V3
    if new == b"old_compliance>":  # the compliance element holds text instead of elements
        body = body.replace(b"<jail_broken>", b"<compliance>false</compliance><jail_broken>")
    with pytest.raises(XMLParseError) as info:
        parse_attributes(body)
    assert message in str(info.value)


def test_what_the_meaning_does_not_need_may_be_absent() -> None:
    """Cisco's Swagger marks no element of the replies required (P3 demands only what the
    meaning needs): no <name>, or a device without <attributes>, is read - the attributes as
    unknown (null), nothing invented."""
    body = (
        b"<ise_api><deviceList>"
        b"<device><macaddress>0026B424FEB4</macaddress><attributes/></device>"
        b"<device><macaddress>0026B424FEB5</macaddress></device>"
        b"</deviceList></ise_api>"
    )
    page = parse_attributes(body)
    assert [d["macaddress"] for d in page["devices"]] == ["0026B424FEB4", "0026B424FEB5"]
    bare = page["devices"][1]
    assert bare["register_status"] is None and bare["compliance"]["status"] is None
    assert bare["model"] is None and bare["macaddresses"] == []
    assert (
        parse_mdminfo(JAMF_MDMINFO.replace(b"<name>mdminfo</name>", b""), asked_version=3)[
            "api_version"
        ]
        == 3
    )
    action = b"<ise_api><deviceList><device><result><action_status>true</action_status></result></device></deviceList></ise_api>"
    assert parse_action(action)["action_status"] is True


def test_a_bad_mac_key_is_a_parse_error() -> None:
    body = (
        b"<ise_api><name>attributes</name><deviceList><device><macaddress>ZZ:ZZ:ZZ:ZZ:ZZ:ZZ</macaddress>"
        b"<attributes/></device></deviceList></ise_api>"
    )
    with pytest.raises(XMLParseError, match="'ZZ:ZZ:ZZ:ZZ:ZZ:ZZ' is not a MAC address"):
        parse_attributes(body)


# ------------------------------------------------------------------------------ actions

ACTION = (
    b"<ise_api><name>action</name><api_version>3</api_version><deviceList><device>"
    b"<guid>000000000000</guid><result><action_status>true</action_status>"
    b"<failure_reason/></result></device></deviceList></ise_api>"
)


def test_action_reply() -> None:
    assert parse_action(ACTION) == {"action_status": True, "failure_reason": None}
    refused = ACTION.replace(b">true<", b">false<").replace(
        b"<failure_reason/>", b"<failure_reason>offline</failure_reason>"
    )
    assert parse_action(refused) == {"action_status": False, "failure_reason": "offline"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<action_status>true</action_status>", b"", "result/action_status: missing"),
        (b">true<", b">done<", "expected true or false, got 'done'"),
        (b"<result>", b"<outcome>", "device/result: missing"),
        (b"</device>", b"</device><device/>", "2 devices, expected exactly one"),
        (b"<device>", b"<other>", "0 devices, expected exactly one"),
    ],
)
def test_action_strictness(old: bytes, new: bytes, message: str) -> None:
    body = ACTION.replace(old, new, 1)
    if old == b"<device>":
        body = body.replace(b"</device>", b"</other>")
    if old == b"<result>":
        body = body.replace(b"</result>", b"</outcome>")
    with pytest.raises(XMLParseError, match=message):
        parse_action(body)


# ------------------------------------------------------------------------------ hardening

HOSTILE = {
    "internal-entity": b'<!DOCTYPE ise_api [<!ENTITY e "x">]><ise_api><name>&e;</name></ise_api>',
    "external-entity": (
        b'<!DOCTYPE ise_api [<!ENTITY ext SYSTEM "http://127.0.0.1:9/canary">]>'
        b"<ise_api><name>mdminfo</name><x>&ext;</x></ise_api>"
    ),
    "external-dtd": b'<!DOCTYPE ise_api SYSTEM "http://127.0.0.1:9/x.dtd"><ise_api/>',
    "billion-laughs": (
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><ise_api>&lol3;</ise_api>'
    ),
    "lowercase-doctype": b"<!doctype ise_api><ise_api/>",
    "utf16-doctype": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE ise_api><ise_api/>'.encode(
        "utf-16"
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_any_doctype_is_refused(name: str) -> None:
    with pytest.raises(XMLParseError, match="DOCTYPE is not allowed"):
        parse_xml(HOSTILE[name])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"  \n", "empty body"),
        (b"<ise_api><name>mdminfo</name>", "not well-formed XML"),
        (b"<ise_api><name>AT&T</name></ise_api>", "not well-formed XML"),
        (b"<ise_api><mdm:name>x</mdm:name></ise_api>", "Namespace prefix mdm"),
        (b"<ise_api><name>&nbsp;</name></ise_api>", "not well-formed XML"),
        (b"<ise_api/><ise_api/>", "not well-formed XML"),
        (
            b'<?xml version="1.0" encoding="UTF-8"?><ise_api><name>\xe9</name></ise_api>',
            "not well-formed XML",
        ),
        (b"<html><body>502 Bad Gateway</body></html>", None),
    ],
)
def test_malformed_bodies(body: bytes, message: str | None) -> None:
    with pytest.raises(XMLParseError) as info:
        parse_mdminfo(body, asked_version=3)
    if message:
        assert message in str(info.value)


def test_size_cap() -> None:
    body = b"<ise_api><name>attributes</name><deviceList/>" + b" " * 2000 + b"</ise_api>"
    assert parse_attributes(body, max_bytes=len(body))["devices"] == []
    with pytest.raises(
        XMLParseError, match=f"body of {len(body)} bytes exceeds the cap of 1000 bytes"
    ):
        parse_attributes(body, max_bytes=1000)


def test_other_encodings_parse() -> None:
    text = JAMF_MDMINFO.decode().replace("JAMF Software", "Société Générale")
    for encoding in ("ISO-8859-1", "UTF-16"):
        body = text.replace('encoding="UTF-8"', f'encoding="{encoding}"').encode(encoding.lower())
        assert parse_mdminfo(body, asked_version=3)["vendor"] == "Société Générale"
    with_bom = "\ufeff".encode() + text.encode()
    assert parse_mdminfo(with_bom, asked_version=3)["vendor"] == "Société Générale"
