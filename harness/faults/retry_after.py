"""``retry_after``: 429 or 503 with a ``Retry-After`` header.

Models an MDM that rate-limits (429) or is in maintenance / overloaded (503) and says when to
come back. A polite client waits at least that long (if its policy honours Retry-After) and
gives up within its attempt budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._response import XML_CONTENT_TYPE, error_document
from harness.faults._spec import finish, headers, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class RetryAfter(FaultBase):
    """``status`` (429 or 503, default 503), ``retry_after_s`` (seconds, default 1), extra ``headers``."""

    kind: ClassVar[str] = "retry_after"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "response")

    status: int = 503
    retry_after_s: int = 1
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_spec(cls, spec: Any) -> RetryAfter:
        r = params(spec)
        fault = cls(
            status=r.choice("status", (429, 503), 503),
            retry_after_s=r.integer("retry_after_s", 1, low=0, high=86_400),
            headers=headers(r),
        )
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        message = "Too Many Requests" if self.status == 429 else "Service Unavailable"
        headers = [
            ("Content-Type", XML_CONTENT_TYPE),
            ("Retry-After", str(self.retry_after_s)),
            *self.headers,
        ]
        fx.respond(self.status, headers, error_document(self.status, message))


FAULT = RetryAfter
