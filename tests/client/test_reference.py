"""The reference client against a scripted HTTPS server: discovery and its fallback, lookups,
paging guards, retries and Retry-After, the per-request deadline, actions that are never
re-sent, TLS, redirects and secrets. Every server here is real (sockets, TLS from the harness CA);
only its answers are scripted."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from support.scripted import Reply, Request, ScriptedServer, xml

from harness.client import REFERENCE_POLICY, ClientEnv, ClientSpec, parse_operation
from harness.client.policy import Paging, Policy
from harness.client.reference import ReferenceClient, parse_retry_after
from harness.tls import CertificateAuthority

PASSWORD = "pw-Zq7-never-printed"
#: Slack for timing assertions on a loaded 2-core machine.
LATE_S = 1.5


def mdminfo(version: int = 3, api_path: str = "/7/ciscoise/v3", extra: str = "") -> Reply:
    vendor = (
        "<vendor>JAMF Software</vendor><product_name>JSS</product_name>"
        "<product_version>10.48.1</product_version>"
    )
    return xml(
        f"<ise_api><name>mdminfo</name><api_version>{version}</api_version>"
        f"<api_path>{api_path}</api_path><redirect_url>https://acme.test/enroll</redirect_url>"
        f"<query_max_size>2</query_max_size><messaging_support>false</messaging_support>"
        f"{vendor if version >= 3 else ''}{extra}</ise_api>"
    )


def device_xml(mac: str, compliant: bool = False) -> str:
    return (
        f"<device><macaddress>{mac}</macaddress><attributes><register_status>true</register_status>"
        f"<compliance><status>{str(compliant).lower()}</status></compliance></attributes></device>"
    )


def attributes(*devices: str, paging: str | None = None, busy: int | None = None) -> Reply:
    extra = "" if paging is None else f"<paging_info>{paging}</paging_info>"
    extra += "" if busy is None else f"<server_busy_wait_seconds>{busy}</server_busy_wait_seconds>"
    return xml(
        f"<ise_api><name>attributes</name><api_version>3</api_version>{extra}"
        f"<deviceList>{''.join(devices)}</deviceList></ise_api>"
    )


ACTION_OK = xml(
    "<ise_api><name>action</name><api_version>3</api_version><deviceList><device>"
    "<macaddress>0026B424FEB4</macaddress><result><action_status>true</action_status></result>"
    "</device></deviceList></ise_api>"
)


def make_env(ca: CertificateAuthority, base_url: str, **kw: Any) -> ClientEnv:
    return ClientEnv(
        base_url=base_url, username="ise", password=PASSWORD, ca_bundle=ca.bundle_path, **kw
    )


def run(
    ca: CertificateAuthority,
    server: ScriptedServer,
    operation: str,
    *args: str,
    policy: Policy = REFERENCE_POLICY,
    base: str = "/networkIntegrationEndpoint/7",
    sleeps: list[float] | None = None,
) -> tuple[dict[str, Any], ReferenceClient]:
    """Run one operation in-process; waits are recorded in ``sleeps`` instead of slept."""
    env = make_env(ca, server.base_url + base, timeout_ms=policy.timeout_ms)
    recorded = sleeps if sleeps is not None else []
    with ReferenceClient(env, policy, sleep=recorded.append) as client:
        return client.run(parse_operation(operation, list(args))), client


def query(request: Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.target).query, keep_blank_values=True)


# ------------------------------------------------------------------------------ discovery


def test_discovery_then_lookup_on_the_returned_api_path(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        return mdminfo() if n == 0 else attributes(device_xml("0026b424feb4"))

    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "device", "--mac", "00:26:b4:24:fe:b4")
    assert obj["outcome"] == "ok"
    [device] = obj["result"]["devices"]
    assert device["macaddress"] == "0026B424FEB4" and device["compliance"]["status"] is False
    first, second = server.requests
    assert first.target == "/networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version=3"
    assert second.path == "/7/ciscoise/v3/devices/"
    assert query(second) == {
        "paging": ["0"],
        "querycriteria": ["macaddress"],
        "value": ["0026B424FEB4"],
        "filter": ["all"],
    }
    expected_auth = "Basic " + base64.b64encode(f"ise:{PASSWORD}".encode()).decode()
    assert {r.headers["authorization"] for r in server.requests} == {expected_auth}
    assert server.connections == 1  # one keep-alive connection for both requests


def test_401_falls_back_once_to_the_next_version(ca: CertificateAuthority) -> None:
    with ScriptedServer(ca, lambda req, n: xml("", status=401)) as server:
        obj, client = run(ca, server, "mdminfo")
    assert obj["outcome"] == "error" and obj["error"] == "unauthorized"
    assert [r.target.rsplit("/", 1)[-1] for r in server.requests] == [
        "?ise_api_version=3",
        "?ise_api_version=2",
    ]
    assert any("retry connecting using api version 2" in line for line in client.trace)


def test_401_then_success_at_the_lower_version(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        return xml("", status=401) if n == 0 else mdminfo(version=2)

    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "mdminfo")
    assert obj == {
        "outcome": "ok",
        "result": {
            "api_version": 2,
            "api_path": "/7/ciscoise/v3",
            "redirect_url": "https://acme.test/enroll",
            "vendor": None,
            "product_name": None,
            "product_version": None,
            "query_max_size": 2,
            "messaging_support": False,
        },
    }


def test_404_is_not_found_after_one_request(ca: CertificateAuthority) -> None:
    with ScriptedServer(ca, lambda req, n: xml("", status=404)) as server:
        obj, _ = run(ca, server, "device", "--guid", "g")
    assert obj["error"] == "not_found" and len(server.requests) == 1


def test_v1_server_is_spoken_to_in_the_path_form(ca: CertificateAuthority) -> None:
    policy = REFERENCE_POLICY.replace(
        discovery=REFERENCE_POLICY.discovery.__class__((1,), frozenset(), 0)
    )

    def handler(req: Request, n: int) -> Reply:
        return mdminfo(version=1, api_path="/ciscoise/mdmapi/v1") if n == 0 else attributes()

    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "device", "--mac", "0026B424FEB4", policy=policy)
    assert obj == {"outcome": "ok", "result": {"devices": []}}
    assert [r.target for r in server.requests] == [
        "/networkIntegrationEndpoint/7/ciscoise/mdminfo",
        "/ciscoise/mdmapi/v1/devices/0/macaddress/0026B424FEB4/all",
    ]


@pytest.mark.parametrize(
    ("answer", "category", "message"),
    [
        (mdminfo(version=4), "protocol_error", "answered api_version 4 to a request for version 3"),
        (
            xml(
                "<ise_api><name>mdminfo</name><api_version>3</api_version><api_path>/x</api_path></ise_api>"
            ),
            "protocol_error",
            "must name vendor",
        ),
        (xml("<html>login</html>"), "parse_error", "root element is <html>"),
        (
            mdminfo(api_path="https://evil.test/7/ciscoise/v3"),
            "protocol_error",
            "points at https://evil.test",
        ),
        (
            xml("", status=302, headers={"Location": f"https://evil.test/?leak={PASSWORD}"}),
            "protocol_error",
            "redirect to https://evil.test/?leak=*** not followed",
        ),
        (xml("", status=400), "protocol_error", "unexpected HTTP 400"),
    ],
)
def test_bad_discovery_answers(
    ca: CertificateAuthority, answer: Reply, category: str, message: str
) -> None:
    with ScriptedServer(ca, lambda req, n: answer) as server:
        obj, _ = run(ca, server, "device", "--mac", "0026B424FEB4")
    assert obj["outcome"] == "error" and obj["error"] == category
    assert message in obj["message"] and PASSWORD not in obj["message"]
    assert len(server.requests) == 1  # neither a redirect nor another origin is followed


def test_guid_lookup_needs_v3(ca: CertificateAuthority) -> None:
    with ScriptedServer(ca, lambda req, n: mdminfo(version=2)) as server:
        obj, _ = run(ca, server, "device", "--guid", "g-1")
    assert obj["error"] == "protocol_error" and "need API version 3" in obj["message"]
    assert len(server.requests) == 1


def test_plain_http_base_url_is_refused_without_a_request(ca: CertificateAuthority) -> None:
    env = make_env(ca, "http://127.0.0.1:9/networkIntegrationEndpoint/7")
    with ReferenceClient(env, REFERENCE_POLICY) as client:
        obj = client.run(parse_operation("mdminfo", []))
    assert obj["error"] == "protocol_error" and "plain http" in obj["message"]


# ------------------------------------------------------------------------------ paging


def test_noncompliant_follows_opaque_cursors_verbatim(ca: CertificateAuthority) -> None:
    cursors = ["a+b/c=", "x y&z?#%", "0"]
    macs = ["00000000000A", "00000000000B", "00000000000C"]

    def handler(req: Request, n: int) -> Reply:
        if n == 0:
            return mdminfo(version=2)
        return attributes(device_xml(macs[n - 1]), paging=cursors[n - 1].replace("&", "&amp;"))

    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "noncompliant")
    assert [d["macaddress"] for d in obj["result"]["devices"]] == macs
    pages = server.requests[1:]
    assert [query(r)["paging"] for r in pages] == [["0"], ["a+b/c="], ["x y&z?#%"]]
    assert all(query(r)["deviceidentifier"] == ["macaddress"] for r in pages)
    assert all(
        query(r)["querycriteria"] == ["compliance"] and query(r)["value"] == ["false"]
        for r in pages
    )


def test_a_repeated_cursor_is_a_protocol_error(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        return mdminfo() if n == 0 else attributes(paging="same")

    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "noncompliant")
    assert obj["error"] == "protocol_error" and "'same' was already used" in obj["message"]
    assert len(server.requests) == 3


def test_a_listing_that_never_ends_stops_at_the_page_cap(ca: CertificateAuthority) -> None:
    policy = REFERENCE_POLICY.replace(paging=Paging(max_pages=5, busy_wait_cap_ms=0))

    def handler(req: Request, n: int) -> Reply:
        return mdminfo() if n == 0 else attributes(paging=f"page-{n}")

    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "noncompliant", policy=policy)
    assert obj["error"] == "protocol_error" and "within 5 pages" in obj["message"]
    assert len(server.requests) == 1 + 5


def test_server_busy_wait_is_honoured_up_to_the_cap(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        if n == 0:
            return mdminfo()
        return attributes(paging="next", busy=30) if n == 1 else attributes(busy=1)

    sleeps: list[float] = []
    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "noncompliant", sleeps=sleeps)
    assert obj["outcome"] == "ok" and sleeps == [
        2.0
    ]  # capped at busy_wait_cap_ms; none after the last page
    assert query(server.requests[2])["deviceidentifier"] == ["guid"]


# ------------------------------------------------------------------------------ retries


def test_503_with_retry_after_is_retried_after_that_wait(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        if n == 0:
            return mdminfo()
        return xml("", status=503, headers={"Retry-After": "1"}) if n == 1 else attributes()

    sleeps: list[float] = []
    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "device", "--mac", "0026B424FEB4", sleeps=sleeps)
    assert obj == {"outcome": "ok", "result": {"devices": []}}
    assert sleeps == [1.0] and len(server.requests) == 3


def test_retry_after_beyond_the_cap_ends_the_retries(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        return mdminfo() if n == 0 else xml("", status=429, headers={"Retry-After": "60"})

    sleeps: list[float] = []
    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "device", "--mac", "0026B424FEB4", sleeps=sleeps)
    assert obj["error"] == "server_error" and sleeps == [] and len(server.requests) == 2


def test_503_without_retry_after_backs_off_and_gives_up(ca: CertificateAuthority) -> None:
    sleeps: list[float] = []
    with ScriptedServer(ca, lambda req, n: xml("", status=503)) as server:
        obj, _ = run(ca, server, "mdminfo", sleeps=sleeps)
    assert obj["error"] == "server_error" and len(server.requests) == 3
    assert len(sleeps) == 2
    for n, slept in enumerate(sleeps, start=1):
        low, high = REFERENCE_POLICY.backoff.bounds(n)
        assert low <= slept <= high


@pytest.mark.parametrize("status", [500, 400, 401, 403, 404])
def test_undeclared_and_never_retried_statuses_are_not_retried(
    ca: CertificateAuthority, status: int
) -> None:
    def handler(req: Request, n: int) -> Reply:
        return mdminfo() if n == 0 else xml("", status=status)

    policy = REFERENCE_POLICY.replace(
        retry=REFERENCE_POLICY.retry.__class__(frozenset(), frozenset({400, 401, 403, 404, 503}))
    )  # a careless policy may list 4xx: the reference client still never retries them
    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "device", "--mac", "0026B424FEB4", policy=policy)
    assert obj["outcome"] == "error" and len(server.requests) == 2


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


# ------------------------------------------------------------------------------ the deadline


def test_a_hung_request_times_out_after_each_attempt(ca: CertificateAuthority) -> None:
    policy = REFERENCE_POLICY.replace(timeout_ms=300)
    with ScriptedServer(ca, lambda req, n: Reply(mode="hang")) as server:
        started = time.monotonic()
        obj, _ = run(ca, server, "mdminfo", policy=policy)
        took = time.monotonic() - started
    assert obj["error"] == "timeout"
    assert len(server.requests) == 3
    assert 3 * 0.3 <= took < 3 * 0.3 + LATE_S


@pytest.mark.parametrize(("timeout_ms", "outcome"), [(3000, "ok"), (250, "timeout")])
def test_a_trickling_body_cannot_stretch_a_request(
    ca: CertificateAuthority, timeout_ms: int, outcome: str
) -> None:
    """Each byte arrives well within the read timeout; only the per-request deadline ends it."""
    body = mdminfo().body
    trickle = Reply(body=body, mode="trickle", chunk=len(body) // 8 + 1, interval=0.08)
    policy = REFERENCE_POLICY.replace(
        timeout_ms=timeout_ms, max_attempts={**REFERENCE_POLICY.max_attempts, "mdminfo": 1}
    )
    with ScriptedServer(ca, lambda req, n: trickle) as server:
        started = time.monotonic()
        obj, _ = run(ca, server, "mdminfo", policy=policy)
        took = time.monotonic() - started
    if outcome == "ok":
        assert obj["outcome"] == "ok" and took >= 8 * 0.08
    else:
        assert obj["error"] == "timeout"
        assert 0.25 <= took < 0.25 + LATE_S


def test_a_body_cut_short_is_a_connection_error_never_ok(ca: CertificateAuthority) -> None:
    body = mdminfo().body
    cut = Reply(body=body, mode="cut", cut_at=len(body) // 2)
    with ScriptedServer(ca, lambda req, n: cut) as server:
        obj, _ = run(ca, server, "mdminfo")
    assert obj["error"] == "connection_error" and len(server.requests) == 3


def test_a_closed_port_is_a_connection_error(ca: CertificateAuthority) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = make_env(ca, f"https://127.0.0.1:{port}/x")
    with ReferenceClient(env, REFERENCE_POLICY, sleep=lambda s: None) as client:
        obj = client.run(parse_operation("mdminfo", []))
    assert obj["error"] == "connection_error"


def test_an_oversize_body_is_a_parse_error(
    ca: CertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.client.reference.MAX_BODY_BYTES", 4096)
    huge = xml(b"<ise_api>" + b" " * 50_000 + b"</ise_api>")
    with ScriptedServer(ca, lambda req, n: huge) as server:
        obj, _ = run(ca, server, "mdminfo")
    assert obj["error"] == "parse_error" and "exceeds 4096 bytes" in obj["message"]


# ------------------------------------------------------------------------------ actions


def test_an_action_is_never_resent_after_it_may_have_arrived(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        return mdminfo() if req.method == "GET" else Reply(mode="close")

    with ScriptedServer(ca, handler) as server:
        obj, client = run(ca, server, "action", "full_wipe", "--mac", "0026b424feb4")
    assert obj["error"] == "connection_error"
    posts = [r for r in server.requests if r.method == "POST"]
    assert len(posts) == 1  # the policy allows 2 attempts, but this one may have been executed
    assert posts[0].target == "/7/ciscoise/v3/action/actionType=full_wipe"
    assert posts[0].body.endswith(
        b"<ise_api><identifier><macaddress>0026B424FEB4</macaddress></identifier></ise_api>"
    )
    assert any("(" in line and "sent)" in line and "not sent" not in line for line in client.trace)


def test_an_action_is_never_resent_after_a_503(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        return (
            mdminfo() if req.method == "GET" else xml("", status=503, headers={"Retry-After": "0"})
        )

    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "action", "pin_lock", "--guid", "g-1")
    assert obj["error"] == "server_error"
    assert [r.method for r in server.requests] == ["GET", "POST"]


def test_an_action_is_resent_when_its_connection_failed_before_tls(
    ca: CertificateAuthority,
) -> None:
    """Discovery closes its connection; the action's first connection dies in the handshake."""

    def handler(req: Request, n: int) -> Reply:
        if req.method == "GET":
            return Reply(**{**mdminfo().__dict__, "close": True})
        return ACTION_OK

    connects = {0: "tls", 1: "close"}
    with ScriptedServer(ca, handler, on_connect=lambda i: connects.get(i, "tls")) as server:
        obj, client = run(ca, server, "action", "corporate_wipe", "--mac", "0026B424FEB4")
    assert obj == {"outcome": "ok", "result": {"action_status": True, "failure_reason": None}}
    assert [r.method for r in server.requests] == ["GET", "POST"] and server.connections == 3
    assert any("not sent" in line for line in client.trace)


