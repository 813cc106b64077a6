"""The soak benchmark: many concurrent CONNECT+TLS lookups through the fault proxy with mixed
faults, round after round - is every attempt journaled exactly once, and does the proxy give
its memory and descriptors back? ``mdm-harness bench soak [--concurrency N] [--rounds R]``.

A reference MDM runs in this process and the fault proxy (mitmdump) in its own; one
load-generator process (:mod:`harness.bench.loadgen`) opens ``concurrency`` connections at once,
each a CONNECT to the proxy, a TLS handshake, and one device lookup by MAC. Every lookup carries
its own id (``soak_id=<round>.<n>``) and the fault it asks for (``soak_fault``), drawn in turn
from :data:`FAULTS`: ``status_503``, ``reset``, ``delay``, ``xml_truncate`` and ``pass``
(no rule: pass-through). Per round the proxy's journal is cleared first and read after the
round, once no attempt is in flight; then:

* **sent**: requests the load generator wrote in full (a connection that failed before
  ``sent`` is ``not sent``);
* **lost**: sent but not in the journal; **duplicated**: journaled more than once;
* **misfired**: journaled with another fault than the one asked for (a fault skipped is a
  false verdict waiting to happen);
* latency p50/p99, from the start of the connection to the last byte of the answer (or the
  reset), over every sent lookup;
* the proxy's RSS (``/proc/PID/status`` VmRSS) and open descriptors (``/proc/PID/fd``) before
  the round and after it, once the connections are closed.

The verdict fails - exit code 1 - when any request was not sent, lost, duplicated or
misfired, when the descriptors do not come back to their count before the first round
within ``fd_tolerance`` (waiting up to 15 s for the connections to close), or when RSS after
a round exceeds RSS after the first round by more than ``rss_tolerance_mib``: the first round
warms the allocator (500 concurrent TLS connections leave Python's arenas larger), later rounds
must not grow it. This is a correctness soak, not a speed figure: latencies are printed, never
judged.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import _util
from harness.bench.loadgen import ms, percentile, spawn
from harness.bench.procfs import open_fds, rss_mib

__all__ = ["FAULTS", "format_round", "format_verdict", "run", "scenario"]

#: The faults a lookup may ask for, in turn; ``pass`` has no rule (pass-through).
FAULTS = ("status_503", "reset", "delay", "xml_truncate", "pass")

_PUBLIC = "acme.jamfcloud.test"
_API = "/7/ciscoise/v3/devices/"


def scenario(delay_ms: int) -> dict[str, Any]:
    """The mixed-fault scenario: one rule per fault of :data:`FAULTS` but ``pass``, each
    matching the lookups that ask for it."""
    faults: dict[str, Any] = {
        "status_503": "status_503",
        "reset": "reset",
        "delay": {"kind": "delay", "delay_ms": delay_ms},
        "xml_truncate": {"kind": "xml_truncate", "fraction": 0.5},
    }
    rules = []
    for kind, fault in faults.items():
        match: dict[str, Any] = {"query": {"soak_fault": kind}}
        if kind == "xml_truncate":
            match["phase"] = "response"
        rules.append({"name": f"soak-{kind}", "match": match, "fault": fault})
    return {"name": "soak-mixed", "rules": rules}


def _paths(round_no: int, macs: list[str], concurrency: int) -> tuple[list[str], list[str]]:
    """The ids and paths of one round's lookups."""
    ids, paths = [], []
    for n in range(concurrency):
        soak_id = f"{round_no}.{n}"
        fault = FAULTS[n % len(FAULTS)]
        ids.append(soak_id)
        paths.append(
            f"{_API}?paging=0&querycriteria=macaddress&value={macs[n % len(macs)]}"
            f"&filter=all&soak_id={soak_id}&soak_fault={fault}"
        )
    return ids, paths


def _fault_of(record: Any) -> str:
    for fired in (record.fault, record.conn_fault):
        if fired is not None and not fired.skipped:
            return str(fired.name or fired.kind)  # a shorthand keeps its name
    return "pass"


