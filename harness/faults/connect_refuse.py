"""``connect_refuse``: answer the CONNECT with an error status instead of opening the tunnel.

Models a corporate proxy that cannot reach the MDM ("502 Bad Gateway") or is overloaded
("503 Service Unavailable") - what ISE sees when its configured proxy gives up. Only in
regular (explicit proxy) mode; in reverse mode there is no CONNECT and the connection is
closed instead (noted as ``fault.params.reverse_mode_closed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import MAX_BODY_CHARS, finish, headers, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class ConnectRefuse(FaultBase):
    """``status`` (400-599, default 502), ``body`` (text), ``headers``."""

    kind: ClassVar[str] = "connect_refuse"
    phases: ClassVar[tuple[Phase, ...]] = ("connect",)

    status: int = 502
    body: str = "mdm-harness proxy: cannot connect to the upstream"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_spec(cls, spec: Any) -> ConnectRefuse:
        r = params(spec)
        fault = cls(
            status=r.integer("status", 502, low=400, high=599),
            body=r.text("body", cls.body, max_len=MAX_BODY_CHARS),
            headers=headers(r),
        )
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        if fx.mode == "reverse":
            fx.note(reverse_mode_closed=True)
            await fx.close()
            return
        body = self.body.encode()
        headers = self.headers
        if body and not any(k.lower() == "content-type" for k, _ in headers):
            headers = (*headers, ("Content-Type", "text/plain; charset=utf-8"))
        fx.respond(self.status, headers, body)


FAULT = ConnectRefuse
