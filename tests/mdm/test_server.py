"""The server as a whole: lifecycle, TLS, concurrency, errors surfaced, admin API, all kinds valid."""

from __future__ import annotations

import concurrent.futures
import socket
import ssl
import threading
from pathlib import Path

import httpx
import pytest
from support.mdm import ALICE, SEEN_KINDS, Api, small_inventory

from harness.mdm import AdminClient, AdminError, MDMServerError, ReferenceMDM, schemas
from harness.tls import CertificateAuthority

DISCOVERY = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version=3"


def test_addresses_and_credentials(mdm_ca: CertificateAuthority) -> None:
    with ReferenceMDM(ca=mdm_ca, devices=3, password="s3cret") as mdm:
        assert mdm.running
        assert mdm.origin == f"https://127.0.0.1:{mdm.port}"
        assert mdm.base_url == mdm.origin + "/networkIntegrationEndpoint/7"
        assert mdm.public_hostname == "acme.jamfcloud.test"
        assert mdm.public_base_url == "https://acme.jamfcloud.test/networkIntegrationEndpoint/7"
        assert mdm.ca_bundle == mdm_ca.bundle_path
        assert (mdm.username, mdm.password) == ("ise-harness", "s3cret")
        assert "jamf" in repr(mdm) and str(mdm.port) in repr(mdm)
    assert not mdm.running
    mdm.stop()  # idempotent


def test_the_password_is_random_per_server(mdm_ca: CertificateAuthority) -> None:
    a = ReferenceMDM(ca=mdm_ca, devices=1)
    b = ReferenceMDM(ca=mdm_ca, devices=1)
    assert a.password != b.password and len(a.password) >= 16


