"""A hardened, ISE-like parser for the MDM API's XML answers.

Hardened: lxml with no DTD loading, no entity resolution, no network, no huge trees, a size
cap, and any ``<!DOCTYPE`` rejected outright (so no entity - internal, external or a bomb - is
ever declared, let alone expanded or fetched).

Tolerant where ISE is (docs/protocol.md section 4): any namespace on the elements (Intune puts a
default namespace on the root), element names compared case-insensitively (``Attributes``,
``Compliance``), empty elements read as ``null``, MACs in any case and with ``:``/``-``/``.``
separators normalised to 12 upper-case hex digits, an ``api_version`` in an attributes reply
that differs from discovery, unknown elements ignored, white space around values trimmed.

Strict where it must be: a wrong root or ``<name>``, a missing required element, a value of
the wrong type (a boolean that is not true/false, an integer that is not one, a MAC that is
not 12 hex digits, an element where text belongs) or a duplicated single-valued element is a
:class:`XMLParseError` (category ``parse_error``) - never a partial result. A discovery answer
that parses but breaks the protocol (an ``api_version`` higher than asked; v3 without
``vendor``, ``product_name`` or ``product_version``) is a :class:`ProtocolViolation`
(``protocol_error``).
"""

from __future__ import annotations

import re
from typing import TypedDict

from lxml import etree

from harness import _xml as hardened_xml
from harness.client.protocol import normalise_mac

__all__ = [
    "DEFAULT_QUERY_MAX_SIZE",
    "MAX_BODY_BYTES",
    "ActionResult",
    "AttributesPage",
    "Compliance",
    "Device",
    "MdmInfo",
    "ProtocolViolation",
    "XMLParseError",
    "parse_action",
    "parse_attributes",
    "parse_mdminfo",
    "parse_xml",
]

#: The largest body parsed (a full page of 5000 devices is well under 8 MiB).
MAX_BODY_BYTES = 16 * 1024 * 1024
#: ``query_max_size`` when discovery does not say (docs/protocol.md section 3).
DEFAULT_QUERY_MAX_SIZE = 5000

_INT = re.compile(r"[0-9]+")
#: XML 1.0 white space: what values are trimmed of (not every Unicode space).
_XML_WS = " \t\n\r"


class XMLParseError(ValueError):
    """The body is not a well-formed, well-typed document of the expected kind."""


class ProtocolViolation(ValueError):
    """The document parses but breaks a rule of the protocol."""


class MdmInfo(TypedDict):
    """The ``mdminfo`` result (the adapter protocol's shape)."""

    api_version: int
    api_path: str
    redirect_url: str | None
    vendor: str | None
    product_name: str | None
    product_version: str | None
    query_max_size: int
    messaging_support: bool | None


class Compliance(TypedDict):
    status: bool | None
    failure_reason: str | None
    remediation: str | None


class Device(TypedDict):
    """One device object of a ``device``/``noncompliant`` result."""

    macaddress: str | None
    guid: str | None
    register_status: bool | None
    compliance: Compliance
    disk_encryption_on: bool | None
    pin_lock_on: bool | None
    jail_broken: bool | None
    manufacturer: str | None
    model: str | None
    imei: str | None
    meid: str | None
    udid: str | None
    serial_number: str | None
    os_version: str | None
    phone_number: str | None
    last_checkin_ms: int | None
    macaddresses: list[str]


class AttributesPage(TypedDict):
    """One attributes reply: its devices and the paging fields around them."""

    devices: list[Device]
    #: The opaque cursor for the next page; ``None`` when the listing is complete.
    paging_info: str | None
    server_busy_wait_seconds: int | None
    api_version: int | None


class ActionResult(TypedDict):
    """The ``action`` result."""

    action_status: bool
    failure_reason: str | None


# --------------------------------------------------------------------------------------------
# The hardened document parser


