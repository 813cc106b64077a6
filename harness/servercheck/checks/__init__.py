"""The server contracts' checks: pure functions of a case and the exchanges it produced.

``check(case, exchanges) -> ServerVerdict`` dispatches on the case's contract to one check per
contract, grouped in a module per contract group (``discovery``, ``lookups``, ``paging``,
``auth``, ``xml``, ``timing``, ``actions``). Each check judges its own promise and nothing else:
when an answer it needs is missing for a reason another contract owns - a body that is not
well-formed XML (X1), a device that was not found (L1), a cursor that was refused (G3) - its
verdict is ``inconclusive``, never ``broken``, so one defect of a server breaks one contract,
and the report says which. A request that got no answer at all, a 5xx or a redirect is the
failure of the contract whose request it was.

Every broken verdict carries the evidence a developer needs: the request as sent, the status,
content type, size and time of the answer, and an excerpt of the body near the problem.
"""

from __future__ import annotations

from collections.abc import Callable

from ..model import ServerCase, ServerVerdict
from . import actions, auth, discovery, lookups, paging, timing, xml
from ._common import Exchanges, not_applicable, verdict
from .paging import BUSY_WAIT_MAX_S
from .timing import LOOKUP_LIMIT_S

__all__ = [
    "BUSY_WAIT_MAX_S",
    "CHECKS",
    "LOOKUP_LIMIT_S",
    "ServerVerdict",
    "check",
    "not_applicable",
]

#: Every server contract's check.
CHECKS: dict[str, Callable[[ServerCase, Exchanges], ServerVerdict]] = {
    "D1": discovery.check_d1,
    "D2": discovery.check_d2,
    "D3": discovery.check_d3,
    "D4": discovery.check_d4,
    "L1": lookups.check_l1,
    "L2": lookups.check_l2,
    "L3": lookups.check_l3,
    "L4": lookups.check_l4,
    "L5": lookups.check_l5,
    "L6": lookups.check_l6,
    "L7": lookups.check_l7,
    "G1": paging.check_g1,
    "G2": paging.check_g2,
    "G3": paging.check_g3,
    "G4": paging.check_g4,
    "G5": paging.check_g5,
    "A1": auth.check_a1,
    "A2": auth.check_a2,
    "X1": xml.check_x1,
    "X2": xml.check_x2,
    "X3": xml.check_x3,
    "B1": timing.check_b1,
    "B2": timing.check_b2,
    "C1": timing.check_c1,
    "K1": actions.check_k1,
}


def check(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    """Judge ``case`` on the exchanges it produced."""
    if not exchanges:
        return verdict(case, "inconclusive", "no request was sent")
    return CHECKS[case.contract](case, exchanges)
