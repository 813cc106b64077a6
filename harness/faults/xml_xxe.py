"""``xml_xxe``: a DOCTYPE whose external entity points at the proxy's canary URL, or at a file.

Models a compromised or malicious MDM (or a man in the middle) probing for XML external
entity processing - the classic way to make a client read local files or reach internal
hosts. ``via``: ``entity`` (a general entity used in element text), ``parameter`` (a parameter
entity in the internal subset) or ``dtd`` (an external DTD).

By default the system identifier is the canary URL, served and recorded by the proxy's control
server, so the journal proves whether the client's parser fetched it; the token is
``a<seq>-<hex>``, so a hit names the attempt that carried it. ``url`` points it elsewhere - a
``file://`` canary the harness wrote, whose content must then never show up in the client's
answer (a parser without network support still reads local files). ``reference`` names an
entity the element text refers to (``&name;``): by default ``xxe`` for ``via: entity`` and
none otherwise; for a ``parameter`` or ``dtd`` canary file that defines an entity, name it so
that a parser which loads the external DTD expands its content into the answer.
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

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_URL = re.compile(r"(file|https?)://[^\s\"'<>]{1,2000}")


@dataclass(frozen=True)
class XmlXxe(FaultBase):
    """``via``: entity, parameter or dtd (default entity); ``element`` that references the
    entity (default: the first with text); ``url`` (default: the canary); ``reference``."""

    kind: ClassVar[str] = "xml_xxe"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    via: str = "entity"
    element: str | None = None
    url: str | None = None
    reference: str | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> XmlXxe:
        r = params(spec)
        fault = cls(
            via=r.choice("via", ("entity", "parameter", "dtd"), "entity"),
            element=r.text("element", None, non_empty=True),
            url=r.text("url", None, non_empty=True),
            reference=r.text("reference", None, non_empty=True),
        )
        if fault.url is not None and not _URL.fullmatch(fault.url):
            raise r.fail("url", "must be a file://, http:// or https:// URL")
        if fault.reference is not None and not _NAME.fullmatch(fault.reference):
            raise r.fail("reference", "must be an XML name (letters, digits, _ . -)")
        finish(r, cls.kind)
        return fault

    @property
    def referenced(self) -> str | None:
        """The entity the element text refers to, if any."""
        return self.reference or ("xxe" if self.via == "entity" else None)

    def mutate(self, body: bytes, url: str) -> bytes:
        """``body`` carrying a DOCTYPE that makes a careless parser fetch or read ``url``."""
        root = _xml.root_name(body).encode()
        target = url.encode()
        if self.referenced:
            body = _xml.insert_into_text(body, self.element, f"&{self.referenced};".encode())
        if self.via == "entity":
            doctype = b"<!DOCTYPE " + root + b' [<!ENTITY xxe SYSTEM "' + target + b'">]>'
        elif self.via == "parameter":
            doctype = b"<!DOCTYPE " + root + b' [<!ENTITY % xxe SYSTEM "' + target + b'"> %xxe;]>'
        else:
            doctype = b"<!DOCTYPE " + root + b' SYSTEM "' + target + b'">'
        return _xml.insert_doctype(body, doctype)

    async def apply(self, fx: FaultContext) -> None:
        reply = _xml.xml_reply(fx.reply)
        if self.url is not None:
            url = self.url
            fx.note(url=url)
        else:
            suffix = ".dtd" if self.via != "entity" else ""
            token = f"a{fx.seq}-{fx.rng.getrandbits(32):08x}{suffix}"
            url = fx.canary_url(token)
            fx.note(token=token, canary_url=url)
        fx.respond(reply.status, reply.headers, self.mutate(reply.body, url))


FAULT = XmlXxe
