"""The one load generator of every benchmark: JSON lines in, JSON lines out, nanoseconds.

It runs as its own process (``python -m harness.bench.loadgen``), so the harness measured and
the client measuring do not share an interpreter. Each line on stdin is one job; for each job
one line on stdout is its result, in the same order. A job (every key but ``target``, ``ca``
and ``paths`` optional)::

    {"target": ["127.0.0.1", 8443],   # where TLS goes; with "proxy", the CONNECT authority
     "proxy": ["127.0.0.1", 8080],    # an explicit proxy: CONNECT through it (default: none)
     "tls": true, "sni": "name",      # TLS server name (default: the target's host)
     "ca": "/path/ca.pem",            # the one CA trusted (never the environment's)
     "host": "Host header",           # default: the target's host
     "method": "GET", "headers": {"Authorization": "..."},
     "warmup": ["/path", ...],        # sent first on each connection, not measured
     "paths": ["/path", ...],         # the measured requests
     "connections": 1,                # concurrent connections; path i goes to connection
                                      # i mod connections
     "fresh": false,                  # a new connection (CONNECT and TLS) per measured request
     "pause_ns": 0,                   # a client thinking between requests (not measured)
     "until": null, "attempts": 1,    # resend a request until its status is `until`, at most
                                      # `attempts` times (one sample: first byte out to 200)
     "reset": {"method": "POST", "url": "http://...", "headers": {}},
                                      # an untimed request before every measured sample
     "expect": [200],                 # the statuses of a good sample (null: judge nothing)
     "timeout_s": 30}

and its result, one entry per measured path in the order of ``paths``::

    {"latencies_ns": [...],   # request written (fresh: connect started) to last body byte
     "first_byte_ns": [...],  # ... to the first body byte (null: no body)
     "statuses": [[200], ...],# every status of the sample (several with `until`)
     "bytes": [...],          # body length of the sample's last answer
     "sent": [...],           # whether the request was fully written
     "errors": [...],         # null, or what broke: "ConnectionResetError: ...", "expect: ..."
     "warmup_ns": [...],      # latencies of the warm-up requests
     "total_ns": 123}         # wall time of the measured part

Only loopback is reached: the proxy (or, without one, the target) and the reset URL must be
127.0.0.0/8, ::1 or ``localhost``; the target behind a proxy is only a CONNECT authority.

A transport failure or an unexpected status is recorded in ``errors`` and the connection is
opened anew for the next request; nothing is retried behind the caller's back. Bodies are read
by ``Content-Length``, chunked coding, or to the end of the connection.
"""

from __future__ import annotations

import asyncio
import json
import math
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from harness._util import is_loopback_host

__all__ = ["Answer", "Job", "main", "ms", "percentile", "run_job", "spawn", "summary"]

_CLOCK = time.perf_counter_ns
_MAX_HEAD = 1 << 16


@dataclass
class Job:
    """One job of the format in the module doc (defaults as documented there)."""

    target: tuple[str, int]
    ca: str
    paths: list[str]
    proxy: tuple[str, int] | None = None
    tls: bool = True
    sni: str | None = None
    host: str | None = None
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    warmup: list[str] = field(default_factory=list)
    connections: int = 1
    fresh: bool = False
    pause_ns: int = 0
    until: int | None = None
    attempts: int = 1
    reset: dict[str, Any] | None = None
    expect: list[int] | None = field(default_factory=lambda: [200])
    timeout_s: float = 30.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown job keys: {', '.join(unknown)}")
        values = dict(data)
        values["target"] = (str(data["target"][0]), int(data["target"][1]))
        if data.get("proxy"):
            values["proxy"] = (str(data["proxy"][0]), int(data["proxy"][1]))
        job = cls(**values)
        if job.connections < 1 or job.attempts < 1:
            raise ValueError("connections and attempts must be at least 1")
        reached = [(job.proxy or job.target)[0]]
        if job.reset:
            reached.append(urlsplit(job.reset["url"]).hostname or "")
        for host in reached:
            if not is_loopback_host(host):
                raise ValueError(f"{host!r} is not a loopback address: the load stays on loopback")
        return job


@dataclass
class Answer:
    """One HTTP answer: status, body length, when its first body byte came, and whether the
    server closes the connection after it."""

    status: int
    length: int
    first_byte_ns: int | None
    close: bool


