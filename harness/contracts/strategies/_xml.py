"""A tiny XML writer that can write the same tree the many ways real MDM servers do.

lxml writes canonical XML; the contracts need the variants real servers send (a default
namespace, capitalised tags, CDATA, character references, odd encodings, stray white space), so
documents are built as :class:`Node` trees and rendered here under a :class:`Style`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

TextForm = Literal["escape", "cdata", "charref"]
Encoding = Literal["utf-8", "utf-8-sig", "iso-8859-1", "utf-16"]

#: The characters XML 1.0 treats as white space; values are compared trimmed of exactly these.
XML_WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class Node:
    """An element: a tag, then either text or children (never both), and attributes."""

    tag: str
    text: str | None = None
    children: tuple[Node, ...] = ()
    attrs: tuple[tuple[str, str], ...] = ()
    text_form: TextForm = "escape"

    def find(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def without(self, tag: str) -> Node:
        return replace(self, children=tuple(c for c in self.children if c.tag != tag))

    def with_children(self, *children: Node) -> Node:
        return replace(self, children=children)


@dataclass(frozen=True)
class Style:
    """How a tree is written: declaration, encoding, namespace, capitalisation, indentation."""

    declaration: bool = True
    encoding: Encoding = "utf-8"
    namespace: str | None = None
    capitalise: frozenset[str] = field(default_factory=frozenset)
    indent: str | None = None
    variant_tags: tuple[str, ...] = ()


def _escape(text: str, *, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A literal CR would be normalised to LF by any parser; keep it as a reference.
    text = text.replace("\r", "&#13;")
    if quote:
        text = text.replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")
    return text


def _charref(text: str) -> str:
    out = []
    for ch in text:
        if ch in "&<>\r" or ord(ch) > 0x7E:
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def _cdata(text: str) -> str:
    if "\r" in text:  # CDATA cannot protect a CR from end-of-line normalisation
        return _escape(text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _encodable(text: str, encoding: Encoding) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def render(root: Node, style: Style = Style()) -> bytes:
    """Write ``root`` as a complete document in ``style``; the result is always well-formed."""
    parts: list[str] = []
    if style.declaration:
        label = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16"}.get(
            style.encoding, style.encoding.upper()
        )
        parts.append(f'<?xml version="1.0" encoding="{label}"?>')
        if style.indent is not None:
            parts.append("\n")
    _render(root, style, parts, depth=0, is_root=True)
    text = "".join(parts)
    if style.indent is not None:
        text += "\n"
    # Characters the encoding cannot carry become character references, which is legal in
    # text and attribute values (CDATA sections fall back to escaping in _render).
    return text.encode(style.encoding, errors="xmlcharrefreplace")


def _tag(node: Node, style: Style) -> str:
    return node.tag[:1].upper() + node.tag[1:] if node.tag in style.capitalise else node.tag


def _render(node: Node, style: Style, parts: list[str], *, depth: int, is_root: bool) -> None:
    pad = "" if style.indent is None else "\n" + style.indent * depth
    tag = _tag(node, style)
    attrs = list(node.attrs)
    if is_root and style.namespace:
        attrs.insert(0, ("xmlns", style.namespace))
    attr_text = "".join(f' {k}="{_escape(v, quote=True)}"' for k, v in attrs)
    if depth:
        parts.append(pad)
    if node.children:
        parts.append(f"<{tag}{attr_text}>")
        for child in node.children:
            _render(child, style, parts, depth=depth + 1, is_root=False)
        parts.append(pad if style.indent is not None else "")
        parts.append(f"</{tag}>")
    elif node.text is None or node.text == "":
        parts.append(f"<{tag}{attr_text}/>")
    else:
        form = node.text_form
        if form == "cdata" and not _encodable(node.text, style.encoding):
            form = "escape"
        body = {"escape": _escape, "cdata": _cdata, "charref": _charref}[form](node.text)
        parts.append(f"<{tag}{attr_text}>{body}</{tag}>")


def trimmed(value: str | None) -> str | None:
    """The value a correct parse yields for a string element: trimmed, and empty means null."""
    if value is None:
        return None
    value = value.strip(XML_WHITESPACE)
    return value or None
