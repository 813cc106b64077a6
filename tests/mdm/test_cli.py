"""``mdm-harness serve`` as a real subprocess, driven with curl and the ``mdm`` admin commands."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from harness._util import scrubbed_env, wait_until
from harness.mdm import Inventory, schemas
from harness.tls import CertificateAuthority

CURL = shutil.which("curl")


class Served:
    """A ``serve`` subprocess whose stdout is collected by a reader thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "harness", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=scrubbed_env(),
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            if self.proc.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.stderr()}")
            return next((m for line in list(self.lines) if (m := regex.search(line))), None)

        return wait_until(found, timeout=timeout, what=f"serve printing {pattern!r}")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self._reader.join(timeout=10)
        return code, self.stderr()

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


@pytest.fixture
def served(mdm_ca: CertificateAuthority) -> Iterator[Served]:
    server = Served(
        "--state-dir", str(mdm_ca.directory), "--devices", "50", "--seed", "7", "--port", "0"
    )
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait(timeout=30)


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    assert CURL, "curl is needed for this test"
    return subprocess.run(
        [CURL, "-sS", "--max-time", "20", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=scrubbed_env(),
    )


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=scrubbed_env(env),
    )


def test_serve_then_curl_then_admin_commands_then_sigterm(
    served: Served, mdm_ca: CertificateAuthority
) -> None:
    base = served.wait_for(
        r"base URL:\s+(https://127\.0\.0\.1:\d+/networkIntegrationEndpoint/7)$"
    ).group(1)
    ca = served.wait_for(r"CA bundle:\s+(\S+)").group(1)
    user = served.wait_for(r"username:\s+(\S+)").group(1)
    password = served.wait_for(r"password:\s+(\S+)").group(1)
    assert (
        served.wait_for(r"public URL:\s+(\S+)").group(1)
        == "https://acme.jamfcloud.test/networkIntegrationEndpoint/7"
    )
    assert Path(ca) == mdm_ca.bundle_path

    discovery = _curl(
        "--cacert", ca, "-u", f"{user}:{password}", f"{base}/ciscoise/mdminfo/?ise_api_version=3"
    )
    assert discovery.returncode == 0, discovery.stderr
    assert schemas.validate(discovery.stdout.encode()) == "mdminfo-v3"
    root = etree.fromstring(discovery.stdout.encode())
    assert (root.findtext("vendor"), root.findtext("product_name"), root.findtext("api_path")) == (
        "JAMF Software",
        "JSS",
        "/7/ciscoise/v3",
    )
    assert (
        _curl("--cacert", ca, f"{base}/ciscoise/mdminfo").stdout.count("<status>401</status>") == 1
    )
    origin = base.rsplit("/networkIntegrationEndpoint", 1)[0]

    device = next(iter(Inventory.generate(50, 7)))  # the same seed gives the same devices
    env = {
        "MDM_BASE_URL": base,
        "MDM_USERNAME": user,
        "MDM_PASSWORD": password,
        "MDM_CA_BUNDLE": ca,
    }
    flipped = _cli(
        "mdm",
        "set-compliance",
        "--device",
        device.macaddress.lower(),
        "--non-compliant",
        "--reason",
        "Flipped & <by the CLI>",
        env=env,
    )
    assert flipped.returncode == 0, flipped.stderr
    assert (
        f"device {device.guid} (MAC {device.macaddress}) is now non-compliant (Flipped & <by the CLI>)"
        in flipped.stdout
    )

    lookup = _curl(
        "--cacert",
        ca,
        "-u",
        f"{user}:{password}",
        f"{origin}/7/ciscoise/v3/devices/?paging=0&querycriteria=macaddress&value={device.macaddress}&filter=all",
    )
    assert schemas.validate(lookup.stdout.encode()) == "attributes"
    assert "<failure_reason>Flipped &amp; &lt;by the CLI&gt;</failure_reason>" in lookup.stdout

    wipe = _curl(
        "--cacert",
        ca,
        "-u",
        f"{user}:{password}",
        "-X",
        "POST",
        "--data-binary",
        f"<ise_api><identifier><guid>{device.guid}</guid></identifier></ise_api>",
        f"{origin}/7/ciscoise/v3/action/actionType=full_wipe",
    )
    assert "<action_status>true</action_status>" in wipe.stdout
    actions = _cli("mdm", "actions", "--json", "--device", device.guid, env=env)
    assert actions.returncode == 0, actions.stderr
    assert [(a["action"], a["guid"]) for a in json.loads(actions.stdout)] == [
        ("full_wipe", device.guid)
    ]

    disabled = _cli("mdm", "settings", "--basic-auth", "disabled", env=env)
    assert disabled.stdout.startswith("Basic auth disabled")
    assert (
        "<status>401</status>"
        in _curl(
            "--cacert",
            ca,
            "-u",
            f"{user}:{password}",
            f"{base}/ciscoise/mdminfo/?ise_api_version=3",
        ).stdout
    )
    status = _cli("mdm", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "Basic auth DISABLED" in status.stdout and "devices 50" in status.stdout

    code, stderr = served.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "stopped" in stderr


def test_serve_json_and_sigint(mdm_ca: CertificateAuthority) -> None:
    server = Served(
        "--state-dir",
        str(mdm_ca.directory),
        "--devices",
        "5",
        "--profile",
        "generic",
        "--json",
        "--basic-auth-disabled",
        "--log-level",
        "warning",
    )
    try:
        facts = json.loads(server.wait_for(r"^\{.*\}$").group(0))
        assert facts["profile"] == "generic" and facts["devices"] == 5
        assert facts["base_url"] == facts["origin"] and facts["basic_auth_enabled"] is False
        reply = _curl(
            "--cacert",
            facts["ca_bundle"],
            "-u",
            f"{facts['username']}:{facts['password']}",
            facts["discovery_url"],
        )
        assert "<status>401</status>" in reply.stdout
        code, stderr = server.stop(signal.SIGINT)
        assert code == 0, stderr
    finally:
        if server.proc.poll() is None:
            server.proc.kill()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "10.1.2.3"], "--host 10.1.2.3 is not a loopback address"),
        (["--query-max-size", "0"], "query_max_size=0"),
        (["--api-path", "/x/{nope}"], "unknown placeholder"),
        (["--devices", "-3"], "--devices must not be negative"),
    ],
)
def test_serve_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = _cli("serve", "--state-dir", str(tmp_path), *args, env={})
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_serve_with_a_bad_inventory_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "fleet.yaml"
    bad.write_text("devices:\n  - macaddress: '001122334455'\n    compliant: perhaps\n")
    result = _cli("serve", "--state-dir", str(tmp_path), "--inventory", str(bad), env={})
    assert result.returncode == 2
    assert (
        f"{bad}:3: devices[0].compliant: expected true or false, got str 'perhaps'" in result.stderr
    )


def test_admin_commands_without_a_server(tmp_path: Path) -> None:
    missing = _cli("mdm", "status", env={})
    assert missing.returncode == 2 and "--url, --username, --password required" in missing.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        down = _cli("mdm", "status", "--url", url, "--username", "u", "--password", "p", env={})
    assert down.returncode == 1 and "cannot reach" in down.stderr
    remote = _cli(
        "mdm",
        "actions",
        "--url",
        "https://acme.jamfcloud.test/x",
        "--username",
        "u",
        "--password",
        "p",
        "--ca-bundle",
        str(tmp_path / "ca.pem"),
        env={},
    )
    assert remote.returncode == 2 and "loopback" in remote.stderr


def test_help_texts_cover_every_option() -> None:
    from harness.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name in ("serve", "mdm"):
        command = subparsers.choices[name]  # type: ignore[attr-defined]
        parsers = [command]
        for action in command._actions:
            if action.dest == "mdm_command":
                parsers += list(action.choices.values())  # type: ignore[union-attr]
        for p in parsers:
            for action in p._actions:
                assert action.help, f"{p.prog} {action.option_strings or action.dest} has no help"
