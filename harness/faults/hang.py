"""``hang``: say nothing until the client gives up.

Models the seed's scenario 1 at CONNECT (SYNs unanswered, as far as the client can tell), a
TLS handshake that stalls, and an MDM that accepts a request and never answers. The journal
records the moment the client went away (``client_closed``). A hang is capped - by ``max_ms``
or the proxy's ``harness_max_hang`` - and a capped hang ends with a FIN (``proxy_closed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext

#: The longest hang a scenario may ask for (1 hour); the proxy's cap may be lower.
MAX_HANG_MS = 3_600_000


@dataclass(frozen=True)
class Hang(FaultBase):
    """``max_ms``: close after this long if the client is still waiting (default: the proxy's cap)."""

    kind: ClassVar[str] = "hang"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "connect", "tls", "response")

    max_ms: int | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> Hang:
        r = params(spec)
        fault = cls(max_ms=r.integer("max_ms", None, low=1, high=MAX_HANG_MS))
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        await fx.hang(None if self.max_ms is None else self.max_ms / 1000)


FAULT = Hang
