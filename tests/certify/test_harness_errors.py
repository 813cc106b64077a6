"""The harness's own failure is never the client's: ERROR (harness), exit 3, nothing left running.

Each test breaks a real part of a real certify run - kills the worker's mitmdump, an xdist
worker, certify itself (SIGTERM, SIGKILL), makes the report directory read-only - and checks
the verdict (never "broken", never "CERTIFIED"), the exit code (3) and that no process of the
run survives (every pid seen under certify is gone).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness._util import DeadlineExceeded, wait_until
from harness.errors import HARNESS_ERROR_EXIT

HERE = Path(__file__).parent
ZOO_POLICY = HERE.parent / "zoo" / "zoo-policy.yaml"
SABOTEUR = f"{sys.executable} -P {HERE / 'sabotage.py'}"
#: The fewest contract tests that show each fault: one, a T3 case (which never waits on a timing
#: window). With two workers, xdist hands it to one; the other starts no lab of its own.
ONE_TEST = "t3_client and 401"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc (Linux)"
)


# ------------------------------------------------------------------------------------ processes


def _status(pid: int) -> str | None:
    """The process's state letter, or None when it is gone (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state in ("Z", "X") else state


def descendants(root: int) -> dict[int, str]:
    """Every live descendant of ``root``: pid -> command line."""
    parents: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out: dict[int, str] = {}
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in out and _status(child) is not None:
                out[child] = commands.get(child, "")
                todo.append(child)
    return out


def workers_of(certify: int) -> list[int]:
    """The xdist workers of a certify run: the children of its one pytest (the controller)."""
    (controller,) = _children(certify)
    return _children(controller)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _status(int(entry.name)) is not None:
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def assert_all_gone(pids: dict[int, str], timeout: float = 30.0) -> None:
    try:
        wait_until(
            lambda: not any(_status(pid) for pid in pids),
            timeout=timeout,
            what="every process of the run to end",
        )
    except DeadlineExceeded:
        alive = {pid: cmd for pid, cmd in pids.items() if _status(pid)}
        pytest.fail(f"processes left behind: {alive}")