def test_the_certificate_covers_loopback_and_the_public_name(mdm_ca: CertificateAuthority) -> None:
    with ReferenceMDM(ca=mdm_ca, devices=1) as mdm:
        ctx = mdm_ca.client_context()
        for name in ("127.0.0.1", "localhost", "acme.jamfcloud.test"):
            with (
                socket.create_connection((mdm.host, mdm.port), timeout=10) as raw,
                ctx.wrap_socket(raw, server_hostname=name) as tls,
            ):
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
        with (
            socket.create_connection((mdm.host, mdm.port), timeout=10) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            ctx.wrap_socket(raw, server_hostname="other.example.test")


def test_a_client_trusting_another_ca_is_refused(
    mdm_ca: CertificateAuthority, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.load_or_create(tmp_path / "stranger")
    with ReferenceMDM(ca=mdm_ca, devices=1) as mdm:
        with (
            httpx.Client(verify=stranger.client_context(), trust_env=False) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.get(mdm.base_url + "/ciscoise/mdminfo")
        with httpx.Client(verify=mdm_ca.client_context(), trust_env=False) as client:  # control
            assert client.get(mdm.base_url + "/ciscoise/mdminfo").status_code == 401
        mdm.check()  # failed handshakes are not server errors


def test_the_ca_in_a_state_dir_is_created_once_and_reused(tmp_path: Path) -> None:
    with ReferenceMDM(state_dir=tmp_path, devices=1) as first:
        bundle = first.ca_bundle
        assert bundle is not None
        pem = bundle.read_bytes()
    with ReferenceMDM(state_dir=tmp_path, devices=1) as second:
        assert second.ca_bundle == bundle and bundle.read_bytes() == pem


def test_plain_http_only_when_asked(mdm_ca: CertificateAuthority) -> None:
    with ReferenceMDM(plain_http=True, devices=2) as mdm:
        assert mdm.origin.startswith("http://") and mdm.ca_bundle is None
        with Api(mdm) as client:
            assert client.request("GET", DISCOVERY).text("api_version") == "3"


def test_ipv6_loopback(mdm_ca: CertificateAuthority) -> None:
    if not socket.has_ipv6:
        pytest.fail("this machine has no IPv6; the harness expects ::1 to work")
    with ReferenceMDM(ca=mdm_ca, devices=2, host="::1") as mdm, Api(mdm) as client:
        assert mdm.origin == f"https://[::1]:{mdm.port}"
        assert client.request("GET", DISCOVERY).status == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.test"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="not a loopback address"):
        ReferenceMDM(plain_http=True, devices=1, host=host)


def test_a_taken_port_raises_at_start(mdm_ca: CertificateAuthority) -> None:
    with ReferenceMDM(ca=mdm_ca, devices=1) as first:
        second = ReferenceMDM(ca=mdm_ca, devices=1, port=first.port)
        with pytest.raises(OSError):
            second.start()
        assert not second.running


def test_keep_alive_reuses_one_connection(mdm_ca: CertificateAuthority) -> None:
    with ReferenceMDM(ca=mdm_ca, inventory=small_inventory(5)) as mdm:
        peers = set()
        with Api(mdm) as client:
            for _ in range(5):
                response = client.client.get(DISCOVERY, extensions={})
                assert response.status_code == 200
                stream = response.extensions["network_stream"]
                peers.add(stream.get_extra_info("client_addr"))
        assert len(peers) == 1 and None not in peers


def test_an_unexpected_error_is_a_500_and_surfaces_on_exit(
    mdm_ca: CertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr("harness.mdm.operations.fragment", broken)
    # the server leaves the with block inside pytest.raises: that is where the error surfaces
    with (
        pytest.raises(MDMServerError, match="renderer exploded"),
        ReferenceMDM(ca=mdm_ca, inventory=small_inventory(3)) as mdm,
        Api(mdm) as client,
    ):
        reply = client.devices(3, querycriteria="guid", value=ALICE.guid)
        assert reply.status == 500
        assert reply.kind == "error"
        assert client.request("GET", DISCOVERY).status == 200  # still serving
        with pytest.raises(MDMServerError):
            mdm.check()


def test_fifty_concurrent_clients_get_correct_answers(mdm_ca: CertificateAuthority) -> None:
    inventory = small_inventory(300)
    devices = list(inventory)
    with ReferenceMDM(ca=mdm_ca, inventory=inventory) as mdm:
        start = threading.Barrier(50)

        def one_client(index: int) -> list[tuple[str, str]]:
            mine = devices[index::50][:4]
            answers = []
            with Api(mdm) as client:  # its own TLS connection
                start.wait(timeout=30)
                for device in mine:
                    version = 2 + index % 2
                    reply = client.devices(
                        version, querycriteria="macaddress", value=device.macaddress.lower()
                    )
                    [got] = reply.devices
                    answers.append((got["key.macaddress"], got["compliance.status"]))
                    assert got.get("guid", device.guid) == device.guid
            return answers

        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one_client, range(50)))
        for index, answers in enumerate(results):
            expected = [(d.macaddress, str(d.compliant).lower()) for d in devices[index::50][:4]]
            assert answers == expected
        assert mdm.request_count == sum(len(a) for a in results)


def test_admin_api(mdm_ca: CertificateAuthority) -> None:
    with ReferenceMDM(ca=mdm_ca, inventory=small_inventory(10)) as mdm, Api(mdm) as client:
        admin = AdminClient(mdm.base_url, mdm.username, mdm.password, ca_bundle=mdm.ca_bundle)
        health = admin.health()
        assert (health["status"], health["profile"], health["api_versions"]) == (
            "ok",
            "jamf",
            [1, 2, 3],
        )
        changed = admin.set_compliance("00:26:b4:24:fe:b4", True)
        assert changed["compliant"] is True and changed["failure_reason"] is None
        [device] = client.devices(3, querycriteria="guid", value=ALICE.guid).devices
        assert device["compliance.status"] == "true"
        admin.set_compliance(ALICE.guid, False, "Flipped & <checked>", "Fix it")
        assert admin.device("alice-iphone")["failure_reason"] == "Flipped & <checked>"
        client.action(3, "pin_lock", "guid", ALICE.guid)
        [action] = admin.actions(device="0026B424FEB5")
        assert (action["action"], action["guid"]) == ("pin_lock", ALICE.guid.lower())
        assert admin.actions(device="AABBCCDDEEFF") == []
        stats = admin.stats()
        assert stats["devices"] == 13 and stats["actions"] == 1 and stats["errors"] == 0
        assert stats["peak_rss_bytes"] > 10 * 2**20
        log = admin.requests(limit=1)
        assert log["count"] == 2 and log["requests"][0]["path"].endswith("actionType=pin_lock")
        assert admin.settings(server_busy_wait_seconds=9)["server_busy_wait_seconds"] == 9
        admin.reset()
        assert admin.actions() == [] and admin.requests()["count"] == 0

        for call, status in (
            (lambda: admin.device("nope"), 404),
            (lambda: admin.set_compliance("nope", False), 404),
            (lambda: admin.settings(colour="blue"), 400),
            (lambda: admin.settings(basic_auth_enabled="no"), 400),
            (lambda: admin.settings(server_busy_wait_seconds=-2), 400),
            (
                lambda: AdminClient(
                    mdm.base_url, mdm.username, "wrong", ca_bundle=mdm.ca_bundle
                ).health(),
                401,
            ),
        ):
            with pytest.raises(AdminError) as exc:
                call()
            assert exc.value.status == status
        raw = httpx.Client(
            verify=mdm_ca.client_context(), trust_env=False, auth=(mdm.username, mdm.password)
        )
        assert (
            raw.post(mdm.origin + "/_harness/compliance", content=b"{not json").status_code == 400
        )
        assert raw.get(mdm.origin + "/_harness/compliance").status_code == 405
        assert raw.get(mdm.origin + "/_harness/nothing").status_code == 404
        raw.close()
        assert mdm.request_count == 0  # admin requests are not in the API request log


def test_admin_client_refuses_non_loopback_and_missing_ca() -> None:
    with pytest.raises(ValueError, match="loopback"):
        AdminClient("https://acme.jamfcloud.test/x", "u", "p", ca_bundle="/nonexistent")
    with pytest.raises(ValueError, match="ca_bundle"):
        AdminClient("https://127.0.0.1:1/", "u", "p")


def test_admin_client_reports_an_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(AdminError, match="cannot reach") as exc:
            AdminClient(f"http://127.0.0.1:{port}", "u", "p", timeout=5).health()
        assert exc.value.status == 0


def test_every_response_kind_is_produced_and_valid(mdm_ca: CertificateAuthority) -> None:
    """One request per kind, each validated by Api; together they cover every schema."""
    SEEN_KINDS.clear()
    with (
        ReferenceMDM(ca=mdm_ca, inventory=small_inventory(3), profile="generic") as mdm,
        Api(mdm) as client,
    ):
        client.request("GET", "/ciscoise/mdminfo")
        client.request("GET", "/ciscoise/mdminfo/?ise_api_version=3")
        client.devices(3, querycriteria="guid", value=ALICE.guid)
        client.action(3, "pin_lock", "guid", ALICE.guid)
        client.request(
            "PUT",
            "/ciscoise/mdmapi/v3/sendmessage",
            content=f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier><message>"
            "<message_body>hi</message_body></message></ise_api>".encode(),
        )
        client.request("GET", "/nowhere")
    assert set(schemas.SCHEMA_KINDS) == SEEN_KINDS
