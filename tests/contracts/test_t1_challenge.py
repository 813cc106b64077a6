"""T1 on a real client that answers authentication challenges: GNU wget (issue 12, E).

wget sends each request without credentials first and answers the MDM's 401 challenge
(``WWW-Authenticate``) with them (RFC 9110 section 11). On T1's "body" case the 401 itself is
cut after 64 bytes and left hanging: wget reads its head, leaves at once and sends the request
with credentials - which hangs too, until wget's timeout. The 401 it left was an answer, not a
silent attempt given up on; counting it made T1 say "gave up far sooner than 2 x its timeout".

Here wget runs with ``--tries=1`` (the gallery adapter, copied, with its policy's attempts at 1)
and a 5 s timeout, so nothing but that one timeout and the adapter's own start-up (about 2 s
for its wget and python3 runs) stands between the challenge and its report: counted as two
silent attempts, T1 wanted at least 2 x (5 - 0.6) = 8.8 s. The negative control is the same
wget with a timeout far shorter than its policy declares (0.3 s for 5 s): T1 must still catch
it. Certifies through the real proxy and MDM - about 25 s per test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "clients"

POLICY = """\
schema: 2
timeout_ms: 5000
max_attempts: {mdminfo: 1, device: 1, noncompliant: 1, action: 1}
"""

pytestmark = pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not on PATH")


def wget_client(tmp_path: Path, *, timeout: str | None = None) -> Path:
    """The gallery's wget adapter with ``--tries=1`` (and, if given, a fixed ``--timeout``)."""
    clients = tmp_path / "clients"
    shutil.copytree(GALLERY / "common", clients / "common")
    (clients / "wget").mkdir()
    adapter = clients / "wget" / "adapter.sh"
    text = (GALLERY / "wget" / "adapter.sh").read_text(encoding="utf-8")
    assert "\nTRIES=3\n" in text and '--timeout="$seconds"' in text
    text = text.replace("\nTRIES=3\n", "\nTRIES=1\n")
    if timeout is not None:
        text = text.replace('--timeout="$seconds"', f"--timeout={timeout}")
    adapter.write_text(text, encoding="utf-8")
    adapter.chmod(0o755)
    return adapter


def certify_t1_body(tmp_path: Path, adapter: Path) -> dict[str, object]:
    """Certify ``adapter`` on T1's body case; the case's verdict record."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    report = tmp_path / "report"
    env = dict(os.environ)
    env.pop("PYTEST_XDIST_WORKER", None)
    # the adapters' python3 (the flow's XML helper) is this interpreter
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = [
        sys.executable, "-P", "-m", "harness", "certify", "--client", str(adapter),
        "--policy", str(policy), "--profile", "quick", "--seed", "1729", "-n", "1",
        "-k", "t1 and body", "--report", str(report),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    records = [
        json.loads(line)
        for path in sorted(report.glob("verdicts-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    (record,) = records
    challenged = [
        json.loads(line)
        for line in (report / "journal.jsonl").read_text(encoding="utf-8").splitlines()
        if (json.loads(line).get("sent") or {}).get("status") == 401
    ]
    # the premise: wget met a challenge on the hanging request and left its 401 unfinished
    assert any(
        r["operation"] == "devices" and r["client_end"] == "client_closed" for r in challenged
    ), challenged
    verdict: dict[str, object] = record["verdict"]
    return verdict


def test_wget_answering_a_challenge_on_a_hang_keeps_t1(tmp_path: Path) -> None:
    verdict = certify_t1_body(tmp_path, wget_client(tmp_path))
    assert verdict["passed"], verdict["reason"]


def test_wget_timing_out_far_too_early_after_a_challenge_breaks_t1(tmp_path: Path) -> None:
    verdict = certify_t1_body(tmp_path, wget_client(tmp_path, timeout="0.3"))
    assert not verdict["passed"]
    assert "gave up on 1 silent attempt(s)" in str(verdict["reason"]), verdict["reason"]
