"""Refusals: 401 (seed scenario 3), 404, 405, 413, 400, hostile XML - and the server keeps serving."""

from __future__ import annotations

import base64
import select
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.mdm import ALICE, Api, small_inventory, validated

from harness.mdm import AdminClient, ReferenceMDM
from harness.tls import CertificateAuthority

DISCOVERY = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version=3"


@pytest.fixture
def mdm(mdm_ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=mdm_ca, inventory=small_inventory(10), max_body_bytes=4096) as server:
        yield server
        server.check()  # nothing below may leave an unexpected error in the server thread


@pytest.fixture
def client(mdm: ReferenceMDM) -> Iterator[Api]:
    with Api(mdm) as api:
        yield api


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- 401 ----------------------------------------------------------------------------------------


def test_correct_credentials_pass(client: Api) -> None:
    assert client.request("GET", DISCOVERY).status == 200  # the positive control


@pytest.mark.parametrize(
    "header",
    [
        None,
        "wrong-password",
        "wrong-user",
        "Bearer abc",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", DISCOVERY),
        ("GET", "/7/ciscoise/v3/devices/?paging=0"),
        ("POST", "/7/ciscoise/v3/action/actionType=full_wipe"),
    ],
)
def test_bad_credentials_get_401_with_a_basic_challenge(
    mdm: ReferenceMDM, client: Api, header: str | None, method: str, path: str
) -> None:
    headers = {}
    if header == "wrong-password":
        headers["Authorization"] = _basic(mdm.username, mdm.password + "x")
    elif header == "wrong-user":
        headers["Authorization"] = _basic(mdm.username + "x", mdm.password)
    elif header is not None:
        headers["Authorization"] = header
    content = f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier></ise_api>".encode()
    with Api(mdm, auth=False) as anonymous:
        reply = anonymous.request(
            method, path, headers=headers, content=content if method == "POST" else None
        )
    assert reply.status == 401
    assert reply.headers["www-authenticate"] == 'Basic realm="Jamf Pro", charset="UTF-8"'
    assert mdm.actions() == []
    assert client.request("GET", DISCOVERY).status == 200  # and the server still answers


def test_basic_auth_disabled_is_401_even_with_the_right_credentials_seed_scenario_3(
    mdm: ReferenceMDM, client: Api
) -> None:
    mdm.basic_auth_enabled = False
    reply = client.request("GET", DISCOVERY)
    assert reply.status == 401
    assert "disabled" in (reply.error_message or "")
    # the admin surface keeps working, so a test can switch it back from another process
    admin = AdminClient(mdm.base_url, mdm.username, mdm.password, ca_bundle=mdm.ca_bundle)
    assert admin.settings(basic_auth_enabled=True) == {
        "basic_auth_enabled": True,
        "server_busy_wait_seconds": 0,
        "defects": [],
    }
    assert client.request("GET", DISCOVERY).status == 200


def test_basic_auth_disabled_from_the_constructor(mdm_ca: CertificateAuthority) -> None:
    with ReferenceMDM(ca=mdm_ca, devices=2, basic_auth_enabled=False) as mdm, Api(mdm) as client:
        assert [client.request("GET", DISCOVERY).status for _ in range(2)] == [401, 401]


# -- 404 / 405 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/ciscoise", "/7/ciscoise/v3", "/7/ciscoise/v3/", "/favicon.ico", "/_harnessx"]
)
def test_unknown_paths_are_404(client: Api, path: str) -> None:
    reply = client.request("GET", path)
    assert reply.status == 404
    assert reply.kind == "error"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", DISCOVERY, "GET"),
        ("DELETE", DISCOVERY, "GET"),
        ("PUT", "/7/ciscoise/v3/devices/?paging=0", "GET"),
        ("GET", "/7/ciscoise/v2/batchdevices/", "POST"),
        ("OPTIONS", DISCOVERY, "GET"),
    ],
)
def test_wrong_methods_are_405_with_allow(client: Api, method: str, path: str, allow: str) -> None:
    reply = client.request(method, path)
    assert reply.status == 405
    assert reply.headers["allow"] == allow


