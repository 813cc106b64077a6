"""Safety against production servers: one request rate cap and one request budget for a run.

:class:`Pacer` is shared by every process of a run (the CLI, each pytest-xdist worker) through
one small state file locked with ``fcntl.flock``: before each request a process takes the
lock, reads when the next request may go and how many went already, refuses if the plan is
spent (:class:`PlanExceeded`, a harness error - the plan was wrong, never the server), sleeps
until its turn, and writes the new state. So the rate cap and the plan's total hold for the
whole run, however many workers there are. Times are ``time.monotonic()`` (CLOCK_MONOTONIC, the
same clock in every process on Linux).

A burst of ``n`` requests at once (C1's concurrent lookups) pays for them before it goes: it
waits until ``n`` requests' worth of time has passed since the last one (a token bucket of
depth ``n``), so the average rate never exceeds the cap.

:class:`Budget` is one case's share of the plan: the requests the case declared it would send.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Budget", "Pacer", "PlanExceeded"]


class PlanExceeded(RuntimeError):
    """A request beyond what the plan allows: a harness error, and nothing was sent."""


class Pacer:
    """The run's rate cap (requests per second; 0: none) and total request limit."""

    def __init__(self, path: str | Path, *, rate: float, limit: int) -> None:
        self.path = Path(path)
        self.rate = float(rate)
        self.limit = int(limit)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_path.touch(exist_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, float]]:
        with open(self._lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    state = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    state = {"next": 0.0, "sent": 0}
                yield state
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
                tmp.write_text(json.dumps(state), encoding="utf-8")
                os.replace(tmp, self.path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def acquire(self, n: int = 1) -> None:
        """Wait for the turn of ``n`` requests sent together; :class:`PlanExceeded` beyond the plan."""
        if n < 1:
            raise ValueError(f"n={n!r} must be at least 1")
        with self._locked() as state:
            sent = int(state["sent"])
            if sent + n > self.limit:
                raise PlanExceeded(
                    f"the plan allows {self.limit} requests and {sent} were sent; {n} more were asked "
                    "for (a harness error: nothing was sent)"
                )
            now = time.monotonic()
            interval = 1 / self.rate if self.rate > 0 else 0.0
            # A burst of n waits for n - 1 more intervals than a single request.
            go = max(now, float(state["next"]) + (n - 1) * interval)
            state["next"] = go + interval
            state["sent"] = sent + n
            # Sleeping under the lock keeps every process in line (the lock is the queue).
            if go > now:
                time.sleep(go - now)

    @property
    def sent(self) -> int:
        """Requests granted so far in the run."""
        try:
            return int(json.loads(self.path.read_text(encoding="utf-8"))["sent"])
        except (OSError, ValueError, KeyError):
            return 0


class Budget:
    """One case's share of the plan: at most ``limit`` requests."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self.used = 0

    def take(self, n: int = 1) -> None:
        if self.used + n > self.limit:
            raise PlanExceeded(
                f"{self.what} planned {self.limit} requests and would send {self.used + n} "
                "(a harness error: nothing more was sent)"
            )
        self.used += n
