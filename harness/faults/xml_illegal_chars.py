"""``xml_illegal_chars``: a character XML 1.0 forbids, raw in element text.

Models an MDM that copies device names or user input into XML without filtering control
characters (a device named with a ``\\x01``, a NUL from a C string). A conforming parser
rejects the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults import _xml
from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext


def is_illegal(codepoint: int) -> bool:
    """Whether XML 1.0 forbids ``codepoint`` in a document."""
    return (codepoint < 0x20 and codepoint not in (0x9, 0xA, 0xD)) or codepoint in (0xFFFE, 0xFFFF)


@dataclass(frozen=True)
class XmlIllegalChars(FaultBase):
    """``codepoint`` (an XML-illegal one, default 1); ``element`` whose text gets it (default: the first with text)."""

    kind: ClassVar[str] = "xml_illegal_chars"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    codepoint: int = 1
    element: str | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> XmlIllegalChars:
        r = params(spec)
        fault = cls(codepoint=r.integer("codepoint", 1, low=0), element=r.text("element", None))
        if not is_illegal(fault.codepoint):
            raise r.fail(
                "codepoint", f"{fault.codepoint:#x} is allowed in XML 1.0; pick an illegal one"
            )
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        reply = _xml.xml_reply(fx.reply)
        body = _xml.insert_into_text(reply.body, self.element, chr(self.codepoint).encode())
        fx.respond(reply.status, reply.headers, body)


FAULT = XmlIllegalChars
