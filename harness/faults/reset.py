"""``reset``: end the client's connection with an RST (``SO_LINGER`` on, zero timeout).

Models a firewall or load balancer killing the connection, or a crashed server: the client
sees ``ECONNRESET`` (curl 56 "Connection reset by peer"). The proxy checks that the linger
option took effect and that nothing was left unsent, and says so in the journal's ``wire``.
Phases as for ``close``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class Reset(FaultBase):
    """No parameters."""

    kind: ClassVar[str] = "reset"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "response", "connect", "tls")

    @classmethod
    def from_spec(cls, spec: Any) -> Reset:
        finish(params(spec), cls.kind)
        return cls()

    async def apply(self, fx: FaultContext) -> None:
        await fx.reset()


FAULT = Reset
