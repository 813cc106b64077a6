"""What the suite learns about a server before it judges it: versions, api_paths, devices.

:func:`survey` asks discovery at v3, v2 and v1, then finds the devices to query: the ones the
user named (``--device``), looked up once to learn their other identifiers, or - when none
were named - the first devices of the non-compliant listing (and, when that is short, of the
all-devices listing). The :class:`Site` it returns is plain JSON-able data; the case builders
(:mod:`harness.servercheck.cases`) turn it into requests. The survey judges nothing: each
contract sends its own requests, so its verdict rests on its own evidence.

The URL helpers build requests the way ISE does (docs/protocol.md sections 3 and 4): discovery
under the instance prefix, ``api_path`` joined to the server's origin, v1 queries in path
segments, v2/v3 in query parameters, values URL-encoded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit

from . import documents
from .model import Exchange, Probe
from .target import DeviceSpec, Options, Target

__all__ = [
    "CURSOR",
    "KnownDevice",
    "Site",
    "VersionInfo",
    "discovery_target",
    "listing_target",
    "lookup_target",
    "survey",
]

#: Where a walk puts each paging_info (URL-encoded) in its first probe's target.
CURSOR = "{cursor}"
#: Devices the suite keeps to query (at least; C1 wants as many as it sends at once).
MIN_DEVICES = 3


def _q(value: str) -> str:
    return quote(value, safe="")


def discovery_target(instance: str, version: int | None, *, slash: bool = True) -> str:
    """Discovery: ``{instance}/ciscoise/mdminfo/?ise_api_version=N``; for ``None`` the v1 form
    without a query (with or without the trailing slash)."""
    base = f"{instance.rstrip('/')}/ciscoise/mdminfo"
    if version is None:
        return base + ("/" if slash else "")
    return f"{base}/?ise_api_version={version}"


def lookup_target(
    api: str,
    version: int,
    criterion: str,
    value: str,
    *,
    filter_text: str = "all",
    paging: str = "0",
    deviceidentifier: str | None = None,
) -> str:
    """A device query in the version's form (``filter_text`` is sent as written: Cisco's
    ``register_status+compliance_status`` keeps its ``+``)."""
    if version == 1:
        return f"{api}/devices/{paging}/{_q(criterion)}/{_q(value)}/{filter_text}"
    query = f"paging={paging}&querycriteria={_q(criterion)}&value={_q(value)}"
    if deviceidentifier:
        query += f"&deviceidentifier={deviceidentifier}"
    return f"{api}/devices/?{query}&filter={filter_text}"


def listing_target(
    api: str,
    version: int,
    *,
    paging: str = "0",
    compliance: str | None = "false",
    key: str | None = None,
) -> str:
    """The non-compliant listing (``compliance`` None: every device), with ``key`` as
    ``deviceidentifier`` (v3)."""
    if compliance is None:
        if version == 1:
            return f"{api}/devices/{paging}/all"
        extra = f"&deviceidentifier={key}" if key and version >= 3 else ""
        return f"{api}/devices/?paging={paging}{extra}&filter=all"
    return lookup_target(
        api,
        version,
        "compliance",
        compliance,
        paging=paging,
        deviceidentifier=key if version >= 3 else None,
    )


@dataclass(frozen=True)
class VersionInfo:
    """What discovery at one version answered."""

    asked: int
    status: int | None = None
    api_version: int | None = None
    #: ``api_path`` as announced.
    api_path: str | None = None
    #: The absolute path to send device queries under (``None``: unusable, see ``problem``).
    path: str | None = None
    query_max_size: int | None = None
    #: Why this version cannot be queried (no answer, another version answered, a bad api_path,
    #: device queries under it refused).
    problem: str | None = None
    #: Whether a device query under ``path`` was answered 200 (``None``: not tried).
    usable: bool | None = None

    @property
    def served(self) -> bool:
        """Discovery at this version answered this version, and device queries under its
        api_path are answered."""
        return self.api_version == self.asked and self.path is not None and self.usable is not False


@dataclass(frozen=True)
class KnownDevice:
    """A device the suite queries, with every identifier it knows."""

    macaddress: str | None = None
    guid: str | None = None
    udid: str | None = None
    imei: str | None = None
    meid: str | None = None
    username: str | None = None
    hostname: str | None = None
    compliant: bool | None = None
    macaddresses: tuple[str, ...] = ()
    #: ``named`` (the user's --device) or ``listing`` (found by the survey).
    source: str = "listing"

    def value(self, criterion: str) -> str | None:
        """The value to ask ``criterion`` with (``None``: unknown for this device)."""
        return {
            "macaddress": self.macaddress,
            "guid": self.guid,
            "udid": self.udid,
            "imei": self.imei,
            "meid": self.meid,
            "username": self.username,
            "guidhn": self.hostname,
        }.get(criterion)

    def values(self) -> list[str]:
        """Every identifier, for looking for device data where none may be."""
        return [v for v in (self.macaddress, self.guid, self.udid, self.imei, self.meid) if v]


@dataclass(frozen=True)
class Site:
    """The server as the survey found it."""

    origin: str
    instance: str
    versions: Mapping[int, VersionInfo] = field(default_factory=dict)
    devices: tuple[KnownDevice, ...] = ()
    vendor: str | None = None
    product: str | None = None
    product_version: str | None = None

    @property
    def served(self) -> list[int]:
        return sorted(v for v, info in self.versions.items() if info.served)

    @property
    def highest(self) -> int | None:
        return self.served[-1] if self.served else None

    def api(self, version: int) -> str:
        path = self.versions[version].path
        assert path is not None, f"v{version} is not served"
        return path

    def query_max_size(self, version: int) -> int:
        return self.versions[version].query_max_size or 5000

    def device_with(self, criterion: str) -> KnownDevice | None:
        return next((d for d in self.devices if d.value(criterion)), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["versions"] = {str(v): asdict(info) for v, info in self.versions.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Site:
        versions = {int(v): VersionInfo(**info) for v, info in data.get("versions", {}).items()}
        devices = tuple(
            KnownDevice(**{**d, "macaddresses": tuple(d.get("macaddresses", ()))})
            for d in data.get("devices", ())
        )
        return cls(
            origin=data["origin"],
            instance=data.get("instance", ""),
            versions=versions,
            devices=devices,
            vendor=data.get("vendor"),
            product=data.get("product"),
            product_version=data.get("product_version"),
        )


def api_path_on(origin: str, announced: str) -> tuple[str | None, str | None]:
    """``(absolute path, problem)`` for an announced ``api_path``: a path joins the origin; a
    full URL must be on the same origin (credentials go nowhere else)."""
    value = announced.strip()
    if "://" in value:
        parts = urlsplit(value)
        there = f"{parts.scheme}://{parts.hostname}:{parts.port or 443}".lower()
        here = urlsplit(origin)
        if there != f"{here.scheme}://{here.hostname}:{here.port or 443}".lower():
            return None, f"api_path {announced!r} points at another origin than {origin}"
        value = parts.path
    if not value:
        return None, "api_path is empty"
    if not value.startswith("/"):
        value = "/" + value
    return value.rstrip("/"), None


def version_info(asked: int, exchange: Exchange, origin: str) -> VersionInfo:
    if exchange.status is None:
        return VersionInfo(asked, problem=f"no answer: {exchange.error}")
    if exchange.status != 200:
        return VersionInfo(asked, exchange.status, problem=f"discovery answered {exchange.status}")
    parsed = documents.read(exchange.body)
    if not parsed.ok:
        return VersionInfo(asked, 200, problem=str(parsed.problem))
    root = parsed.root
    text = documents.text(root, "api_version") or ""
    version = int(text) if text.isdigit() else None
    announced = documents.text(root, "api_path")
    size_text = documents.text(root, "query_max_size") or ""
    size = int(size_text) if size_text.isdigit() and int(size_text) >= 1 else None
    if version is None:
        return VersionInfo(
            asked, 200, None, announced, None, size, f"api_version {text!r} is not an integer"
        )
    if announced is None:
        return VersionInfo(asked, 200, version, None, None, size, "no api_path")
    path, problem = api_path_on(origin, announced)
    if problem is None and version != asked:
        problem = f"discovery for v{asked} answered api_version {version}"
    return VersionInfo(asked, 200, version, announced, path, size, problem)


def _known(view: documents.DeviceView, source: str, spec: DeviceSpec | None = None) -> KnownDevice:
    macs = sorted(view.macs)
    mac = view.key if view.key_kind == "macaddress" and view.key else (macs[0] if macs else None)
    status = view.get("compliance.status")
    return KnownDevice(
        macaddress=documents.mac_or_none(mac) if mac else (spec.macaddress if spec else None),
        guid=view.guid or (spec.guid if spec else None),
        udid=view.get("udid") or (spec.udid if spec else None),
        imei=view.get("imei") or (spec.imei if spec else None),
        meid=view.get("meid") or (spec.meid if spec else None),
        username=spec.username if spec else None,
        hostname=spec.hostname if spec else None,
        compliant=None if status is None else status.lower() == "true",
        macaddresses=tuple(macs),
        source=source,
    )


def _richness(device: KnownDevice) -> int:
    return sum(
        1 for v in (device.macaddress, device.guid, device.udid, device.imei, device.meid) if v
    )


Send = Callable[[Probe], Exchange]


def survey(send: Send, target: Target, options: Options) -> Site:
    """Discovery at every version, then the devices to query (see the module docstring)."""
    origin, instance = target.origin, target.instance
    versions: dict[int, VersionInfo] = {}
    vendor = product = product_version = None
    for asked in (3, 2, 1):
        ex = send(
            Probe(discovery_target(instance, asked if asked > 1 else None), f"v{asked} discovery")
        )
        versions[asked] = version_info(asked, ex, origin)
        if vendor is None and ex.status == 200:
            parsed = documents.read(ex.body)
            if parsed.ok:
                vendor = documents.text(parsed.root, "vendor")
                product = documents.text(parsed.root, "product_name")
                product_version = documents.text(parsed.root, "product_version")
    # Each version's api_path must answer a device query (the non-compliant listing's first
    # page); the highest usable version's page also names devices to query.
    listing: Exchange | None = None
    highest = None
    for asked in (3, 2, 1):
        info = versions[asked]
        if not (info.api_version == asked and info.path is not None):
            continue
        key = "macaddress" if asked >= 3 else None
        ex = send(
            Probe(listing_target(info.path, asked, key=key), f"v{asked} device survey listing")
        )
        if ex.status == 200:
            versions[asked] = replace(info, usable=True)
            if highest is None:
                highest, listing = asked, ex
        else:
            answer = ex.status if ex.status is not None else ex.error
            versions[asked] = replace(
                info,
                usable=False,
                problem=f"device queries under api_path {info.api_path!r} answered {answer} (D3)",
            )
    site = Site(origin, instance, versions, (), vendor, product, product_version)
    if highest is None:
        return site
    api = site.api(highest)
    devices: list[KnownDevice] = []
    if options.devices:
        for spec in options.devices:
            criterion, value = (
                ("macaddress", spec.macaddress) if spec.macaddress else ("guid", spec.guid)
            )
            found: list[documents.DeviceView] = []
            if value and (criterion == "macaddress" or highest >= 3):
                ex = send(
                    Probe(
                        lookup_target(api, highest, criterion, value), f"lookup of --device {value}"
                    )
                )
                found = _devices_of(ex)
            devices.append(
                _known(found[0], "named", spec)
                if found
                else KnownDevice(
                    spec.macaddress,
                    spec.guid,
                    spec.udid,
                    spec.imei,
                    spec.meid,
                    spec.username,
                    spec.hostname,
                    source="named",
                )
            )
        return replace(site, devices=tuple(devices))
    wanted = max(MIN_DEVICES, options.concurrency)
    key = "macaddress" if highest >= 3 else None
    pages: list[Exchange | None] = [listing]
    while pages:
        page = pages.pop(0)
        seen = {d.macaddress for d in devices}
        for view in _devices_of(page) if page is not None else []:
            device = _known(view, "listing")
            if device.macaddress and device.macaddress not in seen:
                devices.append(device)
                seen.add(device.macaddress)
        if len(devices) < wanted and page is listing:
            everything = listing_target(api, highest, compliance=None, key=key)
            pages.append(send(Probe(everything, "device survey listing (all)")))
    devices.sort(key=lambda d: -_richness(d))
    return replace(site, devices=tuple(devices[:wanted]))


def survey_budget(options: Options) -> int:
    """The most requests :func:`survey` sends: discovery and a listing page per version, then
    the devices (a lookup per named device, or the all-devices page)."""
    return 6 + (len(options.devices) if options.devices else 1)


def _devices_of(ex: Exchange) -> list[documents.DeviceView]:
    if ex.status != 200:
        return []
    parsed = documents.read(ex.body)
    return (documents.devices(parsed.root) or []) if parsed.ok else []
