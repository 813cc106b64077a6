"""``xml_truncate``: the upstream's XML cut off inside an element, in a complete HTTP message.

Models a server that builds its reply into a fixed buffer, a crash while serialising, or a
middlebox that truncates - Content-Length matches the short body, so only an XML parser
notices. The cut lands in the text of the first element whose text ends beyond ``fraction``
of the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults import _xml
from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class XmlTruncate(FaultBase):
    """``fraction`` of the body after which to cut (0 < fraction < 1, default 0.5)."""

    kind: ClassVar[str] = "xml_truncate"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    fraction: float = 0.5

    @classmethod
    def from_spec(cls, spec: Any) -> XmlTruncate:
        r = params(spec)
        fault = cls(fraction=r.number("fraction", 0.5, above=0.0, high=0.999))
        finish(r, cls.kind)
        return fault

    def cut(self, body: bytes) -> bytes:
        """``body`` cut inside the text of the element at ``fraction``."""
        spans = _xml.text_spans(body)
        if not spans:
            raise _xml.MutationSkipped("the upstream body has no element with text")
        target = int(len(body) * self.fraction)
        start, end = next(((s, e) for s, e in spans if e > target), spans[-1])
        return body[: start + max(1, (end - start) // 2)]

    async def apply(self, fx: FaultContext) -> None:
        reply = _xml.xml_reply(fx.reply)
        body = self.cut(reply.body)
        fx.note(kept_bytes=len(body), full_bytes=len(reply.body))
        fx.respond(reply.status, reply.headers, body)


FAULT = XmlTruncate
