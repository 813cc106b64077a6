"""Valid ISE MDM documents in the variants real servers send, each with the parse it must yield.

The expected values follow the result shapes of the adapter protocol (README, "Adapter
protocol"): absent and empty elements are null, strings are compared trimmed of XML white space,
MAC addresses are 12 upper-case hex digits, ``macaddresses`` is a list, ``query_max_size`` is
5000 when absent.

Over 400 lines: the valid documents of all three kinds share their devices, styles and the
expected parse each must yield; the refused and hostile ones are ``_hostile.py``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from hypothesis import strategies as st

from ._xml import XML_WHITESPACE, Encoding, Node, Style, render, trimmed

Kind = Literal["mdminfo", "attributes", "action"]

#: What every field of a device object is when the document says nothing about it.
EMPTY_DEVICE: Mapping[str, Any] = {
    "macaddress": None,
    "guid": None,
    "register_status": None,
    "disk_encryption_on": None,
    "pin_lock_on": None,
    "jail_broken": None,
    "compliance": {"status": None, "failure_reason": None, "remediation": None},
    "manufacturer": None,
    "model": None,
    "imei": None,
    "meid": None,
    "udid": None,
    "serial_number": None,
    "os_version": None,
    "phone_number": None,
    "last_checkin_ms": None,
    "macaddresses": [],
}

# The protocol's attribute names are spelled out here on purpose rather than imported from
# harness.mdm: the strategies are an oracle for the protocol, written apart from the server
# they also judge, so a slip in one is not silently shared by the other.
BOOL_FIELDS = ("register_status", "disk_encryption_on", "pin_lock_on", "jail_broken")
STRING_FIELDS = (
    "manufacturer",
    "model",
    "imei",
    "meid",
    "udid",
    "serial_number",
    "os_version",
    "phone_number",
)
NAMESPACES = (
    "http://www.cisco.com/ise/mdm/v3",
    "urn:example:mdm",
    "http://schemas.example.test/ise",
)


@dataclass(frozen=True)
class Document:
    """An HTTP response body a client may receive, and what a correct client concludes from it.

    ``expected`` is the ``result`` a correct client reports for a valid document (``None`` for
    documents a client must refuse); ``outcomes`` is the set of acceptable outcome categories:
    ``{"ok"}``, or error categories such as ``{"parse_error"}``.
    """

    kind: Kind
    body: bytes
    expected: Mapping[str, Any] | None
    outcomes: frozenset[str]
    variant: tuple[str, ...] = ()
    tree: Node | None = field(default=None, repr=False, compare=False)
    style: Style = field(default_factory=Style, repr=False, compare=False)
    content_type: str = "application/xml"

    def __repr__(self) -> str:  # hypothesis prints this for a failing example: keep it readable
        return (
            f"Document(kind={self.kind!r}, outcomes={sorted(self.outcomes)}, "
            f"variant={self.variant}, body={self.body[:1500]!r}{'...' if len(self.body) > 1500 else ''})"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # hypothesis's pretty printer
        p.text(repr(self))

    @property
    def valid(self) -> bool:
        return self.outcomes == frozenset({"ok"})


# ---------------------------------------------------------------------------- scalar values

_XML_CHAR = st.characters(
    min_codepoint=0x20, exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"
)
_EDGE = st.sampled_from(["&", "<", ">", "]]>", "&amp;", '"', "'", "é", "€", "𝄞"])
_SOLID = st.characters(
    min_codepoint=0x21, exclude_categories=("Cs", "Cc", "Z"), exclude_characters="\ufffe\uffff"
)


@st.composite
def xml_strings(draw: st.DrawFn, *, max_size: int = 24) -> str:
    """A non-blank string of XML characters whose ends are not white space (in any language)."""
    first = draw(_SOLID)
    pieces = st.one_of(_XML_CHAR, _EDGE, st.sampled_from(" \t\n"))
    middle = "".join(draw(st.lists(pieces, max_size=max_size)))
    if not middle:
        return first
    return first + middle + draw(_SOLID)


@st.composite
def padded(draw: st.DrawFn, value: str) -> str:
    """``value`` with optional XML white space around it (a correct parse trims it)."""
    if not draw(st.booleans()):
        return value
    ws = st.text(st.sampled_from(XML_WHITESPACE), min_size=1, max_size=3)
    return draw(ws) + value + draw(ws)


def _hex12() -> st.SearchStrategy[str]:
    return st.text(st.sampled_from("0123456789ABCDEF"), min_size=12, max_size=12)


#: The forms a MAC address is written in, in the field: :func:`mac_address_forms` can pin one.
MAC_FORMS: tuple[str, ...] = ("plain", "lower", "colon", "dash", "dot", "lower-colon")


@st.composite
def mac_address_forms(draw: st.DrawFn, *, form: str | None = None) -> tuple[str, str]:
    """``(as written, normalised)``: a MAC in one of :data:`MAC_FORMS`, and its 12 upper-case hex digits.

    ``form`` pins the form. Shrinks towards ``000000000000`` written plainly.
    """
    if form is not None and form not in MAC_FORMS:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"form={form!r} is not one of {', '.join(MAC_FORMS)}")
    mac = draw(_hex12())
    form = form or draw(st.sampled_from(MAC_FORMS))
    pairs = [mac[i : i + 2] for i in range(0, 12, 2)]
    written = {
        "plain": mac,
        "lower": mac.lower(),
        "colon": ":".join(pairs),
        "dash": "-".join(pairs),
        "dot": ".".join(mac[i : i + 4] for i in range(0, 12, 4)),
        "lower-colon": ":".join(pairs).lower(),
    }[form]
    return written, mac


def _text_form() -> st.SearchStrategy[Literal["escape", "cdata", "charref"]]:
    return st.sampled_from(["escape", "escape", "cdata", "charref"])


@st.composite
def _string_element(
    draw: st.DrawFn, tag: str, conforming: bool = False
) -> tuple[Node | None, str | None]:
    """An optional string element: absent, empty, blank, or a (padded) value.

    ``conforming``: only what Cisco's Swagger allows - a value as is, or no element.
    """
    # "absent" first: a failing document shrinks towards leaving the element out.
    shapes = ["absent", "value", "value", "value"] + ([] if conforming else ["empty", "blank"])
    shape = draw(st.sampled_from(shapes))
    if shape == "absent":
        return None, None
    if shape == "empty":
        return Node(tag), None
    if shape == "blank":
        return Node(tag, text=draw(st.text(st.sampled_from(" \t\n"), min_size=1, max_size=3))), None
    value = draw(xml_strings())
    text = value if conforming else draw(padded(value))
    return Node(tag, text=text, text_form=draw(_text_form())), trimmed(value)


@st.composite
def _bool_element(
    draw: st.DrawFn, tag: str, conforming: bool = False, required: bool = False
) -> tuple[Node | None, bool | None]:
    shapes = ["value"] if required else ["absent", "value", "value", "value"]
    if not (conforming or required):
        shapes.append("empty")
    shape = draw(st.sampled_from(shapes))
    if shape == "absent":
        return None, None
    if shape == "empty":
        return Node(tag), None
    value = draw(st.booleans())
    text = "true" if value else "false"
    return Node(tag, text=text if conforming else draw(padded(text))), value


# ---------------------------------------------------------------------------- devices


@st.composite
def devices(
    draw: st.DrawFn, *, api_version: int = 3, key: str | None = None, conforming: bool = False
) -> tuple[Node, dict[str, Any]]:
    """One ``<device>`` element and the device object a correct parse yields.

    ``conforming`` devices are written exactly as Cisco's Swagger describes them (valid against
    the reference MDM's XSD); otherwise in any of the looser forms real servers send.
    """

    def keep(text: str) -> str:
        return text if conforming else draw(padded(text))

    key = key or draw(
        st.sampled_from(["macaddress", "guid"] if api_version >= 3 else ["macaddress"])
    )
    expected: dict[str, Any] = {k: v for k, v in EMPTY_DEVICE.items() if k != "compliance"}
    expected["compliance"] = dict(EMPTY_DEVICE["compliance"])
    attrs: list[Node] = []

    if key == "macaddress":
        written, mac = draw(mac_address_forms())
        key_node = Node("macaddress", text=keep(mac if conforming else written))
        expected["macaddress"] = mac
    else:
        guid = str(draw(st.uuids()))
        if not conforming:
            guid = draw(st.sampled_from([guid, guid.upper(), draw(xml_strings(max_size=40))]))
        key_node = Node("guid", text=keep(guid), text_form=draw(_text_form()))
        expected["guid"] = trimmed(guid)

    node, value = draw(_bool_element("register_status", conforming))
    if node is not None:
        attrs.append(node)
    expected["register_status"] = value

    # A conforming <compliance> always carries its <status>; a loose one may be empty.
    if not conforming or draw(st.booleans()):
        compliance_children: list[Node] = []
        compliance_drawn: list[tuple[str, tuple[Node | None, object]]] = [
            ("status", draw(_bool_element("status", conforming, required=conforming))),
            ("failure_reason", draw(_string_element("failure_reason", conforming))),
            ("remediation", draw(_string_element("remediation", conforming))),
        ]
        for tag, (child, drawn) in compliance_drawn:
            if child is not None:
                compliance_children.append(child)
            expected["compliance"][tag] = drawn
        if bool(compliance_children) or draw(st.booleans()):
            attrs.append(Node("compliance", children=tuple(compliance_children)))

    for tag in BOOL_FIELDS[1:]:
        bool_node, flag = draw(_bool_element(tag, conforming))
        if bool_node is not None:
            attrs.append(bool_node)
        expected[tag] = flag
    for tag in STRING_FIELDS:
        str_node, text = draw(_string_element(tag, conforming))
        if str_node is not None:
            attrs.append(str_node)
        expected[tag] = text

    if api_version >= 3:
        if draw(st.booleans()):
            stamp = draw(st.integers(min_value=0, max_value=4_102_444_800_000))
            attrs.append(Node("lastCheckinTimeStamp", text=keep(str(stamp))))
            expected["last_checkin_ms"] = stamp
        if key == "guid" and draw(st.booleans()):
            attrs.append(key_node)  # v3 repeats the guid among the attributes
        if draw(st.booleans()):
            forms = draw(st.lists(mac_address_forms(), min_size=1, max_size=5))
            if conforming:
                forms = [(mac, mac) for _, mac in forms]
            sep = "," if conforming else draw(st.sampled_from([",", ", "]))
            attrs.append(Node("macaddresses", text=sep.join(w for w, _ in forms)))
            expected["macaddresses"] = [m for _, m in forms]

    device = Node("device", children=(key_node, Node("attributes", children=tuple(attrs))))
    return device, expected


# ---------------------------------------------------------------------------- styles


#: The families of writing a document that real servers use; :func:`styles` can be pinned to one.
STYLE_FAMILIES: tuple[str, ...] = (
    "plain",
    "default-namespace",
    "capitalised",
    "utf-8-bom",
    "iso-8859-1",
    "utf-16",
    "indented",
)


@st.composite
def styles(draw: st.DrawFn, *, allow_capitalised: bool = True, family: str | None = None) -> Style:
    """A way of writing a document that real servers use.

    ``family`` (one of :data:`STYLE_FAMILIES`) pins the trait a test wants to be sure of and
    draws the rest; without it every trait is drawn. Shrinks to plain UTF-8 without namespace.
    """
    if family is not None and family not in STYLE_FAMILIES:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"family={family!r} is not one of {', '.join(STYLE_FAMILIES)}")
    if family == "plain":
        return Style(declaration=draw(st.booleans()))
    tags: list[str] = []
    namespace = draw(st.one_of(st.none(), st.sampled_from(NAMESPACES)))
    if family == "default-namespace":
        namespace = namespace or NAMESPACES[0]
    if namespace:
        tags.append("default-namespace")
    capitalise: frozenset[str] = frozenset()
    if family == "capitalised" or (allow_capitalised and family is None and draw(st.booleans())):
        capitalise = frozenset({"attributes", "compliance"})
        tags.append("capitalised")
    encodings: list[Encoding] = ["utf-8", "utf-8", "utf-8-sig", "iso-8859-1", "utf-16"]
    pinned: dict[str, Encoding] = {
        "utf-8-bom": "utf-8-sig",
        "iso-8859-1": "iso-8859-1",
        "utf-16": "utf-16",
    }
    pin = pinned.get(family or "")
    encoding: Encoding = pin if pin is not None else draw(st.sampled_from(encodings))
    declaration = draw(st.booleans()) if encoding in ("utf-8", "utf-8-sig") else True
    if encoding != "utf-8":
        tags.append(f"encoding-{encoding}")
    if not declaration:
        tags.append("no-declaration")
    indent = draw(st.sampled_from([None, "  ", "\t"]))
    if family == "indented":
        indent = indent or "  "
    if indent is not None:
        tags.append("indented")
    return Style(
        declaration=declaration,
        encoding=encoding,
        namespace=namespace,
        capitalise=capitalise,
        indent=indent,
        variant_tags=tuple(tags),
    )


def canonical_style() -> Style:
    """The style Cisco's Swagger examples use: UTF-8, declaration, no namespace, lower case."""
    return Style()


