"""The reference MDM's device inventory: devices, indexes, queries, files.

:class:`Inventory` keeps every device in memory with an index per query criterion, so a lookup
by MAC (any of a device's MACs), UDID, IMEI, MEID, serial number, GUID or host name is one dict
access, and a username or compliance query is a sorted list of *sequence numbers*. Each device
gets a sequence number when it is added; listings are ordered by it, and paging is keyset
paging on it ("the devices after number N"), so a walk over a listing returns every device at
most once even when compliance flips while the walk is under way.

Mutations (:meth:`Inventory.set_compliance`, :meth:`Inventory.add`, :meth:`Inventory.remove`)
are thread-safe: the server reads on its event-loop thread while tests mutate from theirs.

File format (YAML or JSON, see ``docs/mdm.md``)::

    devices:
      - macaddress: "00:26:B4:24:FE:B4"
        username: alice
        compliant: false
        failure_reason: "Passcode not set & OS < 17"

Over 400 lines: the devices, their indexes, keyset paging and the file format (loading and
``file:line: field`` validation) live together. Moving the file format onto the one field reader
(``harness.fields``, issue 14 item 5) would split it naturally; it is left for that change.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import gc
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness._util import normalise_mac
from harness._yaml import show
from harness.fields import LIMITS, FieldError, Fields, located, read_text

__all__ = [
    "CRITERIA",
    "Device",
    "Inventory",
    "InventoryError",
    "QueryError",
    "normalise_mac",
]

#: Query criteria and the first API version that knows each (``serial`` is ours, from v2).
CRITERIA: dict[str, int] = {
    "macaddress": 1,
    "compliance": 1,
    "username": 1,
    "udid": 2,
    "imei": 2,
    "meid": 2,
    "serial": 2,
    "guid": 3,
    "guidhn": 3,
}
#: Other spellings clients use for a criterion.
CRITERIA_ALIASES: dict[str, str] = {"uid": "udid", "serialnumber": "serial"}

#: Criteria answered by a unique index (at most one device per value).
UNIQUE_CRITERIA: tuple[str, ...] = (
    "macaddress",
    "guid",
    "guidhn",
    "udid",
    "imei",
    "meid",
    "serial",
)

MAX_MACADDRESSES = 5
MAX_GUID_BYTES = 128
#: Sequence numbers must fit the paging cursor (see ``harness.mdm.paging``).
MAX_SEQUENCE = (1 << 24) - 2

_MAC_SEPARATORS = re.compile(r"[\s:.\-]")
_IMEI = re.compile(r"[0-9]{14,16}")
_MEID = re.compile(r"[0-9A-F]{8,18}")
_GUID_NAMESPACE = uuid.UUID("6f1c1d2e-8a8e-4f1e-9f3a-6d2f0c1b5a77")


class QueryError(ValueError):
    """A query value that cannot be valid for its criterion (the server answers 400)."""


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


def normalize_value(criterion: str, value: str) -> str:
    """The index key for ``value`` under ``criterion`` (an unaliased name from :data:`CRITERIA`)."""
    value = value.strip()
    if criterion == "macaddress":
        try:
            return normalise_mac(value)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
    if criterion == "compliance":
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise QueryError(f"compliance value {value!r} is not true or false")
        return lowered
    if not value:
        raise QueryError(f"an empty value for {criterion}")
    if criterion == "guid":
        if len(value.encode()) > MAX_GUID_BYTES:
            raise QueryError(f"a guid is at most {MAX_GUID_BYTES} bytes")
        return value.lower()
    if criterion == "imei":
        return _MAC_SEPARATORS.sub("", value)
    if criterion in ("udid", "meid", "serial"):
        return value.upper()
    return value.casefold()  # username, guidhn


class Slot:
    """A device and its sequence number; ``state`` pairs it with its render cache.

    The pair is replaced as a whole when the device changes, so a renderer that read the old
    pair can never store an old rendering under the new device.
    """

    __slots__ = ("seq", "state")

    def __init__(self, seq: int, device: Device) -> None:
        self.seq = seq
        self.state: tuple[Device, dict[Any, bytes]] = (device, {})

    @property
    def device(self) -> Device:
        return self.state[0]


class Inventory:
    """Devices in memory, indexed for O(1) lookups and ordered for keyset paging."""

    def __init__(self, devices: Iterable[Device] = ()) -> None:
        self._lock = threading.RLock()
        self._slots: dict[int, Slot] = {}
        self._order: list[int] = []
        self._by_status: dict[bool, list[int]] = {True: [], False: []}
        self._unique: dict[str, dict[str, int]] = {name: {} for name in UNIQUE_CRITERIA}
        self._by_user: dict[str, list[int]] = {}
        self._next_seq = 0
        #: Seconds spent building (set by the constructors that build from data).
        self.build_seconds = 0.0
        for device in devices:
            self.add(device)

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def generate(
        cls, n: int, seed: int = 7, *, noncompliant_ratio: float = 0.2, now_ms: int | None = None
    ) -> Inventory:
        """``n`` realistic devices, the same for the same ``seed`` (and ``now_ms``).

        ``noncompliant_ratio`` of them (about) are non-compliant with realistic reasons. Check-in
        times lie in the 30 days before ``now_ms`` (default: the current time).
        """
        from harness.mdm.generate import generate_devices

        started = time.perf_counter()
        inventory = cls()
        with _no_cyclic_gc():
            inventory._extend_trusted(
                generate_devices(n, seed, noncompliant_ratio=noncompliant_ratio, now_ms=now_ms)
            )
        inventory.build_seconds = time.perf_counter() - started
        return inventory

    @classmethod
    def load(cls, path: str | Path) -> Inventory:
        """An inventory from a YAML (``.yaml``/``.yml``) or JSON (``.json``) file.

        Read with the harness's hardened loader within the inventory limits of
        :data:`harness.fields.LIMITS`; raises :class:`InventoryError` naming the file, the line
        and the field.
        """
        started = time.perf_counter()
        name = str(path)
        suffix = Path(path).suffix.lower()
        if suffix not in (".json", ".yaml", ".yml"):
            raise InventoryError(
                name,
                None,
                "",
                f"unknown format {suffix or '(no suffix)'!r}; use .yaml, .yml or .json",
            )
        limits = LIMITS["inventory"]
        text = read_text(path, max_bytes=limits.max_bytes, error=InventoryError)
        try:
            doc = Fields.load(
                text,
                source=name,
                max_bytes=limits.max_bytes,
                max_depth=limits.max_depth,
                max_nodes=limits.max_nodes,
                kind="inventory",
                syntax="json" if suffix == ".json" else "yaml",
                positions=False,
                error=InventoryError,
                top=(Mapping, list),
            )
            with _no_cyclic_gc():
                inventory = cls._from_fields(doc)
        except InventoryError as exc:
            raise located(exc, text) from None
        inventory.build_seconds = time.perf_counter() - started
        return inventory

    @classmethod
    def from_records(cls, data: Any, *, source: str = "<inventory>") -> Inventory:
        """An inventory from parsed file content: ``{"devices": [...]}`` or a bare list."""
        with _no_cyclic_gc():
            return cls._from_fields(Fields(data, source=source, error=InventoryError))

    @classmethod
    def _from_fields(cls, doc: Fields) -> Inventory:
        if isinstance(doc.node, Mapping):
            doc.check_keys(("devices",))
            devices = doc.sequence("devices", max_len=MAX_SEQUENCE)
        elif isinstance(doc.node, list):
            # A bare list: messages still say devices[i], the path to a line has no "devices".
            devices = Fields(doc.node, source=doc.source, field="devices", error=doc.error)
        else:
            raise doc.fail(
                None,
                f"expected a list of devices (or a mapping with a 'devices' list), got {show(doc.node)}",
            )
        if len(devices) > MAX_SEQUENCE:
            raise doc.fail(
                None, f"{len(devices)} devices; an inventory holds at most {MAX_SEQUENCE}"
            )
        inventory = cls()
        now_ms = int(time.time() * 1000)
        for index in devices.indexes():
            device = _read_device(devices, index, now_ms=now_ms)
            try:
                inventory._add_unique(device)
            except ValueError as exc:
                raise devices.fail(index, str(exc)) from None
        return inventory

    def _extend_trusted(self, devices: Iterable[Device]) -> None:
        """Bulk add of devices known to be valid and unique (the generator's output)."""
        with self._lock:
            slots, order, status = self._slots, self._order, self._by_status
            unique, users = self._unique, self._by_user
            by_mac, by_guid, by_host = unique["macaddress"], unique["guid"], unique["guidhn"]
            by_udid, by_imei, by_meid = unique["udid"], unique["imei"], unique["meid"]
            by_serial = unique["serial"]
            seq = self._next_seq
            for device in devices:
                slots[seq] = Slot(seq, device)
                order.append(seq)
                status[device.compliant].append(seq)
                for mac in device.macaddresses:
                    by_mac[mac] = seq
                by_guid[device.guid] = seq
                if device.hostname:
                    by_host[device.hostname.casefold()] = seq
                # Trusted devices carry upper-case UDIDs, MEIDs and serials (the generator
                # makes them so and add() normalises), so no per-key normalisation here.
                if device.udid:
                    by_udid[device.udid] = seq
                if device.imei:
                    by_imei[device.imei] = seq
                if device.meid:
                    by_meid[device.meid] = seq
                if device.serial_number:
                    by_serial[device.serial_number] = seq
                if device.username:
                    users.setdefault(device.username.casefold(), []).append(seq)
                seq += 1
            if seq > MAX_SEQUENCE:
                raise ValueError(f"an inventory holds at most {MAX_SEQUENCE} devices")
            self._next_seq = seq

    # -- mutations -------------------------------------------------------------------------

    def add(self, device: Device) -> Device:
        """Add ``device`` (validated; every identifier must be new). Returns the stored device."""
        device = _checked(device)
        self._add_unique(device)
        return device

    def _add_unique(self, device: Device) -> None:
        """Add a checked device whose identifiers must all be new."""
        with self._lock:
            keys = _index_keys(device)
            for criterion, key in keys:
                other = self._unique[criterion].get(key)
                if other is not None:
                    raise ValueError(
                        f"{_FIELD_OF[criterion]} {key!r} is already used by the device with "
                        f"MAC {self._slots[other].device.macaddress}"
                    )
            self._extend_trusted([device])

    def remove(self, key: str) -> Device:
        """Remove the device identified by ``key`` (see :meth:`get`); returns it."""
        with self._lock:
            slot = self._slot_for(key)
            device = slot.device
            del self._slots[slot.seq]
            _sorted_remove(self._order, slot.seq)
            _sorted_remove(self._by_status[device.compliant], slot.seq)
            for criterion, value in _index_keys(device):
                del self._unique[criterion][value]
            if device.username:
                users = self._by_user[device.username.casefold()]
                _sorted_remove(users, slot.seq)
                if not users:
                    del self._by_user[device.username.casefold()]
            return device

    def set_compliance(
        self,
        key: str,
        compliant: bool,
        failure_reason: str | None = None,
        remediation: str | None = None,
    ) -> Device:
        """Flip the compliance of the device identified by ``key``; returns the new device.

        A compliant device carries no failure reason or remediation; a non-compliant one gets
        ``failure_reason`` (default: "Marked non-compliant by the harness") and ``remediation``.
        """
        if not isinstance(compliant, bool):
            raise TypeError(f"compliant={compliant!r} is not a bool")
        with self._lock:
            slot = self._slot_for(key)
            old = slot.device
            if compliant:
                new = dataclasses.replace(
                    old, compliant=True, failure_reason=None, remediation=None
                )
            else:
                new = dataclasses.replace(
                    old,
                    compliant=False,
                    failure_reason=failure_reason or "Marked non-compliant by the harness",
                    remediation=remediation,
                )
            if old.compliant != compliant:
                _sorted_remove(self._by_status[old.compliant], slot.seq)
                bisect.insort(self._by_status[compliant], slot.seq)
            slot.state = (new, {})
            return new

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self) -> Iterator[Device]:
        """Devices in sequence order (a snapshot)."""
        with self._lock:
            devices = [self._slots[seq].device for seq in self._order]
        return iter(devices)

    def get(self, key: str) -> Device | None:
        """The device with ``key`` as its GUID, any MAC, host name, UDID, serial, IMEI or MEID."""
        with self._lock:
            seq = self._seq_for(key)
            return None if seq is None else self._slots[seq].device

    def find(self, criterion: str, value: str) -> list[Device]:
        """Devices matching a query criterion (aliases accepted), in sequence order."""
        criterion = CRITERIA_ALIASES.get(criterion, criterion)
        if criterion not in CRITERIA:
            raise QueryError(f"unknown criterion {criterion!r}")
        key = normalize_value(criterion, value)
        with self._lock:
            return [self._slots[seq].device for seq in self._matches(criterion, key)]

    def stats(self) -> dict[str, Any]:
        """Counts for the admin API: devices, compliant, non-compliant, unregistered, users."""
        with self._lock:
            return {
                "devices": len(self._slots),
                "compliant": len(self._by_status[True]),
                "noncompliant": len(self._by_status[False]),
                "users": len(self._by_user),
                "macaddresses": len(self._unique["macaddress"]),
                "build_seconds": round(self.build_seconds, 3),
            }

    # -- for the server --------------------------------------------------------------------

    def window(
        self, criterion: str | None, keys: Sequence[str], after: int, limit: int
    ) -> tuple[list[Slot], bool]:
        """Up to ``limit`` slots with sequence numbers above ``after`` matching any of ``keys``.

        ``criterion`` ``None`` lists every device. Returns the slots and whether more remain.
        """
        with self._lock:
            if criterion is None:
                seqs: Sequence[int] = self._order
            elif len(keys) == 1:
                seqs = self._matches(criterion, keys[0])
            else:
                seqs = sorted({s for key in keys for s in self._matches(criterion, key)})
            start = bisect.bisect_right(seqs, after)
            chosen = seqs[start : start + limit]
            return [self._slots[s] for s in chosen], start + limit < len(seqs)

    def _matches(self, criterion: str, key: str) -> Sequence[int]:
        if criterion == "compliance":
            return self._by_status[key == "true"]
        if criterion == "username":
            return self._by_user.get(key, ())
        seq = self._unique[criterion].get(key)
        return () if seq is None else (seq,)

    def _seq_for(self, key: str) -> int | None:
        for criterion in ("guid", "macaddress", "guidhn", "udid", "serial", "imei", "meid"):
            try:
                seq = self._unique[criterion].get(normalize_value(criterion, key))
            except QueryError:
                continue
            if seq is not None:
                return seq
        return None

    def _slot_for(self, key: str) -> Slot:
        seq = self._seq_for(key)
        if seq is None:
            raise KeyError(
                f"no device with GUID, MAC, host name, UDID, serial, IMEI or MEID {key!r}"
            )
        return self._slots[seq]


