"""The journal: one plain JSON record per attempt, counters, canary hits.

An *attempt* is one HTTP request a client sent, or a connection that failed or was abandoned
before any request (CONNECT refused or hung, TLS handshake failed or stalled, client connected
then closed). A connection that carries requests is not an attempt of its own: its first
request's record keeps the connection's start as ``connect_start`` (and its ``seq``, reserved
when the connection was accepted). Every key is documented in ``docs/proxy.md``; times are
``time.monotonic()`` of the proxy process (CLOCK_MONOTONIC, comparable across processes on
Linux).

Retention is capped (oldest records dropped, counted in ``dropped``) so a long-lived proxy's
memory stays flat. Credentials are never stored: only the scheme and an HMAC-SHA256 prefix.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

#: Default retention cap (records).
DEFAULT_MAX_RECORDS = 10_000

#: How many canary hits are kept (the oldest go first).
MAX_CANARY_HITS = 10_000

#: The ``client_end`` values.
CLIENT_ENDS = ("completed", "client_closed", "proxy_closed", "proxy_reset", "tls_failed", "error")

#: The ``phase`` values, in order.
PHASE_ORDER = ("connect", "tls", "request", "response", "complete")
_RANK = {p: i for i, p in enumerate(PHASE_ORDER)}

_OPERATION_SEGMENTS = ("mdminfo", "batchdevices", "devices", "action", "sendmessage")


def advance(record: dict[str, Any], phase: str) -> None:
    """Move ``record["phase"]`` forward to ``phase`` (never back)."""
    if _RANK[phase] > _RANK[record["phase"]]:
        record["phase"] = phase


def params_of(query: str) -> dict[str, list[str]]:
    """Query parameters as name -> values (``+`` decodes to a space, blanks kept)."""
    return parse_qs(query, keep_blank_values=True) if query else {}


def operation_of(method: str, path: str, params: Mapping[str, Sequence[str]]) -> str:
    """Which ISE MDM API operation a request is (see :data:`harness.scenario.OPERATIONS`).

    The first path segment naming an operation decides (``.../ciscoise/mdminfo/``,
    ``{api_path}/devices/...``, ``{api_path}/action/...``); a device query for
    ``querycriteria=compliance`` with ``value=false`` (or the v1 path form
    ``devices/{paging}/compliance/false``) is the non-compliant listing.
    """
    segments = [s for s in path.split("/") if s]
    for i, segment in enumerate(segments):
        name = segment.split("?", 1)[0].lower()
        if name not in _OPERATION_SEGMENTS:
            continue
        if name == "devices":
            criteria = (params.get("querycriteria") or [""])[0].lower()
            value = (params.get("value") or [""])[0].lower()
            rest = [s.lower() for s in segments[i + 1 : i + 4]]
            if (criteria, value) == ("compliance", "false") or rest[1:3] == ["compliance", "false"]:
                return "noncompliant"
        return name
    return "other"


def auth_of(header: str | None, key: bytes) -> dict[str, str] | None:
    """``{"scheme", "hash"}`` for an Authorization header - never the credentials.

    The hash is the first 16 hex digits of HMAC-SHA256(``key``, credentials), where the
    credentials are the decoded ``user:password`` bytes for Basic (the raw token otherwise).
    """
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    secret = token.encode("latin-1", "replace")
    if scheme.lower() == "basic":
        with contextlib.suppress(binascii.Error, ValueError):
            secret = base64.b64decode(secret, validate=True)
    return {"scheme": scheme, "hash": credential_hash(key, secret)}


def credential_hash(key: bytes, credentials: bytes) -> str:
    """The journal's hash of ``credentials`` under ``key``."""
    return hmac.new(key, credentials, hashlib.sha256).hexdigest()[:16]