def _make(
    kind: Kind, tree: Node, style: Style, expected: Mapping[str, Any], extra: tuple[str, ...] = ()
) -> Document:
    return Document(
        kind=kind,
        body=render(tree, style),
        expected=expected,
        outcomes=frozenset({"ok"}),
        variant=style.variant_tags + extra,
        tree=tree,
        style=style,
    )


# ---------------------------------------------------------------------------- documents


def _url_paths() -> st.SearchStrategy[str]:
    segment = st.text(
        st.sampled_from(string.ascii_letters + string.digits + "-._~"), min_size=1, max_size=12
    ).filter(lambda s: s not in (".", ".."))  # dot segments are rewritten by URL normalisation
    return st.lists(segment, min_size=1, max_size=4).map(lambda s: "/" + "/".join(s))


@st.composite
def mdminfo_documents(
    draw: st.DrawFn,
    *,
    asked_version: int = 3,
    api_path: str | None = None,
    canonical: bool = False,
    family: str | None = None,
) -> Document:
    """Discovery (``mdminfo``) replies a correct client accepts, with the values it must report.

    ``api_version`` is drawn at or below ``asked_version``; ``api_path`` is drawn (a random
    absolute path) unless given. ``canonical`` documents are written exactly as Cisco's Swagger
    describes them (they validate against the reference MDM's XSDs). Shrinks towards a v1
    answer written canonically.
    """

    def keep(text: str) -> str:
        return text if canonical else draw(padded(text))

    version = draw(st.integers(min_value=1, max_value=asked_version))
    path = api_path if api_path is not None else draw(_url_paths())
    style = canonical_style() if canonical else draw(styles(allow_capitalised=False, family=family))
    redirect = (
        "https://"
        + draw(st.sampled_from(["acme.jamfcloud.test", "mdm.example.test"]))
        + draw(_url_paths())
    )
    children = [
        Node("name", text="mdminfo"),
        Node("api_version", text=keep(str(version))),
        Node("api_path", text=keep(path)),
        Node("redirect_url", text=redirect),
    ]
    expected: dict[str, Any] = {
        "api_version": version,
        "api_path": path,
        "redirect_url": redirect,
        "query_max_size": 5000,
        "messaging_support": None,
        "vendor": None,
        "product_name": None,
        "product_version": None,
    }
    if draw(st.booleans()) or canonical:
        size = draw(st.integers(min_value=1, max_value=10_000))
        children.append(Node("query_max_size", text=keep(str(size))))
        expected["query_max_size"] = size
    if draw(st.booleans()) or canonical:
        support = draw(st.booleans())
        children.append(Node("messaging_support", text="true" if support else "false"))
        expected["messaging_support"] = support
    if version >= 3 or draw(st.booleans()):
        for tag in ("vendor", "product_name", "product_version"):
            value = draw(xml_strings(max_size=30))
            children.append(Node(tag, text=keep(value), text_form=draw(_text_form())))
            expected[tag] = trimmed(value)
    tree = Node("ise_api", children=tuple(children))
    return _make("mdminfo", tree, style, expected)


