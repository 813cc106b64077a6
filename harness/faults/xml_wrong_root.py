"""``xml_wrong_root``: the right content under the wrong root element.

Models a server of another API version or product answering on the same URL, or an error
wrapper (``<error>``, ``<html>``) around a body. A strict client checks the root is
``ise_api`` and refuses.
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
class XmlWrongRoot(FaultBase):
    """``root``: the element name to use instead (default ``mdm_response``)."""

    kind: ClassVar[str] = "xml_wrong_root"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    root: str = "mdm_response"

    @classmethod
    def from_spec(cls, spec: Any) -> XmlWrongRoot:
        r = params(spec)
        fault = cls(root=r.text("root", cls.root, non_empty=True))
        if not fault.root.replace("_", "a").replace("-", "a").isalnum() or fault.root[0].isdigit():
            raise r.fail("root", f"must be a plain XML name, got {fault.root!r}")
        if fault.root == "ise_api":
            raise r.fail("root", "must differ from ise_api")
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        root = _xml.parse(reply.body)
        namespace = root.tag.rpartition("}")[0] + "}" if "}" in root.tag else ""
        root.tag = namespace + self.root
        fx.respond(reply.status, reply.headers, _xml.serialize(root))


FAULT = XmlWrongRoot
