"""What ``/proc`` says about a process: resident memory and open descriptors (Linux only)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["open_fds", "rss_mib"]


def rss_mib(pid: int) -> float:
    """``VmRSS`` of ``pid`` in MiB (from ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS")


def open_fds(pid: int) -> int:
    """How many descriptors ``pid`` has open (the entries of ``/proc/PID/fd``)."""
    return len(os.listdir(f"/proc/{pid}/fd"))