@st.composite
def attributes_documents(
    draw: st.DrawFn,
    *,
    min_devices: int = 0,
    max_devices: int = 3,
    api_version: int | None = None,
    key: str | None = None,
    canonical: bool = False,
    family: str | None = None,
) -> Document:
    """Device-attribute replies (one page, ``paging_info`` 0 or absent) and the devices a correct parse yields.

    ``canonical`` documents are written exactly as Cisco's Swagger describes them (they
    validate against the reference MDM's XSD). Shrinks towards an empty ``deviceList`` written
    canonically.
    """
    if min_devices < 0 or max_devices < min_devices:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(
            f"min_devices={min_devices!r}, max_devices={max_devices!r} is not a range"
        )
    version = api_version or draw(st.integers(min_value=1, max_value=3))
    style = canonical_style() if canonical else draw(styles(family=family))
    pairs = draw(
        st.lists(
            devices(api_version=version, key=key, conforming=canonical),
            min_size=min_devices,
            max_size=max_devices,
        )
    )
    children = [Node("name", text="attributes"), Node("api_version", text=str(version))]
    if draw(st.booleans()) or canonical:
        children.append(Node("paging_info", text="0"))
    if version >= 3 and (draw(st.booleans()) or canonical):
        children.append(Node("server_busy_wait_seconds", text="0"))
    children.append(Node("deviceList", children=tuple(node for node, _ in pairs)))
    tree = Node("ise_api", children=tuple(children))
    return _make("attributes", tree, style, {"devices": [exp for _, exp in pairs]})


