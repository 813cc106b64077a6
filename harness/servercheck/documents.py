"""Reading a server's answers the way the checks need: hardened, and tolerant where ISE is.

:func:`read` parses a body with the harness's one hardened parser (no DTD, no entities, no
network). The readers below then look elements up by local name without regard to case or
namespace, as ISE does (Intune sends a default namespace and ``Attributes``), so a check finds
what it judges whatever the server's spelling; how the server spells it is judged by the
contracts that own the spelling (L6 the case of MACs, X2 the document as a whole).

:func:`validate` judges a document against the reference MDM's XSD (``harness.mdm.schemas``)
after :func:`normalise` has taken out the variations ISE tolerates - so a server is held to
Cisco's elements and types, not to the reference MDM's spelling of them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from harness import _xml as hardened_xml
from harness._util import normalise_mac

__all__ = [
    "DeviceView",
    "Parsed",
    "child",
    "devices",
    "is_xml_content_type",
    "mac_or_none",
    "normalise",
    "read",
    "text",
    "validate",
]

_XML_WS = " \t\n\r"


@dataclass(frozen=True)
class Parsed:
    """A body read as XML: its root, or why it is not a well-formed document."""

    root: etree._Element | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.root is not None


def read(body: bytes) -> Parsed:
    """The body as a document (``problem`` says why not: empty, a DOCTYPE, a syntax error)."""
    try:
        return Parsed(hardened_xml.parse(body))
    except hardened_xml.UnsafeOrBrokenXML as exc:
        return Parsed(None, f"not a well-formed XML document: {exc.message}")


def is_xml_content_type(value: str) -> bool:
    """``application/xml``, ``text/xml`` or any ``+xml`` type (parameters allowed)."""
    media = value.split(";", 1)[0].strip().lower()
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


def local(el: etree._Element) -> str:
    """The element's local name, lower case (``""`` for comments and the like)."""
    return etree.QName(el).localname.lower() if isinstance(el.tag, str) else ""


def children(el: etree._Element, name: str) -> list[etree._Element]:
    wanted = name.lower()
    return [c for c in el if local(c) == wanted]


def child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    found = children(el, name)
    return found[0] if found else None


def text(el: etree._Element | None, name: str | None = None) -> str | None:
    """The trimmed text of ``el`` (or of its child ``name``); ``None`` when absent or empty."""
    target = el if name is None else child(el, name)
    if target is None:
        return None
    value = (target.text or "").strip(_XML_WS)
    return value or None


