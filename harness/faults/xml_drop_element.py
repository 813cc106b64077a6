"""``xml_drop_element``: a required element is missing.

Models a server that omits what Cisco's Swagger marks mandatory - ``api_path`` or
``query_max_size`` in discovery, ``vendor`` in a v3 reply, ``register_status`` or ``compliance``
for a device - and so tests whether a client notices rather than running on defaults.
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
class XmlDropElement(FaultBase):
    """``element`` to remove (local name, required); ``all``: every occurrence, not just the first."""

    kind: ClassVar[str] = "xml_drop_element"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    element: str
    all: bool = False

    @classmethod
    def from_spec(cls, spec: Any) -> XmlDropElement:
        r = params(spec)
        fault = cls(element=r.text("element", non_empty=True), all=r.boolean("all", False))
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        root = _xml.parse(reply.body)
        victims = _xml.find_all(root, self.element)
        if not victims or victims[0] is root:
            raise _xml.MutationSkipped(f"the upstream body has no <{self.element}> to drop")
        for el in victims if self.all else victims[:1]:
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
        fx.note(dropped=len(victims) if self.all else 1)
        fx.respond(reply.status, reply.headers, _xml.serialize(root))


FAULT = XmlDropElement