def parse_xml(data: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> etree._Element:
    """Parse ``data`` with the hardened parser and return the root element.

    Raises :class:`XMLParseError` for an empty or oversize body, any DOCTYPE, and every
    well-formedness or namespace error lxml reports.
    """
    if len(data) > max_bytes:
        raise XMLParseError(f"body of {len(data)} bytes exceeds the cap of {max_bytes} bytes")
    try:
        return hardened_xml.parse(data)
    except hardened_xml.UnsafeOrBrokenXML as exc:
        if exc.reason == "syntax":
            raise XMLParseError(f"not well-formed XML: {exc.message}") from None
        raise XMLParseError(exc.message) from None


# --------------------------------------------------------------------------------------------
# Element access: namespace-blind, case-insensitive, strict about duplicates and types


def _name(el: etree._Element) -> str:
    return etree.QName(el).localname.lower()


class _Elem:
    """An element's children by lower-cased local name; ``where`` is its path for messages."""

    def __init__(self, el: etree._Element, where: str) -> None:
        self.el, self.where = el, where
        self.children: dict[str, list[etree._Element]] = {}
        for child in el:
            if isinstance(child.tag, str):  # skip anything that is not an element
                self.children.setdefault(_name(child), []).append(child)

    def all(self, name: str) -> list[_Elem]:
        return [_Elem(c, f"{self.where}/{name}") for c in self.children.get(name, [])]

    def one(self, name: str) -> _Elem | None:
        """The single child ``name``, or ``None``; a duplicate is a parse error."""
        found = self.children.get(name, [])
        if len(found) > 1:
            raise XMLParseError(f"{self.where}/{name}: appears {len(found)} times, expected once")
        return _Elem(found[0], f"{self.where}/{name}") if found else None

    def need(self, name: str) -> _Elem:
        """The single child ``name``; missing is a parse error."""
        child = self.one(name)
        if child is None:
            raise XMLParseError(f"{self.where}/{name}: missing")
        return child

    def text(self, name: str, *, required: bool = False) -> str | None:
        """Trimmed text of child ``name``; ``None`` when absent or empty (unless required)."""
        child = self.need(name) if required else self.one(name)
        if child is None:
            return None
        if child.children:
            first = next(iter(child.children))
            raise XMLParseError(f"{child.where}: expected text, found element <{first}>")
        value = (child.el.text or "").strip(_XML_WS)
        if not value and required:
            raise XMLParseError(f"{child.where}: empty")
        return value or None

    def need_text(self, name: str) -> str:
        """Trimmed, non-empty text of the required child ``name``."""
        value = self.text(name, required=True)
        if value is None:  # pragma: no cover - text(required=True) raises first
            raise XMLParseError(f"{self.where}/{name}: empty")
        return value

    def string(self, name: str) -> str | None:
        return self.text(name)

    def integer(self, name: str, *, low: int | None = None) -> int | None:
        value = self.text(name)
        return None if value is None else self._to_int(name, value, low)

    def need_int(self, name: str, *, low: int | None = None) -> int:
        return self._to_int(name, self.need_text(name), low)

    def _to_int(self, name: str, value: str, low: int | None) -> int:
        if not _INT.fullmatch(value):
            raise XMLParseError(f"{self.where}/{name}: expected an integer, got {value[:40]!r}")
        number = int(value)
        if low is not None and number < low:
            raise XMLParseError(f"{self.where}/{name}: {number} is less than {low}")
        return number

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        return None if value is None else self._to_bool(name, value)

    def need_bool(self, name: str) -> bool:
        return self._to_bool(name, self.need_text(name))

    def _to_bool(self, name: str, value: str) -> bool:
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise XMLParseError(f"{self.where}/{name}: expected true or false, got {value[:40]!r}")
        return lowered == "true"

    def mac(self, name: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return normalise_mac(value)
        except ValueError:
            raise XMLParseError(
                f"{self.where}/{name}: {value[:40]!r} is not a MAC address"
            ) from None

    def has(self, name: str) -> bool:
        return name in self.children


def _root(data: bytes, expected_name: str, max_bytes: int) -> _Elem:
    root_el = parse_xml(data, max_bytes=max_bytes)
    if _name(root_el) != "ise_api":
        raise XMLParseError(
            f"root element is <{etree.QName(root_el).localname}>, expected <ise_api>"
        )
    root = _Elem(root_el, "ise_api")
    # Cisco's Swagger requires no element of the replies, and <name> changes no meaning: an
    # absent or empty one is accepted; one that names another reply is not.
    name = root.text("name")
    if name is not None and name.lower() != expected_name:
        raise XMLParseError(f"ise_api/name is {name!r}, expected {expected_name!r}")
    return root


# --------------------------------------------------------------------------------------------
# The three replies


def parse_mdminfo(data: bytes, *, asked_version: int, max_bytes: int = MAX_BODY_BYTES) -> MdmInfo:
    """Parse a discovery reply to a request that asked for ``asked_version``."""
    root = _root(data, "mdminfo", max_bytes)
    api_version = root.need_int("api_version", low=1)
    api_path = root.need_text("api_path")
    info = MdmInfo(
        api_version=api_version,
        api_path=api_path,
        redirect_url=root.string("redirect_url"),
        vendor=root.string("vendor"),
        product_name=root.string("product_name"),
        product_version=root.string("product_version"),
        query_max_size=root.integer("query_max_size", low=1) or DEFAULT_QUERY_MAX_SIZE,
        messaging_support=root.boolean("messaging_support"),
    )
    if api_version > asked_version:
        raise ProtocolViolation(
            f"the server answered api_version {api_version} to a request for version {asked_version}"
        )
    if api_version >= 3:
        named = {
            "vendor": info["vendor"],
            "product_name": info["product_name"],
            "product_version": info["product_version"],
        }
        missing = [key for key, value in named.items() if not value]
        if missing:
            raise ProtocolViolation(
                f"an api_version {api_version} answer must name {', '.join(missing)}"
            )
    return info


def _device(dev: _Elem) -> Device:
    if not (dev.has("macaddress") or dev.has("guid")):
        raise XMLParseError(f"{dev.where}: no <macaddress> or <guid> key identifies the device")
    # A device without <attributes> is listed but says nothing about itself: every attribute
    # is null (unknown), which invents nothing.
    attrs = dev.one("attributes") or _Elem(etree.Element("attributes"), f"{dev.where}/attributes")
    mac = dev.mac("macaddress")
    guid = dev.string("guid")
    attr_guid = attrs.string("guid")
    if guid is not None and attr_guid is not None and guid != attr_guid:
        raise XMLParseError(
            f"{dev.where}: <guid> {guid!r} contradicts attributes/guid {attr_guid!r}"
        )
    compliance = attrs.one("compliance")
    if (
        compliance is not None
        and not compliance.children
        and (compliance.el.text or "").strip(_XML_WS)
    ):
        raise XMLParseError(
            f"{compliance.where}: expected status/failure_reason/remediation elements"
        )
    macs: list[str] = []
    raw_macs = attrs.string("macaddresses")
    for part in (raw_macs or "").split(","):
        if part.strip(_XML_WS):
            try:
                macs.append(normalise_mac(part))
            except ValueError:
                raise XMLParseError(
                    f"{attrs.where}/macaddresses: {part.strip(_XML_WS)[:40]!r} is not a MAC address"
                ) from None
    return Device(
        macaddress=mac,
        guid=guid if guid is not None else attr_guid,
        register_status=attrs.boolean("register_status"),
        compliance=Compliance(
            status=compliance.boolean("status") if compliance else None,
            failure_reason=compliance.string("failure_reason") if compliance else None,
            remediation=compliance.string("remediation") if compliance else None,
        ),
        disk_encryption_on=attrs.boolean("disk_encryption_on"),
        pin_lock_on=attrs.boolean("pin_lock_on"),
        jail_broken=attrs.boolean("jail_broken"),
        manufacturer=attrs.string("manufacturer"),
        model=attrs.string("model"),
        imei=attrs.string("imei"),
        meid=attrs.string("meid"),
        udid=attrs.string("udid"),
        serial_number=attrs.string("serial_number"),
        os_version=attrs.string("os_version"),
        phone_number=attrs.string("phone_number"),
        last_checkin_ms=attrs.integer("lastcheckintimestamp"),
        macaddresses=macs,
    )


def parse_attributes(data: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> AttributesPage:
    """Parse one device-attributes reply (a lookup or one page of a listing)."""
    root = _root(data, "attributes", max_bytes)
    paging = root.text("paging_info")
    device_list = root.need("devicelist")
    return AttributesPage(
        devices=[_device(dev) for dev in device_list.all("device")],
        paging_info=None if paging in (None, "0") else paging,
        server_busy_wait_seconds=root.integer("server_busy_wait_seconds", low=0),
        api_version=root.integer("api_version", low=1),
    )


def parse_action(data: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> ActionResult:
    """Parse an action reply: one device with ``result/action_status`` (and a reason)."""
    root = _root(data, "action", max_bytes)
    device_list = root.need("devicelist")
    devices = device_list.all("device")
    if len(devices) != 1:
        raise XMLParseError(f"{device_list.where}: {len(devices)} devices, expected exactly one")
    result = devices[0].need("result")
    return ActionResult(
        action_status=result.need_bool("action_status"),
        failure_reason=result.string("failure_reason"),
    )
