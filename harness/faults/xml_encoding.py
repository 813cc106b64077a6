"""``xml_encoding``: the bytes disagree with the declared encoding or the byte-order mark.

``latin1_as_utf8`` (default): declared UTF-8, but a Latin-1 byte (``é`` as 0xE9) sits in the
first text - invalid UTF-8 that a conforming parser rejects (an MDM that concatenates strings
from a Latin-1 database). ``utf16_bom_declared_utf8``: the document is UTF-16 with a BOM while
its declaration says UTF-8 (libxml2 follows the BOM; a client that decodes as UTF-8 itself
fails). ``utf8_bom_declared_latin1``: a UTF-8 BOM and UTF-8 text under a Latin-1 declaration
(parsers disagree on ``é``).
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

MODES = ("latin1_as_utf8", "utf16_bom_declared_utf8", "utf8_bom_declared_latin1")


def _with_declaration(body: bytes, encoding: str) -> bytes:
    _, rest = _xml.split_prolog(body)
    decl = f'<?xml version="1.0" encoding="{encoding}"?>\n'.encode()
    return decl + rest.lstrip()


@dataclass(frozen=True)
class XmlEncoding(FaultBase):
    """``mode``: ``latin1_as_utf8``, ``utf16_bom_declared_utf8`` or ``utf8_bom_declared_latin1``."""

    kind: ClassVar[str] = "xml_encoding"
    phases: ClassVar[tuple[Phase, ...]] = ("response",)

    mode: str = "latin1_as_utf8"

    @classmethod
    def from_spec(cls, spec: Any) -> XmlEncoding:
        r = params(spec)
        fault = cls(mode=r.choice("mode", MODES, "latin1_as_utf8"))
        finish(r, cls.kind)
        return fault

    def mutate(self, body: bytes) -> bytes:
        """``body`` (UTF-8 XML) with its encoding made inconsistent as ``mode`` says."""
        _xml.parse(body)
        if self.mode == "latin1_as_utf8":
            return _xml.insert_into_text(_with_declaration(body, "UTF-8"), None, b"\xe9")
        if self.mode == "utf16_bom_declared_utf8":
            text = _with_declaration(body, "UTF-8").decode("utf-8")
            return b"\xff\xfe" + text.encode("utf-16-le")
        latin1 = _with_declaration(body, "ISO-8859-1")
        return b"\xef\xbb\xbf" + _xml.insert_into_text(latin1, None, "é".encode())

    async def apply(self, fx: FaultContext) -> None:
        reply = fx.reply()
        headers = tuple(
            (
                k,
                re.sub(r"(?i)charset=[\w-]+", "charset=UTF-8", v)
                if k.lower() == "content-type"
                else v,
            )
            for k, v in reply.headers
        )
        fx.respond(reply.status, headers, self.mutate(reply.body))


FAULT = XmlEncoding
