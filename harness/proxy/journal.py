"""The journal: one :class:`~harness.attempt.Attempt` record per attempt, counters, canary hits.

The record type is shared with the harness that reads the journal (``harness.attempt``); this
module keeps the records of one proxy process. A connection that carries requests is not an
attempt of its own: its first request's record keeps the connection's start as
``connect_start`` (and its ``seq``, reserved when the connection was accepted).

Retention is capped (oldest records dropped, counted in ``dropped``) so a long-lived proxy's
memory stays flat. Credentials are never stored: only the scheme and an HMAC-SHA256 prefix.

Optionally every record is also appended to a file as it finishes (:meth:`Journal.attach_file`):
one JSON line per record, each written with a single ``write(2)`` on an ``O_APPEND`` descriptor,
so a proxy killed with SIGKILL leaves every finished record whole (the kernel has the bytes; an
``fsync`` per record, which only a power cut would need, is not paid). Lines are in the order
records finished; a reset does not touch the file (``seq`` starts again at 1 after it).
:func:`read_file` reads such a file back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import math
import os
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

from harness.attempt import Attempt, ClientEnd, FaultFired

#: Default retention cap (records).
DEFAULT_MAX_RECORDS = 10_000

#: How many canary hits are kept (the oldest go first).
MAX_CANARY_HITS = 10_000

logger = logging.getLogger("harness.proxy")

_strict = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _dumps(value: Any) -> str:
    """Strict JSON: a NaN or infinity anywhere (which no loader of the harness lets in) becomes
    ``null`` rather than the bare ``NaN`` that no JSON parser reads."""
    try:
        return _strict(value)
    except ValueError:
        return _strict(_finite(value))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


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
        self._records: deque[Attempt] = deque(maxlen=max_records)
        self._open: dict[int, Attempt] = {}
        self._seq = 0
        self._idle: asyncio.Event | None = None
        self.dropped = 0
        self.by_kind: Counter[str] = Counter()
        self.by_rule: Counter[str] = Counter()
        self.client_ends: Counter[str] = Counter()
        self.fault_errors = 0
        self.skipped = 0
        self.canary: deque[dict[str, Any]] = deque(maxlen=MAX_CANARY_HITS)
        self._file: int | None = None
        self.file_path: Path | None = None
        self.file_errors = 0

    # -- the copy on disk

    def attach_file(self, path: Path | None) -> None:
        """Append every record that finishes from now on to ``path`` (created with mode 0600);
        ``None`` stops. Raises ``OSError`` when the file cannot be opened."""
        if self._file is not None:
            os.close(self._file)
            self._file, self.file_path = None, None
        if path is None:
            return
        self._file = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.file_path = path

    def _write(self, record: Attempt) -> None:
        assert self._file is not None
        data = (_dumps(record.to_json()) + "\n").encode()
        try:
            while data:
                data = data[os.write(self._file, data) :]
        except OSError as exc:
            self.file_errors += 1
            if self.file_errors == 1:
                logger.error("journal file %s: %s (records stay in memory)", self.file_path, exc)

    # -- records

    def open(
        self,
        *,
        conn: str,
        peer: str | None,
        scheme: str,
        host: str | None = None,
        start: float | None = None,
    ) -> Attempt:
        """Start a record (in flight until :meth:`finish`) and give it the next ``seq``."""
        self._seq += 1
        record = Attempt(
            seq=self._seq,
            start=time.monotonic() if start is None else start,
            conn=conn,
            peer=peer,
            scheme=scheme,
            host=host,
        )
        if len(self._records) == self.max_records:
            self.dropped += 1
        self._records.append(record)
        self._open[id(record)] = record
        if self._idle is not None:
            self._idle.clear()
        return record

    def finish(self, record: Attempt, client_end: ClientEnd, *, error: str | None = None) -> bool:
        """End a record; ``False`` (and no change) if it had already ended."""
        if record.end is not None:
            return False
        record.end = time.monotonic()
        record.client_end = client_end
        if error is not None:
            record.error = error
        if self._open.pop(id(record), None) is not None:
            self.client_ends[client_end] += 1
            if not self._open and self._idle is not None:
                self._idle.set()
        if self._file is not None:
            self._write(record)
        return True

    def resize(self, max_records: int) -> None:
        """Change the retention cap, keeping the newest records."""
        if max_records < 1:
            raise ValueError(f"max_records={max_records!r} must be at least 1")
        kept = list(self._records)[-max_records:]
        self.dropped += len(self._records) - len(kept)
        self._records = deque(kept, maxlen=max_records)
        self.max_records = max_records

    def count_fault(self, fault: FaultFired) -> None:
        """Count a fault that fired (per kind and per rule)."""
        self.by_kind[fault.kind] += 1
        self.by_rule[fault.rule] += 1

    def __len__(self) -> int:
        return len(self._records)

    @property
    def in_flight(self) -> int:
        return len(self._open)

    def records(self) -> list[Attempt]:
        """The retained records, oldest first."""
        return list(self._records)

    def jsonl(self) -> str:
        """The retained records as JSON lines."""
        return "".join(_dumps(r.to_json()) + "\n" for r in self._records)

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
            "file_errors": self.file_errors,
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


def read_file(path: str | os.PathLike[str]) -> list[Attempt]:
    """The records of a journal file (``harness_journal_file``), in the order they finished.

    A last line without its newline (a write cut short by a full disk) is left out; any other
    line that is not a record raises ``ValueError`` naming the file and line.
    """
    records = []
    text = Path(path).read_text(encoding="utf-8")
    lines = text.split("\n")
    for number, line in enumerate(lines[:-1], 1):
        try:
            records.append(Attempt.from_json(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not a journal record: {exc}") from None
    return records
