"""The rate cap and the plan's total hold for a whole run, across processes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from harness._util import python
from harness.servercheck.pace import Budget, Pacer, PlanExceeded

#: Lower bounds get 10 ms of slack (timers and the lock): a waiting pacer is never early by more.
SLACK = 0.010


def test_requests_are_spaced_by_the_rate(tmp_path: Path) -> None:
    pacer = Pacer(tmp_path / "pacer.json", rate=20, limit=100)
    started = time.monotonic()
    for _ in range(6):
        pacer.acquire()
    assert time.monotonic() - started >= 5 / 20 - SLACK
    assert pacer.sent == 6


def test_a_burst_pays_for_its_requests_before_it_goes(tmp_path: Path) -> None:
    pacer = Pacer(tmp_path / "pacer.json", rate=10, limit=100)
    pacer.acquire()
    started = time.monotonic()
    pacer.acquire(4)  # one interval for the request before, three more for the burst's size
    assert time.monotonic() - started >= 4 / 10 - SLACK
    assert pacer.sent == 5


def test_no_cap_means_no_wait_but_the_total_still_holds(tmp_path: Path) -> None:
    pacer = Pacer(tmp_path / "pacer.json", rate=0, limit=3)
    for _ in range(3):
        pacer.acquire()
    with pytest.raises(PlanExceeded, match="the plan allows 3 requests and 3 were sent"):
        pacer.acquire()
    with pytest.raises(PlanExceeded):
        Pacer(tmp_path / "pacer.json", rate=0, limit=4).acquire(
            2
        )  # a burst beyond it: refused whole
    assert pacer.sent == 3


_TAKE = """
import json, sys
from harness.servercheck.pace import Pacer, PlanExceeded
path, count, rate, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
pacer = Pacer(path, rate=rate, limit=limit)
granted = refused = 0
for _ in range(count):
    try:
        pacer.acquire()
        granted += 1
    except PlanExceeded:
        refused += 1
print(json.dumps([granted, refused]))
"""


def test_every_process_of_a_run_shares_the_rate_and_the_total(tmp_path: Path) -> None:
    path = str(tmp_path / "pacer.json")
    command = [*python("-c", _TAKE), path, "8", "40", "12"]
    started = time.monotonic()
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    results = [json.loads(w.communicate(timeout=120)[0]) for w in workers]
    elapsed = time.monotonic() - started
    assert [w.returncode for w in workers] == [0, 0]
    assert sum(g for g, _ in results) == 12 and sum(r for _, r in results) == 4
    assert elapsed >= 11 / 40 - SLACK  # 12 requests at 40/s, whoever sent them
    assert Pacer(path, rate=40, limit=12).sent == 12


def test_a_case_budget() -> None:
    budget = Budget(2, "L3: v3 one device")
    budget.take()
    budget.take()
    with pytest.raises(PlanExceeded, match="L3: v3 one device planned 2 requests and would send 3"):
        budget.take()
