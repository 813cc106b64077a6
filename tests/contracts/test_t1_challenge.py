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
it. Both run T1's body case through one harness of the module (the real proxy, MDM and CA the
contract suite uses, as ``certify -k "t1 and body"`` would), each with its own wget adapter.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.client.policy import load_policy
from harness.client.runner import ClientSpec
from harness.contracts import cases
from harness.contracts.model import Verdict
from harness.contracts.session import ContractHarness

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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractHarness]:
    """One harness for the module's runs; each test sets its own wget adapter as the client."""
    state = tmp_path_factory.mktemp("t1-challenge")
    policy = state / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    with ContractHarness(
        state_dir=state / "harness",
        client=ClientSpec.parse("true"),
        policy=load_policy(policy),
        seed=1729,
    ) as harness:
        yield harness


def certify_t1_body(
    live: ContractHarness, adapter: Path, monkeypatch: pytest.MonkeyPatch
) -> Verdict:
    """Run ``adapter`` on T1's body case; the case's verdict."""
    # the adapters' python3 (the flow's XML helper) is this interpreter
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    live.client = ClientSpec("exec", argv=(str(adapter),))
    observation = live.run(cases.t1_hang(live.site, "body"))
    challenged = [a for a in observation.journal.attempts if a.sent and a.sent.status == 401]
    # the premise: wget met a challenge on the hanging request and left its 401 unfinished
    assert any(a.operation == "devices" and a.client_end == "client_closed" for a in challenged), (
        challenged
    )
    return observation.verdict


def test_wget_answering_a_challenge_on_a_hang_keeps_t1(
    live: ContractHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdict = certify_t1_body(live, wget_client(tmp_path), monkeypatch)
    assert verdict.passed, verdict.reason


def test_wget_timing_out_far_too_early_after_a_challenge_breaks_t1(
    live: ContractHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdict = certify_t1_body(live, wget_client(tmp_path, timeout="0.3"), monkeypatch)
    assert not verdict.passed
    assert "gave up on 1 silent attempt(s)" in verdict.reason, verdict.reason
