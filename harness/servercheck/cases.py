"""The server suite's cases: for each contract, the requests to send and what judging needs.

``build(contract, site, options, *params)`` returns a :class:`~harness.servercheck.model.ServerCase`
- or a :class:`~harness.servercheck.model.NotApplicable` with the reason, when the server does
not serve the version, the suite knows no device with that identifier, or actions are not
allowed. :data:`PARAMETERS` lists each contract's parameters; the shipped test files
parametrize over exactly these, and :func:`all_cases` walks the same table - so the plan
(:mod:`harness.servercheck.plan`) counts the very requests the tests will send.

Values the server cannot know (an unknown device's MAC, GUID, UDID) are drawn from the run's
seed: locally administered MACs (``02...``) and random version-4 GUIDs, which no real device
has. Hostile query values are drawn by hypothesis (:mod:`harness.servercheck.hostile`).

Longer than 400 lines on purpose: one builder per contract, kept in one table so that the
plan, the shipped tests and the zoo read exactly the same requests.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

from .model import NotApplicable, Probe, ServerCase
from .site import (
    CURSOR,
    KnownDevice,
    Site,
    discovery_target,
    listing_target,
    lookup_target,
)
from .target import Options

__all__ = ["CRITERIA", "FILTER", "PARAMETERS", "all_cases", "build", "parameters", "unknown_value"]

VERSIONS = (1, 2, 3)
#: The query criteria of each version (Cisco's Swagger; ``serial`` is not Cisco's).
CRITERIA: dict[int, tuple[str, ...]] = {
    1: ("macaddress", "username", "compliance"),
    2: ("macaddress", "username", "compliance", "udid", "imei", "meid"),
    3: ("macaddress", "username", "compliance", "udid", "imei", "meid", "guid", "guidhn"),
}
#: Identifiers one device has at most once (a lookup by them finds one device).
UNIQUE = ("macaddress", "udid", "imei", "meid", "guid")
#: Cisco's own filter example (v1/v2 Swagger).
FILTER = "register_status+compliance_status"

Built = ServerCase | NotApplicable

#: Every contract's parameters, as the tests parametrize them.
PARAMETERS: dict[str, list[tuple[Any, ...]]] = {
    "D1": [(v,) for v in VERSIONS],
    "D2": [(v,) for v in VERSIONS],
    "D3": [(v,) for v in VERSIONS],
    "D4": [()],
    "L1": [(v, c) for v in VERSIONS for c in CRITERIA[v]],
    "L2": [(v, c) for v in VERSIONS for c in CRITERIA[v] if c in UNIQUE],
    "L3": [(2,), (3,)],
    "L4": [(v,) for v in VERSIONS],
    "L5": [(v,) for v in VERSIONS],
    "L6": [(v,) for v in VERSIONS],
    "L7": [(v,) for v in VERSIONS],
    "G1": [()],
    "G2": [()],
    "G3": [()],
    "G4": [()],
    "G5": [()],
    "A1": [()],
    "A2": [()],
    "X1": [()],
    "X2": [()],
    "B1": [()],
    "B2": [()],
    "C1": [()],
}


def parameters(contract: str) -> list[Any]:
    """``PARAMETERS[contract]`` as ``pytest.param`` s with readable ids (``v2-udid``)."""
    import pytest

    def name(params: tuple[Any, ...]) -> str:
        return "-".join(f"v{p}" if isinstance(p, int) else str(p) for p in params) or "all"

    return [pytest.param(p, id=name(p)) for p in PARAMETERS[contract]]


def unknown_value(criterion: str, seed: int, salt: str) -> str:
    """A value of ``criterion`` no device has, drawn from ``seed`` (the same for the same run)."""
    rng = random.Random(f"{seed}:{criterion}:{salt}")
    if criterion == "macaddress":
        return "02" + "".join(rng.choice("0123456789ABCDEF") for _ in range(10))
    if criterion == "guid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if criterion == "udid":
        return "00008110-" + "".join(rng.choice("0123456789ABCDEF") for _ in range(16))
    if criterion == "imei":  # 15 digits, never a valid Luhn check (no real IMEI)
        digits = [rng.randrange(10) for _ in range(14)]
        total = sum(d if i % 2 == 0 else sum(divmod(2 * d, 10)) for i, d in enumerate(digits))
        return "".join(map(str, digits)) + str((10 - total % 10 + 1) % 10)
    if criterion == "meid":
        return "A1" + "".join(rng.choice("0123456789ABCDEF") for _ in range(12))
    return f"mdm-harness-unknown-{rng.getrandbits(48):012x}"


def _na(contract: str, reason: str) -> NotApplicable:
    return NotApplicable(contract, reason)


def _unserved(contract: str, site: Site, version: int) -> NotApplicable | None:
    info = site.versions.get(version)
    if info is None or info.served:
        return None
    return _na(contract, f"the server does not serve API v{version}: {info.problem}")


def _mac_device(site: Site) -> KnownDevice | None:
    return site.device_with("macaddress")


def _no_device(contract: str, what: str = "a MAC address") -> NotApplicable:
    return _na(
        contract,
        f"no known device with {what} (name one with --device mac=...,guid=...,username=...,hostname=...)",
    )


# -- discovery -----------------------------------------------------------------------------------


def _discovery(contract: str, site: Site, version: int) -> Built:
    asked = version if version > 1 else None
    probe = Probe(discovery_target(site.instance, asked), f"v{version} discovery")
    return ServerCase(contract, f"v{version} discovery", (probe,), {"asked": asked})


def _d3(site: Site, options: Options, version: int) -> Built:
    info = site.versions.get(version)
    if info is None or info.status != 200 or info.api_version != version or info.api_path is None:
        why = info.problem if info is not None else "not asked"
        return _na("D3", f"no v{version} api_path to try: {why} (D1 and D2 judge discovery)")
    discovery = Probe(
        discovery_target(site.instance, version if version > 1 else None), f"v{version} discovery"
    )
    if info.path is None:
        return ServerCase(
            "D3",
            f"v{version} api_path",
            (discovery,),
            {"api_path": info.api_path, "unusable": info.problem},
        )
    device = _mac_device(site)
    if device is not None and device.macaddress:
        target = lookup_target(info.path, version, "macaddress", device.macaddress)
        label = f"v{version} lookup by macaddress under the announced api_path"
    else:
        target = listing_target(info.path, version)
        label = f"v{version} non-compliant listing under the announced api_path"
    return ServerCase(
        "D3",
        f"v{version} api_path {info.api_path}",
        (Probe(target, label),),
        {"api_path": info.api_path},
    )


def _d4(site: Site) -> Built:
    probe = Probe(
        discovery_target(site.instance, None, slash=False), "discovery at Cisco's v1 URL (no slash)"
    )
    return ServerCase("D4", "discovery without the trailing slash", (probe,))


# -- lookups ---------------------------------------------------------------------------------------


def _l1(site: Site, options: Options, version: int, criterion: str) -> Built:
    gone = _unserved("L1", site, version)
    if gone:
        return gone
    if criterion == "compliance":
        states = {d.compliant for d in site.devices if d.compliant is not None}
        if not states:
            return _no_device("L1", "a known compliance state")
        value = "false" if False in states else "true"
    else:
        device = site.device_with(criterion)
        if device is None:
            return _no_device("L1", f"a known {criterion}")
        value = str(device.value(criterion))
    target = lookup_target(site.api(version), version, criterion, value)
    probe = Probe(target, f"v{version} lookup by {criterion}")
    return ServerCase(
        "L1",
        f"v{version} lookup by {criterion}",
        (probe,),
        {"version": version, "criterion": criterion},
    )


def _l2(site: Site, options: Options, version: int, criterion: str) -> Built:
    gone = _unserved("L2", site, version)
    if gone:
        return gone
    value = unknown_value(criterion, options.seed, f"L2-v{version}")
    api = site.api(version)
    probes = [
        Probe(
            lookup_target(api, version, criterion, value),
            f"v{version} lookup of an unknown {criterion}",
        )
    ]
    known = site.device_with(criterion)
    if known is not None:  # the control: is the criterion answered at all?
        control = lookup_target(api, version, criterion, str(known.value(criterion)))
        probes.append(Probe(control, f"v{version} lookup of a known {criterion} (control)"))
    return ServerCase(
        "L2",
        f"v{version} unknown {criterion}",
        tuple(probes),
        {"version": version, "criterion": criterion},
    )


def _l3(site: Site, options: Options, version: int) -> Built:
    gone = _unserved("L3", site, version)
    if gone:
        return gone
    others = [c for c in ("guid", "udid", "imei", "meid") if c in CRITERIA[version]]
    device = next(
        (d for d in site.devices if d.macaddress and any(d.value(c) for c in others)), None
    )
    if device is None:
        return _no_device("L3", f"a MAC and one of {', '.join(others)}")
    asked: list[dict[str, str]] = [
        {"criterion": c, "value": str(device.value(c))}
        for c in ("macaddress", *others)
        if device.value(c)
    ]
    probes = tuple(
        Probe(
            lookup_target(site.api(version), version, q["criterion"], str(q["value"])),
            f"v{version} lookup by {q['criterion']}",
        )
        for q in asked
    )
    return ServerCase(
        "L3",
        f"v{version} one device by {len(asked)} criteria",
        probes,
        {"version": version, "asked": asked},
    )


def _by_mac(contract: str, site: Site, version: int, title: str, filter_text: str = "all") -> Built:
    gone = _unserved(contract, site, version)
    if gone:
        return gone
    device = _mac_device(site)
    if device is None or not device.macaddress:
        return _no_device(contract)
    target = lookup_target(
        site.api(version), version, "macaddress", device.macaddress, filter_text=filter_text
    )
    label = f"v{version} lookup by macaddress" + (
        f" with filter={filter_text}" if filter_text != "all" else ""
    )
    return ServerCase(
        contract, f"v{version} {title}", (Probe(target, label),), {"version": version}
    )


# -- paging ----------------------------------------------------------------------------------------


def walk_case(contract: str, site: Site, options: Options) -> Built:
    version = site.highest
    if version is None:
        return _na(contract, "the server serves no API version to list devices with (D1-D3)")
    key = "guid" if version >= 3 else None
    target = listing_target(site.api(version), version, paging=CURSOR, key=key)
    probe = Probe(target, f"v{version} non-compliant listing page")
    params = {
        "version": version,
        "query_max_size": site.query_max_size(version),
        "max_pages": options.max_pages,
        "busy_wait_cap_s": options.busy_wait_cap_s,
    }
    return ServerCase(
        contract,
        f"v{version} walk of the non-compliant listing",
        (probe,),
        params,
        kind="walk",
        budget=options.max_pages,
        shared="walk",
    )


# -- authentication ----------------------------------------------------------------------------------


def _auth(contract: str, site: Site, options: Options) -> Built:
    version = site.highest or 3
    discovery = discovery_target(site.instance, version)
    probes = [Probe(discovery, f"v{version} discovery without credentials", auth="none")]
    device = _mac_device(site)
    lookup = None
    if site.highest is not None:
        mac = (
            device.macaddress
            if device and device.macaddress
            else unknown_value("macaddress", options.seed, "A")
        )
        lookup = lookup_target(site.api(version), version, "macaddress", mac)
    if contract == "A1":
        probes.append(
            Probe(discovery, f"v{version} discovery with a wrong password", auth="wrong-password")
        )
        if lookup:
            probes.append(Probe(lookup, f"v{version} lookup without credentials", auth="none"))
    if lookup:
        probes.append(
            Probe(lookup, f"v{version} lookup with a wrong password", auth="wrong-password")
        )
    values = device.values() if device else []
    return ServerCase(
        contract, "requests without valid credentials", tuple(probes), {"device_values": values}
    )


# -- XML ----------------------------------------------------------------------------------------


def _documents(contract: str, site: Site, options: Options) -> Built:
    probes: list[Probe] = []
    if contract == "X1":
        probes += [
            Probe(discovery_target(site.instance, v if v > 1 else None), f"v{v} discovery")
            for v in VERSIONS
        ]
    device = _mac_device(site)
    for version in site.served:
        if device is not None and device.macaddress:
            probes.append(
                Probe(
                    lookup_target(site.api(version), version, "macaddress", device.macaddress),
                    f"v{version} lookup by macaddress",
                )
            )
    if site.highest is not None:
        version = site.highest
        key = "guid" if version >= 3 else None
        probes.append(
            Probe(
                listing_target(site.api(version), version, key=key),
                f"v{version} non-compliant listing, page 1",
            )
        )
        if contract == "X1":
            unknown = unknown_value("macaddress", options.seed, "X1")
            probes.append(
                Probe(
                    lookup_target(site.api(version), version, "macaddress", unknown),
                    f"v{version} lookup of an unknown MAC",
                )
            )
    if not probes:
        return _na(contract, "the server serves no API version (D1-D3)")
    return ServerCase(contract, "the documents of discovery, lookups and listings", tuple(probes))


def hostile_case(site: Site, version: int, criterion: str, value: str) -> ServerCase:
    target = lookup_target(site.api(version), version, criterion, value)
    shown = value if len(value) <= 40 else f"{value[:37]}... ({len(value)} characters)"
    return ServerCase(
        "X3",
        f"v{version} {criterion}={shown!r}",
        (Probe(target, f"v{version} lookup by {criterion} with a hostile value"),),
        {"version": version, "criterion": criterion, "value": value},
    )


# -- timing and concurrency ----------------------------------------------------------------------------


def _b1(site: Site, options: Options) -> Built:
    version = site.highest or 3
    probes = [Probe(discovery_target(site.instance, version), f"v{version} discovery")]
    if site.highest is not None:
        api = site.api(version)
        for device in site.devices[:2]:
            if device.macaddress:
                probes.append(
                    Probe(
                        lookup_target(api, version, "macaddress", device.macaddress),
                        f"v{version} lookup by macaddress",
                    )
                )
            if version >= 3 and device.guid:
                probes.append(
                    Probe(
                        lookup_target(api, version, "guid", device.guid),
                        f"v{version} lookup by guid",
                    )
                )
        unknown = unknown_value("macaddress", options.seed, "B1")
        probes.append(
            Probe(
                lookup_target(api, version, "macaddress", unknown),
                f"v{version} lookup of an unknown MAC",
            )
        )
        probes.append(
            Probe(
                listing_target(api, version, key="guid" if version >= 3 else None),
                f"v{version} non-compliant listing, page 1",
            )
        )
    return ServerCase(
        "B1",
        f"answers within {options.budget_ms} ms",
        tuple(probes),
        {"budget_s": options.budget_s},
    )


def _b2(site: Site, options: Options) -> Built:
    if site.highest is None:
        return _na("B2", "the server serves no API version (D1-D3)")
    probes = []
    device = _mac_device(site)
    for version in site.served:
        if device is not None and device.macaddress:
            probes.append(
                Probe(
                    lookup_target(site.api(version), version, "macaddress", device.macaddress),
                    f"v{version} lookup by macaddress",
                )
            )
    version = site.highest
    guid_device = site.device_with("guid")
    if version >= 3 and guid_device is not None and guid_device.guid:
        probes.append(
            Probe(
                lookup_target(site.api(version), version, "guid", guid_device.guid),
                f"v{version} lookup by guid",
            )
        )
    unknown = unknown_value("macaddress", options.seed, "B2")
    probes.append(
        Probe(
            lookup_target(site.api(version), version, "macaddress", unknown),
            f"v{version} lookup of an unknown MAC",
        )
    )
    return ServerCase("B2", "compliance lookups within 300 ms", tuple(probes))


def _c1(site: Site, options: Options) -> Built:
    version = site.highest
    if version is None:
        return _na("C1", "the server serves no API version (D1-D3)")
    macs = [d.macaddress for d in site.devices if d.macaddress]
    if not macs:
        return _no_device("C1")
    asked = [macs[i % len(macs)] for i in range(options.concurrency)]
    probes = tuple(
        Probe(
            lookup_target(site.api(version), version, "macaddress", mac),
            f"v{version} lookup by macaddress #{i + 1}",
        )
        for i, mac in enumerate(asked)
    )
    return ServerCase("C1", f"{len(probes)} lookups at once", probes, {"macs": asked}, kind="burst")


# -- actions -------------------------------------------------------------------------------------------


def action_cases(site: Site, options: Options) -> list[Built]:
    """One K1 case per ``--action-device`` (none without ``--allow-actions``)."""
    if not options.allow_actions:
        return [_na("K1", "actions are sent only with --allow-actions and --action-device")]
    version = site.highest
    if version is None:
        return [_na("K1", "the server serves no API version (D1-D3)")]
    out: list[Built] = []
    for spec in options.action_devices:
        kind, value = (
            ("guid", spec.guid) if version >= 3 and spec.guid else ("macaddress", spec.macaddress)
        )
        if not value:
            out.append(_na("K1", f"--action-device {spec.to_text()}: v{version} needs a mac="))
            continue
        body = f'<?xml version="1.0" encoding="UTF-8"?><ise_api><identifier><{kind}>{value}</{kind}></identifier></ise_api>'
        target = f"{site.api(version)}/action/actionType={options.action}"
        probe = Probe(
            target, f"v{version} {options.action} on {kind} {value}", method="POST", body=body
        )
        out.append(
            ServerCase(
                "K1",
                f"v{version} {options.action} on {value}",
                (probe,),
                {"identifier": kind, "value": value},
            )
        )
    return out


def build(contract: str, site: Site, options: Options, *params: Any) -> Built:
    """The case of ``contract`` with ``params`` (one row of :data:`PARAMETERS`)."""
    if contract in ("D1", "D2"):
        return _discovery(contract, site, *params)
    if contract == "D3":
        return _d3(site, options, *params)
    if contract == "D4":
        return _d4(site)
    if contract == "L1":
        return _l1(site, options, *params)
    if contract == "L2":
        return _l2(site, options, *params)
    if contract == "L3":
        return _l3(site, options, *params)
    if contract == "L4":
        return _by_mac("L4", site, params[0], "filter present", FILTER)
    if contract == "L5":
        return _by_mac("L5", site, params[0], "filter exact", FILTER)
    if contract == "L6":
        return _by_mac("L6", site, params[0], "MAC case")
    if contract == "L7":
        return _by_mac("L7", site, params[0], "api_version of the answer")
    if contract.startswith("G"):
        return walk_case(contract, site, options)
    if contract in ("A1", "A2"):
        return _auth(contract, site, options)
    if contract in ("X1", "X2"):
        return _documents(contract, site, options)
    if contract == "B1":
        return _b1(site, options)
    if contract == "B2":
        return _b2(site, options)
    if contract == "C1":
        return _c1(site, options)
    raise ValueError(f"no case builder for {contract!r}")


def all_cases(site: Site, options: Options) -> Iterator[Built]:
    """Every case of the suite, in the catalog's order (X3's hostile values and K1's actions
    included)."""
    from .catalog import CONTRACTS
    from .hostile import hostile_cases

    for contract in CONTRACTS:
        if contract == "X3":
            yield from hostile_cases(site, options)
        elif contract == "K1":
            yield from action_cases(site, options)
        else:
            for params in PARAMETERS[contract]:
                yield build(contract, site, options, *params)