@st.composite
def action_documents(
    draw: st.DrawFn, *, canonical: bool = False, family: str | None = None
) -> Document:
    """Action replies and the ``action_status``/``failure_reason`` a correct parse yields."""
    style = canonical_style() if canonical else draw(styles(allow_capitalised=False, family=family))
    status = draw(st.booleans())
    reason_node, reason = draw(_string_element("failure_reason", canonical))
    flag = "true" if status else "false"
    result = [Node("action_status", text=flag if canonical else draw(padded(flag)))]
    if reason_node is not None:
        result.append(reason_node)
    key = draw(st.sampled_from(["macaddress", "guid"]))
    key_value = draw(_hex12()) if key == "macaddress" else str(draw(st.uuids()))
    device = Node(
        "device", children=(Node(key, text=key_value), Node("result", children=tuple(result)))
    )
    tree = Node(
        "ise_api",
        children=(
            Node("name", text="action"),
            Node("api_version", text=str(draw(st.integers(1, 3)))),
            Node("deviceList", children=(device,)),
        ),
    )
    return _make("action", tree, style, {"action_status": status, "failure_reason": reason})


def valid_documents(kind: Kind, **kwargs: Any) -> st.SearchStrategy[Document]:
    """The valid-document strategy for ``kind``."""
    if kind == "mdminfo":
        return mdminfo_documents(**kwargs)
    if kind == "attributes":
        return attributes_documents(**kwargs)
    return action_documents(**kwargs)


