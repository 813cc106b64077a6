"""Every bad command-line value: one line on stderr naming the option, exit 2, promptly.

A table over the subcommands and the values that used to give a traceback, a hang, a run away
or a silently different setting. Each runs ``mdm-harness``'s ``main()`` in-process
(``runs.refuse``): starting a process or binding a socket fails the test (bad input starts
nothing), and a deadline turns a value that runs away into a failure instead of a hang.
``python -m harness`` itself is run by the matrix and end-to-end tests of test_certify.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .runs import refuse

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
    tmp_path: Path,
    places: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    args = [a.format(**places) for a in args]
    if args[0] in ("serve", "proxy") and "--state-dir" not in args:
        args += ["--state-dir", str(tmp_path / "state")]
    if args[0] == "certify":
        args += ["--report", str(tmp_path / "report")]
    proc = refuse(args, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written


# ------------------------------------------------------------------------------------ the guards


def test_refuse_fails_a_command_that_starts_something(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The negative control of the table: good input starts the suite, and that fails."""
    from .runs import ZOO_POLICY

    good = ["certify", "--client", "harness.client.reference:factory", "--policy", str(ZOO_POLICY)]
    with pytest.raises(AssertionError, match="refused before anything starts"):
        refuse(
            [*good, "-n", "1", "-k", "r6", "--report", str(tmp_path / "report")],
            cwd=tmp_path,
            monkeypatch=monkeypatch,
            capsys=capsys,
        )


def test_refuse_fails_a_command_that_runs_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    import harness.cli

    monkeypatch.setattr(harness.cli, "main", lambda args: time.sleep(30))
    started = time.monotonic()
    with pytest.raises(AssertionError, match="still running after 1 s"):
        refuse(["serve"], cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys, within_s=1)
    assert time.monotonic() - started < 20