def _environment(sabotage: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env["MDM_SABOTAGE_DIR"] = str(sabotage)
    env.pop("PYTEST_XDIST_WORKER", None)
    # A run killed here (SIGKILL, a killed worker) cannot remove its private directories: they
    # stay in this test's own temporary directory, which pytest cleans, not in the system's.
    private = sabotage.parent / "tmp"
    private.mkdir(exist_ok=True)
    env["TMPDIR"] = str(private)
    return env


def certify_command(report: Path, *args: str) -> list[str]:
    return [sys.executable, "-P", "-m", "harness", "certify", "--report", str(report), *args]


@pytest.fixture
def sabotage(tmp_path: Path) -> Path:
    where = tmp_path / "sabotage"
    where.mkdir()
    return where


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """certify processes a test starts; killed (with their trees) if the test fails early."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            tree = descendants(proc.pid)
            proc.kill()
            proc.wait(30)
            for pid in tree:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _read(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    return out, err


def _assert_harness_error(report: Path, out: str, err: str) -> None:
    """The report and the output say ERROR (harness), and never broken or certified."""
    assert "ERROR (harness)" in out + err, out + err
    assert "CERTIFIED" not in out.replace("NOT CERTIFIED", ""), out
    assert "BROKEN" not in out, out
    assert "Traceback" not in err, err
    if (report / "certification.md").exists():
        md = (report / "certification.md").read_text()
        assert "ERROR (harness)" in md and "**BROKEN**" not in md
        html = (report / "certification.html").read_text()
        assert "class='verdict error'" in html and "ERROR (harness)" in html


# ------------------------------------------------------------------------------------ tests


def test_a_killed_proxy_is_a_harness_error_not_a_broken_contract(
    tmp_path: Path, sabotage: Path, started: list[subprocess.Popen[str]]
) -> None:
    report = tmp_path / "report"
    proc = subprocess.Popen(
        certify_command(
            report, "--client", "sabotage:kills_proxy", "--policy", str(ZOO_POLICY),
            "-n", "1", "-k", ONE_TEST, "--seed", "5",
        ),
        cwd=tmp_path, env=_environment(sabotage), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    started.append(proc)
    out, err = _read(proc)
    assert proc.returncode == HARNESS_ERROR_EXIT, out + err
    killed = json.loads((sabotage / "proxy.json").read_text())
    assert killed["proxies"], "the sabotage found the worker's mitmdump"
    assert_all_gone({killed["worker"]: "pytest", **{p: "mitmdump" for p in killed["proxies"]}})
    _assert_harness_error(report, out, err)
    assert "the fault proxy (mitmdump, pid" in out and "killed by SIGKILL" in out
    md = (report / "certification.md").read_text()
    assert "| T3 | MUST | transport |" in md and "| **ERROR (harness)** |" in md
    junit = (report / "junit.xml").read_text()
    assert "<failure" not in junit and "harness_error" in junit  # errors, never failures


def test_a_killed_worker_is_a_harness_error_and_leaves_no_process(
    tmp_path: Path, sabotage: Path, started: list[subprocess.Popen[str]]
) -> None:
    (sabotage / "sleep").write_text("")
    report = tmp_path / "report"
    proc = subprocess.Popen(
        certify_command(
            report, "--client", f"{SABOTEUR} {sabotage}", "--policy", str(ZOO_POLICY),
            "-n", "2", "-k", ONE_TEST, "--seed", "5",
        ),
        cwd=tmp_path, env=_environment(sabotage), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    started.append(proc)
    (client,) = wait_until(
        lambda: list(sabotage.glob("client-*.json")),
        timeout=120,
        what="the preflight client of the worker that got the test",
    )
    victim = json.loads(client.read_text())
    worker = victim["worker"]
    tree = {worker: "worker", **descendants(worker)}
    assert any("addon.py" in cmd for cmd in tree.values()), tree  # its mitmdump
    assert victim["pid"] in tree
    assert worker in workers_of(proc.pid) and len(workers_of(proc.pid)) == 2
    everything = {**descendants(proc.pid)}
    os.kill(worker, signal.SIGKILL)
    (sabotage / "sleep").unlink()
    # The worker's proxy and client die with it, at once - not when the run ends.
    assert_all_gone(tree, timeout=20)
    out, err = _read(proc)
    assert proc.returncode == HARNESS_ERROR_EXIT, out + err
    _assert_harness_error(report, out, err)
    assert "crashed while running" in out
    assert_all_gone(everything)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_certify_stopped_by_a_signal_leaves_no_process_behind(
    tmp_path: Path, sabotage: Path, started: list[subprocess.Popen[str]], how: signal.Signals
) -> None:
    """SIGKILL leaves certify no say (no forwarding, no clean-up): with two workers it proves
    that the whole tree - pytest, its two xdist workers, the proxy and the client - ends by itself.
    SIGTERM and SIGINT are forwarded to the suite, which reports the interruption (exit 3): one
    worker shows that; what ends with its parent is the same chain the SIGKILL run proves.

    The SIGTERM and SIGINT runs name the client as a user types it, by a relative path
    (``./sabotage.sh``): the suite runs in the report directory and each client run in an empty
    one of its own, so certify must make the path absolute for the client to run at all."""
    (sabotage / "sleep").write_text("")
    report = tmp_path / "report"
    workers = 2 if how == signal.SIGKILL else 1
    client = f"{SABOTEUR} {sabotage}"
    adapter = tmp_path / "sabotage.sh"
    if how != signal.SIGKILL:
        adapter.write_text(f'#!/bin/sh\nexec "{sys.executable}" -P "{HERE / "sabotage.py"}" "$@"\n')
        adapter.chmod(0o755)
        client = f"./{adapter.name} {sabotage}"
    proc = subprocess.Popen(
        certify_command(
            report, "--client", client, "--policy", str(ZOO_POLICY),
            "-n", str(workers), "-k", ONE_TEST, "--seed", "5",
        ),
        cwd=tmp_path, env=_environment(sabotage), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    started.append(proc)
    wait_until(
        lambda: list(sabotage.glob("client-*.json")),
        timeout=120,
        what="the preflight client",
    )
    tree = descendants(proc.pid)
    # pytest, its workers (with two: one runs the test, one is idle), the proxy and the client
    assert sum("addon.py" in cmd for cmd in tree.values()) == 1, tree
    assert sum(cmd.startswith(SABOTEUR) for cmd in tree.values()) == 1, tree
    if workers == 2:
        assert len(workers_of(proc.pid)) == 2, tree
    proc.send_signal(how)
    out, err = _read(proc, timeout=120)
    if how == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == HARNESS_ERROR_EXIT, out + err
        assert f"interrupted by {how.name}" in out, out + err
        _assert_harness_error(report, out, err)
        meta = json.loads((report / "meta.json").read_text())
        assert meta["client_command"].split()[0] == str(adapter)  # made absolute
    assert_all_gone(tree)


def test_a_suite_that_does_not_stop_on_a_forwarded_signal_is_killed_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """certify forwards SIGINT; a suite that carries on regardless is killed once the grace is
    over, and the run says it was interrupted - it does not wait for the suite to finish (a
    wait that the signal interrupts would otherwise go on with no timeout at all)."""
    from harness.certify import runner

    monkeypatch.setattr(runner, "_STOP_GRACE_S", 0.5)
    ready = tmp_path / "ignoring"
    deaf = [
        sys.executable, "-c",
        "import pathlib, signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "pathlib.Path(sys.argv[1]).touch(); time.sleep(120)",
        str(ready),
    ]  # fmt: skip

    def interrupt() -> None:
        wait_until(ready.exists, timeout=60, what="the suite to ignore SIGINT")
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt, daemon=True)
    sender.start()
    started = time.monotonic()
    code, name = runner.run_suite(deaf, cwd=tmp_path)
    took = time.monotonic() - started
    sender.join(5)
    assert (code, name) == (-signal.SIGKILL, "SIGINT")
    assert took < 60, f"certify waited {took:.1f} s for a suite that ignored the signal"


@pytest.mark.parametrize("how", ["read-only", "full"])
def test_a_report_directory_made_unwritable_mid_run_is_a_harness_error(
    tmp_path: Path, sabotage: Path, started: list[subprocess.Popen[str]], how: str
) -> None:
    report = tmp_path / "report"
    report.mkdir()
    client = {"read-only": "sabotage:freezes_report", "full": "sabotage:fills_report"}[how]
    command = certify_command(
        report, "--client", client, "--policy", str(ZOO_POLICY),
        "-n", "1", "-k", ONE_TEST, "--seed", "5",
    )  # fmt: skip
    if os.geteuid() == 0 or how == "full":
        # Root writes through permission bits, and a full disk needs a small file system of its
        # own: a tmpfs over the report directory, in a mount namespace of this test's own.
        if os.geteuid() != 0:
            pytest.skip("a full report directory needs a tmpfs of its own (root)")
        if shutil.which("unshare") is None or shutil.which("mount") is None:
            pytest.skip("as root this needs unshare and mount (util-linux)")
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip(f"cannot make a mount namespace here: {probe.stderr.strip()!r}")
        script = 'mount -t tmpfs -o size=16m tmpfs "$1" && shift && exec "$@"'
        command = [
            "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
            str(report), *command,
        ]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=_environment(sabotage), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    started.append(proc)
    try:
        out, err = _read(proc)
    finally:
        report.chmod(0o700)
    assert (sabotage / "frozen").exists(), out + err
    assert proc.returncode == HARNESS_ERROR_EXIT, out + err
    assert "cannot write the verdict record" in out, out  # each test: an error of the harness
    assert " failed" not in out, out  # ... and none a failure
    errs = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert errs and errs[-1].startswith("mdm-harness certify: ERROR (harness): cannot write")
