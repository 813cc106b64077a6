"""Running ``mdm-harness`` for the end-to-end tests, and sharing one run between many tests.

A certify run costs seconds of CPU (a child pytest that collects the suite, a CA, a reference
MDM and a mitmdump per worker), so the tests that only read what a run left behind share it:
:func:`once` makes a run at most once per test session - across pytest-xdist workers too (a
module- or session-scoped fixture alone runs once per *worker*) - by holding a file lock in the
session's base temporary directory, which every worker of one session shares.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ZOO_DIR = Path(__file__).parents[1] / "zoo"
ZOO_POLICY = ZOO_DIR / "zoo-policy.yaml"
#: The selection of the shared runs: a MUST contract the broken client breaks (T8 on a reply
#: lost to a 503, two cases), one it keeps (R6) and a SHOULD contract with timing (T4).
SELECTION = "t4 or r6 or (t8 and reply-503)"
SEED = "11"


def mdm_harness(
    *args: str, cwd: Path, timeout: float = 300, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``mdm-harness ARGS`` in a subprocess, with the zoo's clients importable."""
    environ = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ZOO_DIR), os.environ.get("PYTHONPATH")])),
        **(env or {}),
    )
    environ.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-P", "-m", "harness", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def once(
    factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """``produce(directory)`` run at most once per session; ``(directory, its result)``.

    The result (JSON) is kept beside the directory; a worker that finds it waits for nothing
    and runs nothing. A ``produce`` that raised leaves no result, so the next test tries again
    (and sees the error itself)."""
    base = factory.getbasetemp()
    # Under xdist each worker's base is <session base>/popen-gwN: the session's is the parent.
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    where = root / f"shared-{name}"
    done = root / f"shared-{name}.json"
    with open(root / f"shared-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if done.exists():
                return where, json.loads(done.read_text())
            shutil.rmtree(where, ignore_errors=True)  # what a failed produce left
            where.mkdir()
            result = produce(where)
            done.write_text(json.dumps(result))
            return where, result
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def completed(result: Mapping[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(
        result["args"], result["returncode"], result["stdout"], result["stderr"]
    )


def recorded(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return {
        "args": list(proc.args),
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
    }


class Run(NamedTuple):
    """A finished ``mdm-harness certify``: its report directory and the process's result."""

    report: Path
    proc: subprocess.CompletedProcess[str]


class ShardedRun(NamedTuple):
    """Two shards of one certify run and their merge."""

    shards: list[Run]
    merged: Run


def certify_once(factory: pytest.TempPathFactory, name: str, *args: str) -> Run:
    """``mdm-harness certify ARGS --report <dir>/report``, run once per session."""

    def produce(where: Path) -> dict[str, Any]:
        proc = mdm_harness("certify", *args, "--report", str(where / "report"), cwd=where)
        return recorded(proc)

    where, result = once(factory, name, produce)
    return Run(where / "report", completed(result))


class Ran(NamedTuple):
    """What ``mdm-harness ARGS`` did in-process: exit code, stdout, stderr."""

    returncode: int
    stdout: str
    stderr: str


def _started(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("bad input must be refused before anything starts")


def refuse(
    args: list[str],
    *,
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    within_s: int = 60,
) -> Ran:
    """``mdm-harness ARGS`` for input it must refuse before starting anything, run in this
    process: its ``main()`` as ``python -m harness`` runs it, in ``cwd``, without the test run's
    PYTEST_* variables. Starting a process or binding a socket fails the test (no suite, no
    server, no proxy), and so does running for over ``within_s`` seconds (a command that runs
    away fails instead of hanging the worker)."""
    import signal
    import socket
    import threading

    from harness.cli import main

    monkeypatch.setattr(subprocess.Popen, "__init__", _started)
    monkeypatch.setattr(socket.socket, "bind", _started)
    monkeypatch.chdir(cwd)
    for name in list(os.environ):
        if name.startswith("PYTEST_") and name != "PYTEST_CURRENT_TEST":
            monkeypatch.delenv(name)
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        pytest.fail("refuse() needs the main thread (SIGALRM)")

    def timed_out(_signum: int, _frame: Any) -> None:
        raise AssertionError(f"mdm-harness {' '.join(args)}: still running after {within_s} s")

    previous = signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(within_s)
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    out, err = capsys.readouterr()
    return Ran(code, out, err)
