"""``xml_bomb``: an entity-expansion bomb ("billion laughs") in the DOCTYPE.

Models a hostile server trying to exhaust a client's memory and CPU: ``depth`` levels of
entities, each ``fanout`` references to the one below, expand to 2 x fanout^depth
characters from a few hundred bytes. A hardened parser refuses entities (or caps expansion)
and reports a parse error quickly.
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
class XmlBomb(FaultBase):
    """``depth`` (1-20, default 10) and ``fanout`` (2-50, default 10)."""

    kind: ClassVar[str] = "xml_bomb"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    depth: int = 10
    fanout: int = 10

    @classmethod
    def from_spec(cls, spec: Any) -> XmlBomb:
        r = params(spec)
        fault = cls(
            depth=r.integer("depth", 10, low=1, high=20),
            fanout=r.integer("fanout", 10, low=2, high=50),
        )
        finish(r, cls.kind)
        return fault

    def mutate(self, body: bytes) -> bytes:
        """``body`` with the bomb declared and detonated in the first element's text."""
        root = _xml.root_name(body).encode()
        entities = [b'<!ENTITY lol0 "lol">']
        for level in range(1, self.depth + 1):
            refs = b"&lol" + str(level - 1).encode() + b";"
            entities.append(
                b"<!ENTITY lol" + str(level).encode() + b' "' + refs * self.fanout + b'">'
            )
        doctype = b"<!DOCTYPE " + root + b" [" + b"".join(entities) + b"]>"
        detonate = b"&lol" + str(self.depth).encode() + b";"
        return _xml.insert_doctype(_xml.insert_into_text(body, None, detonate), doctype)

    async def apply(self, fx: FaultContext) -> None:
        reply = _xml.xml_reply(fx.reply)
        fx.note(expanded_chars=3 * self.fanout**self.depth)
        fx.respond(reply.status, reply.headers, self.mutate(reply.body))


FAULT = XmlBomb
