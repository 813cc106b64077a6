"""The XML the reference MDM sends, built with lxml (every value escaped by construction).

One function per response kind; each returns the complete UTF-8 document as bytes.
Attribute replies are assembled from per-device fragments: a fragment is one ``<device>``
element serialised by lxml, and the server caches it per device, so a page of 1000 devices
costs a join, not 1000 tree builds. The envelope around the fragments is serialised by lxml too
and split at a marker inside ``<deviceList>``.

Element order follows Cisco's Swagger definitions; booleans are ``true``/``false``; absent
values (a Mac has no IMEI) are left out rather than sent empty.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from harness._xml import error_document as error
from harness.mdm.inventory import Device
from harness.mdm.profile import Profile

__all__ = [
    "ATTRIBUTES_V1",
    "ATTRIBUTES_V3",
    "action_reply",
    "attributes",
    "device_fragment",
    "error",
    "mdminfo",
    "message_reply",
]

#: Attribute elements in the order they are written, API v1/v2.
ATTRIBUTES_V1: tuple[str, ...] = (
    "register_status",
    "compliance",
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
)
#: API v3 adds these after the v1/v2 ones.
ATTRIBUTES_V3: tuple[str, ...] = (*ATTRIBUTES_V1, "lastCheckinTimeStamp", "guid", "macaddresses")

_MARK = "@@device-fragments@@"
_MARK_BYTES = _MARK.encode()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _sub(parent: etree._Element, tag: str, text: str) -> etree._Element:
    child = etree.SubElement(parent, tag)
    child.text = text
    return child


_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _document(root: etree._Element) -> bytes:
    return _DECLARATION + etree.tostring(root, encoding="UTF-8")


def mdminfo(profile: Profile, version: int) -> bytes:
    """The discovery document for a client speaking ``version`` (already min(max, asked))."""
    root = etree.Element("ise_api")
    _sub(root, "name", "mdminfo")
    _sub(root, "api_version", str(version))
    _sub(root, "api_path", profile.api_path_for(version))
    _sub(root, "redirect_url", profile.redirect_url_value())
    _sub(root, "query_max_size", str(profile.query_max_size))
    _sub(root, "messaging_support", _bool(profile.messaging_support))
    _sub(root, "vendor", profile.vendor)
    _sub(root, "product_name", profile.product_name)
    _sub(root, "product_version", profile.product_version)
    return _document(root)


def device_fragment(
    device: Device, version: int, key: str, key_value: str, fields: frozenset[str] | None = None
) -> bytes:
    """One ``<device>`` element: the key element ``key`` (``macaddress`` or ``guid``) holding
    ``key_value``, then ``<attributes>`` restricted to ``fields`` (``None``: all of them).
    """
    el = etree.Element("device")
    _sub(el, key, key_value)
    attrs = etree.SubElement(el, "attributes")
    names = ATTRIBUTES_V3 if version >= 3 else ATTRIBUTES_V1
    for name in names:
        if fields is not None and name not in fields:
            continue
        if name == "compliance":
            compliance = etree.SubElement(attrs, "compliance")
            _sub(compliance, "status", _bool(device.compliant))
            if device.failure_reason is not None:
                _sub(compliance, "failure_reason", device.failure_reason)
            if device.remediation is not None:
                _sub(compliance, "remediation", device.remediation)
            continue
        value = _attribute(device, name)
        if value is not None:
            _sub(attrs, name, value)
    return etree.tostring(el, encoding="UTF-8")


def _attribute(device: Device, name: str) -> str | None:
    if name in ("register_status", "disk_encryption_on", "pin_lock_on", "jail_broken"):
        return _bool(getattr(device, name))
    if name == "lastCheckinTimeStamp":
        ms = device.last_checkin_ms
        return None if ms is None else str(ms)
    if name == "macaddresses":
        return ",".join(device.macaddresses)
    value: str | None = getattr(device, name)
    return value


_envelopes: dict[tuple[int, str, int | None, bool], tuple[bytes, bytes]] = {}


def attributes(
    version: int, paging_info: str, busy_wait: int | None, fragments: Iterable[bytes]
) -> bytes:
    """An attribute reply around ``fragments`` (from :func:`device_fragment`).

    ``busy_wait`` is ``server_busy_wait_seconds`` (written for v3 only). No fragments give an
    empty ``<deviceList/>``, the answer for an unknown device.
    """
    parts = list(fragments)
    key = (version, paging_info, busy_wait if version >= 3 else None, bool(parts))
    envelope = _envelopes.get(key)
    if envelope is None:
        root = etree.Element("ise_api")
        _sub(root, "name", "attributes")
        _sub(root, "api_version", str(version))
        _sub(root, "paging_info", paging_info)
        if version >= 3:
            _sub(root, "server_busy_wait_seconds", str(busy_wait or 0))
        device_list = etree.SubElement(root, "deviceList")
        if parts:
            device_list.text = _MARK
            head, tail = _document(root).split(_MARK_BYTES)
            envelope = (head, tail)
        else:
            envelope = (_document(root), b"")
        if paging_info == "0" and len(_envelopes) < 64:  # cursors are unique: cache the rest
            _envelopes[key] = envelope
    return b"".join((envelope[0], *parts, envelope[1]))


def action_reply(
    version: int, key: str, key_value: str, status: bool, failure_reason: str | None
) -> bytes:
    """The reply to ``action``: ``deviceList/device/{key}/result/{action_status, failure_reason}``."""
    return _result_reply("action", "action_status", version, key, key_value, status, failure_reason)


def message_reply(
    version: int, key: str, key_value: str, status: bool, failure_reason: str | None
) -> bytes:
    """The reply to ``sendmessage``: ``.../result/{message_status, failure_reason}``."""
    return _result_reply(
        "sendmessage", "message_status", version, key, key_value, status, failure_reason
    )


def _result_reply(
    name: str,
    status_tag: str,
    version: int,
    key: str,
    key_value: str,
    status: bool,
    failure_reason: str | None,
) -> bytes:
    root = etree.Element("ise_api")
    _sub(root, "name", name)
    _sub(root, "api_version", str(version))
    device = etree.SubElement(etree.SubElement(root, "deviceList"), "device")
    _sub(device, key, key_value)
    result = etree.SubElement(device, "result")
    _sub(result, status_tag, _bool(status))
    if failure_reason is not None:
        _sub(result, "failure_reason", failure_reason)
    return _document(root)
