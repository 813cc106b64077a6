"""Every bad command-line value: one line on stderr naming the option, exit 2, promptly.

A table over the subcommands and the values that used to give a traceback, a hang, a run away
or a silently different setting. Each runs the real ``mdm-harness`` command with a deadline, so
a value that runs away fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD = [
    (["serve", "--public-hostname", "a b"], "--public-hostname 'a b': not a host name"),
    (["serve", "--port", "99999"], "--port 99999: a port is between 0 and 65535"),
    (["serve", "--port", "-1"], "--port -1: a port is between 0 and 65535"),
    (["serve", "--devices", "99999999999999999999"], "--devices 99999999999999999999: must be between"),
    (["serve", "--instance-id", "a/b"], "--instance-id 'a/b': letters, digits"),
    (["serve", "--query-max-size", "100001"], "--query-max-size 100001: must be between 1"),
    (["serve", "--inventory", "/dev/zero"], "--inventory: '/dev/zero' is not a regular file"),
    (["serve", "--state-dir", "{file}/state"], "--state-dir: cannot write to"),
    (["proxy", "--listen-port", "70000"], "--listen-port 70000: a port is between 0 and 65535"),
    (["proxy", "--max-hang", "0"], "--max-hang 0: must be between 1 and 86400"),
    (["proxy", "--journal-max", "99999999999"], "--journal-max 99999999999: must be between"),
    (["proxy", "--state-dir", "{file}/state"], "--state-dir: cannot write to"),
    (["proxy", "--upstream-ca", "/dev/zero"], "--upstream-ca: '/dev/zero' is not a regular file"),
    (["certify", "-k", "(((("], "-k '((((': "),
    (["certify", "-k", " "], "-k: the expression is empty"),
    (["certify", "--policy", "/dev/zero"], "--policy: '/dev/zero' is not a regular file"),
    (["certify", "--policy", "{big}"], "bytes, more than the 1048576 allowed"),
    (["certify", "-n", "99999"], "-n '99999': expected auto or a number of workers from 1 to"),
    (["certify", "--seed", "-1"], "--seed -1: must be between 0 and"),
    (["matrix", "--shards", "99999999"], "--shards 99999999: must be between 1 and 256"),
    (["matrix", "--shards", "0"], "--shards 0: must be between 1 and 256"),
    (["report", "merge", "{badjunit}", "-o", "{out}"], "junit.xml: not a JUnit XML file"),
    (["report", "merge", "{listmeta}", "-o", "{out}"], "meta.json: must hold a JSON object, not list"),
    (["report", "merge", "{file}", "-o", "{out}"], "not a directory"),
    (["report", "diff", "{listmeta}", "{badjunit}"], "meta.json: must hold a JSON object"),
    (["report", "diff", "{out}", "{out}"], "not a directory"),
    (["test-connection", "https://127.0.0.1:1/x", "--username", "u", "--password", "p",
      "--timeout-ms", "99999999999"], "--timeout-ms 99999999999: must be between 1 and"),
    (["test-connection", "https://127.0.0.1:1/x", "--username", "u", "--password", "p",
      "--proxy", "ftp://127.0.0.1:1"], "must be an http:// URL"),
    (["test-connection", "https://127.0.0.1:1/x", "--username", "u", "--password", "p",
      "--ca", "/dev/zero"], "--ca '/dev/zero' is not a file"),
    (["reference-client", "--policy", "/dev/zero", "mdminfo"], "--policy: '/dev/zero' is not a regular file"),
]  # fmt: skip


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    big = tmp_path / "big-policy.yaml"
    big.write_bytes(b"#" * (2 << 20))
    bad = tmp_path / "bad-junit"
    bad.mkdir()
    (bad / "junit.xml").write_text("<testsuites><testsuite>")
    (bad / "meta.json").write_text("{}")
    listed = tmp_path / "list-meta"
    listed.mkdir()
    (listed / "junit.xml").write_text("<testsuites/>")
    (listed / "meta.json").write_text(json.dumps([1, 2]))
    return {
        "file": str(a_file),
        "big": str(big),
        "badjunit": str(bad),
        "listmeta": str(listed),
        "out": str(tmp_path / "out"),
    }


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_value_is_one_line_and_exit_2(
    tmp_path: Path, places: dict[str, str], args: list[str], message: str
) -> None:
    args = [a.format(**places) for a in args]
    if args[0] in ("serve", "proxy") and "--state-dir" not in args:
        args += ["--state-dir", str(tmp_path / "state")]
    if args[0] == "certify":
        args += ["--report", str(tmp_path / "report")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "harness", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written