class _Connection:
    """One HTTP/1.1 connection, direct or through CONNECT, TLS or not."""

    def __init__(self, target: tuple[str, int], job: Job, *, proxy: tuple[str, int] | None,
                 tls: bool, sni: str | None) -> None:  # fmt: skip
        self.target, self.job, self.proxy, self.tls, self.sni = target, job, proxy, tls, sni
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, context: ssl.SSLContext) -> None:
        host, port = self.target
        sni = self.sni or host
        if self.proxy is None:
            self.reader, self.writer = await asyncio.open_connection(
                host, port, ssl=context if self.tls else None,
                server_hostname=sni if self.tls else None,
            )  # fmt: skip
            return
        self.reader, self.writer = await asyncio.open_connection(*self.proxy)
        authority = f"{host}:{port}"
        self.writer.write(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
            raise ConnectionError(f"CONNECT refused: {head[:200]!r}")
        if self.tls:
            await self.writer.start_tls(context, server_hostname=sni)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, request: bytes) -> None:
        assert self.writer is not None
        self.writer.write(request)
        await self.writer.drain()

    async def answer(self, started: int) -> Answer:
        """Read one response; ``first_byte_ns`` counts from ``started``."""
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEAD:
            raise ValueError("response head too long")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        close = fields.get("connection", "").lower() == "close"
        length = 0
        first: int | None = None
        if "chunked" in fields.get("transfer-encoding", "").lower():
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                first = first if first is not None else _CLOCK() - started
                if size == 0:
                    await self.reader.readuntil(b"\r\n")  # no trailers expected
                    break
                await self.reader.readexactly(size + 2)
                length += size
        elif "content-length" in fields:
            remaining = int(fields["content-length"])
            while remaining:
                chunk = await self.reader.read(min(remaining, 1 << 16))
                if not chunk:
                    raise asyncio.IncompleteReadError(b"", remaining)
                first = first if first is not None else _CLOCK() - started
                length += len(chunk)
                remaining -= len(chunk)
        elif status >= 200 and status not in (204, 304):
            while chunk := await self.reader.read(1 << 16):
                first = first if first is not None else _CLOCK() - started
                length += len(chunk)
            close = True
        return Answer(status, length, first, close)


def _context(ca: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca)
    return context


