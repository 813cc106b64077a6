"""Lookups: L1 found, L2 unknown, L3 the same device, L4/L5 filters, L6 MAC case, L7 api_version."""

from __future__ import annotations

import re
from typing import Any

from .. import documents
from ..model import Exchange, ServerCase, ServerVerdict
from ._common import Exchanges, inconclusive_xml, lines, no_answer, parsed_body, verdict


def _lookup_devices(
    case: ServerCase, ex: Exchange
) -> tuple[list[documents.DeviceView] | None, ServerVerdict | None]:
    """The devices of a lookup answer, or the verdict when there are none to judge: broken for
    no answer / 5xx / redirect, inconclusive for a non-200 or a document others judge."""
    failed = no_answer(case, ex)
    if failed:
        return None, failed
    if ex.status != 200:
        return None, verdict(
            case, "inconclusive", f"{ex.probe.label} answered {ex.status}", lines(ex)
        )
    parsed = parsed_body(ex)
    if not parsed.ok:
        return None, inconclusive_xml(case, ex, parsed)
    found = documents.devices(parsed.root)
    if found is None:
        return None, verdict(
            case, "inconclusive", f"{ex.probe.label}: no deviceList (X2 judges that)", lines(ex)
        )
    return found, None


def check_l1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed = no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        return verdict(
            case, "broken", f"{ex.probe.label} answered {ex.status}, not the device", lines(ex)
        )
    found, why = _lookup_devices(case, ex)
    if found is None:
        assert why is not None
        return why
    if not found:
        return verdict(
            case, "broken", f"{ex.probe.label} found no device (an empty deviceList)", lines(ex)
        )
    return verdict(case, "holds", f"{ex.probe.label} found {len(found)} device(s)")


def check_l2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    ex, control = exchanges[0], (exchanges[1] if len(exchanges) > 1 else None)
    failed = no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        if control is not None and control.status == ex.status:
            return verdict(
                case,
                "inconclusive",
                f"lookups by {case.params.get('criterion')} are answered {ex.status} for a known device too (L1 judges that)",
                lines(ex, control),
            )
        return verdict(
            case,
            "broken",
            f"{ex.probe.label} answered {ex.status}, not 200 with an empty deviceList",
            lines(ex),
        )
    found, why = _lookup_devices(case, ex)
    if found is None:
        assert why is not None
        return why
    if found:
        keys = ", ".join(str(d.key) for d in found[:5])
        return verdict(
            case,
            "broken",
            f"{ex.probe.label} answered {len(found)} device(s) for a value no device has: {keys}",
            lines(ex, near=b"<device>"),
        )
    return verdict(case, "holds", "200 with an empty deviceList")


def check_l3(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    version = int(case.params.get("version", 3))
    asked: list[dict[str, Any]] = list(case.params.get("asked", []))
    answers: list[tuple[Exchange, dict[str, Any], documents.DeviceView]] = []
    for ex, question in zip(exchanges, asked, strict=False):
        found, why = _lookup_devices(case, ex)
        if found is None:
            if why is not None and why.status == "broken":
                return why
            continue
        if len(found) > 1:
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} answered {len(found)} devices for one device",
                lines(ex),
            )
        if found:
            answers.append((ex, question, found[0]))
    if not answers:
        return verdict(
            case, "inconclusive", "no lookup found the device (L1 judges that)", lines(*exchanges)
        )
    reference = next((a for a in answers if a[1]["criterion"] == "macaddress"), answers[0])
    ref_ids = reference[2].identifiers()
    for ex, question, dev in answers:
        criterion, value = question["criterion"], question["value"]
        if (
            criterion == "macaddress"
            and documents.mac_or_none(value) not in dev.macs
            and dev.key_kind != "guid"
        ):
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} answered the device {dev.key}, not {value}",
                lines(ex),
            )
        if (
            criterion == "guid"
            and dev.guid != str(value).lower()
            and not (dev.macs & reference[2].macs)
        ):
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} answered another device ({dev.key_kind} {dev.key})",
                lines(ex),
            )
        if (
            version >= 3
            and criterion in ("macaddress", "udid", "imei", "meid")
            and dev.guid is None
        ):
            return verdict(
                case,
                "broken",
                f"the v3 answer to {ex.probe.label} carries no guid",
                lines(ex, near=b"<attributes>"),
            )
        ids = dev.identifiers()
        clash = sorted(
            k for k in ids.keys() & ref_ids.keys() if ids[k].lower() != ref_ids[k].lower()
        )
        if clash:
            name = clash[0]
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} answered a device whose {name} is {ids[name]!r}; "
                f"{reference[0].probe.label} said {ref_ids[name]!r}",
                [*lines(reference[0]), *lines(ex)],
            )
        if dev.macs and reference[2].macs and not dev.macs & reference[2].macs:
            return verdict(
                case,
                "broken",
                f"{ex.probe.label} answered a device with MACs {sorted(dev.macs)}, "
                f"{reference[0].probe.label} one with {sorted(reference[2].macs)}",
                [*lines(reference[0]), *lines(ex)],
            )
    return verdict(case, "holds", f"{len(answers)} lookups answered the same device")


