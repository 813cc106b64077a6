"""``partial``: send the upstream's status and headers, then only ``bytes`` of its body.

Then ``hang`` (the client waits for the rest - "headers then hang" when ``bytes`` is 0),
``close`` (a FIN mid-body: curl 18 "transfer closed with N bytes remaining") or ``reset``
(an RST mid-body). Content-Length announces the whole body, so a careful client knows it
was cut. Models a crashing MDM, a proxy timeout mid-transfer, a dropped mobile link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class Partial(FaultBase):
    """``bytes`` of body to send (default 0), ``then``: hang, close or reset (default hang), ``max_ms`` for a hang."""

    kind: ClassVar[str] = "partial"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    bytes: int = 0
    then: str = "hang"
    max_ms: int | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> Partial:
        r = params(spec)
        fault = cls(
            bytes=r.integer("bytes", 0, low=0),
            then=r.choice("then", ("hang", "close", "reset"), "hang"),
            max_ms=r.integer("max_ms", None, low=1),
        )
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        cut = min(self.bytes, max(len(reply.body) - 1, 0))
        fx.note(sent_bytes=cut, full_bytes=len(reply.body))
        await fx.send_raw(
            reply.status,
            reply.headers,
            [reply.body],
            content_length=len(reply.body),
            limit=cut,
            then=self.then,  # type: ignore[arg-type]
            max_hang_s=None if self.max_ms is None else self.max_ms / 1000,
        )


FAULT = Partial
