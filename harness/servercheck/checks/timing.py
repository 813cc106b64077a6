"""Timing: B1 the budget, B2 Cisco's 300 ms, C1 lookups at once."""

from __future__ import annotations

import statistics

from .. import documents
from ..model import ServerCase, ServerVerdict
from ._common import Exchanges, lines, near, parsed_body, verdict

#: B2: Cisco's stated limit for a compliance query ("anything above 300 ms will have an impact").
LOOKUP_LIMIT_S = 0.300


def check_b1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    budget = float(case.params.get("budget_s", 30.0))
    for ex in exchanges:
        if ex.status is None:
            return verdict(case, "broken", f"no answer to {ex.probe.label}: {ex.error}", lines(ex))
        if ex.seconds > budget:
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} took {ex.seconds:.3f} s, more than the budget of {budget:.3f} s",
                lines(ex),
            )
    slowest = max(exchanges, key=lambda e: e.seconds)
    return verdict(
        case,
        "holds",
        f"{len(exchanges)} answers within {budget:.3f} s (slowest {slowest.seconds * 1000:.1f} ms)",
    )


def check_b2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    times = [ex.seconds for ex in exchanges if ex.status is not None]
    if not times:
        return verdict(
            case, "inconclusive", "no lookup was answered (B1 judges that)", lines(*exchanges)
        )
    median = statistics.median(times)
    summary = ", ".join(f"{t * 1000:.0f}" for t in times)
    if median > LOOKUP_LIMIT_S:
        return verdict(
            case,
            "broken",
            f"the median compliance lookup took {median * 1000:.0f} ms (of {summary} ms); Cisco expects at most 300",
            lines(*exchanges),
        )
    return verdict(case, "holds", f"median {median * 1000:.1f} ms (of {summary} ms)")


def check_c1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    expected: list[str] = list(case.params.get("macs", []))
    for ex, mac in zip(exchanges, expected, strict=False):
        if ex.status is None:
            return verdict(
                case,
                "broken",
                f"no answer to {ex.probe.label} among {len(exchanges)} at once: {ex.error}",
                lines(ex),
            )
        if ex.status != 200:
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} answered {ex.status} among {len(exchanges)} at once",
                lines(ex),
            )
        parsed = parsed_body(ex)
        if not parsed.ok:
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} among {len(exchanges)} at once: {parsed.problem}",
                lines(ex, near=near(parsed, ex)),
            )
        found = documents.devices(parsed.root) or []
        if len(found) != 1 or documents.mac_or_none(mac) not in found[0].macs:
            got = ", ".join(f"{d.key_kind} {d.key}" for d in found) or "no device"
            return verdict(
                case,
                "broken",
                f"{ex.probe.label}, one of {len(exchanges)} at once, answered {got}",
                lines(ex),
            )
    return verdict(
        case, "holds", f"{len(exchanges)} lookups at once, each answered with its device"
    )