@st.composite
def reordered_documents(draw: st.DrawFn, kind: Kind, **kwargs: Any) -> Document:
    """A valid document with its elements shuffled and unknown elements and XML attributes added.

    The expected parse is the original's: element order and unknown elements must not matter.
    """
    doc = draw(valid_documents(kind, **kwargs))
    assert doc.tree is not None
    unknown_tags = st.sampled_from(
        ["extension", "vendor_data", "x_note", "ownership", "department"]
    )

    def mutate(node: Node, depth: int) -> Node:
        if not node.children:
            return node
        children = [mutate(c, depth + 1) for c in node.children]
        if node.tag != "deviceList":  # device order is meaningful; element order is not
            children = list(draw(st.permutations(children)))
        # At least one unknown element, at the top, so that every example has one to ignore.
        for _ in range(draw(st.integers(1 if depth == 0 else 0, 2))):
            extra = Node(
                draw(unknown_tags),
                children=(Node("value", text=draw(xml_strings(max_size=8))),)
                if draw(st.booleans())
                else (),
                text=None,
            )
            children.insert(draw(st.integers(0, len(children))), extra)
        attrs = node.attrs
        if draw(st.booleans()):
            attrs = (*attrs, ("id", draw(xml_strings(max_size=6))), ("source", "mdm"))
        return replace(node, children=tuple(children), attrs=attrs)

    tree = mutate(doc.tree, 0)
    return replace(
        doc,
        body=render(tree, doc.style),
        tree=tree,
        variant=(*doc.variant, "reordered", "unknown-elements"),
    )


def full_page(
    device: tuple[Node, Mapping[str, Any]], count: int, *, api_version: int = 3
) -> Document:
    """A canonical one-page attributes reply of ``count`` copies of ``device``, each with its own MAC.

    For P5: a page as large as ``query_max_size`` allows, built without drawing ``count``
    devices one by one (hypothesis draws one; the page repeats it).
    """
    node, expected = device
    attributes = node.find("attributes")
    if attributes is None or node.find("macaddress") is None:
        raise ValueError("full_page needs a device keyed by macaddress (devices(key='macaddress'))")
    nodes: list[Node] = []
    devices_expected: list[dict[str, Any]] = []
    for i in range(count):
        mac = f"{0x0A0000000000 + i:012X}"
        nodes.append(Node("device", children=(Node("macaddress", text=mac), attributes)))
        copy = dict(expected)
        copy["macaddress"] = mac
        devices_expected.append(copy)
    tree = Node(
        "ise_api",
        children=(
            Node("name", text="attributes"),
            Node("api_version", text=str(api_version)),
            Node("paging_info", text="0"),
            Node("deviceList", children=tuple(nodes)),
        ),
    )
    return _make(
        "attributes", tree, canonical_style(), {"devices": devices_expected}, ("full-page",)
    )
