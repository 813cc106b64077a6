"""Discovery and device queries of the reference MDM, per version, criterion and form.

Every reply goes through :class:`support.mdm.Api`, which validates it against its XSD.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.mdm import ALICE, ALICE_MAC, Api, small_inventory

from harness.mdm import ReferenceMDM
from harness.tls import CertificateAuthority

ALICE_GUID = ALICE.guid.lower()
ALICE_MACS = ("0026B424FEB4", "0026B424FEB5", "0026B424FEB6")

# -- discovery ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "expected"), [(None, 1), (1, 1), (2, 2), (3, 3), (4, 3), (99, 3)]
)
def test_discovery_answers_min_of_server_maximum_and_asked(
    api: Api, asked: int | None, expected: int
) -> None:
    reply = api.discover(asked)
    assert reply.status == 200
    assert reply.kind == ("mdminfo-v3" if expected == 3 else "mdminfo")
    assert reply.text("api_version") == str(expected)
    assert reply.text("api_path") == f"/7/ciscoise/v{expected}"


def test_discovery_v3_is_jamf_pro_10_48_as_in_the_seed(api: Api) -> None:
    reply = api.discover(3)
    fields = {child.tag: child.text for child in reply.root}
    assert fields == {
        "name": "mdminfo",
        "api_version": "3",
        "api_path": "/7/ciscoise/v3",
        "redirect_url": "https://acme.jamfcloud.test/enroll",
        "query_max_size": "1000",
        "messaging_support": "false",
        "vendor": "JAMF Software",
        "product_name": "JSS",
        "product_version": "10.48.1-t1689600654",
    }


@pytest.mark.parametrize(
    ("suffix", "version"),
    [
        ("/ciscoise/mdminfo", "1"),
        ("/ciscoise/mdminfo/", "1"),
        ("/ciscoise/mdminfo?ise_api_version=2", "2"),
        ("/ciscoise/mdminfo/?ise_api_version=3", "3"),
        ("/ciscoise/mdminfo/?ise_api_version=+3", "3"),
    ],
)
def test_discovery_accepts_both_slash_forms(api: Api, suffix: str, version: str) -> None:
    reply = api.request("GET", "/networkIntegrationEndpoint/7" + suffix)
    assert reply.status == 200
    assert reply.text("api_version") == version


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "2.5", "", "3x"])
def test_discovery_rejects_a_bad_version_with_400(api: Api, bad: str) -> None:
    reply = api.request(
        "GET", f"/networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version={bad}"
    )
    assert reply.status == 400
    assert "ise_api_version" in (reply.error_message or "")


@pytest.mark.parametrize(
    "path",
    [
        "/networkIntegrationEndpoint/8/ciscoise/mdminfo/?ise_api_version=3",
        "/ciscoise/mdminfo/?ise_api_version=3",
        "/networkIntegrationEndpoint/ciscoise/mdminfo/?ise_api_version=3",
        "/networkintegrationendpoint/7/ciscoise/mdminfo/?ise_api_version=3",
    ],
)
def test_a_wrong_instance_answers_404_seed_scenario_2(api: Api, path: str) -> None:
    reply = api.request("GET", path)
    assert reply.status == 404
    assert reply.kind == "error"


def test_discovery_of_a_server_capped_at_v2(mdm_ca: CertificateAuthority) -> None:
    with ReferenceMDM(ca=mdm_ca, devices=5, max_api_version=2) as mdm, Api(mdm) as client:
        reply = client.discover(3)
        assert (reply.kind, reply.text("api_version"), reply.text("api_path")) == (
            "mdminfo",
            "2",
            "/7/ciscoise/v2",
        )
        assert client.devices(3, querycriteria="compliance", value="false").status == 404


def test_generic_profile_has_no_instance_and_cisco_api_paths(mdm_ca: CertificateAuthority) -> None:
    with (
        ReferenceMDM(ca=mdm_ca, inventory=small_inventory(5), profile="generic") as mdm,
        Api(mdm) as client,
    ):
        assert mdm.base_url == mdm.origin
        assert mdm.public_base_url == "https://mdm.harness.test"
        reply = client.request("GET", "/ciscoise/mdminfo/?ise_api_version=3")
        assert reply.text("api_path") == "/ciscoise/mdmapi/v3"
        assert reply.text("query_max_size") == "5000"
        assert reply.text("messaging_support") == "true"
        lookup = client.get(
            "/ciscoise/mdmapi/v2/devices/",
            paging=0,
            querycriteria="macaddress",
            value=ALICE_MACS[0],
            filter="all",
        )
        assert [d["key.macaddress"] for d in lookup.devices] == [ALICE_MACS[0]]


def test_every_profile_field_is_overridable(mdm_ca: CertificateAuthority) -> None:
    with (
        ReferenceMDM(
            ca=mdm_ca,
            devices=3,
            instance_id="42",
            api_path="/api/{instance_id}/mdm/v{version}",
            vendor="Acme & Co <MDM>",
            product_name="Acme",
            product_version="9",
            query_max_size=7,
            messaging_support=True,
            public_hostname="mdm.acme.test",
        ) as mdm,
        Api(mdm) as client,
    ):
        assert mdm.base_url.endswith("/networkIntegrationEndpoint/42")
        reply = client.discover(3)
        assert reply.text("api_path") == "/api/42/mdm/v3"
        assert reply.text("vendor") == "Acme & Co <MDM>"
        assert reply.text("redirect_url") == "https://mdm.acme.test/enroll"
        assert reply.text("query_max_size") == "7"
        assert client.get("/api/42/mdm/v3/devices/", paging=0).status == 200


def test_a_version_less_api_path_serves_the_highest_version(mdm_ca: CertificateAuthority) -> None:
    with (
        ReferenceMDM(ca=mdm_ca, devices=3, api_path="/{instance_id}/ciscoise") as mdm,
        Api(mdm) as client,
    ):
        assert client.discover(2).text("api_path") == "/7/ciscoise"
        assert client.get("/7/ciscoise/devices/", paging=0).text("api_version") == "3"


# -- device queries ----------------------------------------------------------------------------


def _v1_path(criterion: str, value: str, filter_: str = "all") -> str:
    return f"/7/ciscoise/v1/devices/0/{criterion}/{value}/{filter_}"


@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize(
    "spelling",
    ["0026B424FEB4", "00:26:b4:24:fe:b4", "00-26-B4-24-FE-B4", "0026.b424.feb4", "0026b424feb4"],
)
def test_macaddress_lookup_accepts_any_separators_and_case(
    api: Api, version: int, spelling: str
) -> None:
    if version == 1:
        reply = api.request("GET", _v1_path("macaddress", spelling))
    else:
        reply = api.devices(version, querycriteria="macaddress", value=spelling, filter="all")
    assert reply.status == 200
    assert reply.text("api_version") == str(version)
    [device] = reply.devices
    assert device["key.macaddress"] == "0026B424FEB4"
    assert device["compliance.failure_reason"] == ALICE.failure_reason


def test_a_secondary_mac_answers_with_that_mac_as_key(api: Api) -> None:
    [device] = api.devices(3, querycriteria="macaddress", value="0026b424feb6").devices
    assert device["key.macaddress"] == "0026B424FEB6"
    assert device["macaddresses"] == ",".join(ALICE_MACS)
    assert device["guid"] == ALICE_GUID


CRITERIA = [
    # criterion, value, first version, key element in v3
    ("macaddress", "0026B424FEB4", 1, "macaddress"),
    ("username", "ALICE.TESTER", 1, "guid"),
    ("udid", "00008110-001A2C3E0E91801E", 2, "macaddress"),
    ("uid", "00008110-001a2c3e0e91801e", 2, "macaddress"),
    ("imei", "356938035643809", 2, "macaddress"),
    ("meid", "35693803564380", 2, "macaddress"),
    ("serial", "F9GDX3RQQ1GC", 2, "macaddress"),
    ("serialnumber", "f9gdx3rqq1gc", 2, "macaddress"),
    ("guid", ALICE.guid, 3, "guid"),
    ("guidhn", "alice-iphone", 3, "guid"),
]


@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize(("criterion", "value", "since", "v3_key"), CRITERIA)
def test_each_criterion_is_served_from_its_version_and_refused_before(
    api: Api, version: int, criterion: str, value: str, since: int, v3_key: str
) -> None:
    if version == 1:
        reply = api.request("GET", _v1_path(criterion, value))
    else:
        reply = api.devices(version, querycriteria=criterion, value=value, filter="all")
    if version < since:
        assert reply.status == 400
        assert f"needs API v{since}" in (reply.error_message or "")
        return
    assert reply.status == 200
    keys = [d.get("key.guid") or d.get("key.macaddress") for d in reply.devices]
    alice_key = ALICE_GUID if version == 3 and v3_key == "guid" else "0026B424FEB4"
    assert alice_key in keys
    key_element = v3_key if version == 3 else "macaddress"
    assert all(f"key.{key_element}" in d for d in reply.devices)
    if criterion == "username":
        assert len(reply.devices) == 2  # usernames match without regard to case


@pytest.mark.parametrize("version", [1, 2, 3])
def test_compliance_listing(api: Api, shared_mdm: ReferenceMDM, version: int) -> None:
    if version == 1:
        reply = api.request("GET", _v1_path("compliance", "false"))
    else:
        reply = api.devices(version, querycriteria="compliance", value="false", filter="all")
    expected = [d for d in shared_mdm.inventory if not d.compliant]
    assert len(reply.devices) == len(expected)
    assert all(d["compliance.status"] == "false" for d in reply.devices)
    key = "key.guid" if version == 3 else "key.macaddress"
    got = [d[key] for d in reply.devices]
    assert got == [(d.guid if version == 3 else d.macaddress) for d in expected]


@pytest.mark.parametrize(
    ("identifier", "key"),
    [("guid", "key.guid"), ("macaddress", "key.macaddress"), (None, "key.guid")],
)
def test_v3_deviceidentifier_picks_the_key_element(
    api: Api, identifier: str | None, key: str
) -> None:
    params = {"querycriteria": "compliance", "value": "true", "filter": "all"}
    if identifier:
        params["deviceidentifier"] = identifier
    reply = api.devices(3, **params)
    assert reply.devices and all(key in d for d in reply.devices)


def test_deviceidentifier_guid_before_v3_is_400(api: Api) -> None:
    reply = api.devices(2, querycriteria="compliance", value="false", deviceidentifier="guid")
    assert reply.status == 400


def test_v3_attributes_are_complete_and_escaped(api: Api) -> None:
    reply = api.devices(3, querycriteria="guid", value=ALICE.guid, filter="all")
    assert reply.text("server_busy_wait_seconds") == "0"
    [device] = reply.devices
    assert device == {
        "key.guid": ALICE_GUID,
        "register_status": "true",
        "compliance.status": "false",
        "compliance.failure_reason": "Passcode < 6 digits & <jailbreak> detected",
        "compliance.remediation": "Set a passcode & restore <now>",
        "disk_encryption_on": "true",
        "pin_lock_on": "false",
        "jail_broken": "false",
        "manufacturer": "Apple Inc.",
        "model": "iPhone 14",
        "imei": "356938035643809",
        "meid": "35693803564380",
        "udid": "00008110-001A2C3E0E91801E",
        "serial_number": "F9GDX3RQQ1GC",
        "os_version": "iOS 17.5.1",
        "phone_number": "+15550100001",
        "lastCheckinTimeStamp": "1717000000000",
        "guid": ALICE_GUID,
        "macaddresses": ",".join(ALICE_MACS),
    }
    assert b"&amp; &lt;jailbreak&gt;" in reply.body


@pytest.mark.parametrize("version", [1, 2])
def test_v1_v2_replies_have_no_v3_elements(api: Api, version: int) -> None:
    if version == 1:
        reply = api.request("GET", _v1_path("macaddress", ALICE_MACS[0]))
    else:
        reply = api.devices(version, querycriteria="macaddress", value=ALICE_MACS[0], filter="all")
    [device] = reply.devices
    assert not {"guid", "lastCheckinTimeStamp", "macaddresses"} & set(device)
    assert reply.text("server_busy_wait_seconds") is None


def test_absent_attributes_are_left_out(api: Api) -> None:
    [device] = api.devices(3, querycriteria="guid", value=ALICE_MAC.guid).devices
    assert "imei" not in device and "phone_number" not in device
    assert "compliance.failure_reason" not in device


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_unknown_device_is_200_with_an_empty_device_list(api: Api, version: int) -> None:
    if version == 1:
        reply = api.request("GET", _v1_path("macaddress", "AABBCCDDEEFF"))
    else:
        reply = api.devices(version, querycriteria="macaddress", value="AABBCCDDEEFF", filter="all")
    assert reply.status == 200
    assert reply.devices == []
    assert b"<deviceList/>" in reply.body
    assert reply.text("paging_info") == "0"


@pytest.mark.parametrize(
    "raw_filter",
    [
        "register_status+compliance",  # '+' in a query string decodes to a space
        "register_status%2Bcompliance",  # a literal '+'
        "register_status%20compliance",
        "Register_Status+Compliance_Status",
    ],
)
def test_filter_restricts_attributes(api: Api, raw_filter: str) -> None:
    reply = api.request(
        "GET",
        f"/7/ciscoise/v3/devices/?paging=0&querycriteria=macaddress&value={ALICE_MACS[0]}&filter={raw_filter}",
    )
    [device] = reply.devices
    assert set(device) == {
        "key.macaddress",
        "register_status",
        "compliance.status",
        "compliance.failure_reason",
        "compliance.remediation",
    }


def test_v1_path_filter_with_plus(api: Api) -> None:
    reply = api.request("GET", _v1_path("username", "alice.tester", "register_status+manufacturer"))
    assert [set(d) for d in reply.devices] == [
        {"key.macaddress", "register_status", "manufacturer"}
    ] * 2


def test_a_v3_only_attribute_in_a_v2_filter_is_simply_absent(api: Api) -> None:
    reply = api.devices(2, querycriteria="macaddress", value=ALICE_MACS[0], filter="guid+model")
    assert [set(d) for d in reply.devices] == [{"key.macaddress", "model"}]


def test_an_unknown_filter_name_is_400(api: Api) -> None:
    reply = api.devices(3, querycriteria="macaddress", value=ALICE_MACS[0], filter="shoe_size")
    assert reply.status == 400
    assert "shoe_size" in (reply.error_message or "")


def test_all_devices_listings(api: Api, shared_mdm: ReferenceMDM) -> None:
    total = len(shared_mdm.inventory)
    assert len(api.devices(2, filter="all").devices) == total
    assert len(api.request("GET", "/7/ciscoise/v1/devices/0/all").devices) == total


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"querycriteria": "macaddress", "value": "xyz"}, "not a MAC"),
        ({"querycriteria": "macaddress", "value": "0026B424FEB"}, "not a MAC"),
        ({"querycriteria": "compliance", "value": "maybe"}, "true or false"),
        ({"querycriteria": "macaddress"}, "needs a value"),
        ({"querycriteria": "shoe", "value": "1"}, "unknown"),
        ({"querycriteria": "guid", "value": "g" * 129}, "128 bytes"),
        ({"querycriteria": "username", "value": "  "}, "empty"),
        ({"querycriteria": "compliance", "value": "false", "paging": "abc"}, "paging"),
        (
            {"querycriteria": "compliance", "value": "false", "deviceidentifier": "imei"},
            "deviceidentifier",
        ),
    ],
)
def test_malformed_query_parameters_are_400(api: Api, params: dict[str, str], needle: str) -> None:
    reply = api.devices(3, **params)
    assert reply.status == 400
    assert needle in (reply.error_message or "")


@pytest.mark.parametrize(
    "path",
    [
        "/7/ciscoise/v2/devices/0/macaddress/0026B424FEB4/all",  # the path form is v1's
        "/7/ciscoise/v1/devices/?paging=0&querycriteria=macaddress&value=0026B424FEB4",
        "/7/ciscoise/v4/devices/?paging=0",
        "/7/ciscoise/v3/gadgets/",
    ],
)
def test_a_form_of_another_version_is_404(api: Api, path: str) -> None:
    reply = api.request("GET", path)
    assert reply.status == 404


def test_a_malformed_v1_path_is_400(api: Api) -> None:
    assert api.request("GET", "/7/ciscoise/v1/devices/0/macaddress").status == 400


# -- batchdevices --------------------------------------------------------------------------------


def _batch_body(*values: str) -> bytes:
    return ("<ise_api>" + "".join(f"<value>{v}</value>" for v in values) + "</ise_api>").encode()


@pytest.mark.parametrize("version", [1, 2])
def test_batchdevices_answers_every_value(api: Api, shared_mdm: ReferenceMDM, version: int) -> None:
    other = next(d for d in shared_mdm.inventory if d.guid not in (ALICE_GUID,))
    reply = api.request(
        "POST",
        f"/7/ciscoise/v{version}/batchdevices/",
        params={"paging": "0", "querycriteria": "macaddress", "filter": "all"},
        content=_batch_body(
            "00:26:b4:24:fe:b4", "0026B424FEB5", other.macaddress.lower(), "AABBCCDDEEFF"
        ),
    )
    assert reply.status == 200
    keys = sorted(d["key.macaddress"] for d in reply.devices)
    assert keys == sorted(["0026B424FEB4", other.macaddress])  # Alice once, by her primary MAC


def test_batchdevices_is_not_part_of_v3(api: Api) -> None:
    reply = api.request(
        "POST",
        "/7/ciscoise/v3/batchdevices/",
        params={"querycriteria": "macaddress"},
        content=_batch_body("0026B424FEB4"),
    )
    assert reply.status == 404


@pytest.mark.parametrize(
    ("params", "body", "needle"),
    [
        ({"querycriteria": "macaddress"}, b"<ise_api></ise_api>", "<value>"),
        ({"querycriteria": "macaddress"}, b"<ise_api><value>nope</value></ise_api>", "not a MAC"),
        ({"querycriteria": "macaddress"}, b"<ise_api><value>", "malformed XML"),
        (
            {"querycriteria": "macaddress"},
            b"<values><value>0026B424FEB4</value></values>",
            "root element",
        ),
        ({"querycriteria": "macaddress"}, b"", "body is required"),
        ({}, _batch_body("0026B424FEB4"), "needs querycriteria"),
    ],
)
def test_bad_batchdevices_requests_are_400(
    api: Api, params: dict[str, str], body: bytes, needle: str
) -> None:
    reply = api.request("POST", "/7/ciscoise/v2/batchdevices/", params=params, content=body)
    assert reply.status == 400
    assert needle in (reply.error_message or "")


@pytest.fixture
def busy_mdm(mdm_ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=mdm_ca, inventory=small_inventory(3), server_busy_wait_seconds=30) as mdm:
        yield mdm


def test_server_busy_wait_seconds_is_configurable_and_live(busy_mdm: ReferenceMDM) -> None:
    with Api(busy_mdm) as client:
        assert (
            client.devices(3, querycriteria="macaddress", value=ALICE_MACS[0]).text(
                "server_busy_wait_seconds"
            )
            == "30"
        )
        busy_mdm.server_busy_wait_seconds = 5
        assert (
            client.devices(3, querycriteria="macaddress", value=ALICE_MACS[0]).text(
                "server_busy_wait_seconds"
            )
            == "5"
        )
        with pytest.raises(ValueError, match="non-negative"):
            busy_mdm.server_busy_wait_seconds = -1
