"""Paging: one walk of the non-compliant listing judged five ways (G1-G5)."""

from __future__ import annotations

import re

from .. import documents
from ..model import Exchange, ServerCase, ServerVerdict
from ._common import Exchanges, inconclusive_xml, lines, no_answer, parsed_body, verdict

#: G5: the longest server_busy_wait_seconds the harness calls reasonable [ours].
BUSY_WAIT_MAX_S = 3600
_INT = re.compile(r"[+-]?[0-9]+")


def _pages(exchanges: Exchanges) -> list[tuple[Exchange, documents.Parsed]]:
    return [(ex, parsed_body(ex)) for ex in exchanges]


def check_g1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    max_pages = int(case.params.get("max_pages", 0))
    seen_keys: dict[str, int] = {}
    seen_cursors: set[str] = set()
    pages = _pages(exchanges)
    for number, (ex, parsed) in enumerate(pages, start=1):
        if number == 1:
            failed = no_answer(case, ex)
            if failed:
                return failed
            if ex.status != 200:
                return verdict(
                    case,
                    "broken",
                    f"the first page of the listing answered {ex.status}",
                    lines(ex),
                )
        elif ex.status != 200:
            return verdict(
                case,
                "inconclusive",
                f"the walk stopped at page {number}: the cursor was answered {ex.status} (G3 judges that)",
                lines(ex),
            )
        if not parsed.ok:
            return inconclusive_xml(case, ex, parsed)
        found = documents.devices(parsed.root) or []
        for dev in found:
            key = (dev.key or "").lower()
            if key in seen_keys:
                return verdict(
                    case,
                    "broken",
                    f"device {dev.key} came on page {seen_keys[key]} and again on page {number}",
                    lines(pages[seen_keys[key] - 1][0], ex, near=(dev.key or "").encode()),
                )
            seen_keys[key] = number
        cursor = documents.text(parsed.root, "paging_info")
        if cursor in (None, "0"):
            return verdict(
                case,
                "holds",
                f"the listing ended after {number} page(s), {len(seen_keys)} devices, none twice",
            )
        if cursor in seen_cursors:
            return verdict(
                case,
                "broken",
                f"page {number} sends the walk back to cursor {cursor!r}, used before",
                lines(ex),
            )
        seen_cursors.add(cursor)
    return verdict(
        case,
        "inconclusive",
        f"the listing did not end within the planned {max_pages} pages ({len(seen_keys)} devices, none twice); "
        "raise --max-pages to walk it whole",
    )


def check_g2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    limit = int(case.params.get("query_max_size", 5000))
    judged = 0
    for number, (ex, parsed) in enumerate(_pages(exchanges), start=1):
        if ex.status != 200 or not parsed.ok:
            continue
        found = documents.devices(parsed.root) or []
        judged += 1
        if len(found) > limit:
            return verdict(
                case,
                "broken",
                f"page {number} holds {len(found)} devices; discovery announced query_max_size {limit}",
                lines(ex),
            )
    if not judged:
        return verdict(case, "inconclusive", "no page to judge", lines(*exchanges))
    return verdict(case, "holds", f"{judged} page(s), none above query_max_size {limit}")


def check_g3(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    sent = 0
    for number, ex in enumerate(exchanges, start=1):
        if number == 1:
            continue
        sent += 1
        failed = no_answer(case, ex)
        if failed:
            return failed
        if ex.status != 200:
            asked = ex.attempt.param("paging") if ex.attempt is not None else None
            return verdict(
                case,
                "broken",
                f"the cursor of page {number - 1}, sent back verbatim (paging={asked!r}), was answered {ex.status}",
                lines(ex),
            )
    if not sent:
        return verdict(
            case, "not applicable", "the listing fit one page: there was no cursor to send back"
        )
    return verdict(
        case, "holds", f"{sent} cursor(s) sent back verbatim, each answered with its page"
    )


def _busy_values(exchanges: Exchanges) -> list[tuple[Exchange, str]]:
    out = []
    for ex, parsed in _pages(exchanges):
        if ex.status == 200 and parsed.ok:
            value = documents.text(parsed.root, "server_busy_wait_seconds")
            if documents.child(parsed.root, "server_busy_wait_seconds") is not None:
                out.append((ex, value or ""))
    return out


def check_g4(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    values = _busy_values(exchanges)
    for ex, value in values:
        if not _INT.fullmatch(value) or int(value) < 0:
            return verdict(
                case,
                "broken",
                f"server_busy_wait_seconds is {value!r}, not a non-negative integer",
                lines(ex, near=b"<server_busy_wait_seconds>"),
            )
    if not values:
        return verdict(case, "holds", "no page sent server_busy_wait_seconds")
    return verdict(
        case, "holds", f"server_busy_wait_seconds {', '.join(sorted({v for _, v in values}))}"
    )


def check_g5(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    for ex, value in _busy_values(exchanges):
        if _INT.fullmatch(value) and int(value) > BUSY_WAIT_MAX_S:
            return verdict(
                case,
                "broken",
                f"server_busy_wait_seconds is {value}: more than {BUSY_WAIT_MAX_S} s",
                lines(ex, near=b"<server_busy_wait_seconds>"),
            )
    return verdict(case, "holds", f"no server_busy_wait_seconds above {BUSY_WAIT_MAX_S}")
