"""``xml_xxe``: a DOCTYPE whose external entity points at the proxy's canary URL.

Models a compromised or malicious MDM (or a man in the middle) probing for XML external
entity processing - the classic way to make a client read local files or reach internal
hosts. The canary URL is served and recorded by the proxy's control server, so the journal
proves whether the client's parser fetched it. ``via``: ``entity`` (a general entity used in
element text), ``parameter`` (a parameter entity in the internal subset) or ``dtd`` (an
external DTD). The token is ``a<seq>-<hex>``, so a hit names the attempt that carried it.
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
class XmlXxe(FaultBase):
    """``via``: entity, parameter or dtd (default entity); ``element`` that references the entity (default: the first with text)."""

    kind: ClassVar[str] = "xml_xxe"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    via: str = "entity"
    element: str | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> XmlXxe:
        r = params(spec)
        fault = cls(
            via=r.choice("via", ("entity", "parameter", "dtd"), "entity"),
            element=r.text("element", None, non_empty=True),
        )
        finish(r, cls.kind)
        return fault

    def mutate(self, body: bytes, url: str) -> bytes:
        """``body`` carrying a DOCTYPE that makes a careless parser fetch ``url``."""
        root = _xml.root_name(body).encode()
        target = url.encode()
        if self.via == "entity":
            body = _xml.insert_into_text(body, self.element, b"&xxe;")
            doctype = b"<!DOCTYPE " + root + b' [<!ENTITY xxe SYSTEM "' + target + b'">]>'
        elif self.via == "parameter":
            doctype = b"<!DOCTYPE " + root + b' [<!ENTITY % xxe SYSTEM "' + target + b'"> %xxe;]>'
        else:
            doctype = b"<!DOCTYPE " + root + b' SYSTEM "' + target + b'">'
        return _xml.insert_doctype(body, doctype)

    async def apply(self, fx: FaultContext) -> None:
        reply = _xml.xml_reply(fx.reply)
        token = f"a{fx.seq}-{fx.rng.getrandbits(32):08x}" + (".dtd" if self.via != "entity" else "")
        url = fx.canary_url(token)
        fx.note(token=token, canary_url=url)
        fx.respond(reply.status, reply.headers, self.mutate(reply.body, url))


FAULT = XmlXxe
