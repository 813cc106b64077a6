"""The example adapter in POSIX shell + curl keeps the adapter protocol: it answers ``mdminfo``
like the reference client, maps curl's failures to categories, trusts only MDM_CA_BUNDLE, applies
MDM_TIMEOUT_MS and never shows the password on a command line."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.scripted import Reply, ScriptedServer, xml

import harness.client
from harness._util import scrubbed_env, wait_until
from harness.client import ClientEnv, ClientSpec, load_policy
from harness.mdm.server import ReferenceMDM
from harness.tls import CertificateAuthority

ADAPTER = Path(harness.client.__file__).parent / "examples" / "curl-adapter.sh"
SPEC = ClientSpec("exec", argv=(str(ADAPTER),))
PASSWORD = 'curl-pw-"quoted\\-never-shown'


@pytest.fixture(scope="module")
def mdm(ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=ca, devices=3, password=PASSWORD) as server:
        yield server


def env_for(
    url: str, ca_bundle: Path, *, username: str = "ise-harness", timeout_ms: int = 2000
) -> ClientEnv:
    return ClientEnv(url, username, PASSWORD, ca_bundle, timeout_ms=timeout_ms)


def test_the_adapter_and_its_policy_ship_with_the_package() -> None:
    assert os.access(ADAPTER, os.X_OK)
    policy = load_policy(ADAPTER.with_name("curl-adapter-policy.yaml"))
    assert policy.max_attempts_for("mdminfo") == 1 and policy.discovery.versions == (3, 2)


def test_mdminfo_matches_the_reference_client(mdm: ReferenceMDM, ca: CertificateAuthority) -> None:
    env = env_for(mdm.base_url, ca.bundle_path, username=mdm.username)
    adapter = SPEC.run("mdminfo", [], env)
    reference = ClientSpec.reference().run("mdminfo", [], env)
    assert adapter.kind == "ok", adapter
    assert adapter.result == reference.result
    assert PASSWORD not in adapter.stdout + adapter.stderr


def test_seed_scenario_3_two_discoveries_then_unauthorized(ca: CertificateAuthority) -> None:
    with ReferenceMDM(ca=ca, devices=1, password=PASSWORD, basic_auth_enabled=False) as locked:
        outcome = SPEC.run(
            "mdminfo", [], env_for(locked.base_url, ca.bundle_path, username=locked.username)
        )
        assert (outcome.kind, outcome.error) == ("error", "unauthorized")
        assert [r.query for r in locked.requests] == ["ise_api_version=3", "ise_api_version=2"]


def test_seed_scenario_2_wrong_instance(mdm: ReferenceMDM, ca: CertificateAuthority) -> None:
    before = mdm.request_count
    outcome = SPEC.run(
        "mdminfo", [], env_for(mdm.origin + "/networkIntegrationEndpoint/99", ca.bundle_path)
    )
    assert (outcome.kind, outcome.error) == ("error", "not_found")
    assert mdm.request_count - before == 1


def test_only_the_given_ca_is_trusted(
    mdm: ReferenceMDM, ca: CertificateAuthority, tmp_path: Path
) -> None:
    other = CertificateAuthority.load_or_create(tmp_path / "other")
    before = mdm.request_count
    outcome = SPEC.run("mdminfo", [], env_for(mdm.base_url, other.bundle_path))
    assert (outcome.kind, outcome.error) == ("error", "tls_error"), outcome
    assert mdm.request_count == before


@pytest.mark.parametrize(
    ("reply", "category"),
    [
        (xml("<html><body>login</body></html>"), "parse_error"),
        (
            xml(
                "<ise_api><name>mdminfo</name><api_version>3</api_version><api_path>/p</api_path></ise_api>"
            ),
            "protocol_error",
        ),
        (
            xml(
                "<ise_api><name>mdminfo</name><api_version>4</api_version><api_path>/p</api_path></ise_api>"
            ),
            "protocol_error",
        ),
        (
            xml(
                "<ise_api><name>mdminfo</name><api_version>x</api_version><api_path>/p</api_path></ise_api>"
            ),
            "parse_error",
        ),
        (
            xml('<!DOCTYPE ise_api [<!ENTITY e "x">]><ise_api><name>mdminfo</name></ise_api>'),
            "parse_error",
        ),
        (xml("", status=503), "server_error"),
        (xml("", status=302, headers={"Location": "https://elsewhere.test/"}), "protocol_error"),
        (Reply(body=b"<ise_api>" + b"x" * 400, mode="cut", cut_at=40), "connection_error"),
    ],
)
def test_answers_map_to_categories(ca: CertificateAuthority, reply: Reply, category: str) -> None:
    with ScriptedServer(ca, lambda req, n: reply) as server:
        outcome = SPEC.run("mdminfo", [], env_for(server.base_url + "/i", ca.bundle_path))
    assert (outcome.kind, outcome.error) == ("error", category), outcome


def test_a_hang_is_a_timeout_within_mdm_timeout_ms(ca: CertificateAuthority) -> None:
    with ScriptedServer(ca, lambda req, n: Reply(mode="hang")) as server:
        outcome = SPEC.run(
            "mdminfo", [], env_for(server.base_url + "/i", ca.bundle_path, timeout_ms=400)
        )
    assert (outcome.kind, outcome.error) == ("error", "timeout"), outcome
    assert 0.4 <= outcome.duration < 0.4 + 2.0


def test_the_password_never_reaches_a_command_line(ca: CertificateAuthority) -> None:
    """While curl waits on a hanging server, read every command line in the adapter's session."""
    with ScriptedServer(ca, lambda req, n: Reply(mode="hang")) as server:
        env = env_for(server.base_url + "/i", ca.bundle_path, timeout_ms=5000)
        proc = subprocess.Popen(
            [str(ADAPTER), "mdminfo"],
            env=scrubbed_env(env.as_environ()),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:

            def curl_cmdline() -> bytes | None:
                for entry in Path("/proc").iterdir():
                    if not entry.name.isdigit():
                        continue
                    try:
                        if os.getsid(int(entry.name)) != proc.pid:
                            continue
                        cmdline = (entry / "cmdline").read_bytes()
                    except (OSError, ProcessLookupError):
                        continue
                    if cmdline.split(b"\0")[0].endswith(b"curl"):
                        return cmdline
                return None

            wait_until(lambda: server.requests, timeout=10, what="the request reached the server")
            cmdline = wait_until(curl_cmdline, timeout=10, what="curl is running")
        finally:
            os.killpg(proc.pid, 9)
            proc.communicate(timeout=10)
    args = cmdline.split(b"\0")
    assert PASSWORD.encode() not in cmdline
    assert b"--cacert" in args and str(ca.bundle_path).encode() in args
    assert b"--max-time" in args and b"5.000" in args
    assert server.requests[0].headers["authorization"].startswith("Basic ")


def test_unimplemented_operations_are_crashes(ca: CertificateAuthority) -> None:
    env = env_for("https://127.0.0.1:9/i", ca.bundle_path)
    started = time.monotonic()
    outcome = SPEC.run("device", ["--mac", "0026B424FEB4"], env)
    assert outcome.kind == "crash" and outcome.crash_reason == "exit code 2"
    assert "not implemented" in outcome.stderr
    assert time.monotonic() - started < 10
