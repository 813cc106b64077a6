"""The test id a certification report records, whatever rootdir pytest chose; what a
certification run leaves in its report directory."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.client import REFERENCE_POLICY_PATH
from harness.contracts.session import KEPT_OUTPUT_CHARS, _test_id, kept_output


@pytest.mark.parametrize(
    "nodeid",
    [
        "harness/contracts/test_transport.py::test_t4",  # a checkout, rooted at the project
        "test_transport.py::test_t4",  # an installed suite, rooted at its own folder
        "contracts/test_transport.py::test_t4",  # rooted one folder above it
        "../../venv/lib/python3.11/site-packages/harness/contracts/test_transport.py::test_t4",
        "tmp/venv/lib/python3.11/site-packages/harness/contracts/test_transport.py::test_t4",
    ],
)
def test_every_rootdir_gives_the_packages_own_test_id(nodeid: str) -> None:
    assert _test_id(nodeid) == "harness/contracts/test_transport.py::test_t4"


def test_a_file_that_is_not_in_the_suite_keeps_its_node_id() -> None:
    assert _test_id("tests/test_other.py::test_x") == "tests/test_other.py::test_x"


# -- what a certification run leaves in its report directory (issue 12, H and I) ---------------

#: The report directory's files, as the README's table documents them.
DOCUMENTED = re.compile(
    r"certification\.html|certification\.md|junit\.xml|journal\.jsonl|meta\.json"
    r"|verdicts-[\w.-]+\.jsonl|failures"
)

#: A client that does what the reference client does (its code, in this process), and floods
#: both streams: 5 MB of spaces after its JSON answer on stdout (still one JSON object), 5 MB of
#: noise on stderr with the password at both ends (the runner keeps each stream's first MiB: the
#: first survives).
FLOODS = """\
import contextlib, io, os, sys
from harness.client.reference import main
answer = io.StringIO()
with contextlib.redirect_stdout(answer):
    code = main(["--quiet", *sys.argv[1:]])
password = os.environ.get("MDM_PASSWORD", "")
sys.stderr.write(password + "\\n" + "noise " * 900_000 + "\\n" + password + "\\n")
sys.stdout.write(answer.getvalue() + " " * 5_000_000)
sys.exit(code)
"""


def test_kept_output_cuts_the_middle_and_says_so() -> None:
    assert kept_output("a" * 100, limit=100) == "a" * 100
    text = "h" * 60 + "m" * 1000 + "t" * 60
    kept = kept_output(text, limit=100)
    assert kept == "h" * 50 + "\n[mdm-harness: 1020 characters cut here]\n" + "t" * 50


def test_a_flooding_client_leaves_bounded_records_and_only_the_documented_files(
    tmp_path: Path,
) -> None:
    client = tmp_path / "floods.py"
    client.write_text(FLOODS, encoding="utf-8")
    report = tmp_path / "report"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    done = subprocess.run(
        [
            sys.executable, "-P", "-m", "harness", "certify",
            "--client", shlex.join([sys.executable, str(client)]),
            "--policy", str(REFERENCE_POLICY_PATH), "--profile", "quick", "--seed", "5",
            "-n", "1", "-k", "s5 and success", "--report", str(report),
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # the password on stderr breaks S5: the run judged the client (exit 1), the harness held
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    names = sorted(p.name for p in report.iterdir())
    assert [n for n in names if not DOCUMENTED.fullmatch(n)] == [], names
    assert not (tmp_path / ".hypothesis").exists()

    records = [
        json.loads(line)
        for path in report.glob("verdicts-*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert records
    for record in records:
        for stream in ("stdout", "stderr"):
            text = record["outcome"][stream]
            assert len(text) <= KEPT_OUTPUT_CHARS + 100, (stream, len(text))
            assert re.search(r"\n\[mdm-harness: \d+ characters cut here\]\n", text), stream
        assert record["outcome"]["stdout"].startswith("{")
        assert record["outcome"]["stderr"].startswith("[REDACTED]")
    assert "S5" in {r["verdict"]["contract"] for r in records if not r["verdict"]["passed"]}
    for path in report.glob("verdicts-*.jsonl"):
        assert path.stat().st_size < 64 * 1024 * len(records)
