"""``trickle``: deliver the upstream's response at ``bytes_per_s``.

Models a congested or throttled link, or a server that streams slowly: each byte arrives in
time, so only a client with an overall deadline (not just a read timeout) gives up. The body
is written in ``chunk_bytes`` pieces on a fixed schedule (no drift); the connection closes
after the last byte (``Connection: close`` is announced).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class Trickle(FaultBase):
    """``bytes_per_s`` (required), ``chunk_bytes`` (default: a tenth of a second's worth, at least 1)."""

    kind: ClassVar[str] = "trickle"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    bytes_per_s: int
    chunk_bytes: int | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> Trickle:
        r = params(spec)
        fault = cls(
            bytes_per_s=r.integer("bytes_per_s", low=1, high=1 << 30),
            chunk_bytes=r.integer("chunk_bytes", None, low=1, high=1 << 20),
        )
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        chunk = self.chunk_bytes or max(1, self.bytes_per_s // 10)
        await fx.send_raw(
            reply.status,
            reply.headers,
            [reply.body],
            content_length=len(reply.body),
            bytes_per_s=self.bytes_per_s,
            chunk_bytes=chunk,
        )


FAULT = Trickle