def _request(method: str, path: str, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    body = b""
    if method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Worker:
    """One connection's share of a job."""

    def __init__(self, job: Job, context: ssl.SSLContext) -> None:
        self.job, self.context = job, context
        self.conn: _Connection | None = None
        self.reset_conn: _Connection | None = None
        host = job.host or job.target[0]
        self.host = host
        self.reset_url = urlsplit(job.reset["url"]) if job.reset else None

    def _new(self) -> _Connection:
        return _Connection(self.job.target, self.job, proxy=self.job.proxy, tls=self.job.tls,
                           sni=self.job.sni)  # fmt: skip

    async def reset(self) -> None:
        reset, url = self.job.reset, self.reset_url
        if reset is None or url is None:
            return
        if self.reset_conn is None:
            https = url.scheme == "https"
            target = (url.hostname or "127.0.0.1", url.port or (443 if https else 80))
            self.reset_conn = _Connection(target, self.job, proxy=None, tls=https, sni=None)
            await self.reset_conn.open(self.context)
        request = _request(reset.get("method", "POST"), url.path or "/",
                           url.netloc, reset.get("headers", {}))  # fmt: skip
        await self.reset_conn.send(request)
        answer = await self.reset_conn.answer(_CLOCK())
        if answer.status >= 300:
            raise RuntimeError(f"reset {url.geturl()} answered {answer.status}")
        if answer.close:
            self.reset_conn.close()
            self.reset_conn = None

    async def sample(self, path: str, fresh: bool) -> dict[str, Any]:
        """One measured (or warm-up) request, resent while ``until`` asks for it."""
        job = self.job
        out: dict[str, Any] = {
            "statuses": [], "sent": False, "error": None, "bytes": 0, "first_byte_ns": None,
        }  # fmt: skip
        request = _request(job.method, path, self.host, job.headers)
        started = _CLOCK()
        try:
            if fresh and self.conn is not None:
                self.conn.close()
                self.conn = None
            async with asyncio.timeout(job.timeout_s * job.attempts):
                await self._attempts(request, fresh, out)
        except Exception as exc:  # the sample broke: say how, start afresh
            out["error"] = _describe(exc)
            if self.conn is not None:
                self.conn.close()
                self.conn = None
        out["latency_ns"] = _CLOCK() - out.pop("started", started)
        if out["error"] is None and job.expect is not None and out["statuses"] != job.expect:
            out["error"] = f"expect: statuses {out['statuses']}, not {job.expect}"
        return out

    async def _attempts(self, request: bytes, fresh: bool, out: dict[str, Any]) -> None:
        job = self.job
        first: int | None = None
        started = _CLOCK()
        out["started"] = started
        for _ in range(job.attempts):
            if self.conn is None:
                conn = self._new()
                await conn.open(self.context)
                self.conn = conn
            if not fresh and not out["statuses"]:
                started = out["started"] = _CLOCK()  # keep-alive: time the exchange only
            await self.conn.send(request)
            out["sent"] = True
            answer = await self.conn.answer(started)
            first = answer.first_byte_ns if first is None else first
            out["first_byte_ns"] = first
            out["statuses"].append(answer.status)
            out["bytes"] = answer.length
            if answer.close:
                self.conn.close()
                self.conn = None
            if job.until is None or answer.status == job.until:
                break

    def close(self) -> None:
        for conn in (self.conn, self.reset_conn):
            if conn is not None:
                conn.close()


async def _run(job: Job) -> dict[str, Any]:
    context = _context(job.ca)
    samples: list[dict[str, Any] | None] = [None] * len(job.paths)
    warmup_ns: list[int] = []

    spans: list[tuple[int, int]] = []

    async def connection(k: int, worker: _Worker) -> None:
        try:
            for path in job.warmup:
                warm = await worker.sample(path, fresh=False)
                if warm["error"] is not None:
                    raise RuntimeError(f"warm-up {path}: {warm['error']}")
                warmup_ns.append(warm["latency_ns"])
            began = _CLOCK()
            for i in range(k, len(job.paths), job.connections):
                if job.pause_ns and i >= job.connections:
                    await asyncio.sleep(job.pause_ns / 1e9)
                await worker.reset()
                samples[i] = await worker.sample(job.paths[i], fresh=job.fresh)
            spans.append((began, _CLOCK()))
        finally:
            worker.close()

    workers = [_Worker(job, context) for _ in range(job.connections)]
    await asyncio.gather(*(connection(k, w) for k, w in enumerate(workers)))
    total = max(end for _, end in spans) - min(start for start, _ in spans) if spans else 0
    done = [s for s in samples if s is not None]
    return {
        "latencies_ns": [s["latency_ns"] for s in done],
        "first_byte_ns": [s["first_byte_ns"] for s in done],
        "statuses": [s["statuses"] for s in done],
        "bytes": [s["bytes"] for s in done],
        "sent": [s["sent"] for s in done],
        "errors": [s["error"] for s in done],
        "warmup_ns": warmup_ns,
        "total_ns": total,
    }


def run_job(data: dict[str, Any]) -> dict[str, Any]:
    """Run one job (a dict of the documented format) in this process; its result."""
    return asyncio.run(_run(Job.from_json(data)))


def spawn(
    *jobs: dict[str, Any], timeout: float = 900.0, strict: bool = True
) -> list[dict[str, Any]]:
    """Run ``jobs`` one after another in one load-generator process; their results, in order.
    With ``strict``, a sample that broke (see ``errors``) raises :class:`RuntimeError`."""
    from harness import _util

    proc = subprocess.run(
        _util.python("-m", "harness.bench.loadgen"),
        input="".join(json.dumps(job) + "\n" for job in jobs),
        capture_output=True, text=True, timeout=timeout, env=_util.scrubbed_env(), check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr.strip()[-2000:]}")
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(results) != len(jobs):
        raise RuntimeError(f"load generator answered {len(results)} of {len(jobs)} jobs")
    if strict:
        for result in results:
            broken = [e for e in result["errors"] if e is not None]
            if broken:
                raise RuntimeError(f"{len(broken)} requests failed, the first: {broken[0]}")
    return results


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (NaN when empty)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def ms(ns: float) -> float:
    """Nanoseconds as milliseconds, to the microsecond."""
    return round(ns / 1e6, 3)


def summary(result: dict[str, Any]) -> tuple[float, float, float]:
    """``(p50 ms, p99 ms, requests per second)`` of a result."""
    latencies = result["latencies_ns"]
    seconds = result["total_ns"] / 1e9
    return (
        ms(percentile(latencies, 0.50)),
        ms(percentile(latencies, 0.99)),
        round(len(latencies) / seconds, 1) if seconds else 0.0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Read jobs from stdin, one JSON object a line; print one result a line, in order."""
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(run_job(json.loads(line))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
