"""Actions: K1 a valid action answer (only with --allow-actions)."""

from __future__ import annotations

from .. import documents
from ..model import ServerCase, ServerVerdict
from ._common import Exchanges, answered_well_formed, lines, verdict


def check_k1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed, parsed = answered_well_formed(case, ex)
    if failed is not None:
        return failed
    assert parsed is not None and parsed.root is not None
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
