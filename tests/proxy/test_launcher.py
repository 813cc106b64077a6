"""The mitmdump launcher: a real subprocess, ports from the OS, scrubbed environment, startup
errors with mitmdump's output, reverse mode, retention, clean shutdown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.proxy import DISCOVERY, PUBLIC_HOST

from harness._util import AMBIENT_TLS_AND_PROXY_VARS, python, scrubbed_env, wait_until
from harness.mdm import ReferenceMDM
from harness.proxy import ADDON_PATH, FaultProxy, ProxyStartError
from harness.proxy.launcher import PROXY_PROGRAM
from harness.tls import CertificateAuthority


def test_a_startup_error_carries_mitmdumps_output(ca: CertificateAuthority, tmp_path: Path) -> None:
    with pytest.raises(ProxyStartError) as exc:
        FaultProxy(
            "https://127.0.0.1:9", ca, scenario="no-such-scenario", state_dir=tmp_path
        ).start()
    assert "exited with 1 during startup" in str(exc.value)
    assert "no such scenario file or library scenario" in str(exc.value)
    with pytest.raises(
        ProxyStartError, match="harness_upstream='ftp://x': the scheme must be https or http"
    ):
        FaultProxy("ftp://x", ca, state_dir=tmp_path).start()


def test_the_command_runs_mitmdump_from_this_interpreter_with_the_addon(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    cmd = FaultProxy("https://127.0.0.1:9", ca).command(tmp_path / "ready.json")
    assert cmd[0] == sys.executable and cmd[cmd.index("-s") + 1] == str(ADDON_PATH)
    assert f"confdir={ca.mitmproxy_confdir()}" in cmd and "listen_port=0" in cmd


def _curl_reverse(
    proxy: FaultProxy, ca: CertificateAuthority, mdm: ReferenceMDM, max_time: float = 10
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            str(max_time),
            "--cacert",
            str(ca.bundle_path),
            "--connect-to",
            f"{PUBLIC_HOST}:443:127.0.0.1:{proxy.port}",
            "-u",
            f"{mdm.username}:{mdm.password}",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            f"https://{PUBLIC_HOST}{DISCOVERY}",
        ],
        capture_output=True,
        text=True,
        env=scrubbed_env(),
        timeout=max_time + 30,
    )


def test_reverse_mode_retention_environment_and_shutdown(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    with ReferenceMDM(ca=ca, devices=3) as mdm:
        proxy = FaultProxy(
            mdm.origin, ca, mode="reverse", journal_max=3, state_dir=tmp_path, max_hang_s=10
        ).start()
        try:
            assert proxy.reverse_url == f"https://127.0.0.1:{proxy.port}"
            health = proxy.control.health()
            assert health["mode"] == "reverse" and health["proxy"]["scheme"] == "https"
            environ = Path(f"/proc/{proxy.pid}/environ").read_bytes().split(b"\0")
            names = {e.split(b"=", 1)[0].decode() for e in environ if e}
            assert names.isdisjoint(AMBIENT_TLS_AND_PROXY_VARS)

            assert [_curl_reverse(proxy, ca, mdm).stdout for _ in range(5)] == ["200"] * 5
            records = proxy.control.journal(wait_idle=5)
            assert [r.seq for r in records] == [3, 4, 5]  # the oldest were dropped
            assert proxy.control.counters()["dropped"] == 2
            assert records[-1].host == PUBLIC_HOST and records[-1].scheme == "https"
            assert records[-1].connect_start is not None and records[-1].upstream is True

            # In reverse mode, a connect-phase hang is a connection accepted and then silent.
            proxy.control.reset()
            proxy.control.load_scenario("seed-1-connection-timeout")
            assert _curl_reverse(proxy, ca, mdm, max_time=1).returncode == 28
            (record,) = proxy.control.journal(wait_idle=5)
            assert record.phase == "connect" and record.client_end == "client_closed"
        finally:
            process = proxy.process
            proxy.stop()
        assert process is not None and process.poll() is not None
        assert proxy.process is None


def test_the_proxy_runs_mitmproxy_with_only_the_addons_it_uses(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    """harness.proxy.master leaves out mitmdump's idle addons: an option of one of them is
    refused at start-up (plain mitmdump would act on it), and the dumper it keeps logs each
    flow when the proxy is not quiet (``mdm-harness proxy --verbose``)."""
    with pytest.raises(ProxyStartError, match="unknown option: anticache"):
        FaultProxy(
            "https://127.0.0.1:9", ca, state_dir=tmp_path / "refused",
            extra_options=["anticache=true"],
        ).start()  # fmt: skip
    with (
        ReferenceMDM(ca=ca, devices=1) as mdm,
        FaultProxy(mdm.origin, ca, mode="reverse", quiet=False, state_dir=tmp_path / "p") as proxy,
    ):
        assert _curl_reverse(proxy, ca, mdm).stdout == "200"
        wait_until(
            lambda: re.search(
                r"GET https://127\.0\.0\.1:\d+/networkIntegrationEndpoint/"
                r".*\n\s*<< 200 OK",
                proxy.output(),
            ),
            timeout=30,
            what="the dumper's line for the flow",
        )


def test_the_proxy_process_does_not_import_the_addons_it_leaves_out() -> None:
    """The proxy's own process skips ``mitmproxy.addons``' ``__init__`` (every default addon,
    with flask, passlib and ldap3): a third of its start-up CPU."""
    run = subprocess.run(
        [*python(*PROXY_PROGRAM), "--version"],
        capture_output=True, text=True, env={**scrubbed_env(), "PYTHONPROFILEIMPORTTIME": "1"},
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()}
    assert {"mitmproxy.addons.proxyserver", "mitmproxy.addons.tlsconfig"} <= imported
    assert imported.isdisjoint({"flask", "passlib", "ldap3", "mitmproxy.addons.onboarding"})


def test_plain_mitmdump_with_the_addon_path(ca: CertificateAuthority, tmp_path: Path) -> None:
    # The addon works without the wrapper: mitmdump -s <path>, options on the command line.
    ready = tmp_path / "ready.json"
    cmd = [
        sys.executable,
        "-P",
        "-c",
        "import sys; from mitmproxy.tools.main import mitmdump; mitmdump(sys.argv[1:])",
        "-q",
        "-s",
        str(ADDON_PATH),
        "--set",
        "listen_host=127.0.0.1",
        "--set",
        "listen_port=0",
        "--set",
        f"confdir={ca.mitmproxy_confdir()}",
        "--set",
        f"harness_ready_file={ready}",
        "--set",
        "harness_scenario=seed-3-unauthorized",
    ]
    proc = subprocess.Popen(
        cmd, env=scrubbed_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        import json

        from harness._util import wait_until

        info = wait_until(
            lambda: ready.exists() and json.loads(ready.read_text()), timeout=30, what="ready file"
        )
        assert info["scenario"] == "seed-3-unauthorized" and info["upstream"] is None
        assert info["proxy"]["port"] > 0 and info["control"]["port"] > 0
    finally:
        proc.terminate()
        proc.wait(10)
    assert os.path.exists(ADDON_PATH)


def test_a_subclass_may_extend_the_command_and_still_gets_the_secrets(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    # certify-server's prober loads one more addon by overriding command(ready_file); the
    # secrets pipe must reach mitmdump all the same (the control API answers with the token).
    class Extended(FaultProxy):
        def command(self, ready_file: Path) -> list[str]:
            return [*super().command(ready_file), "--set", "harness_max_hang=7"]

    with Extended("https://127.0.0.1:9", ca, state_dir=tmp_path) as proxy:
        health = proxy.control.health()
        assert health["ok"] is True
        assert not any("control_token" in part for part in proxy.command(tmp_path / "r.json"))