def run(
    concurrency: int = 500,
    rounds: int = 3,
    *,
    delay_ms: int = 200,
    rss_tolerance_mib: float = 32.0,
    fd_tolerance: int = 4,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the soak; a dict with ``rounds`` (one dict per round, the keys of
    :func:`format_round`), the start figures, ``problems`` and ``verdict`` (PASS or FAIL)."""
    from harness.mdm import ReferenceMDM
    from harness.proxy.launcher import FaultProxy
    from harness.tls import CertificateAuthority

    say = progress or (lambda message: None)
    out: dict[str, Any] = {
        "concurrency": concurrency,
        "delay_ms": delay_ms,
        "rss_tolerance_mib": rss_tolerance_mib,
        "fd_tolerance": fd_tolerance,
        "rounds": [],
        "problems": [],
    }
    with tempfile.TemporaryDirectory(prefix="mdm-bench-soak-") as tmp:
        ca = CertificateAuthority.load_or_create(Path(tmp) / "ca")
        with (
            ReferenceMDM(ca=ca, devices=max(50, concurrency), seed=3) as mdm,
            FaultProxy(mdm.origin, ca, state_dir=Path(tmp) / "proxy") as proxy,
        ):
            pid = proxy.pid
            if pid is None:
                raise RuntimeError("the proxy has no process")
            macs = [device.macaddress for device in mdm.inventory][:concurrency]
            proxy.control.load_scenario(scenario(delay_ms))
            job = {
                "target": [_PUBLIC, 443],
                "proxy": ["127.0.0.1", proxy.port],
                "ca": str(ca.bundle_path),
                "headers": {"Authorization": mdm.authorization, "Accept": "application/xml"},
                "connections": concurrency,
                "fresh": True,
                "expect": None,
                "timeout_s": 60,
            }
            # One lookup of each kind first, so that the proxy's certificate for the host and
            # its imports are made before the start figures are read.
            proxy.control.reset()
            spawn({**job, "connections": 1, "paths": _paths(0, macs, len(FAULTS))[1]},
                  strict=False)  # fmt: skip
            proxy.control.journal(wait_idle=10)
            fds_start = _settled_fds(pid, None, 0)
            out["fds_start"], out["rss_start_mib"] = fds_start, round(rss_mib(pid), 1)
            first_rss: float | None = None
            for r in range(1, rounds + 1):
                say(f"round {r}/{rounds}: {concurrency} concurrent lookups")
                proxy.control.reset()
                before = (round(rss_mib(pid), 1), open_fds(pid))
                ids, paths = _paths(r, macs, concurrency)
                (result,) = spawn({**job, "paths": paths}, strict=False, timeout=600)
                records = proxy.control.journal(wait_idle=30)
                figures = _round(r, ids, result, records)
                figures["fds_before"], figures["rss_before_mib"] = before[1], before[0]
                figures["fds_after"] = _settled_fds(pid, fds_start, fd_tolerance)
                figures["rss_after_mib"] = round(rss_mib(pid), 1)
                first_rss = figures["rss_after_mib"] if first_rss is None else first_rss
                out["problems"] += _problems(figures, fds_start, first_rss, out)
                out["rounds"].append(figures)
                say(format_round(figures))
    out["verdict"] = "FAIL" if out["problems"] else "PASS"
    return out


def _settled_fds(pid: int, start: int | None, tolerance: int) -> int:
    """The proxy's descriptor count once it is back within ``tolerance`` of ``start`` - or
    after 15 s without getting there, or (``start`` None) once it holds still for 0.5 s."""
    seen: list[tuple[float, int]] = []

    def settled() -> bool:
        now, count = time.monotonic(), open_fds(pid)
        seen.append((now, count))
        if start is not None:
            return count <= start + tolerance
        steady = [c for t, c in seen if now - t <= 0.5]
        return now - seen[0][0] >= 0.5 and len(set(steady)) == 1

    with contextlib.suppress(_util.DeadlineExceeded):  # then the last count tells
        _util.wait_until(settled, timeout=15, interval=0.05, what="the proxy's descriptors")
    return seen[-1][1]


def _round(r: int, ids: list[str], result: dict[str, Any], records: list[Any]) -> dict[str, Any]:
    sent = {soak_id for soak_id, s in zip(ids, result["sent"], strict=True) if s}
    asked = {soak_id: FAULTS[n % len(FAULTS)] for n, soak_id in enumerate(ids)}
    journaled: Counter[str] = Counter()
    misfired = 0
    other = 0
    for record in records:
        soak_id = (record.params.get("soak_id") or [None])[0]
        if soak_id not in asked:
            other += 1
            continue
        journaled[soak_id] += 1
        if _fault_of(record) != asked[soak_id]:
            misfired += 1
    latencies = [ns for ns, s in zip(result["latencies_ns"], result["sent"], strict=True) if s]
    seen: Counter[str] = Counter()
    for n, statuses in enumerate(result["statuses"]):
        seen[f"{FAULTS[n % len(FAULTS)]}->{statuses[-1] if statuses else 'error'}"] += 1
    return {
        "round": r,
        "sent": len(sent),
        "not_sent": len(ids) - len(sent),
        "journal_records": sum(journaled.values()),
        "other_records": other,
        "lost": len(sent - set(journaled)),
        "duplicated": sum(1 for c in journaled.values() if c > 1),
        "misfired": misfired,
        "p50_ms": ms(percentile(latencies, 0.5)) if latencies else None,
        "p99_ms": ms(percentile(latencies, 0.99)) if latencies else None,
        "outcomes": dict(sorted(seen.items())),
        "first_errors": sorted({e for e in result["errors"] if e})[:3],
    }


def _problems(
    f: dict[str, Any], fds_start: int, first_rss: float, out: dict[str, Any]
) -> list[str]:
    r = f"round {f['round']}"
    problems = [
        f"{r}: {f[key]} {label}"
        for key, label in (
            ("not_sent", "requests not sent"),
            ("lost", "requests lost (sent, not journaled)"),
            ("duplicated", "requests journaled twice"),
            ("misfired", "requests journaled with another fault than asked"),
        )
        if f[key]
    ]
    if f["fds_after"] > fds_start + out["fd_tolerance"]:
        problems.append(
            f"{r}: {f['fds_after']} descriptors open after it, {fds_start} before the first "
            f"round (tolerance {out['fd_tolerance']})"
        )
    if f["rss_after_mib"] > first_rss + out["rss_tolerance_mib"]:
        problems.append(
            f"{r}: RSS {f['rss_after_mib']} MiB after it, {first_rss} MiB after round 1 "
            f"(tolerance {out['rss_tolerance_mib']} MiB)"
        )
    return problems


def format_round(f: dict[str, Any]) -> str:
    """One round as one line."""
    return (
        f"round {f['round']}: sent {f['sent']} (not sent {f['not_sent']}), journal "
        f"{f['journal_records']}, lost {f['lost']}, duplicated {f['duplicated']}, misfired "
        f"{f['misfired']}; p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms; proxy RSS "
        f"{f['rss_before_mib']} -> {f['rss_after_mib']} MiB, fds {f['fds_before']} -> "
        f"{f['fds_after']}"
    )


def format_verdict(result: dict[str, Any]) -> str:
    """The closing line (and one line per problem)."""
    rounds = result["rounds"]
    head = (
        f"soak {result['verdict']}: {len(rounds)} rounds x {result['concurrency']} lookups, "
        f"{sum(f['lost'] for f in rounds)} lost, {sum(f['duplicated'] for f in rounds)} "
        f"duplicated; proxy RSS {result['rss_start_mib']} MiB at start, "
        f"{rounds[-1]['rss_after_mib'] if rounds else '?'} MiB at end (tolerance "
        f"{result['rss_tolerance_mib']} MiB over round 1); fds {result['fds_start']} at start, "
        f"{rounds[-1]['fds_after'] if rounds else '?'} at end (tolerance {result['fd_tolerance']})"
    )
    return "\n".join([head, *(f"  {p}" for p in result["problems"])])