# ------------------------------------------------------------------------------ TLS and environment


def test_a_certificate_from_another_ca_is_a_tls_error_and_nothing_is_sent(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    other = CertificateAuthority.load_or_create(tmp_path / "other-ca")
    with ScriptedServer(ca, lambda req, n: mdminfo()) as server:
        env = ClientEnv(server.base_url + "/x", "ise", PASSWORD, other.bundle_path)
        with ReferenceClient(env, REFERENCE_POLICY, sleep=lambda s: None) as client:
            obj = client.run(parse_operation("mdminfo", []))
        assert obj["error"] == "tls_error" and "CERTIFICATE_VERIFY_FAILED" in obj["message"]
        assert server.requests == []
        # The positive control: the right CA works against the same server.
        ok_env = ClientEnv(server.base_url + "/x", "ise", PASSWORD, ca.bundle_path)
        with ReferenceClient(ok_env, REFERENCE_POLICY) as client:
            assert client.run(parse_operation("mdminfo", []))["outcome"] == "ok"


def _run_exec_directly(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "harness.client.reference", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_exec_client_ignores_ambient_ca_and_proxy_variables(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    """Run without the runner's scrubbing: the ambient variables point at the right CA and a
    dead proxy; the client must use only MDM_CA_BUNDLE and MDM_PROXY."""
    other = CertificateAuthority.load_or_create(tmp_path / "other-ca")
    with ScriptedServer(ca, lambda req, n: mdminfo()) as server:
        base = dict(os.environ)
        base.update(
            REQUESTS_CA_BUNDLE=str(ca.bundle_path),
            SSL_CERT_FILE=str(ca.bundle_path),
            CURL_CA_BUNDLE=str(ca.bundle_path),
            HTTPS_PROXY="http://127.0.0.1:9",
            https_proxy="http://127.0.0.1:9",
            ALL_PROXY="http://127.0.0.1:9",
        )
        env = make_env(ca, server.base_url + "/i").as_environ()
        env.pop("HTTPS_PROXY", None)
        good = _run_exec_directly({**base, **env}, "mdminfo")
        assert good.returncode == 0 and json.loads(good.stdout)["outcome"] == "ok", good.stderr
        bad_env = {**env, "MDM_CA_BUNDLE": str(other.bundle_path)}
        bad = _run_exec_directly({**base, **bad_env}, "mdminfo")
        assert bad.returncode == 0 and json.loads(bad.stdout)["error"] == "tls_error"
    assert PASSWORD not in good.stdout + good.stderr + bad.stdout + bad.stderr


def test_exec_usage_errors_exit_2(ca: CertificateAuthority) -> None:
    env = {**os.environ, **make_env(ca, "https://127.0.0.1:9/x").as_environ()}
    bad = _run_exec_directly(env, "device", "--mac", "nope")
    assert bad.returncode == 2 and "is not a MAC address" in bad.stderr and bad.stdout == ""
    missing = {k: v for k, v in env.items() if k != "MDM_BASE_URL"}
    assert _run_exec_directly(missing, "mdminfo").returncode == 2


def test_the_runner_drives_the_exec_and_inprocess_forms_alike(ca: CertificateAuthority) -> None:
    def handler(req: Request, n: int) -> Reply:
        return (
            mdminfo() if "mdminfo" in req.target else attributes(device_xml("0026B424FEB4", True))
        )

    with ScriptedServer(ca, handler) as server:
        env = make_env(ca, server.base_url + "/networkIntegrationEndpoint/7")
        outcomes = [
            spec.run("device", ["--mac", "0026b424feb4"], env, hard_limit_s=30)
            for spec in (ClientSpec.reference(), ClientSpec.reference(in_process=True))
        ]
    assert [o.kind for o in outcomes] == ["ok", "ok"], outcomes
    assert outcomes[0].result == outcomes[1].result
    assert (
        outcomes[0].result is not None
        and outcomes[0].result["devices"][0]["compliance"]["status"] is True
    )
    assert "attempt 1/3" in outcomes[0].stderr  # the trace goes to stderr
    assert all(PASSWORD not in o.stdout + o.stderr for o in outcomes)


# ------------------------------------------------------------------------------ the policy decides


def test_the_waits_follow_any_backoff_model_the_policy_declares(ca: CertificateAuthority) -> None:
    """The reference client runs on its policy's arithmetic: urllib3-style exponential with an
    immediate first retry here, 0 then 0.2 then 0.4 s."""
    from harness.client.policy import parse_policy

    policy = parse_policy(
        "schema: 2\ntimeout_ms: 1000\nmax_attempts: {mdminfo: 4, device: 4, noncompliant: 1, action: 1}\n"
        "retry: {lookups: {statuses: [503]}}\n"
        "backoff: {model: exponential, first: immediate, initial_ms: 200, multiplier: 2, cap_ms: 1000}\n"
    )
    sleeps: list[float] = []
    with ScriptedServer(ca, lambda req, n: xml("", status=503)) as server:
        obj, _ = run(ca, server, "mdminfo", sleeps=sleeps, policy=policy)
    assert obj["error"] == "server_error" and len(server.requests) == 4
    assert sleeps == pytest.approx([0.0, 0.2, 0.4])


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("statuses: [503], cap_ms: 2000, zero: backoff", [0.3]),  # Retry-After: 0 -> backoff
        ("statuses: [503], cap_ms: 2000, zero: now", [0.0]),
        ("statuses: [429], cap_ms: 2000", [0.3]),  # not honoured on 503
    ],
)
def test_retry_after_is_honoured_as_the_policy_declares(
    ca: CertificateAuthority, retry_after: str, expected: list[float]
) -> None:
    from harness.client.policy import parse_policy

    policy = parse_policy(
        "schema: 2\ntimeout_ms: 1000\nmax_attempts: {mdminfo: 2, device: 2, noncompliant: 1, action: 1}\n"
        "retry: {lookups: {statuses: [503]}}\nbackoff: {model: constant, delay_ms: 300}\n"
        f"retry_after: {{{retry_after}}}\n"
    )

    def handler(req: Request, n: int) -> Reply:
        return xml("", status=503, headers={"Retry-After": "0"}) if n == 0 else mdminfo()

    sleeps: list[float] = []
    with ScriptedServer(ca, handler) as server:
        obj, _ = run(ca, server, "mdminfo", sleeps=sleeps, policy=policy)
    assert obj["outcome"] == "ok" and sleeps == pytest.approx(expected)


def test_a_status_listed_under_if_retry_after_needs_the_header(ca: CertificateAuthority) -> None:
    from harness.client.policy import parse_policy

    policy = parse_policy(
        "schema: 2\ntimeout_ms: 1000\nmax_attempts: {mdminfo: 2, device: 2, noncompliant: 1, action: 1}\n"
        "retry: {lookups: {if_retry_after: [429]}}\n"
    )
    with ScriptedServer(ca, lambda req, n: xml("", status=429)) as server:
        obj, _ = run(ca, server, "mdminfo", policy=policy)
    assert obj["error"] == "server_error" and len(server.requests) == 1
    with ScriptedServer(
        ca,
        lambda req, n: xml("", status=429, headers={"Retry-After": "0"}) if n == 0 else mdminfo(),
    ) as server:
        obj, _ = run(ca, server, "mdminfo", policy=policy)
    assert obj["outcome"] == "ok" and len(server.requests) == 2
