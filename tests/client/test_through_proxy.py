"""The clients through the real fault proxy (mitmdump + the harness addon) in front of the
reference MDM: the reference client performs every operation with results equal to the
inventory, `test-connection` gives the seed's three diagnoses, the curl example adapter answers
`mdminfo`, and a few library scenarios end in the categories the client promises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.expect import expected

import harness.client
from harness.cli import main
from harness.client import ClientEnv, ClientSpec, Outcome
from harness.mdm.server import ReferenceMDM
from harness.proxy import FaultProxy
from harness.tls import CertificateAuthority

REFERENCE = ClientSpec.reference()
CURL_ADAPTER = ClientSpec(
    "exec", argv=(str(Path(harness.client.__file__).parent / "examples" / "curl-adapter.sh"),)
)


@pytest.fixture(scope="module")
def mdm(ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=ca, devices=60, seed=13, query_max_size=7) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(mdm: ReferenceMDM, ca: CertificateAuthority) -> Iterator[FaultProxy]:
    with FaultProxy(upstream=mdm.origin, ca=ca) as running:
        yield running


@pytest.fixture
def lab(mdm: ReferenceMDM, proxy: FaultProxy) -> Iterator[tuple[ReferenceMDM, FaultProxy]]:
    proxy.control.clear_scenario()
    proxy.control.reset()
    mdm.reset_records()
    yield mdm, proxy


def env_for(mdm: ReferenceMDM, proxy: FaultProxy, **kw: Any) -> ClientEnv:
    """What a client gets: the public host name (never resolved: the proxy routes it)."""
    return ClientEnv(
        kw.pop("base_url", mdm.public_base_url),
        mdm.username,
        kw.pop("password", mdm.password),
        proxy.ca_bundle,
        proxy=proxy.url,
        timeout_ms=kw.pop("timeout_ms", 5000),
    )


def run(
    lab: tuple[ReferenceMDM, FaultProxy],
    operation: str,
    *args: str,
    spec: ClientSpec = REFERENCE,
    **kw: Any,
) -> Outcome:
    mdm, proxy = lab
    outcome = spec.run(operation, list(args), env_for(mdm, proxy, **kw), hard_limit_s=60)
    assert mdm.password not in outcome.stdout + outcome.stderr
    return outcome


def journal(proxy: FaultProxy) -> list[dict[str, Any]]:
    return [r for r in proxy.control.journal(wait_idle=5.0) if r.method]


def test_every_operation_through_the_proxy(lab: tuple[ReferenceMDM, FaultProxy]) -> None:
    mdm, proxy = lab
    info = run(lab, "mdminfo")
    assert (
        info.kind == "ok"
        and info.result is not None
        and info.result["api_path"] == "/7/ciscoise/v3"
    )

    device = next(d for d in mdm.inventory if d.register_status)
    by_mac = run(lab, "device", "--mac", device.macaddress.lower())
    assert by_mac.result == {"devices": [expected(device, 3, "macaddress")]}
    by_guid = run(lab, "device", "--guid", device.guid)
    assert by_guid.result == {"devices": [expected(device, 3, "guid")]}

    listing = run(lab, "noncompliant")
    want = [expected(d, 3, "guid") for d in mdm.inventory.find("compliance", "false")]
    assert listing.kind == "ok" and listing.result is not None
    assert sorted(listing.result["devices"], key=lambda d: d["guid"]) == sorted(
        want, key=lambda d: d["guid"]
    )

    action = run(lab, "action", "pin_lock", "--mac", device.macaddress)
    assert action.result == {"action_status": True, "failure_reason": None}
    assert [a.action for a in mdm.actions()] == ["pin_lock"]

    records = journal(proxy)
    assert {r.host for r in records} == {"acme.jamfcloud.test"}
    assert {r.scheme for r in records} == {"https"}
    pages = [r for r in records if r.operation == "noncompliant"]
    assert len(pages) == -(-len(want) // 7) > 1
    assert all(r.status == 200 for r in records)


def test_the_curl_adapter_answers_mdminfo_through_the_proxy(
    lab: tuple[ReferenceMDM, FaultProxy],
) -> None:
    proxy = lab[1]
    adapter = run(lab, "mdminfo", spec=CURL_ADAPTER)
    reference = run(lab, "mdminfo")
    assert adapter.kind == "ok", adapter
    assert adapter.result == reference.result
    discovery = [r for r in journal(proxy) if r.operation == "mdminfo"]
    assert len(discovery) == 2 and all(r.host == "acme.jamfcloud.test" for r in discovery)
    assert discovery[0].auth == discovery[1].auth  # the same credentials, as a hash


def test_the_curl_adapter_reports_a_refused_connect(lab: tuple[ReferenceMDM, FaultProxy]) -> None:
    lab[1].control.load_scenario("proxy-refuses-connect")
    outcome = run(lab, "mdminfo", spec=CURL_ADAPTER)
    assert (outcome.kind, outcome.error) == ("error", "connection_error"), outcome


# ------------------------------------------------------------------------------ test-connection


def tc(
    lab: tuple[ReferenceMDM, FaultProxy],
    capsys: pytest.CaptureFixture[str],
    *extra: str,
    url: str | None = None,
) -> tuple[int, dict[str, Any]]:
    mdm, proxy = lab
    code = main(
        [
            "test-connection",
            url or mdm.public_base_url,
            "--username",
            mdm.username,
            "--password",
            mdm.password,
            "--proxy",
            proxy.url,
            "--ca",
            str(proxy.ca_bundle),
            "--json",
            *extra,
        ]
    )
    out = capsys.readouterr().out
    assert mdm.password not in out
    return code, json.loads(out)


def test_test_connection_healthy_through_the_proxy(
    lab: tuple[ReferenceMDM, FaultProxy], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = tc(lab, capsys)
    assert code == 0 and doc["fields"]["apiPath"] == "/7/ciscoise/v3"
    assert (
        doc["fields"]["productVersion"] == "10.48.1-t1689600654"
        and doc["fields"]["errorOccurred"] is False
    )


def test_test_connection_seed_1_connection_timeout(
    lab: tuple[ReferenceMDM, FaultProxy], capsys: pytest.CaptureFixture[str]
) -> None:
    lab[1].control.load_scenario("seed-1-connection-timeout")
    code, doc = tc(lab, capsys, "--timeout-ms", "500")
    assert code == 3 and doc["category"] == "timeout"
    assert doc["diagnosis"]["seed_scenario"] == 1
    assert (
        doc["fields"]["errorMsg"]
        == "A connection timeout occurred. Check if the MDM server is reachable."
    )
    assert any("DNS" in check for check in doc["diagnosis"]["checks"])


def test_test_connection_seed_2_not_found(
    lab: tuple[ReferenceMDM, FaultProxy], capsys: pytest.CaptureFixture[str]
) -> None:
    proxy = lab[1]
    proxy.control.load_scenario("seed-2-not-found")
    code, doc = tc(lab, capsys, url="https://acme.jamfcloud.test/networkIntegrationEndpoint/999")
    assert code == 7 and doc["diagnosis"]["seed_scenario"] == 2
    assert any("instance name" in check for check in doc["diagnosis"]["checks"])
    assert [r.status for r in journal(proxy)] == [404]  # one request


def test_test_connection_seed_3_unauthorized(
    lab: tuple[ReferenceMDM, FaultProxy], capsys: pytest.CaptureFixture[str]
) -> None:
    proxy = lab[1]
    proxy.control.load_scenario("seed-3-unauthorized")
    code, doc = tc(lab, capsys)
    assert code == 6 and doc["diagnosis"]["seed_scenario"] == 3
    assert any("10.35" in check for check in doc["diagnosis"]["checks"])
    records = journal(proxy)
    assert [(r.status, r.params.get("ise_api_version")) for r in records] == [
        (401, ["3"]),
        (401, ["2"]),
    ]


def test_test_connection_untrusted_certificate(
    lab: tuple[ReferenceMDM, FaultProxy], capsys: pytest.CaptureFixture[str]
) -> None:
    lab[1].control.load_scenario("tls-untrusted-ca")
    code, doc = tc(lab, capsys)
    assert code == 5 and any("trust" in check for check in doc["diagnosis"]["checks"])
    assert lab[0].request_count == 0


# ------------------------------------------------------------------------------ library scenarios


@pytest.mark.parametrize(
    ("scenario", "operation", "category"),
    [
        ("proxy-refuses-connect", "mdminfo", "connection_error"),
        ("tls-wrong-host", "mdminfo", "tls_error"),
        ("tls-expired-certificate", "mdminfo", "tls_error"),
        ("body-cut-reset", "noncompliant", "connection_error"),
        ("xml-xxe", "noncompliant", "parse_error"),
        ("redirect-off-host", "mdminfo", "protocol_error"),
    ],
)
def test_library_scenarios_end_in_their_category(
    lab: tuple[ReferenceMDM, FaultProxy], scenario: str, operation: str, category: str
) -> None:
    lab[1].control.load_scenario(scenario)
    outcome = run(lab, operation, timeout_ms=1000)
    assert (outcome.kind, outcome.error) == ("error", category), outcome
    assert lab[1].control.canary_hits() == []


def test_a_lost_action_reply_is_never_resent(lab: tuple[ReferenceMDM, FaultProxy]) -> None:
    mdm, proxy = lab
    proxy.control.load_scenario("action-reply-lost")
    device = next(d for d in mdm.inventory if d.register_status)
    outcome = run(lab, "action", "full_wipe", "--guid", device.guid)
    assert (outcome.kind, outcome.error) == ("error", "connection_error"), outcome
    assert len(mdm.actions()) == 1  # executed once on the server, and not sent again
    assert len([r for r in journal(proxy) if r.operation == "action"]) == 1
