"""``xml_undeclared_prefix``: an element name uses a namespace prefix nobody declared.

Models a server that emits ``<ns2:ise_api>`` after its XML library's namespace declaration was
stripped by a template or a proxy: not namespace-well-formed, and rejected by namespace-aware
parsers (which every XML library of note is by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults import _xml
from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext

_NCNAME = re.compile(r"^[A-Za-z_][\w.-]*$")


@dataclass(frozen=True)
class XmlUndeclaredPrefix(FaultBase):
    """``prefix`` (default ``ns2``); ``element`` to prefix (default: the root)."""

    kind: ClassVar[str] = "xml_undeclared_prefix"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    prefix: str = "ns2"
    element: str | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> XmlUndeclaredPrefix:
        r = params(spec)
        fault = cls(prefix=r.text("prefix", "ns2"), element=r.text("element", None, non_empty=True))
        if not _NCNAME.match(fault.prefix) or fault.prefix.lower().startswith("xml"):
            raise r.fail(
                "prefix", f"must be a plain name not starting with 'xml', got {fault.prefix!r}"
            )
        finish(r, cls.kind)
        return fault

    def mutate(self, body: bytes) -> bytes:
        """``body`` with the element's start and end tags prefixed."""
        _xml.parse(body)
        name = (self.element or _xml.root_name(body)).encode()
        start = re.compile(rb"<" + re.escape(name) + rb"(?=[\s/>])")
        m = start.search(body)
        if m is None:
            raise _xml.MutationSkipped(f"the upstream body has no <{name.decode()}> element")
        new = self.prefix.encode() + b":" + name
        out = body[: m.start()] + b"<" + new + body[m.end() :]
        end_tags = list(re.finditer(rb"</" + re.escape(name) + rb"\s*>", out))
        after = [e for e in end_tags if e.start() > m.start()]
        if after:
            # The root closes last; any other element closes at its first end tag.
            e = after[-1] if self.element is None else after[0]
            out = out[: e.start()] + b"</" + new + b">" + out[e.end() :]
        return out

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        fx.respond(reply.status, reply.headers, self.mutate(reply.body))


FAULT = XmlUndeclaredPrefix
