"""``mdm-harness proxy``: a complete lab from one command, stopped cleanly by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

from support.proxy import DISCOVERY

from harness._util import scrubbed_env


def test_proxy_without_upstream_starts_its_own_mdm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-P",
            "-m",
            "harness",
            "proxy",
            "--listen-port",
            "0",
            "--state-dir",
            str(tmp_path),
            "--scenario",
            "seed-3-unauthorized",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=scrubbed_env(),
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops."):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), (lines, proc.poll())
        info = dict(line.split(":", 1) for line in lines if ":" in line)
        proxy_url = info["proxy (regular)"].strip()
        user, _, password = info["credentials"].strip().partition(" / ")
        assert info["scenario"].strip() == "seed-3-unauthorized"
        assert info["CA bundle"].strip() == str(tmp_path / "ca.pem")

        def curl() -> str:
            return subprocess.run(
                [
                    "curl",
                    "-sS",
                    "--cacert",
                    str(tmp_path / "ca.pem"),
                    "--proxy",
                    proxy_url,
                    "-u",
                    f"{user}:{password}",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "https://acme.jamfcloud.test" + DISCOVERY,
                ],
                capture_output=True,
                text=True,
                env=scrubbed_env(),
                timeout=30,
            ).stdout

        assert curl() == "401"  # the scenario, through the proxy, in front of its own MDM
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        reader.join(5)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
