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
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CRITERIA",
    "Device",
    "Inventory",
    "InventoryError",
    "QueryError",
    "normalize_mac",
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
_HEX12 = re.compile(r"[0-9A-F]{12}")
_IMEI = re.compile(r"[0-9]{14,16}")
_MEID = re.compile(r"[0-9A-F]{8,18}")
_GUID_NAMESPACE = uuid.UUID("6f1c1d2e-8a8e-4f1e-9f3a-6d2f0c1b5a77")


class QueryError(ValueError):
    """A query value that cannot be valid for its criterion (the server answers 400)."""


class InventoryError(ValueError):
    """A bad inventory file or record; the message names the file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = path or "<inventory>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")
        self.path, self.line, self.field, self.reason = path, line, field, message


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


def normalize_mac(value: str) -> str:
    """``value`` as 12 upper-case hex digits; separators ``:``, ``-``, ``.`` are dropped.

    Raises :class:`QueryError` when what remains is not 12 hex digits.
    """
    mac = _MAC_SEPARATORS.sub("", value).upper()
    if not _HEX12.fullmatch(mac):
        raise QueryError(f"{value!r} is not a MAC address (12 hex digits, any separators)")
    return mac


def normalize_value(criterion: str, value: str) -> str:
    """The index key for ``value`` under ``criterion`` (an unaliased name from :data:`CRITERIA`)."""
    value = value.strip()
    if criterion == "macaddress":
        return normalize_mac(value)
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

        Raises :class:`InventoryError` naming the file, the line (where known) and the field.
        """
        started = time.perf_counter()
        path = Path(path)
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InventoryError(f"cannot read: {exc}", path=name) from None
        suffix = path.suffix.lower()
        if suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InventoryError(
                    f"not valid JSON: {exc.msg}", path=name, line=exc.lineno
                ) from None
        elif suffix in (".yaml", ".yml"):
            data = _load_yaml(text, name)
        else:
            raise InventoryError(
                f"unknown format {suffix or '(no suffix)'!r}; use .yaml, .yml or .json", path=name
            )
        try:
            with _no_cyclic_gc():
                inventory = cls.from_records(data)
        except InventoryError as exc:
            line = _line_of(text, exc.field) if exc.field else None
            raise InventoryError(exc.reason, path=name, line=line, field=exc.field) from None
        inventory.build_seconds = time.perf_counter() - started
        return inventory

    @classmethod
    def from_records(cls, data: Any) -> Inventory:
        """An inventory from parsed file content: ``{"devices": [...]}`` or a bare list."""
        if isinstance(data, Mapping):
            extra = sorted(set(data) - {"devices"})
            if extra:
                raise InventoryError(
                    f"unknown top-level key(s) {', '.join(map(str, extra))}; expected 'devices'",
                    field=str(extra[0]),
                )
            data = data.get("devices")
            if data is None:
                raise InventoryError("a 'devices' list is required", field="devices")
        if not isinstance(data, list):
            raise InventoryError(
                "expected a list of devices (or a mapping with a 'devices' list)", field="devices"
            )
        inventory = cls()
        for index, record in enumerate(data):
            where = f"devices[{index}]"
            device = device_from_record(record, where)
            try:
                inventory._add_unique(device)
            except ValueError as exc:
                raise InventoryError(str(exc), field=where) from None
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
    errors = _field_errors(device)
    if errors:
        field, message = errors[0]
        raise InventoryError(message, field=field)
    macs = [normalize_mac(m) for m in (device.macaddress, *device.macaddresses)]
    ordered = list(dict.fromkeys(macs))
    if len(ordered) > MAX_MACADDRESSES:
        raise InventoryError(
            f"{len(ordered)} MACs; a device has at most {MAX_MACADDRESSES}", field="macaddresses"
        )
    return dataclasses.replace(
        device,
        macaddress=ordered[0],
        macaddresses=tuple(ordered),
        guid=device.guid.lower(),
        udid=device.udid and normalize_value("udid", device.udid),
        meid=device.meid and normalize_value("meid", device.meid),
        serial_number=device.serial_number and normalize_value("serial", device.serial_number),
        imei=device.imei and normalize_value("imei", device.imei),
    )


