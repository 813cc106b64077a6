"""``close``: end the client's connection with a FIN, sending nothing more.

Models an MDM or middlebox that drops the connection: at ``connect`` the CONNECT gets no
answer, at ``tls`` the ClientHello none, at ``request`` the request is never forwarded (curl:
"Empty reply from server"), at ``response`` the upstream *did* process the request but the
answer is lost - the case where a non-idempotent action must not be re-sent blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class Close(FaultBase):
    """No parameters."""

    kind: ClassVar[str] = "close"
    phases: ClassVar[tuple[Phase, ...]] = ("request", "response", "connect", "tls")

    @classmethod
    def from_spec(cls, spec: Any) -> Close:
        finish(params(spec), cls.kind)
        return cls()

    async def apply(self, fx: FaultContext) -> None:
        await fx.close()


FAULT = Close
