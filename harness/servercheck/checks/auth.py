"""Authentication: A1 401 and no device data, A2 the Basic challenge."""

from __future__ import annotations

import re

from ..model import ServerCase, ServerVerdict
from ._common import Exchanges, lines, no_answer, verdict


def check_a1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    secrets = [str(s) for s in case.params.get("device_values", []) if s]
    for ex in exchanges:
        failed = no_answer(case, ex)
        if failed:
            return failed
        if ex.status != 401:
            return verdict(
                case, "broken", f"{ex.probe.label} answered {ex.status}, not 401", lines(ex)
            )
        lowered = ex.body.lower()
        leaked = [s for s in secrets if s.lower().encode() in lowered]
        if leaked or re.search(rb"<(\w+:)?device[\s>]", lowered):
            what = f"the device's {leaked[0]}" if leaked else "a <device> element"
            return verdict(
                case,
                "broken",
                f"the 401 to {ex.probe.label} carries {what}",
                lines(ex, near=leaked[0].encode() if leaked else b"<device"),
            )
    return verdict(
        case,
        "holds",
        f"{len(exchanges)} requests without valid credentials: each 401, no device data",
    )


def check_a2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    judged = 0
    for ex in exchanges:
        if ex.status != 401:
            continue
        judged += 1
        challenge = ex.header("www-authenticate") or ""
        if not re.search(r"(^|,)\s*basic(\s|$|,)", challenge, re.IGNORECASE):
            what = f"WWW-Authenticate {challenge!r}" if challenge else "no WWW-Authenticate"
            return verdict(case, "broken", f"the 401 to {ex.probe.label} carries {what}", lines(ex))
    if not judged:
        return verdict(
            case, "inconclusive", "no request was answered 401 (A1 judges that)", lines(*exchanges)
        )
    return verdict(case, "holds", f"{judged} 401 answer(s), each with a Basic challenge")
