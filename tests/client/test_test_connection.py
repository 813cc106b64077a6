"""``mdm-harness test-connection``: the discovery fields on success, and on failure the seed's
diagnosis and a distinct exit code per category."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.scripted import Reply, ScriptedServer

from harness.cli import main
from harness.client.testconnection import DIAGNOSES, EXIT_CODES, check_connection
from harness.mdm.server import ReferenceMDM
from harness.tls import CertificateAuthority

PASSWORD = "tc-pw-never-printed-93"


@pytest.fixture(scope="module")
def mdm(ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=ca, devices=5, password=PASSWORD) as server:
        yield server


def tc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["test-connection", *argv])
    out = capsys.readouterr()
    assert PASSWORD not in out.out + out.err
    return code, out.out


def args(mdm: ReferenceMDM, ca: CertificateAuthority, url: str | None = None) -> list[str]:
    return [
        url or mdm.base_url,
        "--username",
        mdm.username,
        "--password",
        PASSWORD,
        "--ca",
        str(ca.bundle_path),
    ]


def test_healthy_mdm_prints_the_discovery_fields(
    mdm: ReferenceMDM, ca: CertificateAuthority, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = tc(capsys, *args(mdm, ca))
    assert code == 0
    assert out.startswith(f"Test Connection to {mdm.base_url}: OK\n")
    for line in (
        "apiPath: /7/ciscoise/v3",
        "redirectUrl: https://acme.jamfcloud.test/enroll",
        "queryMaxSize: 1000",
        "apiVersion: 3",
        "vendor: JAMF Software",
        "productName: JSS",
        "productVersion: 10.48.1-t1689600654",
        "errorMsg: null",
        "errorOccurred: false",
    ):
        assert f"\n{line}\n" in out
    assert "Diagnosis" not in out


def test_json_output(
    mdm: ReferenceMDM, ca: CertificateAuthority, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = tc(capsys, *args(mdm, ca), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["category"] == "ok" and doc["exit_code"] == 0
    assert doc["fields"] == {
        "apiPath": "/7/ciscoise/v3",
        "redirectUrl": "https://acme.jamfcloud.test/enroll",
        "queryMaxSize": 1000,
        "apiVersion": 3,
        "vendor": "JAMF Software",
        "productName": "JSS",
        "productVersion": "10.48.1-t1689600654",
        "errorMsg": None,
        "errorOccurred": False,
    }
    assert doc["diagnosis"] is None and doc["message"] is None
    assert len(doc["trace"]) == 1 and "ise_api_version=3" in doc["trace"][0]


def test_seed_scenario_3_basic_auth_disabled(
    ca: CertificateAuthority, capsys: pytest.CaptureFixture[str]
) -> None:
    with ReferenceMDM(ca=ca, devices=1, password=PASSWORD, basic_auth_enabled=False) as mdm:
        code, out = tc(capsys, *args(mdm, ca))
        discovery = [r for r in mdm.requests if "mdminfo" in r.path]
    assert code == EXIT_CODES["unauthorized"] == 6
    assert "FAILED (unauthorized)" in out and "seed scenario 3" in out
    assert "Basic authentication is enabled" in out and "10.35" in out
    assert "the user exists" in out and "privileges" in out
    assert "retry connecting using api version 2" in out
    assert "apiPath: null" in out and "errorOccurred: true" in out
    assert [r.query for r in discovery] == ["ise_api_version=3", "ise_api_version=2"]


def test_seed_scenario_2_wrong_instance(
    mdm: ReferenceMDM, ca: CertificateAuthority, capsys: pytest.CaptureFixture[str]
) -> None:
    before = mdm.request_count
    code, out = tc(
        capsys, *args(mdm, ca, url=mdm.origin + "/networkIntegrationEndpoint/8"), "--json"
    )
    doc = json.loads(out)
    assert code == EXIT_CODES["not_found"] == 7
    assert doc["diagnosis"]["seed_scenario"] == 2
    assert any("instance name" in check for check in doc["diagnosis"]["checks"])
    assert (
        doc["fields"]["errorMsg"]
        == "Connection Failed: 404:Not Found: the MDM server is not reachable"
    )
    assert mdm.request_count - before == 1  # one request, as in the seed's capture


def test_timeout_names_reachability(
    ca: CertificateAuthority, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedServer(ca, lambda req, n: Reply(), on_connect=lambda i: "hang") as server:
        started = time.monotonic()
        code, out = tc(
            capsys,
            server.base_url + "/x",
            "--username",
            "u",
            "--password",
            PASSWORD,
            "--ca",
            str(ca.bundle_path),
            "--timeout-ms",
            "300",
        )
        took = time.monotonic() - started
    assert code == EXIT_CODES["timeout"] == 3
    assert "seed scenario 1" in out and "A connection timeout occurred" in out
    for word in ("DNS", "route", "port", "proxy"):
        assert word in out
    assert took < 3 * 0.3 + 2.0  # one attempt per discovery version at most


def test_untrusted_certificate_names_the_trust_store(
    mdm: ReferenceMDM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = CertificateAuthority.load_or_create(tmp_path / "other")
    before = mdm.request_count
    code, out = tc(
        capsys,
        mdm.base_url,
        "--username",
        mdm.username,
        "--password",
        PASSWORD,
        "--ca",
        str(other.bundle_path),
    )
    assert code == EXIT_CODES["tls_error"] == 5
    assert "trust store" in out and "CERTIFICATE_VERIFY_FAILED" in out
    assert mdm.request_count == before


def test_refused_connection(ca: CertificateAuthority, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out = tc(
        capsys,
        f"https://127.0.0.1:{port}/x",
        "--username",
        "u",
        "--password",
        PASSWORD,
        "--ca",
        str(ca.bundle_path),
    )
    assert code == EXIT_CODES["connection_error"] == 4 and "listening on the port" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["http://127.0.0.1:9/x", "--username", "u", "--password", "p"],
            "must start with https://",
        ),
        (["https://127.0.0.1:9/x", "--username", "u"], "give --password or set MDM_PASSWORD"),
        (
            [
                "https://127.0.0.1:9/x",
                "--username",
                "u",
                "--password",
                "p",
                "--ca",
                "/nonexistent.pem",
            ],
            "is not a file",
        ),
        (
            ["https://127.0.0.1:9/x", "--username", "u", "--password", "p", "--timeout-ms", "0"],
            "--timeout-ms=0 must be positive",
        ),
        (
            [
                "https://127.0.0.1:9/x",
                "--username",
                "u",
                "--password",
                "p",
                "--proxy",
                "socks5://h:1",
            ],
            "must be an http:// URL",
        ),
    ],
)
def test_usage_errors_exit_2(
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MDM_PASSWORD", raising=False)
    assert main(["test-connection", *extra]) == 2
    assert message in capsys.readouterr().err


def test_password_from_the_environment(
    mdm: ReferenceMDM,
    ca: CertificateAuthority,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MDM_PASSWORD", PASSWORD)
    code, _ = tc(capsys, mdm.base_url, "--username", mdm.username, "--ca", str(ca.bundle_path))
    assert code == 0


def test_every_category_has_a_distinct_exit_code_and_a_diagnosis() -> None:
    codes = list(EXIT_CODES.values())
    assert len(set(codes)) == len(codes) and 1 not in codes and 2 not in codes
    assert set(DIAGNOSES) == set(EXIT_CODES) - {"ok"}
    assert all(d.checks and d.summary and d.error_msg for d in DIAGNOSES.values())


def test_library_api_and_console_script(mdm: ReferenceMDM, ca: CertificateAuthority) -> None:
    report = check_connection(
        mdm.base_url, mdm.username, PASSWORD, ca=ca.bundle_path, timeout_ms=5000
    )
    assert report.ok and report.exit_code == 0 and report.info is not None
    assert report.info["api_path"] == "/7/ciscoise/v3"
    proc = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "harness",
            "test-connection",
            *args(mdm, ca)[:3],
            "--ca",
            str(ca.bundle_path),
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "MDM_PASSWORD": PASSWORD},
    )
    assert proc.returncode == 0, proc.stderr
    assert "apiVersion: 3" in proc.stdout and PASSWORD not in proc.stdout + proc.stderr
