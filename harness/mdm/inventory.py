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

One device and its record format are :mod:`harness.mdm.device`; this module holds the
indexes, the queries, keyset paging and loading whole files.

Over 400 lines: the indexes and every mutation that must keep them consistent under one lock
are one class.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import gc
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness._util import normalise_mac
from harness._yaml import show
from harness.fields import LIMITS, Fields, located, read_text
from harness.mdm.device import (
    MAX_GUID_BYTES,
    SEPARATORS,
    Device,
    InventoryError,
    checked_device,
    read_device,
)

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

#: Sequence numbers must fit the paging cursor (see ``harness.mdm.paging``).
MAX_SEQUENCE = (1 << 24) - 2


class QueryError(ValueError):
    """A query value that cannot be valid for its criterion (the server answers 400)."""


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
        return SEPARATORS.sub("", value)
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
            device = read_device(devices, index, now_ms=now_ms)
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
        device = checked_device(device)
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
