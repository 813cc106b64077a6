"""The proxy's journal: records, retention, counters, JSON lines, idleness; credentials."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from harness.attempt import FaultFired
from harness.proxy.journal import Journal, auth_of, credential_hash


def test_credentials_become_scheme_and_hash_only() -> None:
    header = "Basic " + base64.b64encode(b"ise:s3cret").decode()
    auth = auth_of(header, b"key")
    assert auth == {"scheme": "Basic", "hash": credential_hash(b"key", b"ise:s3cret")}
    assert len(auth["hash"]) == 16 and "s3cret" not in json.dumps(auth)
    assert auth_of(header, b"other")["hash"] != auth["hash"]  # type: ignore[index]
    assert auth_of("Bearer tok", b"key") == {
        "scheme": "Bearer",
        "hash": credential_hash(b"key", b"tok"),
    }
    assert auth_of(None, b"key") is None


def test_records_seq_finish_and_counters() -> None:
    journal = Journal()
    a = journal.open(conn="1", peer="127.0.0.1:1", scheme="https")
    b = journal.open(conn="2", peer=None, scheme="http")
    assert (a.seq, b.seq) == (1, 2) and journal.in_flight == 2
    a.advance("tls")
    a.advance("connect")  # never backwards
    assert a.phase == "tls"
    assert journal.finish(a, "client_closed") is True
    assert journal.finish(a, "completed") is False and a.client_end == "client_closed"
    journal.count_fault(FaultFired(rule="r1", kind="hang", phase="request"))
    journal.finish(b, "error", error="boom")
    counters = journal.counters()
    assert counters["attempts"] == 2 and counters["in_flight"] == 0
    assert counters["client_end"] == {"client_closed": 1, "error": 1}
    assert counters["by_kind"] == {"hang": 1} and counters["by_rule"] == {"r1": 1}
    lines = journal.jsonl().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert json.loads(lines[1])["error"] == "boom"


def test_retention_is_capped_and_drops_are_counted() -> None:
    journal = Journal(max_records=3)
    for _ in range(5):
        journal.finish(journal.open(conn="c", peer=None, scheme="https"), "completed")
    assert [r.seq for r in journal.records()] == [3, 4, 5]
    assert journal.dropped == 2
    journal.resize(2)
    assert [r.seq for r in journal.records()] == [4, 5] and journal.dropped == 3
    with pytest.raises(ValueError, match="max_records=0"):
        Journal(0)


def test_reset_forgets_everything_and_restarts_seq() -> None:
    journal = Journal()
    old = journal.open(conn="c", peer=None, scheme="https")
    journal.canary.append({"token": "t"})
    journal.reset()
    assert journal.records() == [] and not journal.canary and journal.in_flight == 0
    assert journal.open(conn="c", peer=None, scheme="https").seq == 1
    journal.finish(old, "completed")  # a record from before the reset ends quietly
    assert journal.in_flight == 1


def test_wait_idle() -> None:
    async def go() -> tuple[bool, bool, float]:
        journal = Journal()
        record = journal.open(conn="c", peer=None, scheme="https")
        timed_out = await journal.wait_idle(0.05)
        asyncio.get_running_loop().call_later(0.05, journal.finish, record, "completed")
        start = asyncio.get_running_loop().time()
        idle = await journal.wait_idle(5)
        return timed_out, idle, asyncio.get_running_loop().time() - start

    timed_out, idle, took = asyncio.run(go())
    assert timed_out is False and idle is True and took < 2
