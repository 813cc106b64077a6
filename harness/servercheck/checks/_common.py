"""What every server check shares: verdicts, evidence lines, and the failures every request owns."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .. import documents
from ..model import Exchange, ServerCase, ServerVerdict, Status

Exchanges = Sequence[Exchange]


def verdict(
    case: ServerCase, status: Status, reason: str, evidence: Sequence[str] = ()
) -> ServerVerdict:
    return ServerVerdict(case.contract, status, reason, tuple(evidence))


def not_applicable(contract: str, reason: str) -> ServerVerdict:
    return ServerVerdict(contract, "not applicable", reason)


def lines(*exchanges: Exchange, near: bytes | None = None) -> list[str]:
    out: list[str] = []
    for ex in exchanges:
        out += ex.describe(near)
    return out


def no_answer(case: ServerCase, ex: Exchange) -> ServerVerdict | None:
    """Broken when the request got no answer, a 5xx or a redirect; else None."""
    if ex.status is None:
        return verdict(case, "broken", f"no answer to {ex.probe.label}: {ex.error}", lines(ex))
    if ex.status >= 500:
        return verdict(case, "broken", f"{ex.probe.label} answered {ex.status}", lines(ex))
    if 300 <= ex.status < 400:
        where = ex.header("location") or "nowhere"
        return verdict(
            case,
            "broken",
            f"{ex.probe.label} answered a {ex.status} redirect to {where}",
            lines(ex),
        )
    return None


def parsed_body(ex: Exchange) -> documents.Parsed:
    return documents.read(ex.body)


def near(parsed: documents.Parsed, ex: Exchange) -> bytes | None:
    """Where a syntax problem is, for the excerpt: the first raw markup character."""
    if parsed.ok:
        return None
    match = re.search(rb"&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)", ex.body)
    return match.group(0) if match else None


def not_well_formed(case: ServerCase, ex: Exchange, parsed: documents.Parsed) -> ServerVerdict:
    """Broken: the answer's body is not a well-formed document (the excerpt shows where)."""
    return verdict(
        case, "broken", f"{ex.probe.label}: {parsed.problem}", lines(ex, near=near(parsed, ex))
    )


def answered_well_formed(
    case: ServerCase, ex: Exchange
) -> tuple[ServerVerdict | None, documents.Parsed | None]:
    """A request that must be answered 200 with a well-formed body: ``(None, parsed)`` when it
    was, else ``(the broken verdict, None)`` - no answer, a 5xx, a redirect, another status, or
    a body that is not well-formed."""
    failed = no_answer(case, ex)
    if failed is None and ex.status != 200:
        failed = verdict(case, "broken", f"{ex.probe.label} answered {ex.status}", lines(ex))
    if failed is not None:
        return failed, None
    parsed = parsed_body(ex)
    if not parsed.ok:
        return not_well_formed(case, ex, parsed), None
    return None, parsed


def inconclusive_xml(case: ServerCase, ex: Exchange, parsed: documents.Parsed) -> ServerVerdict:
    return verdict(
        case,
        "inconclusive",
        f"{ex.probe.label}: {parsed.problem} (X1 judges that)",
        lines(ex, near=near(parsed, ex)),
    )
