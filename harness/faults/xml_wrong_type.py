"""``xml_wrong_type``: an element holds a value of the wrong type.

Models ``<query_max_size>lots</query_max_size>``, ``<register_status>yes</register_status>``,
``<api_version>3.0</api_version>`` - servers that do not follow the Swagger types. A client
must not silently turn these into defaults (or crash): it reports a parse error.
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
class XmlWrongType(FaultBase):
    """``element`` (local name, required) and the ``value`` to put in it (default ``not-a-number``)."""

    kind: ClassVar[str] = "xml_wrong_type"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    element: str
    value: str = "not-a-number"

    @classmethod
    def from_spec(cls, spec: Any) -> XmlWrongType:
        r = params(spec)
        fault = cls(element=r.text("element", non_empty=True), value=r.text("value", cls.value))
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        root = _xml.parse(reply.body)
        target = _xml.find_first(root, self.element)
        fx.note(original=target.text)
        target.text = self.value
        fx.respond(reply.status, reply.headers, _xml.serialize(root))


FAULT = XmlWrongType
