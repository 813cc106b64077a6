"""Secrets: a client that prints the password leaves it nowhere the harness writes.

A real run: the reference MDM, the fault proxy and the zoo client that puts the login it tried
(the password included) into its error message. S5 must break - and the verdict record, the
pytest failure message, the report, the journal and the replay files must not hold the password
or the Basic token made from it. Verdict files are readable by their owner only.
"""

from __future__ import annotations

import base64
import stat
import sys
from pathlib import Path

import pytest

from harness.certify import report as reporting
from harness.client.policy import load_policy
from harness.client.runner import ClientSpec
from harness.contracts import cases
from harness.contracts.session import USERNAME, ContractHarness
from harness.scenario import scenario_from_dict

ZOO = Path(__file__).parents[1] / "zoo"


def _tree_cmdlines(pid: int) -> list[str]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                out.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_printed_password_is_redacted_from_everything_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ZOO))
    report = tmp_path / "report"
    with ContractHarness(
        state_dir=tmp_path / "state",
        client=ClientSpec.parse("zoo_clients:prints_password"),
        policy=load_policy(ZOO / "zoo-policy.yaml"),
        seed=3,
        report_dir=report,
    ) as harness:
        secrets = (
            harness.password,
            base64.b64encode(f"{USERNAME}:{harness.password}".encode()).decode(),
        )
        # no secret on any command line the harness started (ps shows them to every user)
        assert not [c for c in _tree_cmdlines(__import__("os").getpid()) if secrets[0] in c]
        case = cases.s5_output(
            harness.site,
            "server-error",
            scenario_from_dict(
                {
                    "name": "x",
                    "rules": [
                        {"name": "fail", "match": {"operation": "devices"}, "fault": "status_500"}
                    ],
                }
            ).rules,
        )
        monkeypatch.setenv(
            "PYTEST_CURRENT_TEST", "harness/contracts/test_security.py::test_s5 (call)"
        )
        with pytest.raises(pytest.fail.Exception) as failed:
            harness.certify(case)
    assert "S5 BROKEN" in str(failed.value)
    message = str(failed.value)
    assert all(secret not in message for secret in secrets), message
    verdicts = report / "verdicts-main.jsonl"
    assert stat.S_IMODE(verdicts.stat().st_mode) == 0o600
    text = verdicts.read_text()
    assert "[REDACTED]" in text  # the client did print it: the check is not vacuous
    junit = report / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite><testcase classname="harness.contracts.test_security" '
        'name="test_s5"><properties><property name="contract" value="S5"/></properties>'
        '<failure message="S5 broke">S5 broke</failure></testcase></testsuite></testsuites>'
    )
    built = reporting.build(report, {})
    reporting.write(report, built)
    assert built.failures and built.failures[0].contract == "S5"
    written = [p for p in report.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"certification.md", "certification.html", "journal.jsonl"}
    assert any(p.parent.name == "failures" for p in written)
    for path in written:
        content = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in content, f"{path.name} holds a secret"
    md = (report / "certification.md").read_text()
    assert "[REDACTED]" in md  # the failure shows the client's message, redacted
