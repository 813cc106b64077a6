"""Helpers shared by the XML mutations: a hardened parse, element lookup, byte-level text spans.

Structural mutations (drop, duplicate, retype, rename the root, rewrite the cursor) work on an
lxml tree; the ones that must produce something no parser would ever write (truncation, bad
bytes, undeclared prefixes, hostile DOCTYPEs) work on the bytes, next to the real upstream
content. Anything that is not XML makes the mutation :class:`MutationSkipped`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from harness.faults._types import MutationSkipped, Reply

_DECL = re.compile(rb"^(\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")
_LEAF_ANY = re.compile(rb"<([A-Za-z_][\w.:-]*)(?:\s[^>]*)?>([^<]*[^<\s][^<]*)</\1\s*>")
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)[\s/>]")


def parse(body: bytes) -> etree._Element:
    """The document's root element, parsed without entities, DTDs or network access."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise MutationSkipped(f"the upstream body is not well-formed XML ({exc})") from None


def serialize(root: etree._Element) -> bytes:
    """``root`` as a UTF-8 document with an XML declaration."""
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out + b"\n"


def local_name(element: etree._Element) -> str:
    """The element's name without namespace (Intune puts a default namespace on the root)."""
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def find_all(root: etree._Element, name: str) -> list[etree._Element]:
    """Every element called ``name`` (local name), in document order."""
    return [el for el in root.iter() if local_name(el) == name]


def find_first(root: etree._Element, name: str) -> etree._Element:
    """The first element called ``name``, or :class:`MutationSkipped`."""
    found = find_all(root, name)
    if not found:
        raise MutationSkipped(f"the upstream body has no <{name}> element")
    return found[0]


def text_spans(body: bytes, name: str | None = None) -> list[tuple[int, int]]:
    """Byte ranges of the non-blank text of leaf elements (called ``name``, if given)."""
    if name is None:
        return [m.span(2) for m in _LEAF_ANY.finditer(body)]
    pattern = re.compile(
        rb"<((?:[\w.-]+:)?" + re.escape(name.encode()) + rb")(?:\s[^>]*)?>([^<]*)</\1\s*>"
    )
    return [m.span(2) for m in pattern.finditer(body)]


def first_text_span(body: bytes, name: str | None) -> tuple[int, int]:
    """The first span of :func:`text_spans`, or :class:`MutationSkipped`."""
    spans = text_spans(body, name)
    if not spans:
        what = f"a <{name}> element with text" if name else "an element with text"
        raise MutationSkipped(f"the upstream body has no {what}")
    return spans[0]


def insert_into_text(body: bytes, name: str | None, insert: bytes) -> bytes:
    """``body`` with ``insert`` placed in the middle of the first matching text."""
    start, end = first_text_span(body, name)
    at = start + (end - start) // 2
    return body[:at] + insert + body[at:]


def split_prolog(body: bytes) -> tuple[bytes, bytes]:
    """``(xml declaration or b"", rest)``."""
    m = _DECL.match(body)
    if not m:
        return b"", body
    return body[: m.end()], body[m.end() :]


def root_name(body: bytes) -> str:
    """The root element's name as written (prefix included)."""
    _, rest = split_prolog(body)
    # Skip comments and processing instructions before the root.
    rest = re.sub(rb"<!--.*?-->|<\?.*?\?>", b"", rest, flags=re.S)
    m = _ROOT.search(rest)
    if not m:
        raise MutationSkipped("the upstream body has no root element")
    return m.group(1).decode("ascii", "replace")


def insert_doctype(body: bytes, doctype: bytes) -> bytes:
    """``body`` with ``doctype`` placed after the XML declaration (and any existing DOCTYPE removed)."""
    decl, rest = split_prolog(body)
    rest = re.sub(rb"<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", b"", rest, count=1, flags=re.S)
    return decl + b"\n" + doctype + b"\n" + rest.lstrip()


def xml_reply(fx_reply: Callable[[], Reply]) -> Reply:
    """The upstream reply, checked to be XML (well-formed) - else :class:`MutationSkipped`."""
    reply = fx_reply()
    parse(reply.body)
    return reply