def mac_or_none(value: str) -> str | None:
    """:func:`harness._util.normalise_mac` of ``value``, or ``None`` when it is not a MAC."""
    try:
        return normalise_mac(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class DeviceView:
    """One ``<device>`` of an attributes answer, read leniently."""

    #: ``macaddress`` or ``guid`` (the key element), or ``None`` when the device has no key.
    key_kind: str | None
    key: str | None
    #: Attribute texts by lower-case name (``compliance.status`` for the nested ones).
    attributes: dict[str, str | None] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.attributes.get(name.lower())

    @property
    def names(self) -> frozenset[str]:
        """The attribute elements present (``compliance`` for the nested block)."""
        return frozenset(n.split(".", 1)[0] for n in self.attributes)

    @property
    def guid(self) -> str | None:
        value = self.key if self.key_kind == "guid" else self.get("guid")
        return value.lower() if value else None

    @property
    def macs(self) -> frozenset[str]:
        """Every MAC the device names (key and ``macaddresses``), normalised."""
        found = []
        if self.key_kind == "macaddress" and self.key:
            found.append(self.key)
        found += (self.get("macaddresses") or "").split(",")
        return frozenset(m for m in (mac_or_none(v.strip()) for v in found if v.strip()) if m)

    def identifiers(self) -> dict[str, str]:
        """GUID, UDID, IMEI, MEID and serial as sent (for comparing two answers)."""
        out = {}
        for name in ("udid", "imei", "meid", "serial_number"):
            value = self.get(name)
            if value:
                out[name] = value.upper() if name != "imei" else value
        if self.guid:
            out["guid"] = self.guid
        return out


def devices(root: etree._Element | None) -> list[DeviceView] | None:
    """The devices of an attributes answer; ``None`` when it has no ``deviceList``."""
    device_list = child(root, "deviceList")
    if device_list is None:
        return None
    out = []
    for dev in children(device_list, "device"):
        key_kind = key = None
        for kind in ("macaddress", "guid"):
            if child(dev, kind) is not None:
                key_kind, key = kind, text(dev, kind)
                break
        attributes: dict[str, str | None] = {}
        block = child(dev, "attributes")
        for attr in block if block is not None else ():
            name = local(attr)
            if not name:
                continue
            if name == "compliance":
                attributes["compliance"] = None
                for part in attr:
                    if local(part):
                        attributes[f"compliance.{local(part)}"] = text(part)
            else:
                attributes[name] = text(attr)
        out.append(DeviceView(key_kind, key, attributes))
    return out


# -- validation against the shipped schemas, with ISE's tolerance ---------------------------------

#: Every element name of the response schemas, by its lower-case spelling.
_CANONICAL = {
    name.lower(): name
    for name in [
        "ise_api",
        "name",
        "api_version",
        "api_path",
        "redirect_url",
        "query_max_size",
        "messaging_support",
        "vendor",
        "product_name",
        "product_version",
        "paging_info",
        "server_busy_wait_seconds",
        "deviceList",
        "device",
        "macaddress",
        "guid",
        "guidhn",
        "attributes",
        "register_status",
        "compliance",
        "status",
        "failure_reason",
        "remediation",
        "disk_encryption_on",
        "pin_lock_on",
        "jail_broken",
        "manufacturer",
        "model",
        "imei",
        "meid",
        "udid",
        "serial_number",
        "os_version",
        "phone_number",
        "lastCheckinTimeStamp",
        "macaddresses",
        "result",
        "action_status",
    ]
}
#: Elements that hold other elements (an empty one is kept, not dropped).
_CONTAINERS = frozenset({"ise_api", "deviceList", "device", "attributes", "compliance", "result"})
#: Child order where the schemas say ``sequence``.
_ORDER = {
    "device": ("macaddress", "guid", "guidhn", "attributes", "result"),
    "compliance": ("status", "failure_reason", "remediation"),
    "result": ("action_status", "failure_reason"),
}


def normalise(root: etree._Element, kind: str, *, drop: Iterable[str] = ()) -> etree._Element:
    """A copy of ``root`` without the variations ISE tolerates (docs/protocol.md section 4):

    namespaces, the case of element names, white space around values, empty value elements,
    elements the schema does not know, child order, the case of MACs, and (attributes) an
    absent ``paging_info`` (Cisco: "or it doesn't return paging info"). ``drop`` removes
    elements another contract judges (``server_busy_wait_seconds`` is G4's).
    """
    dropped = {d.lower() for d in drop}
    tree = copy.deepcopy(root)
    for el in list(tree.iter()):
        if not isinstance(el.tag, str):
            el.getparent().remove(el)
    for el in list(tree.iter()):
        if el is not tree and el.getparent() is None:
            continue
        name = _CANONICAL.get(local(el))
        parent = el.getparent()
        if name is None or name.lower() in dropped:
            if parent is not None:
                parent.remove(el)
            continue
        el.tag = name
        el.attrib.clear()
        if name in _CONTAINERS:
            el.text = None
            for c in el:
                c.tail = None
        else:
            value = (el.text or "").strip(_XML_WS)
            if name in ("macaddress", "macaddresses"):
                value = value.upper()
            if not value and parent is not None:
                parent.remove(el)
                continue
            el.text = value
    etree.cleanup_namespaces(tree)
    for name, order in _ORDER.items():
        for el in tree.iter(name):
            rank = {n: i for i, n in enumerate(order)}
            el[:] = sorted(el, key=lambda c: rank.get(str(c.tag), len(order)))
    if kind == "attributes" and tree.find("paging_info") is None:
        etree.SubElement(tree, "paging_info").text = "0"
    return tree


def validate(root: etree._Element, kind: str, *, drop: Iterable[str] = ()) -> list[str]:
    """The schema problems of ``root`` as a ``kind`` document (``mdminfo``, ``mdminfo-v3``,
    ``attributes``, ``action``) after :func:`normalise`; ``[]`` when it is valid."""
    from harness.mdm import schemas

    normalised = normalise(root, kind.split("-")[0], drop=drop)
    xsd = schemas.schema(kind)
    if xsd.validate(etree.ElementTree(normalised)):
        return []
    log: Any = xsd.error_log
    return [f"{e.message}" for e in log]
