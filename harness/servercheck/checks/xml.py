"""XML: X1 well-formed and labelled, X2 valid attributes documents, X3 hostile values."""

from __future__ import annotations

from .. import documents
from ..model import ServerCase, ServerVerdict
from ._common import Exchanges, answered_well_formed, lines, not_well_formed, parsed_body, verdict


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
            return not_well_formed(case, ex, parsed)
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
    if ex.status is not None and 400 <= ex.status < 500:
        return verdict(case, "holds", f"refused with {ex.status}")
    failed, _ = answered_well_formed(case, ex)
    if failed is not None:
        return failed
    return verdict(case, "holds", "a well-formed answer")
