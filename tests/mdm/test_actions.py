"""Actions and messaging: replies, and the per-device record that proves what ran how often."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.mdm import ALICE, ALICE_MAC, RETIRED, Api, small_inventory

from harness.mdm import ReferenceMDM
from harness.tls import CertificateAuthority


@pytest.fixture
def mdm(mdm_ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=mdm_ca, inventory=small_inventory(20)) as server:
        yield server


@pytest.fixture
def client(mdm: ReferenceMDM) -> Iterator[Api]:
    with Api(mdm) as api:
        yield api


def test_each_action_by_each_identifier_runs_once_and_is_recorded(
    mdm: ReferenceMDM, client: Api
) -> None:
    replies = [
        client.action(1, "full_wipe", "macaddress", "00:26:b4:24:fe:b5"),
        client.action(2, "corporate_wipe", "macaddress", ALICE_MAC.macaddress),
        client.action(3, "pin_lock", "guid", ALICE.guid),
        client.action(3, "full_wipe", "guidhn", "ALICE-MBP"),
    ]
    assert [r.status for r in replies] == [200] * 4
    assert [r.text("deviceList/device/result/action_status") for r in replies] == ["true"] * 4
    assert [r.text("api_version") for r in replies] == ["1", "2", "3", "3"]
    # the key element echoes the identifier the request used (a MAC normalised)
    assert replies[0].text("deviceList/device/macaddress") == "0026B424FEB5"
    assert replies[3].text("deviceList/device/guidhn") == "ALICE-MBP"
    assert all(r.text("deviceList/device/result/failure_reason") is None for r in replies)

    records = mdm.actions()
    assert [(r.action, r.identifier, r.key, r.guid) for r in records] == [
        ("full_wipe", "macaddress", "0026B424FEB5", ALICE.guid.lower()),
        ("corporate_wipe", "macaddress", ALICE_MAC.macaddress, ALICE_MAC.guid),
        ("pin_lock", "guid", ALICE.guid, ALICE.guid.lower()),
        ("full_wipe", "guidhn", "ALICE-MBP", ALICE_MAC.guid),
    ]
    assert [r.monotonic for r in records] == sorted(r.monotonic for r in records)
    alice = mdm.actions("0026B424FEB4")  # any key of the device selects its records
    assert [r.action for r in alice] == ["full_wipe", "pin_lock"]
    assert mdm.actions(ALICE_MAC.hostname or "") == mdm.actions(ALICE_MAC.guid)
    assert [r.action for r in mdm.actions("alice-mbp")] == ["corporate_wipe", "full_wipe"]


def test_a_wipe_sent_once_is_recorded_once(mdm: ReferenceMDM, client: Api) -> None:
    client.action(3, "full_wipe", "guid", ALICE.guid)
    assert len(mdm.actions(ALICE.guid)) == 1
    client.action(3, "full_wipe", "guid", ALICE.guid)
    assert len(mdm.actions(ALICE.guid)) == 2  # the record counts resends: that is its purpose


def test_action_query_string_form(client: Api, mdm: ReferenceMDM) -> None:
    body = f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier></ise_api>".encode()
    for path in (
        "/7/ciscoise/v3/action/?actionType=pin_lock",
        "/7/ciscoise/v3/action?actionType=pin_lock",
    ):
        reply = client.request("POST", path, content=body)
        assert reply.text("deviceList/device/result/action_status") == "true"
    assert [r.action for r in mdm.actions()] == ["pin_lock", "pin_lock"]


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("macaddress", "AABBCCDDEEFF", "no managed device with macaddress AABBCCDDEEFF"),
        ("guid", "00000000-0000-4000-8000-000000000000", "no managed device"),
        ("guid", RETIRED.guid, "not enrolled"),
    ],
)
def test_a_failed_action_says_why_and_is_not_recorded(
    mdm: ReferenceMDM, client: Api, kind: str, value: str, reason: str
) -> None:
    reply = client.action(3, "full_wipe", kind, value)
    assert reply.status == 200
    assert reply.text("deviceList/device/result/action_status") == "false"
    assert reason in (reply.text("deviceList/device/result/failure_reason") or "")
    assert mdm.actions() == []


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/7/ciscoise/v3/action/actionType=self_destruct", None, 400, "not one of"),
        ("/7/ciscoise/v3/action/", None, 400, "actionType is required"),
        (
            "/7/ciscoise/v2/action/actionType=full_wipe",
            f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier></ise_api>",
            400,
            "needs API v3",
        ),
        (
            "/7/ciscoise/v3/action/actionType=full_wipe",
            "<ise_api><identifier><imei>1</imei></identifier></ise_api>",
            400,
            "unknown element",
        ),
        (
            "/7/ciscoise/v3/action/actionType=full_wipe",
            "<ise_api><identifier/></ise_api>",
            400,
            "exactly one",
        ),
        (
            "/7/ciscoise/v3/action/actionType=full_wipe",
            "<ise_api><identifier><guid> </guid></identifier></ise_api>",
            400,
            "empty",
        ),
        (
            "/7/ciscoise/v3/action/actionType=full_wipe",
            "<ise_api/>",
            400,
            "exactly one <identifier>",
        ),
        ("/7/ciscoise/v3/action/actionType=full_wipe", "not xml", 400, "malformed XML"),
    ],
)
def test_bad_action_requests_are_refused_and_nothing_runs(
    mdm: ReferenceMDM, client: Api, path: str, body: str | None, status: int, needle: str
) -> None:
    content = (
        body or f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier></ise_api>"
    ).encode()
    reply = client.request("POST", path, content=content)
    assert reply.status == status
    assert needle in (reply.error_message or "")
    assert mdm.actions() == []


def test_get_on_an_action_is_405_with_allow(client: Api) -> None:
    reply = client.request("GET", "/7/ciscoise/v3/action/actionType=full_wipe")
    assert reply.status == 405
    assert reply.headers["allow"] == "POST"


def test_sendmessage_is_404_when_messaging_is_not_supported(client: Api) -> None:
    reply = client.request("PUT", "/7/ciscoise/v3/sendmessage", content=b"<ise_api/>")
    assert reply.status == 404
    assert "messaging_support" in (reply.error_message or "")


@pytest.fixture
def messaging_mdm(mdm_ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=mdm_ca, inventory=small_inventory(5), profile="generic") as server:
        yield server


def test_sendmessage_delivers_and_records(messaging_mdm: ReferenceMDM) -> None:
    body = (
        f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier><message>"
        "<message_type>Alert</message_type><message_header>Act now &amp; fix</message_header>"
        "<message_body>Your device is not compliant</message_body></message></ise_api>"
    ).encode()
    with Api(messaging_mdm) as client:
        reply = client.request("PUT", "/ciscoise/mdmapi/v3/sendmessage", content=body)
        assert reply.kind == "sendmessage"
        assert reply.text("deviceList/device/result/message_status") == "true"
        missing = client.request(
            "PUT",
            "/ciscoise/mdmapi/v3/sendmessage",
            content=body.replace(ALICE.guid.encode(), b"no-such-guid"),
        )
        assert missing.text("deviceList/device/result/message_status") == "false"
        assert client.request("POST", "/ciscoise/mdmapi/v3/sendmessage", content=body).status == 405
        no_message = client.request(
            "PUT",
            "/ciscoise/mdmapi/v3/sendmessage",
            content=f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier></ise_api>".encode(),
        )
        assert no_message.status == 400
    [record] = messaging_mdm.actions()
    assert (record.action, record.message) == (
        "sendmessage",
        "Act now & fix - Your device is not compliant",
    )


def test_request_log_and_reset(mdm: ReferenceMDM, client: Api) -> None:
    client.discover(3)
    client.request("GET", "/nowhere")
    client.action(3, "pin_lock", "guid", ALICE.guid)
    log = mdm.requests
    assert [(r.method, r.path, r.query, r.status) for r in log] == [
        ("GET", "/networkIntegrationEndpoint/7/ciscoise/mdminfo/", "ise_api_version=3", 200),
        ("GET", "/nowhere", "", 404),
        ("POST", "/7/ciscoise/v3/action/actionType=pin_lock", "", 200),
    ]
    assert mdm.request_count == 3
    mdm.reset_records()
    assert (mdm.requests, mdm.request_count, mdm.actions()) == ([], 0, [])