_FIELD_OF = {
    "macaddress": "macaddress",
    "guid": "guid",
    "guidhn": "hostname",
    "udid": "udid",
    "imei": "imei",
    "meid": "meid",
    "serial": "serial_number",
}


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large inventory is built.

    Building 100 000 devices allocates millions of long-lived objects, which would trigger
    many full collections that find nothing to free; pausing halves the build time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _index_keys(device: Device) -> list[tuple[str, str]]:
    keys = [("macaddress", mac) for mac in device.macaddresses]
    keys.append(("guid", device.guid))
    for criterion, value in (
        ("guidhn", device.hostname),
        ("udid", device.udid),
        ("imei", device.imei),
        ("meid", device.meid),
        ("serial", device.serial_number),
    ):
        if value:
            keys.append((criterion, normalize_value(criterion, value)))
    return keys


def _sorted_remove(values: list[int], value: int) -> None:
    index = bisect.bisect_left(values, value)
    if index < len(values) and values[index] == value:
        del values[index]


def _checked(device: Device) -> Device:
    """``device`` with its identifiers normalised, or InventoryError naming the field.

    MACs become 12 upper-case hex digits (the primary first, duplicates dropped), the GUID
    lower case, UDID, MEID and serial number upper case, the IMEI digits only.
    """
    record = {name: getattr(device, name) for name in DEVICE_FIELDS}
    record["macaddresses"] = list(device.macaddresses)
    if not isinstance(device.macaddress, str) and device.macaddress is not None:
        record["macaddress"] = device.macaddress
    fields = Fields([record], source="<device>", field="", error=InventoryError)
    return _read_device(fields, 0, field="device")


def device_from_record(record: Any, where: str = "device") -> Device:
    """A :class:`Device` from one inventory-file record (a mapping), validated.

    Raises :class:`InventoryError` whose ``field`` is ``where`` plus the offending key.
    """
    fields = Fields([record], source="<inventory>", error=InventoryError)
    return _read_device(fields, 0, field=where)


#: Characters XML 1.0 cannot carry: a device's text is sent in XML replies.
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_TEXT = 4096
_SPACE = re.compile(r"\s")
_IDENTIFIERS = frozenset({"hostname", "serial_number", "udid", "imei", "meid"})


def _read_device(
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
        digits = _MAC_SEPARATORS.sub("", imei)
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