def _field_errors(device: Device) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    for mac in (device.macaddress, *device.macaddresses):
        try:
            normalize_mac(mac if isinstance(mac, str) else "")
        except QueryError:
            errors.append(("macaddress", f"{mac!r} is not a MAC address (12 hex digits)"))
    if (
        not isinstance(device.guid, str)
        or not device.guid
        or len(device.guid.encode()) > MAX_GUID_BYTES
        or any(c.isspace() for c in device.guid)
    ):
        errors.append(
            ("guid", f"{device.guid!r} is not a GUID (1-{MAX_GUID_BYTES} bytes, no spaces)")
        )
    for name in _BOOL_FIELDS:
        if not isinstance(getattr(device, name), bool):
            errors.append((name, f"{getattr(device, name)!r} is not true or false"))
    for name in _TEXT_FIELDS:
        value = getattr(device, name)
        if value is not None and not isinstance(value, str):
            errors.append((name, f"{value!r} is not a string"))
    if device.imei is not None and not _IMEI.fullmatch(_MAC_SEPARATORS.sub("", str(device.imei))):
        errors.append(("imei", f"{device.imei!r} is not an IMEI (14-16 digits)"))
    if device.meid is not None and not _MEID.fullmatch(str(device.meid).upper()):
        errors.append(("meid", f"{device.meid!r} is not a MEID (8-18 hex digits)"))
    ms = device.last_checkin_ms
    if ms is not None and (not isinstance(ms, int) or isinstance(ms, bool) or ms < 0):
        errors.append(("last_checkin_ms", f"{ms!r} is not a non-negative integer (ms since epoch)"))
    return errors


def device_from_record(record: Any, where: str = "device") -> Device:
    """A :class:`Device` from one inventory-file record (a mapping), validated.

    Raises :class:`InventoryError` whose ``field`` is ``where`` plus the offending key.
    """
    if not isinstance(record, Mapping):
        raise InventoryError("each device must be a mapping of field: value", field=where)
    unknown = sorted(str(k) for k in record if k not in DEVICE_FIELDS)
    if unknown:
        raise InventoryError(
            f"unknown field; known fields: {', '.join(DEVICE_FIELDS)}",
            field=f"{where}.{unknown[0]}",
        )
    values: dict[str, Any] = {}
    for name, value in record.items():
        if value is None:
            continue
        if name in _TEXT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # an unquoted IMEI or phone number in YAML
        if name == "macaddresses":
            if isinstance(value, str):
                value = [v for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InventoryError(
                    "a list of MAC strings (or one comma-separated string)", field=f"{where}.{name}"
                )
            value = tuple(value)
        elif name in ("macaddress", "guid") and not isinstance(value, str):
            raise InventoryError(
                f"{value!r} is not a string (quote it: a bare number loses leading zeros)",
                field=f"{where}.{name}",
            )
        values[name] = value
    macs = values.get("macaddresses", ())
    if "macaddress" not in values:
        if not macs:
            raise InventoryError("a device needs a macaddress", field=f"{where}.macaddress")
        values["macaddress"] = macs[0]
    if "guid" not in values:
        try:
            mac = normalize_mac(values["macaddress"])
        except QueryError as exc:
            raise InventoryError(str(exc), field=f"{where}.macaddress") from None
        values["guid"] = str(uuid.uuid5(_GUID_NAMESPACE, mac))
    if "last_checkin_ms" not in values:
        values["last_checkin_ms"] = int(time.time() * 1000)
    try:
        return _checked(Device(**values))
    except InventoryError as exc:
        raise InventoryError(exc.reason, field=f"{where}.{exc.field}") from None


def _load_yaml(text: str, name: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="safe", pure=False).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InventoryError(
            f"not valid YAML: {exc.problem or exc}", path=name, line=line
        ) from None
    except YAMLError as exc:
        raise InventoryError(f"not valid YAML: {exc}", path=name) from None


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _line_of(text: str, field: str) -> int | None:
    """The 1-based line of ``field`` (e.g. ``devices[3].imei``) in YAML or JSON ``text``.

    Only called on the error path: it re-reads the text with ruamel's round-trip loader,
    which remembers positions (JSON is YAML 1.2, so the same loader serves both).
    """
    from ruamel.yaml import YAML

    try:
        node: Any = YAML(typ="rt").load(text)
    except Exception:
        return None
    line: int | None = None
    parts = [(m.group(1), m.group(2)) for m in _PATH_PART.finditer(field)]
    if isinstance(node, list) and parts and parts[0][0] == "devices":
        parts = parts[1:]  # a bare list: the path still starts with "devices"
    for key, index in parts:
        lc = getattr(node, "lc", None)
        try:
            if index is not None:
                if lc is not None:
                    line = lc.item(int(index))[0] + 1
                node = node[int(index)]
            else:
                if lc is not None and key in node:
                    line = lc.key(key)[0] + 1
                node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line
