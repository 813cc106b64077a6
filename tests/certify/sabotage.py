"""Clients under test that sabotage the harness around them, for the harness-failure tests.

Each is the reference client with one act of sabotage done to the *harness* (never a contract
broken by the client itself), so every failure that follows is the harness's:

* ``sabotage:kills_proxy`` (in-process) kills its worker's mitmdump (``kill -9``) on its first
  run, then carries on as the reference client;
* ``sabotage:freezes_report`` (in-process) makes the report directory read-only on its first
  run (a ``chmod`` for a normal user; a read-only remount as root, where permission bits do
  not apply - the test then runs certify in a mount namespace of its own);
* ``sabotage:fills_report`` (in-process) fills the report directory (a small tmpfs) to the last
  byte on its first run;
* ``python sabotage.py OPERATION ARGS`` (exec) writes its pid and its parent's to
  ``$MDM_SABOTAGE_DIR`` and, while the file ``sleep`` is there, sleeps; then it runs the
  reference client.

The sabotage directory comes from ``MDM_SABOTAGE_DIR`` in the harness's environment (the exec
form gets it as its first argument: the harness scrubs a client's environment).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _dir() -> Path:
    return Path(os.environ["MDM_SABOTAGE_DIR"])


def _first(name: str) -> bool:
    """True exactly once per sabotage directory (across processes)."""
    try:
        fd = os.open(_dir() / f"done-{name}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def children(pid: int) -> list[tuple[int, str]]:
    """``(pid, command line)`` of ``pid``'s children, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append((int(entry.name), cmdline))
    return out


class _Sabotaging:
    def __init__(self, act: Any) -> None:
        from harness.client.reference import factory

        self._inner = factory()
        self._act = act

    def run(self, operation: str, args: list[str], env: Mapping[str, str]) -> dict[str, Any]:
        self._act()
        result: dict[str, Any] = self._inner.run(operation, args, env)
        return result


def _kill_proxy() -> None:
    if not _first("proxy"):
        return
    proxies = [pid for pid, cmd in children(os.getpid()) if "addon.py" in cmd]
    (_dir() / "proxy.json").write_text(json.dumps({"worker": os.getpid(), "proxies": proxies}))
    for pid in proxies:
        os.kill(pid, signal.SIGKILL)


def _freeze_report() -> None:
    if not _first("freeze"):
        return
    report = Path.cwd()  # certify runs the suite in the report directory
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,ro", str(report)], check=True)
    else:
        report.chmod(0o500)
    (_dir() / "frozen").write_text(str(report))


def _fill_report() -> None:
    if not _first("fill"):
        return
    chunk = b"\0" * (1 << 20)
    try:
        with open(Path.cwd() / "filler.bin", "wb") as fh:
            while True:
                fh.write(chunk)
                fh.flush()
    except OSError:
        pass  # ENOSPC: the report directory is full
    (_dir() / "frozen").write_text(str(Path.cwd()))


def fills_report() -> _Sabotaging:
    return _Sabotaging(_fill_report)


def kills_proxy() -> _Sabotaging:
    return _Sabotaging(_kill_proxy)


def freezes_report() -> _Sabotaging:
    return _Sabotaging(_freeze_report)


def _exec_main(argv: list[str]) -> None:
    where = Path(argv[0])
    (where / f"client-{os.getpid()}.json").write_text(
        json.dumps({"pid": os.getpid(), "worker": os.getppid()})
    )
    deadline = time.monotonic() + 120
    while (where / "sleep").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.execv(sys.executable, [sys.executable, "-P", "-m", "harness.client.reference", *argv[1:]])


if __name__ == "__main__":
    _exec_main(sys.argv[1:])
