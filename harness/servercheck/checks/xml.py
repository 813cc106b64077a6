"""XML: X1 well-formed and labelled, X2 valid attributes documents, X3 hostile values."""

from __future__ import annotations

from .. import documents
from ..model import ServerCase, ServerVerdict
from ._common import Exchanges, lines, near, no_answer, parsed_body, verdict


def check_x1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    judged = 0
    for ex in exchanges:
        if ex.status != 200:
            continue
        judged += 1
        if not documents.is_xml_content_type(ex.content_type):
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} is labelled {ex.content_type or 'with no content type'!r}, not XML",
                lines(ex),
            )
        parsed = parsed_body(ex)
        if not parsed.ok:
            return verdict(
                case,
                "broken",
                f"{ex.probe.label}: {parsed.problem}",
                lines(ex, near=near(parsed, ex)),
            )
    if not judged:
        return verdict(case, "inconclusive", "no request was answered 200", lines(*exchanges))
    return verdict(case, "holds", f"{judged} answers, each well-formed XML labelled as XML")


def check_x2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    judged = 0
    for ex in exchanges:
        if ex.status != 200:
            continue
        parsed = parsed_body(ex)
        if not parsed.ok:
            continue
        assert parsed.root is not None
        judged += 1
        problems = documents.validate(parsed.root, "attributes", drop=("server_busy_wait_seconds",))
        if problems:
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} is not a valid attributes document: " + "; ".join(problems[:4]),
                lines(ex),
            )
    if not judged:
        return verdict(
            case,
            "inconclusive",
            "no well-formed answer to judge (X1 judges that)",
            lines(*exchanges),
        )
    return verdict(case, "holds", f"{judged} valid attributes documents")


def check_x3(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed = no_answer(case, ex)
    if failed:
        return failed
    assert ex.status is not None
    if 400 <= ex.status < 500:
        return verdict(case, "holds", f"refused with {ex.status}")
    if ex.status != 200:
        return verdict(case, "broken", f"{ex.probe.label} answered {ex.status}", lines(ex))
    parsed = parsed_body(ex)
    if not parsed.ok:
        return verdict(
            case,
            "broken",
            f"{ex.probe.label}: {parsed.problem}",
            lines(ex, near=near(parsed, ex)),
        )
    return verdict(case, "holds", "a well-formed answer")
