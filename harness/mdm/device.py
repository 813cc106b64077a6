"""One device of the reference MDM's inventory: the record, and reading it from a file's data.

:class:`Device` is a frozen record; :func:`read_device` reads one record of the inventory file
format (``docs/mdm.md``) through the one field reader (:class:`harness.fields.Fields`), so a bad
record is an :class:`InventoryError` naming the file, the line and the field. Identifiers come
out normalised: MACs as 12 upper-case hex digits (:func:`harness._util.normalise_mac`), the GUID
lower case, UDID, MEID and serial number upper case, the IMEI digits only.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness._util import normalise_mac
from harness._yaml import show
from harness.fields import FieldError, Fields

__all__ = [
    "DEVICE_FIELDS",
    "MAX_GUID_BYTES",
    "MAX_MACADDRESSES",
    "Device",
    "InventoryError",
    "checked_device",
    "device_from_record",
    "read_device",
]

MAX_MACADDRESSES = 5
MAX_GUID_BYTES = 128
#: The separators MAC and IMEI spellings may carry.
SEPARATORS = re.compile(r"[\s:.\-]")
_IMEI = re.compile(r"[0-9]{14,16}")
_MEID = re.compile(r"[0-9A-F]{8,18}")
_GUID_NAMESPACE = uuid.UUID("6f1c1d2e-8a8e-4f1e-9f3a-6d2f0c1b5a77")


class InventoryError(FieldError):
    """A bad inventory file or device record: a :class:`~harness.fields.FieldError`, whose
    text is ``file:line: field: problem``."""

    @property
    def reason(self) -> str:
        """The problem alone (this error's name for it before it was a FieldError)."""
        return self.problem


@dataclass(frozen=True, slots=True)
class Device:
    """One managed device. Strings that the device does not have are ``None``.

    ``macaddress`` is the primary MAC (12 upper-case hex digits); ``macaddresses`` lists every
    MAC of the device, the primary first, at most five.
    """

    macaddress: str
    guid: str
    macaddresses: tuple[str, ...] = ()
    hostname: str | None = None
    username: str | None = None
    register_status: bool = True
    compliant: bool = True
    failure_reason: str | None = None
    remediation: str | None = None
    disk_encryption_on: bool = True
    pin_lock_on: bool = True
    jail_broken: bool = False
    manufacturer: str | None = None
    model: str | None = None
    os_version: str | None = None
    serial_number: str | None = None
    udid: str | None = None
    imei: str | None = None
    meid: str | None = None
    phone_number: str | None = None
    last_checkin_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping with the field names of the inventory file format."""
        record = dataclasses.asdict(self)
        record["macaddresses"] = list(self.macaddresses)
        return record


DEVICE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Device))
_BOOL_FIELDS = frozenset(
    {"register_status", "compliant", "disk_encryption_on", "pin_lock_on", "jail_broken"}
)
#: The value of each boolean field a record leaves out.
_BOOL_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Device) if f.name in _BOOL_FIELDS}
_TEXT_FIELDS = frozenset(
    {
        "hostname",
        "username",
        "failure_reason",
        "remediation",
        "manufacturer",
        "model",
        "os_version",
        "serial_number",
        "udid",
        "imei",
        "meid",
        "phone_number",
    }
)


def checked_device(device: Device) -> Device:
    """``device`` with its identifiers normalised, or InventoryError naming the field.

    MACs become 12 upper-case hex digits (the primary first, duplicates dropped), the GUID
    lower case, UDID, MEID and serial number upper case, the IMEI digits only.
    """
    record = {name: getattr(device, name) for name in DEVICE_FIELDS}
    record["macaddresses"] = list(device.macaddresses)
    if not isinstance(device.macaddress, str) and device.macaddress is not None:
        record["macaddress"] = device.macaddress
    fields = Fields([record], source="<device>", field="", error=InventoryError)
    return read_device(fields, 0, field="device")


def device_from_record(record: Any, where: str = "device") -> Device:
    """A :class:`Device` from one inventory-file record (a mapping), validated.

    Raises :class:`InventoryError` whose ``field`` is ``where`` plus the offending key.
    """
    fields = Fields([record], source="<inventory>", error=InventoryError)
    return read_device(fields, 0, field=where)


#: Characters XML 1.0 cannot carry: a device's text is sent in XML replies.
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_TEXT = 4096
_SPACE = re.compile(r"\s")
_IDENTIFIERS = frozenset({"hostname", "serial_number", "udid", "imei", "meid"})


def read_device(
    devices: Fields, index: int, *, field: str | None = None, now_ms: int | None = None
) -> Device:
    """Device ``devices[index]`` (a mapping of inventory-file fields), validated and with its
    identifiers normalised; ``field`` overrides how messages name it, ``now_ms`` is the check-in
    time of a device that gives none (default: now)."""
    value = devices.raw(index)
    if not isinstance(value, Mapping):
        raise devices.fail(
            index, f"expected a device (a mapping of field: value), got {show(value)}"
        )
    r = devices.child(index, value)
    if field is not None:
        r.field = field
    r.check_keys(DEVICE_FIELDS)
    macs = _macs(r)
    values: dict[str, Any] = {"macaddress": macs[0], "macaddresses": tuple(macs)}
    guid = r.raw("guid", None)
    if guid is None:
        values["guid"] = str(uuid.uuid5(_GUID_NAMESPACE, macs[0]))
    else:
        if not isinstance(guid, str):
            raise r.fail("guid", f"expected text, got {show(guid)} (quote it)")
        if (
            not guid
            or len(guid.encode("utf-8", "replace")) > MAX_GUID_BYTES
            or _SPACE.search(guid) is not None
        ):
            raise r.fail(
                "guid", f"{guid[:60]!r} is not a GUID (1-{MAX_GUID_BYTES} bytes, no spaces)"
            )
        values["guid"] = r.text("guid", max_len=MAX_GUID_BYTES).lower()
    for name in _TEXT_FIELDS:
        text = _text(r, name)
        if text is not None:
            values[name] = text
    for name in _BOOL_FIELDS:
        values[name] = r.boolean(name, _BOOL_DEFAULTS[name])
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    values["last_checkin_ms"] = r.integer("last_checkin_ms", now_ms, low=0)
    imei = values.get("imei")
    if imei:
        digits = SEPARATORS.sub("", imei)
        if not _IMEI.fullmatch(digits):
            raise r.fail("imei", f"{imei[:40]!r} is not an IMEI (14-16 digits)")
        values["imei"] = digits
    meid = values.get("meid")
    if meid:
        if not _MEID.fullmatch(meid.upper()):
            raise r.fail("meid", f"{meid[:40]!r} is not a MEID (8-18 hex digits)")
        values["meid"] = meid.upper()
    for name in ("udid", "serial_number"):
        if values.get(name):
            values[name] = values[name].upper()
    return Device(**values)


def _macs(r: Fields) -> list[str]:
    """The device's MACs, normalised, the primary first, each once, at most five."""
    primary = r.raw("macaddress", None)
    if primary is not None and not isinstance(primary, str):
        raise r.fail(
            "macaddress",
            f"{show(primary)} is not a string (quote it: a bare number loses leading zeros)",
        )
    listed = r.raw("macaddresses", None)
    if listed is None:
        others: list[Any] = []
    elif isinstance(listed, str):
        others = [v for v in listed.split(",") if v.strip()]
    elif isinstance(listed, list) and all(isinstance(v, str) for v in listed):
        others = listed
    else:
        raise r.fail("macaddresses", "a list of MAC strings (or one comma-separated string)")
    if primary is None:
        if not others:
            raise r.missing("macaddress", "a device needs a macaddress")
        primary = others[0]
    macs: list[str] = []
    for name, mac in (("macaddress", primary), *(("macaddresses", m) for m in others)):
        try:
            macs.append(normalise_mac(mac[:64]))
        except ValueError:
            raise r.fail(name, f"{mac[:40]!r} is not a MAC address (12 hex digits)") from None
    ordered = list(dict.fromkeys(macs))
    if len(ordered) > MAX_MACADDRESSES:
        raise r.fail(
            "macaddresses", f"{len(ordered)} MACs; a device has at most {MAX_MACADDRESSES}"
        )
    return ordered


def _text(r: Fields, name: str) -> str | None:
    """A text field: an unquoted number in YAML (an IMEI, a phone number) counts as its digits;
    identifiers lose surrounding white space; XML must be able to carry every character."""
    text: str | None = r.text(name, None, max_len=_MAX_TEXT, numbers=True)
    if text is None:
        return None
    bad = _NOT_XML.search(text)
    if bad is not None:
        raise r.fail(name, f"contains U+{ord(bad.group()):04X}, a character XML cannot carry")
    return text.strip() if name in _IDENTIFIERS else text
