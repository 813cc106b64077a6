"""Actions: K1 a valid action answer (only with --allow-actions)."""

from __future__ import annotations

from .. import documents
from ..model import ServerCase, ServerVerdict
from ._common import Exchanges, lines, near, no_answer, parsed_body, verdict


def check_k1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed = no_answer(case, ex)
    if failed:
        return failed
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
    assert parsed.root is not None
    problems = documents.validate(parsed.root, "action")
    if problems:
        return verdict(
            case, "broken", "not a valid action document: " + "; ".join(problems[:4]), lines(ex)
        )
    kind, value = str(case.params.get("identifier")), str(case.params.get("value"))
    device = documents.child(documents.child(parsed.root, "deviceList"), "device")
    echoed = documents.text(device, kind)
    same = (
        documents.mac_or_none(echoed or "") == documents.mac_or_none(value)
        if kind == "macaddress"
        else (echoed or "").lower() == value.lower()
    )
    if not same:
        return verdict(
            case, "broken", f"the answer's {kind} is {echoed!r}, not the {value!r} sent", lines(ex)
        )
    status = documents.text(documents.child(device, "result"), "action_status")
    return verdict(case, "holds", f"action_status {status}")
