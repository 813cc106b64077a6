"""Documents a correct client must refuse: malformed, incomplete, mistyped and hostile ones.

Each is paired with the outcomes a correct client may report. A client may never report
``ok`` for any of them, nor crash.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from ._documents import (
    Document,
    Kind,
    action_documents,
    attributes_documents,
    mdminfo_documents,
    valid_documents,
)
from ._xml import Node, Style, render

PARSE_ERROR = frozenset({"parse_error"})
#: A document that is well-formed XML but not a valid reply may be called either.
INVALID_REPLY = frozenset({"parse_error", "protocol_error"})

_UTF8 = Style()  # byte surgery below assumes a plain UTF-8 rendering


def _refusal(doc: Document, body: bytes, outcomes: frozenset[str], *tags: str) -> Document:
    return replace(doc, body=body, expected=None, outcomes=outcomes, variant=tags, tree=None)


def _insert_into_first_text(body: bytes, tag: bytes, payload: bytes) -> bytes:
    """Put ``payload`` inside the text of the first ``<tag>`` element."""
    opening = b"<" + tag + b">"
    at = body.index(opening) + len(opening)
    return body[:at] + payload + body[at:]


MALFORMATIONS = (
    "truncated",
    "mismatched-tag",
    "illegal-char",
    "invalid-utf8",
    "encoding-mismatch",
    "undeclared-prefix",
    "undefined-entity",
    "two-roots",
    "raw-ampersand",
    "unclosed-cdata",
    "bad-char-ref",
    "empty-body",
    "html-error-page",
)


@st.composite
def malformed_documents(
    draw: st.DrawFn, kind: Kind = "attributes", *, how: str | None = None
) -> Document:
    """A reply of ``kind`` that is not well-formed XML, paired with ``{"parse_error"}``.

    ``how`` picks one of :data:`MALFORMATIONS` (default: drawn). Shrinks towards truncating a
    canonical document early.
    """
    if how is not None and how not in MALFORMATIONS:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"how={how!r} is not one of {', '.join(MALFORMATIONS)}")
    base = draw(valid_documents(kind, canonical=True))
    assert base.tree is not None
    body = render(base.tree, _UTF8)
    how = how or draw(st.sampled_from(MALFORMATIONS))
    if how == "truncated":
        end = body.rindex(b"</ise_api>") + len(b"</ise_api>") - 1
        body = body[: draw(st.integers(min_value=1, max_value=end - 1))]
    elif how == "mismatched-tag":
        body = body.replace(b"</name>", b"</nam>", 1)
    elif how == "illegal-char":
        body = _insert_into_first_text(
            body, b"name", draw(st.sampled_from([b"\x01", b"\x0b", b"\x1b", b"\x00"]))
        )
    elif how == "invalid-utf8":
        body = _insert_into_first_text(
            body, b"name", draw(st.sampled_from([b"\xe9", b"\xff\xfe", b"\xc3"]))
        )
    elif how == "encoding-mismatch":
        body = body.replace(b'encoding="UTF-8"', b'encoding="UTF-16"', 1)
    elif how == "undeclared-prefix":
        tag = b"deviceList" if kind != "mdminfo" else b"api_path"
        body = body.replace(b"<" + tag, b"<mdm:" + tag, 1).replace(
            b"</" + tag + b">", b"</mdm:" + tag + b">", 1
        )
    elif how == "undefined-entity":
        body = _insert_into_first_text(
            body, b"name", draw(st.sampled_from([b"&nbsp;", b"&copy;", b"&x;"]))
        )
    elif how == "two-roots":
        body = body + b"<ise_api><name>" + base.kind.encode() + b"</name></ise_api>"
    elif how == "raw-ampersand":
        body = _insert_into_first_text(body, b"name", b"AT&T ")
    elif how == "unclosed-cdata":
        body = _insert_into_first_text(body, b"name", b"<![CDATA[open")
    elif how == "bad-char-ref":
        body = _insert_into_first_text(
            body, b"name", draw(st.sampled_from([b"&#0;", b"&#xD800;", b"&#xFFFE;"]))
        )
    elif how == "empty-body":
        body = b""
    elif how == "html-error-page":
        body = b"<html><head><title>502 Bad Gateway</title></head><body><hr>nginx</body></html>"
    return _refusal(base, body, PARSE_ERROR, "malformed", how)


def _required(kind: Kind, version: int) -> tuple[str, ...]:
    """What the meaning of a reply needs (Cisco's Swagger marks nothing of the device and
    action replies required; docs/contracts.md#p3 lists these decisions)."""
    if kind == "mdminfo":
        base = ("api_version", "api_path")
        return (*base, "vendor", "product_name", "product_version") if version >= 3 else base
    return ("deviceList",)


@st.composite
def incomplete_documents(draw: st.DrawFn, kind: Kind = "attributes") -> Document:
    """A well-formed reply missing an element its meaning needs (or with the wrong root, or a
    ``name`` that names another reply).

    Paired with ``{"parse_error", "protocol_error"}``: a client must not succeed partially.
    Needed: ``api_version`` and ``api_path`` in discovery (plus ``vendor``, ``product_name``,
    ``product_version`` when it answers version 3, which the Swagger makes mandatory);
    ``deviceList`` in attribute and action replies; in each device of an attribute reply a key
    (``macaddress`` or ``guid``: which device it is); in an action reply a device with a
    ``result`` holding ``action_status``. Not needed, so never drawn here: ``name`` (absent or
    empty), a device's ``attributes`` (absent: every attribute unknown).
    """
    if kind == "mdminfo":
        base = draw(mdminfo_documents(asked_version=3, canonical=True))
    elif kind == "attributes":
        base = draw(attributes_documents(min_devices=1, max_devices=2, canonical=True))
    else:
        base = draw(action_documents(canonical=True))
    tree = base.tree
    assert tree is not None
    version = int((tree.find("api_version") or Node("api_version", text="3")).text or 3)
    choices: list[str] = [f"missing-{tag}" for tag in _required(kind, version)]
    choices += ["wrong-root", "wrong-name"]
    if kind == "attributes":
        choices += ["device-without-key"]
    elif kind == "action":
        choices += ["device-without-body"]
    how = draw(st.sampled_from(choices))
    if how.startswith("missing-"):
        tree = tree.without(how.removeprefix("missing-"))
    elif how == "wrong-root":
        tree = replace(tree, tag=draw(st.sampled_from(["ise", "mdm_api", "error", "html"])))
    elif how == "wrong-name":
        other = {"mdminfo": "attributes", "attributes": "action", "action": "attributes"}[kind]
        name = Node("name", text=draw(st.sampled_from([other, "error"])))
        tree = tree.with_children(name, *tree.without("name").children)
    else:
        device_list = tree.find("deviceList")
        assert device_list is not None and device_list.children
        first, *rest = device_list.children
        drop = ("macaddress", "guid") if how == "device-without-key" else ("attributes", "result")
        first = replace(first, children=tuple(c for c in first.children if c.tag not in drop))
        new_list = device_list.with_children(first, *rest)
        tree = tree.with_children(
            *(new_list if c.tag == "deviceList" else c for c in tree.children)
        )
    return _refusal(base, render(tree, _UTF8), INVALID_REPLY, "incomplete", how)


_BAD_VALUES: dict[str, list[str]] = {
    "api_version": ["three", "3.0", "-1", "0", "v3", "99999999999999999999"],
    "query_max_size": ["lots", "1e3", "-5"],
    "messaging_support": ["yes", "maybe", "Y"],
    "register_status": ["yes", "registered", "Y"],
    "status": ["compliant", "yes", "ok"],
    "lastCheckinTimeStamp": ["yesterday", "2023-07-01T00:00:00Z", "12.5"],
    "macaddress": ["ZZ:ZZ:ZZ:ZZ:ZZ:ZZ", "0026B424FE", "0026B424FEB4AA"],
    "action_status": ["done", "yes", "Y"],
}


def _replace_text(node: Node, tag: str, text: str) -> tuple[Node, bool]:
    if node.tag == tag and not node.children:
        return replace(node, text=text), True
    done = False
    children = []
    for child in node.children:
        if not done:
            child, done = _replace_text(child, tag, text)
        children.append(child)
    return replace(node, children=tuple(children)), done


@st.composite
def mistyped_documents(draw: st.DrawFn, kind: Kind = "attributes") -> Document:
    """A well-formed reply with a value of the wrong type (``api_version`` "three", a boolean "yes", ...).

    Paired with ``{"parse_error", "protocol_error"}``.
    """
    tags = {
        "mdminfo": ["api_version", "query_max_size", "messaging_support"],
        "attributes": ["register_status", "status", "lastCheckinTimeStamp", "macaddress"],
        "action": ["action_status"],
    }[kind]
    if kind == "attributes":
        base = draw(
            attributes_documents(
                min_devices=1, max_devices=1, api_version=3, key="macaddress", canonical=True
            )
        )
    else:
        base = draw(valid_documents(kind, canonical=True))
    assert base.tree is not None
    present = [t for t in tags if _replace_text(base.tree, t, "x")[1]]
    tag = draw(st.sampled_from(present or tags))
    tree, done = _replace_text(base.tree, tag, draw(st.sampled_from(_BAD_VALUES[tag])))
    if not done:  # the drawn device left the element out: add it where it belongs
        device_list = tree.find("deviceList")
        assert device_list is not None
        device = device_list.children[0]
        attrs = device.find("attributes") or Node("attributes")
        attrs = attrs.with_children(
            *attrs.children, Node(tag, text=draw(st.sampled_from(_BAD_VALUES[tag])))
        )
        device = device.with_children(
            *(attrs if c.tag == "attributes" else c for c in device.children)
        )
        tree = tree.with_children(
            *(
                device_list.with_children(device) if c.tag == "deviceList" else c
                for c in tree.children
            )
        )
    return _refusal(base, render(tree, _UTF8), INVALID_REPLY, "mistyped", tag)


HOSTILITIES = ("xxe-general", "xxe-parameter", "external-dtd", "billion-laughs", "quadratic-blowup")


def hostile_document(kind: Kind, how: str, *, canary_url: str, base: Document) -> Document:
    """``base`` turned hostile by ``how`` (one of :data:`HOSTILITIES`); the canary URL is what an XXE fetches."""
    assert base.tree is not None
    body = render(base.tree, Style(declaration=False))
    decl = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    canary = canary_url.encode()
    if how == "xxe-general":
        dtd = b'<!DOCTYPE ise_api [<!ENTITY ext SYSTEM "' + canary + b'">]>\n'
        body = body.replace(
            b"<name>" + kind.encode() + b"</name>",
            b"<name>" + kind.encode() + b"</name><x>&ext;</x>",
            1,
        )
    elif how == "xxe-parameter":
        dtd = b'<!DOCTYPE ise_api [<!ENTITY % p SYSTEM "' + canary + b'"> %p;]>\n'
    elif how == "external-dtd":
        dtd = b'<!DOCTYPE ise_api SYSTEM "' + canary + b'">\n'
    elif how == "billion-laughs":
        ents = [b'<!ENTITY lol0 "lol">']
        for i in range(1, 10):
            ents.append(
                b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10)))
            )
        dtd = b"<!DOCTYPE ise_api [" + b"".join(ents) + b"]>\n"
        body = body.replace(b"<name>", b"<x>&lol9;</x><name>", 1)
    elif how == "quadratic-blowup":
        # 3 MB from one 10 KB entity: small enough that even expat's amplification guard (which
        # starts at 8 MiB) lets a parser that expands internal entities do it - and be caught.
        dtd = b'<!DOCTYPE ise_api [<!ENTITY a "' + b"A" * 10_000 + b'">]>\n'
        body = body.replace(b"<name>", b"<x>" + b"&a;" * 300 + b"</x><name>", 1)
    else:
        raise ValueError(f"how={how!r} is not one of {', '.join(HOSTILITIES)}")
    return _refusal(base, decl + dtd + body, PARSE_ERROR, "hostile", how)


@st.composite
def hostile_documents(
    draw: st.DrawFn, kind: Kind = "attributes", *, canary_url: str, how: str | None = None
) -> Document:
    """XXE, external DTDs and entity-expansion bombs, paired with ``{"parse_error"}``.

    The XXE variants point at ``canary_url``: a correct client never fetches it.
    """
    base = draw(valid_documents(kind, canonical=True))
    return hostile_document(
        kind, how or draw(st.sampled_from(HOSTILITIES)), canary_url=canary_url, base=base
    )


def refused_documents(kind: Kind = "attributes", **kwargs: Any) -> st.SearchStrategy[Document]:
    """Any document a correct client must refuse (malformed, incomplete or mistyped)."""
    return st.one_of(
        malformed_documents(kind), incomplete_documents(kind), mistyped_documents(kind)
    )