def test_head_is_405_without_a_body(client: Api) -> None:
    response = client.client.request("HEAD", DISCOVERY)
    assert response.status_code == 405
    assert response.content == b""


def test_an_unknown_method_is_405(mdm: ReferenceMDM) -> None:
    reply = _raw_exchange(mdm, b"BREW " + DISCOVERY.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 405 ")
    assert b"<name>error</name>" in reply


# -- 413 -----------------------------------------------------------------------------------------


def _action_body(size: int) -> bytes:
    head = f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier><pad>".encode()
    tail = b"</pad></ise_api>"
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_body_at_the_cap_is_accepted(mdm: ReferenceMDM, client: Api) -> None:
    reply = client.request(
        "POST", "/7/ciscoise/v3/action/actionType=pin_lock", content=_action_body(4096)
    )
    assert reply.text("deviceList/device/result/action_status") == "true"


def test_a_body_over_the_cap_is_413_and_the_connection_stays_usable(
    mdm: ReferenceMDM, client: Api
) -> None:
    reply = client.request(
        "POST", "/7/ciscoise/v3/action/actionType=pin_lock", content=_action_body(4097)
    )
    assert reply.status == 413
    assert mdm.actions() == []
    assert client.request("GET", DISCOVERY).status == 200
    assert len({r.monotonic for r in mdm.requests}) == 2


def test_a_chunked_body_over_the_cap_is_413(mdm: ReferenceMDM, client: Api) -> None:
    def chunks() -> Iterator[bytes]:
        body = _action_body(10_000)
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    reply = client.request("POST", "/7/ciscoise/v3/action/actionType=pin_lock", content=chunks())
    assert reply.status == 413
    assert mdm.actions() == []


def _raw_exchange(mdm: ReferenceMDM, request: bytes) -> bytes:
    """Send ``request`` on a fresh TLS connection and read until the server closes or 2 s pass."""
    assert mdm.ca_bundle is not None
    ctx = ssl.create_default_context(cafile=str(mdm.ca_bundle))
    with (
        socket.create_connection((mdm.host, mdm.port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=mdm.host) as tls,
    ):
        tls.sendall(request)
        data = b""
        while b"</ise_api>" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def test_a_huge_declared_body_is_413_at_once_and_the_connection_closes(mdm: ReferenceMDM) -> None:
    request = (
        f"POST /7/ciscoise/v3/action/actionType=full_wipe HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {mdm.authorization}\r\nContent-Length: 100000000\r\n\r\n"
    ).encode()
    reply = _raw_exchange(mdm, request)  # the body is never sent: the answer must not wait for it
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head.lower()
    validated_body = validated(
        httpx.Response(413, headers={"content-type": "application/xml;charset=UTF-8"}, content=body)
    )
    assert validated_body.kind == "error"


# -- hostile XML -----------------------------------------------------------------------------------


class Canary:
    """A loopback listener that must never be contacted."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/canary.dtd"

    def contacted(self) -> bool:
        ready, _, _ = select.select([self.sock], [], [], 0)
        return bool(ready)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-3b1f9c")
    return path


def _hostile_bodies(secret: Path, canary_url: str) -> dict[str, bytes]:
    ident = "<identifier><macaddress>&xxe;</macaddress></identifier>"
    return {
        "file entity": (
            f'<?xml version="1.0"?><!DOCTYPE ise_api [<!ENTITY xxe SYSTEM "file://{secret}">]>'
            f"<ise_api>{ident}</ise_api>"
        ).encode(),
        "network entity": (
            f'<!DOCTYPE ise_api [<!ENTITY xxe SYSTEM "{canary_url}">]><ise_api>{ident}</ise_api>'
        ).encode(),
        "external DTD": f'<!DOCTYPE ise_api SYSTEM "{canary_url}"><ise_api>{ident}</ise_api>'.encode(),
        "parameter entity": (
            f'<!DOCTYPE ise_api [<!ENTITY % p SYSTEM "{canary_url}"> %p;]><ise_api>{ident}</ise_api>'
        ).encode(),
        "entity expansion bomb": (
            '<!DOCTYPE ise_api [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY xxe "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            f"<ise_api>{ident}</ise_api>"
        ).encode(),
        # UTF-16 hides the DOCTYPE from a byte scan: the parser-level checks must catch it
        "utf-16 file entity": (
            f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE ise_api [<!ENTITY xxe SYSTEM '
            f'"file://{secret}">]><ise_api>{ident}</ise_api>'
        ).encode("utf-16"),
        "utf-16 network entity": (
            f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE ise_api [<!ENTITY xxe SYSTEM '
            f'"{canary_url}">]><ise_api>{ident}</ise_api>'
        ).encode("utf-16"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "file entity",
        "network entity",
        "external DTD",
        "parameter entity",
        "entity expansion bomb",
        "utf-16 file entity",
        "utf-16 network entity",
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/7/ciscoise/v3/action/actionType=full_wipe",
        "/7/ciscoise/v2/batchdevices/?querycriteria=macaddress",
    ],
)
def test_hostile_xml_is_rejected_and_nothing_is_fetched(
    mdm: ReferenceMDM, client: Api, canary: Canary, secret_file: Path, name: str, path: str
) -> None:
    """No entity is resolved: the secret file never shows, the canary is never contacted.

    (The file cases fail if the parser is weakened. libxml2 2.14, which lxml 6 bundles, has no
    HTTP client at all, so with it the canary guards against a future parser, not this one.)
    """
    body = _hostile_bodies(secret_file, canary.url)[name]
    reply = client.request("POST", path, content=body)
    assert reply.status == 400
    assert "DOCTYPE" in (reply.error_message or "")
    assert b"TOP-SECRET" not in reply.body
    assert not canary.contacted()  # the request was answered, so any fetch would have happened
    assert mdm.actions() == []
    assert client.request("GET", DISCOVERY).status == 200


def test_the_canary_would_notice_a_connection(canary: Canary) -> None:
    """Negative control: the canary does see a connection when one is made."""
    assert not canary.contacted()
    with socket.create_connection(("127.0.0.1", canary.sock.getsockname()[1]), timeout=5):
        assert canary.contacted()


def test_markup_in_values_stays_well_formed(mdm: ReferenceMDM, client: Api) -> None:
    reason = 'Jailbroken & "rooted" <script>alert(1)</script> ]]> &amp;'
    mdm.set_compliance(ALICE.guid, False, reason, "Restore & <re-enroll>")
    reply = client.devices(3, querycriteria="guid", value=ALICE.guid)  # parsed and XSD-validated
    [device] = reply.devices
    assert device["compliance.failure_reason"] == reason
    assert device["compliance.remediation"] == "Restore & <re-enroll>"
    assert b"<script>" not in reply.body


def test_the_server_keeps_serving_after_every_kind_of_bad_request(
    mdm: ReferenceMDM, client: Api
) -> None:
    bad = [
        ("GET", "/nope", None),
        (
            "GET",
            "/7/ciscoise/v3/devices/?paging=nonsense&querycriteria=compliance&value=false",
            None,
        ),
        ("POST", "/7/ciscoise/v3/action/actionType=full_wipe", b"<<<"),
        ("POST", "/7/ciscoise/v3/action/actionType=full_wipe", b"\xff\xfe\x00garbage"),
        ("PUT", DISCOVERY, b"x"),
        ("POST", "/7/ciscoise/v3/action/actionType=full_wipe", b"x" * 5000),
    ]
    for method, path, body in bad:
        assert client.request(method, path, content=body).status >= 400
    # not HTTP at all: tornado answers a bare 400 (no XML: below the application) and closes
    assert _raw_exchange(mdm, b"NOT HTTP AT ALL\r\n\r\n") == b"HTTP/1.1 400 Bad Request\r\n\r\n"
    assert client.request("GET", DISCOVERY).status == 200
    assert mdm.request_count == len(bad) + 1