class Journal:
    """Records, counters and canary hits of one proxy process (single-threaded: the event loop)."""

    def __init__(self, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        if max_records < 1:
            raise ValueError(f"max_records={max_records!r} must be at least 1")
        self.max_records = max_records
        self._records: deque[dict[str, Any]] = deque(maxlen=max_records)
        self._open: dict[int, dict[str, Any]] = {}
        self._seq = 0
        self._idle: asyncio.Event | None = None
        self.dropped = 0
        self.by_kind: Counter[str] = Counter()
        self.by_rule: Counter[str] = Counter()
        self.client_ends: Counter[str] = Counter()
        self.fault_errors = 0
        self.skipped = 0
        self.canary: deque[dict[str, Any]] = deque(maxlen=MAX_CANARY_HITS)

    # -- records

    def open(
        self,
        *,
        conn: str,
        peer: str | None,
        scheme: str,
        phase: str = "connect",
        host: str | None = None,
        start: float | None = None,
    ) -> dict[str, Any]:
        """Start a record (in flight until :meth:`finish`) and give it the next ``seq``."""
        self._seq += 1
        record: dict[str, Any] = {
            "seq": self._seq,
            "conn": conn,
            "peer": peer,
            "start": time.monotonic() if start is None else start,
            "end": None,
            "connect_start": None,
            "phase": phase,
            "scheme": scheme,
            "host": host,
            "method": None,
            "path": None,
            "query": "",
            "params": {},
            "operation": None,
            "rule": None,
            "fault": None,
            "conn_fault": None,
            "fault_error": None,
            "status": None,
            "request_bytes": 0,
            "response_bytes": 0,
            "upstream": False,
            "client_end": None,
            "error": None,
            "auth": None,
            "seed": None,
            "draw": None,
            "wire": None,
        }
        if len(self._records) == self.max_records:
            self.dropped += 1
        self._records.append(record)
        self._open[id(record)] = record
        if self._idle is not None:
            self._idle.clear()
        return record

    def finish(self, record: dict[str, Any], client_end: str, *, error: str | None = None) -> bool:
        """End a record; ``False`` (and no change) if it had already ended."""
        if record["end"] is not None:
            return False
        record["end"] = time.monotonic()
        record["client_end"] = client_end
        if error is not None:
            record["error"] = error
        if self._open.pop(id(record), None) is not None:
            self.client_ends[client_end] += 1
            if not self._open and self._idle is not None:
                self._idle.set()
        return True

    def resize(self, max_records: int) -> None:
        """Change the retention cap, keeping the newest records."""
        if max_records < 1:
            raise ValueError(f"max_records={max_records!r} must be at least 1")
        kept = list(self._records)[-max_records:]
        self.dropped += len(self._records) - len(kept)
        self._records = deque(kept, maxlen=max_records)
        self.max_records = max_records

    def count_fault(self, fault: Mapping[str, Any]) -> None:
        """Count a fault that fired (per kind and per rule)."""
        self.by_kind[str(fault["kind"])] += 1
        self.by_rule[str(fault["rule"])] += 1

    def __len__(self) -> int:
        return len(self._records)

    @property
    def in_flight(self) -> int:
        return len(self._open)

    def records(self) -> list[dict[str, Any]]:
        """The retained records, oldest first."""
        return list(self._records)

    def jsonl(self) -> str:
        """The retained records as JSON lines."""
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        return "".join(dumps(r) + "\n" for r in self._records)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no attempt is in flight (``True``) or ``timeout`` passes (``False``)."""
        if not self._open:
            return True
        if self._idle is None:
            self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return not self._open
        return True

    def counters(self) -> dict[str, Any]:
        """Counts of attempts, how they ended, faults per kind and rule, errors, canary hits."""
        return {
            "attempts": self._seq,
            "retained": len(self._records),
            "dropped": self.dropped,
            "in_flight": len(self._open),
            "client_end": dict(self.client_ends),
            "by_kind": dict(self.by_kind),
            "by_rule": dict(self.by_rule),
            "fault_errors": self.fault_errors,
            "skipped": self.skipped,
            "canary_hits": len(self.canary),
        }

    def reset(self) -> None:
        """Forget every record, counter and canary hit; ``seq`` starts again at 1."""
        self._records.clear()
        self._open.clear()
        self._seq = 0
        self.dropped = 0
        self.by_kind.clear()
        self.by_rule.clear()
        self.client_ends.clear()
        self.fault_errors = 0
        self.skipped = 0
        self.canary.clear()
        if self._idle is not None:
            self._idle.set()
