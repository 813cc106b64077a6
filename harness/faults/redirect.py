"""``redirect``: a 3xx with a ``Location``.

Models an MDM moved to another host, an HTTP->HTTPS (or the reverse) redirect, or a login
redirect. ``location`` may point anywhere - that is the point: a client must never carry its
credentials to another host or over plain HTTP (the journal shows where they went).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class Redirect(FaultBase):
    """``status`` (301, 302, 303, 307 or 308; default 302) and ``location`` (required)."""

    kind: ClassVar[str] = "redirect"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "response")

    location: str
    status: int = 302

    @classmethod
    def from_spec(cls, spec: Any) -> Redirect:
        r = params(spec)
        fault = cls(
            location=r.text("location", non_empty=True),
            status=r.choice("status", (301, 302, 303, 307, 308), 302),
        )
        if "\r" in fault.location or "\n" in fault.location:
            raise r.fail("location", "must not contain line breaks")
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        fx.respond(self.status, [("Location", self.location)], b"")


FAULT = Redirect
