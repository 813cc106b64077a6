"""``xml_duplicate``: an element that must appear once appears twice.

Models a server that emits ``api_version`` or ``paging_info`` twice (perhaps with different
values), or a device's ``macaddress`` twice: a client must not pick one silently. The copy
follows the original; ``value`` gives the copy different text.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults import _xml
from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


@dataclass(frozen=True)
class XmlDuplicate(FaultBase):
    """``element`` to duplicate (local name, required); ``value``: text for the copy (default: the same)."""

    kind: ClassVar[str] = "xml_duplicate"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    element: str
    value: str | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> XmlDuplicate:
        r = params(spec)
        fault = cls(element=r.text("element", non_empty=True), value=r.text("value", None))
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        root = _xml.parse(reply.body)
        original = _xml.find_first(root, self.element)
        if original is root:
            raise _xml.MutationSkipped("the root element cannot be duplicated")
        twin = copy.deepcopy(original)
        if self.value is not None:
            twin.text = self.value
        original.addnext(twin)
        fx.respond(reply.status, reply.headers, _xml.serialize(root))


FAULT = XmlDuplicate