_FILTERED = frozenset({"register_status", "compliance"})


def _filtered(
    case: ServerCase, exchanges: Exchanges
) -> tuple[Exchange, documents.DeviceView | None, ServerVerdict | None]:
    (ex,) = exchanges
    failed = no_answer(case, ex)
    if failed:
        return ex, None, failed
    if ex.status != 200 and case.contract == "L4":
        return (
            ex,
            None,
            verdict(
                case,
                "broken",
                f"{ex.probe.label} answered {ex.status}: the filter was refused",
                lines(ex),
            ),
        )
    found, why = _lookup_devices(case, ex)
    if found is None:
        return ex, None, why
    if not found:
        return (
            ex,
            None,
            verdict(
                case,
                "inconclusive",
                f"{ex.probe.label} found no device (L1 judges that)",
                lines(ex),
            ),
        )
    return ex, found[0], None


def check_l4(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    ex, dev, why = _filtered(case, exchanges)
    if dev is None:
        assert why is not None
        return why
    missing = sorted(_FILTERED - dev.names)
    if missing:
        return verdict(
            case,
            "broken",
            f"the filter asked for {', '.join(sorted(_FILTERED))}; missing: {', '.join(missing)}",
            lines(ex),
        )
    return verdict(case, "holds", "the attributes asked for are there")


def check_l5(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    ex, dev, why = _filtered(case, exchanges)
    if dev is None:
        assert why is not None
        return why
    extra = sorted(dev.names - _FILTERED)
    if extra:
        return verdict(
            case,
            "broken",
            f"the filter asked for {', '.join(sorted(_FILTERED))}; also sent: {', '.join(extra)}",
            lines(ex),
        )
    return verdict(case, "holds", "only the attributes asked for")


_UPPER_MAC = re.compile(r"[0-9A-F]{12}")


def check_l6(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    judged = devices = 0
    for ex in exchanges:
        found, why = _lookup_devices(case, ex)
        if found is None:
            if why is not None and why.status == "broken":
                return why
            continue
        devices += len(found)
        for dev in found:
            written = [dev.key] if dev.key_kind == "macaddress" and dev.key else []
            written += [m.strip() for m in (dev.get("macaddresses") or "").split(",") if m.strip()]
            bad = [m for m in written if not _UPPER_MAC.fullmatch(m)]
            judged += len(written)
            if bad:
                return verdict(
                    case,
                    "broken",
                    f"{ex.probe.label} wrote the MAC {bad[0]!r}, not 12 upper-case hex digits",
                    lines(ex, near=bad[0].encode()),
                )
    if not judged and devices:
        return verdict(case, "not applicable", "the answers name their devices without a MAC")
    if not judged:
        return verdict(
            case, "inconclusive", "no device was found (L1 judges that)", lines(*exchanges)
        )
    return verdict(case, "holds", f"{judged} MACs, all 12 upper-case hex digits")


def check_l7(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    version = case.params.get("version")
    failed = no_answer(case, ex)
    if failed:
        return failed
    parsed = parsed_body(ex)
    if ex.status != 200 or not parsed.ok:
        return verdict(
            case, "inconclusive", f"{ex.probe.label} gave no document to judge", lines(ex)
        )
    said = documents.text(parsed.root, "api_version")
    if said is None:
        return verdict(
            case, "inconclusive", "no api_version in the answer (X2 judges that)", lines(ex)
        )
    if said != str(version):
        return verdict(
            case,
            "broken",
            f"the answer under the v{version} api_path says api_version {said}",
            lines(ex, near=b"<api_version>"),
        )
    return verdict(case, "holds", f"api_version {said}")
