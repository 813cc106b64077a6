"""The server contracts' checks: pure functions of a case and the exchanges it produced.

``check(case, exchanges) -> ServerVerdict`` dispatches on the case's contract. Each check
judges its own promise and nothing else: when an answer it needs is missing for a reason
another contract owns - a body that is not well-formed XML (X1), a device that was not found
(L1), a cursor that was refused (G3) - its verdict is ``inconclusive``, never ``broken``, so
one defect of a server breaks one contract, and the report says which. A request that got no
answer at all, a 5xx or a redirect is the failure of the contract whose request it was.

Every broken verdict carries the evidence a developer needs: the request as sent, the status,
content type, size and time of the answer, and an excerpt of the body near the problem.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from . import documents
from .model import Exchange, ServerCase, ServerVerdict, Status

__all__ = ["CHECKS", "check", "not_applicable"]

Exchanges = Sequence[Exchange]

#: B2: Cisco's stated limit for a compliance query ("anything above 300 ms will have an impact").
LOOKUP_LIMIT_S = 0.300
#: G5: the longest server_busy_wait_seconds the harness calls reasonable [ours].
BUSY_WAIT_MAX_S = 3600
_INT = re.compile(r"[+-]?[0-9]+")


def _verdict(
    case: ServerCase, status: Status, reason: str, evidence: Sequence[str] = ()
) -> ServerVerdict:
    return ServerVerdict(case.contract, status, reason, tuple(evidence))


def not_applicable(contract: str, reason: str) -> ServerVerdict:
    return ServerVerdict(contract, "not applicable", reason)


def _lines(*exchanges: Exchange, near: bytes | None = None) -> list[str]:
    out: list[str] = []
    for ex in exchanges:
        out += ex.describe(near)
    return out


def _no_answer(case: ServerCase, ex: Exchange) -> ServerVerdict | None:
    """Broken when the request got no answer, a 5xx or a redirect; else None."""
    if ex.status is None:
        return _verdict(case, "broken", f"no answer to {ex.probe.label}: {ex.error}", _lines(ex))
    if ex.status >= 500:
        return _verdict(case, "broken", f"{ex.probe.label} answered {ex.status}", _lines(ex))
    if 300 <= ex.status < 400:
        where = ex.header("location") or "nowhere"
        return _verdict(
            case,
            "broken",
            f"{ex.probe.label} answered a {ex.status} redirect to {where}",
            _lines(ex),
        )
    return None


def _parsed(ex: Exchange) -> documents.Parsed:
    return documents.read(ex.body)


def _near(parsed: documents.Parsed, ex: Exchange) -> bytes | None:
    """Where a syntax problem is, for the excerpt: the first raw markup character."""
    if parsed.ok:
        return None
    match = re.search(rb"&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)", ex.body)
    return match.group(0) if match else None


def _inconclusive_xml(case: ServerCase, ex: Exchange, parsed: documents.Parsed) -> ServerVerdict:
    return _verdict(
        case,
        "inconclusive",
        f"{ex.probe.label}: {parsed.problem} (X1 judges that)",
        _lines(ex, near=_near(parsed, ex)),
    )


# -- discovery -----------------------------------------------------------------------------------


def _discovery_version(parsed: documents.Parsed) -> int | None:
    value = documents.text(parsed.root, "api_version")
    return int(value) if value is not None and value.isdigit() else None


def check_d1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    asked = case.params.get("asked")
    failed = _no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        return _verdict(
            case,
            "broken",
            f"{ex.probe.label} answered {ex.status}, not a discovery document",
            _lines(ex),
        )
    parsed = _parsed(ex)
    if not parsed.ok:
        return _inconclusive_xml(case, ex, parsed)
    version = _discovery_version(parsed)
    if version is None or version < 1:
        return _verdict(
            case,
            "inconclusive",
            f"api_version {documents.text(parsed.root, 'api_version')!r} is not an integer of at least 1 (D2 judges that)",
            _lines(ex),
        )
    if asked is None:
        return _verdict(
            case, "holds", f"the v1 form (no ise_api_version) answered api_version {version}"
        )
    if version > int(asked):
        return _verdict(
            case,
            "broken",
            f"asked ise_api_version={asked}, it answered api_version {version}",
            _lines(ex, near=b"<api_version>"),
        )
    return _verdict(case, "holds", f"asked {asked}, answered {version}")


def check_d2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    if ex.status != 200:
        return _verdict(
            case,
            "inconclusive",
            f"{ex.probe.label} gave no document to judge (D1 judges that)",
            _lines(ex),
        )
    parsed = _parsed(ex)
    if not parsed.ok:
        return _inconclusive_xml(case, ex, parsed)
    assert parsed.root is not None
    if (
        documents.local(parsed.root) != "ise_api"
        or (documents.text(parsed.root, "name") or "").lower() != "mdminfo"
    ):
        return _verdict(
            case, "broken", "the answer is not an <ise_api> document named mdminfo", _lines(ex)
        )
    version = _discovery_version(parsed)
    kind = "mdminfo-v3" if version is not None and version >= 3 else "mdminfo"
    problems = documents.validate(parsed.root, kind)
    if problems:
        return _verdict(
            case,
            "broken",
            f"not a valid api_version {version if version is not None else '?'} discovery document ({kind}.xsd): "
            + "; ".join(problems[:4]),
            _lines(ex),
        )
    return _verdict(case, "holds", f"a valid {kind} document")


def check_d3(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    unusable = case.params.get("unusable")
    if unusable:
        return _verdict(case, "broken", str(unusable), _lines(*exchanges))
    (ex,) = exchanges
    failed = _no_answer(case, ex)
    if failed:
        return failed
    announced = case.params.get("api_path")
    if ex.status != 200:
        return _verdict(
            case,
            "broken",
            f"a device query under the announced api_path {announced!r} answered {ex.status}",
            _lines(ex),
        )
    return _verdict(case, "holds", f"api_path {announced!r} answers device queries")


def check_d4(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed = _no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        return _verdict(
            case, "broken", f"Cisco's v1 discovery URL answered {ex.status}", _lines(ex)
        )
    parsed = _parsed(ex)
    if not parsed.ok:
        return _inconclusive_xml(case, ex, parsed)
    if (documents.text(parsed.root, "name") or "").lower() != "mdminfo":
        return _verdict(
            case,
            "broken",
            "Cisco's v1 discovery URL answered something other than mdminfo",
            _lines(ex),
        )
    return _verdict(case, "holds", "the v1 URL answers the discovery document itself")


# -- lookups ---------------------------------------------------------------------------------------


def _lookup_devices(
    case: ServerCase, ex: Exchange
) -> tuple[list[documents.DeviceView] | None, ServerVerdict | None]:
    """The devices of a lookup answer, or the verdict when there are none to judge: broken for
    no answer / 5xx / redirect, inconclusive for a non-200 or a document others judge."""
    failed = _no_answer(case, ex)
    if failed:
        return None, failed
    if ex.status != 200:
        return None, _verdict(
            case, "inconclusive", f"{ex.probe.label} answered {ex.status}", _lines(ex)
        )
    parsed = _parsed(ex)
    if not parsed.ok:
        return None, _inconclusive_xml(case, ex, parsed)
    found = documents.devices(parsed.root)
    if found is None:
        return None, _verdict(
            case, "inconclusive", f"{ex.probe.label}: no deviceList (X2 judges that)", _lines(ex)
        )
    return found, None


def check_l1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed = _no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        return _verdict(
            case, "broken", f"{ex.probe.label} answered {ex.status}, not the device", _lines(ex)
        )
    found, why = _lookup_devices(case, ex)
    if found is None:
        assert why is not None
        return why
    if not found:
        return _verdict(
            case, "broken", f"{ex.probe.label} found no device (an empty deviceList)", _lines(ex)
        )
    return _verdict(case, "holds", f"{ex.probe.label} found {len(found)} device(s)")


def check_l2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    ex, control = exchanges[0], (exchanges[1] if len(exchanges) > 1 else None)
    failed = _no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        if control is not None and control.status == ex.status:
            return _verdict(
                case,
                "inconclusive",
                f"lookups by {case.params.get('criterion')} are answered {ex.status} for a known device too (L1 judges that)",
                _lines(ex, control),
            )
        return _verdict(
            case,
            "broken",
            f"{ex.probe.label} answered {ex.status}, not 200 with an empty deviceList",
            _lines(ex),
        )
    found, why = _lookup_devices(case, ex)
    if found is None:
        assert why is not None
        return why
    if found:
        keys = ", ".join(str(d.key) for d in found[:5])
        return _verdict(
            case,
            "broken",
            f"{ex.probe.label} answered {len(found)} device(s) for a value no device has: {keys}",
            _lines(ex, near=b"<device>"),
        )
    return _verdict(case, "holds", "200 with an empty deviceList")


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
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} answered {len(found)} devices for one device",
                _lines(ex),
            )
        if found:
            answers.append((ex, question, found[0]))
    if not answers:
        return _verdict(
            case, "inconclusive", "no lookup found the device (L1 judges that)", _lines(*exchanges)
        )
    reference = next((a for a in answers if a[1]["criterion"] == "macaddress"), answers[0])
    ref_ids = reference[2].identifiers()
    for ex, question, dev in answers:
        criterion, value = question["criterion"], question["value"]
        if (
            criterion == "macaddress"
            and documents.normalise_mac(value) not in dev.macs
            and dev.key_kind != "guid"
        ):
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} answered the device {dev.key}, not {value}",
                _lines(ex),
            )
        if (
            criterion == "guid"
            and dev.guid != str(value).lower()
            and not (dev.macs & reference[2].macs)
        ):
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} answered another device ({dev.key_kind} {dev.key})",
                _lines(ex),
            )
        if (
            version >= 3
            and criterion in ("macaddress", "udid", "imei", "meid")
            and dev.guid is None
        ):
            return _verdict(
                case,
                "broken",
                f"the v3 answer to {ex.probe.label} carries no guid",
                _lines(ex, near=b"<attributes>"),
            )
        ids = dev.identifiers()
        clash = sorted(
            k for k in ids.keys() & ref_ids.keys() if ids[k].lower() != ref_ids[k].lower()
        )
        if clash:
            name = clash[0]
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} answered a device whose {name} is {ids[name]!r}; "
                f"{reference[0].probe.label} said {ref_ids[name]!r}",
                [*_lines(reference[0]), *_lines(ex)],
            )
        if dev.macs and reference[2].macs and not dev.macs & reference[2].macs:
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} answered a device with MACs {sorted(dev.macs)}, "
                f"{reference[0].probe.label} one with {sorted(reference[2].macs)}",
                [*_lines(reference[0]), *_lines(ex)],
            )
    return _verdict(case, "holds", f"{len(answers)} lookups answered the same device")


_FILTERED = frozenset({"register_status", "compliance"})


def _filtered(
    case: ServerCase, exchanges: Exchanges
) -> tuple[Exchange, documents.DeviceView | None, ServerVerdict | None]:
    (ex,) = exchanges
    failed = _no_answer(case, ex)
    if failed:
        return ex, None, failed
    if ex.status != 200 and case.contract == "L4":
        return (
            ex,
            None,
            _verdict(
                case,
                "broken",
                f"{ex.probe.label} answered {ex.status}: the filter was refused",
                _lines(ex),
            ),
        )
    found, why = _lookup_devices(case, ex)
    if found is None:
        return ex, None, why
    if not found:
        return (
            ex,
            None,
            _verdict(
                case,
                "inconclusive",
                f"{ex.probe.label} found no device (L1 judges that)",
                _lines(ex),
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
        return _verdict(
            case,
            "broken",
            f"the filter asked for {', '.join(sorted(_FILTERED))}; missing: {', '.join(missing)}",
            _lines(ex),
        )
    return _verdict(case, "holds", "the attributes asked for are there")


def check_l5(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    ex, dev, why = _filtered(case, exchanges)
    if dev is None:
        assert why is not None
        return why
    extra = sorted(dev.names - _FILTERED)
    if extra:
        return _verdict(
            case,
            "broken",
            f"the filter asked for {', '.join(sorted(_FILTERED))}; also sent: {', '.join(extra)}",
            _lines(ex),
        )
    return _verdict(case, "holds", "only the attributes asked for")


_UPPER_MAC = re.compile(r"[0-9A-F]{12}")


def check_l6(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    judged = 0
    for ex in exchanges:
        found, why = _lookup_devices(case, ex)
        if found is None:
            if why is not None and why.status == "broken":
                return why
            continue
        for dev in found:
            written = [dev.key] if dev.key_kind == "macaddress" and dev.key else []
            written += [m.strip() for m in (dev.get("macaddresses") or "").split(",") if m.strip()]
            bad = [m for m in written if not _UPPER_MAC.fullmatch(m)]
            judged += len(written)
            if bad:
                return _verdict(
                    case,
                    "broken",
                    f"{ex.probe.label} wrote the MAC {bad[0]!r}, not 12 upper-case hex digits",
                    _lines(ex, near=bad[0].encode()),
                )
    if not judged:
        return _verdict(
            case, "inconclusive", "no answer carried a MAC to judge", _lines(*exchanges)
        )
    return _verdict(case, "holds", f"{judged} MACs, all 12 upper-case hex digits")


def check_l7(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    version = case.params.get("version")
    failed = _no_answer(case, ex)
    if failed:
        return failed
    parsed = _parsed(ex)
    if ex.status != 200 or not parsed.ok:
        return _verdict(
            case, "inconclusive", f"{ex.probe.label} gave no document to judge", _lines(ex)
        )
    said = documents.text(parsed.root, "api_version")
    if said is None:
        return _verdict(
            case, "inconclusive", "no api_version in the answer (X2 judges that)", _lines(ex)
        )
    if said != str(version):
        return _verdict(
            case,
            "broken",
            f"the answer under the v{version} api_path says api_version {said}",
            _lines(ex, near=b"<api_version>"),
        )
    return _verdict(case, "holds", f"api_version {said}")


# -- paging ----------------------------------------------------------------------------------------


def _pages(exchanges: Exchanges) -> list[tuple[Exchange, documents.Parsed]]:
    return [(ex, _parsed(ex)) for ex in exchanges]


def check_g1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    max_pages = int(case.params.get("max_pages", 0))
    seen_keys: dict[str, int] = {}
    seen_cursors: set[str] = set()
    pages = _pages(exchanges)
    for number, (ex, parsed) in enumerate(pages, start=1):
        if number == 1:
            failed = _no_answer(case, ex)
            if failed:
                return failed
            if ex.status != 200:
                return _verdict(
                    case,
                    "broken",
                    f"the first page of the listing answered {ex.status}",
                    _lines(ex),
                )
        elif ex.status != 200:
            return _verdict(
                case,
                "inconclusive",
                f"the walk stopped at page {number}: the cursor was answered {ex.status} (G3 judges that)",
                _lines(ex),
            )
        if not parsed.ok:
            return _inconclusive_xml(case, ex, parsed)
        found = documents.devices(parsed.root) or []
        for dev in found:
            key = (dev.key or "").lower()
            if key in seen_keys:
                return _verdict(
                    case,
                    "broken",
                    f"device {dev.key} came on page {seen_keys[key]} and again on page {number}",
                    _lines(pages[seen_keys[key] - 1][0], ex, near=(dev.key or "").encode()),
                )
            seen_keys[key] = number
        cursor = documents.text(parsed.root, "paging_info")
        if cursor in (None, "0"):
            return _verdict(
                case,
                "holds",
                f"the listing ended after {number} page(s), {len(seen_keys)} devices, none twice",
            )
        if cursor in seen_cursors:
            return _verdict(
                case,
                "broken",
                f"page {number} sends the walk back to cursor {cursor!r}, used before",
                _lines(ex),
            )
        seen_cursors.add(cursor)
    return _verdict(
        case,
        "inconclusive",
        f"the listing did not end within the planned {max_pages} pages ({len(seen_keys)} devices, none twice); "
        "raise --max-pages to walk it whole",
    )


def check_g2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    limit = int(case.params.get("query_max_size", 5000))
    judged = 0
    for number, (ex, parsed) in enumerate(_pages(exchanges), start=1):
        if ex.status != 200 or not parsed.ok:
            continue
        found = documents.devices(parsed.root) or []
        judged += 1
        if len(found) > limit:
            return _verdict(
                case,
                "broken",
                f"page {number} holds {len(found)} devices; discovery announced query_max_size {limit}",
                _lines(ex),
            )
    if not judged:
        return _verdict(case, "inconclusive", "no page to judge", _lines(*exchanges))
    return _verdict(case, "holds", f"{judged} page(s), none above query_max_size {limit}")


def check_g3(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    sent = 0
    for number, ex in enumerate(exchanges, start=1):
        if number == 1:
            continue
        sent += 1
        failed = _no_answer(case, ex)
        if failed:
            return failed
        if ex.status != 200:
            asked = ex.attempt.param("paging") if ex.attempt is not None else None
            return _verdict(
                case,
                "broken",
                f"the cursor of page {number - 1}, sent back verbatim (paging={asked!r}), was answered {ex.status}",
                _lines(ex),
            )
    if not sent:
        return _verdict(
            case, "not applicable", "the listing fit one page: there was no cursor to send back"
        )
    return _verdict(
        case, "holds", f"{sent} cursor(s) sent back verbatim, each answered with its page"
    )


def _busy_values(exchanges: Exchanges) -> list[tuple[Exchange, str]]:
    out = []
    for ex, parsed in _pages(exchanges):
        if ex.status == 200 and parsed.ok:
            value = documents.text(parsed.root, "server_busy_wait_seconds")
            if documents.child(parsed.root, "server_busy_wait_seconds") is not None:
                out.append((ex, value or ""))
    return out


def check_g4(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    values = _busy_values(exchanges)
    for ex, value in values:
        if not _INT.fullmatch(value) or int(value) < 0:
            return _verdict(
                case,
                "broken",
                f"server_busy_wait_seconds is {value!r}, not a non-negative integer",
                _lines(ex, near=b"<server_busy_wait_seconds>"),
            )
    if not values:
        return _verdict(case, "holds", "no page sent server_busy_wait_seconds")
    return _verdict(
        case, "holds", f"server_busy_wait_seconds {', '.join(sorted({v for _, v in values}))}"
    )


def check_g5(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    for ex, value in _busy_values(exchanges):
        if _INT.fullmatch(value) and int(value) > BUSY_WAIT_MAX_S:
            return _verdict(
                case,
                "broken",
                f"server_busy_wait_seconds is {value}: more than {BUSY_WAIT_MAX_S} s",
                _lines(ex, near=b"<server_busy_wait_seconds>"),
            )
    return _verdict(case, "holds", f"no server_busy_wait_seconds above {BUSY_WAIT_MAX_S}")


# -- authentication --------------------------------------------------------------------------------


def check_a1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    secrets = [str(s) for s in case.params.get("device_values", []) if s]
    for ex in exchanges:
        failed = _no_answer(case, ex)
        if failed:
            return failed
        if ex.status != 401:
            return _verdict(
                case, "broken", f"{ex.probe.label} answered {ex.status}, not 401", _lines(ex)
            )
        lowered = ex.body.lower()
        leaked = [s for s in secrets if s.lower().encode() in lowered]
        if leaked or re.search(rb"<(\w+:)?device[\s>]", lowered):
            what = f"the device's {leaked[0]}" if leaked else "a <device> element"
            return _verdict(
                case,
                "broken",
                f"the 401 to {ex.probe.label} carries {what}",
                _lines(ex, near=leaked[0].encode() if leaked else b"<device"),
            )
    return _verdict(
        case,
        "holds",
        f"{len(exchanges)} requests without valid credentials: each 401, no device data",
    )


def check_a2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    judged = 0
    for ex in exchanges:
        if ex.status != 401:
            continue
        judged += 1
        challenge = ex.header("www-authenticate") or ""
        if not re.search(r"(^|,)\s*basic(\s|$|,)", challenge, re.IGNORECASE):
            what = f"WWW-Authenticate {challenge!r}" if challenge else "no WWW-Authenticate"
            return _verdict(
                case, "broken", f"the 401 to {ex.probe.label} carries {what}", _lines(ex)
            )
    if not judged:
        return _verdict(
            case, "inconclusive", "no request was answered 401 (A1 judges that)", _lines(*exchanges)
        )
    return _verdict(case, "holds", f"{judged} 401 answer(s), each with a Basic challenge")


# -- XML -------------------------------------------------------------------------------------------


def check_x1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    judged = 0
    for ex in exchanges:
        if ex.status != 200:
            continue
        judged += 1
        if not documents.is_xml_content_type(ex.content_type):
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} is labelled {ex.content_type or 'with no content type'!r}, not XML",
                _lines(ex),
            )
        parsed = _parsed(ex)
        if not parsed.ok:
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label}: {parsed.problem}",
                _lines(ex, near=_near(parsed, ex)),
            )
    if not judged:
        return _verdict(case, "inconclusive", "no request was answered 200", _lines(*exchanges))
    return _verdict(case, "holds", f"{judged} answers, each well-formed XML labelled as XML")


def check_x2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    judged = 0
    for ex in exchanges:
        if ex.status != 200:
            continue
        parsed = _parsed(ex)
        if not parsed.ok:
            continue
        assert parsed.root is not None
        judged += 1
        problems = documents.validate(parsed.root, "attributes", drop=("server_busy_wait_seconds",))
        if problems:
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} is not a valid attributes document: " + "; ".join(problems[:4]),
                _lines(ex),
            )
    if not judged:
        return _verdict(
            case,
            "inconclusive",
            "no well-formed answer to judge (X1 judges that)",
            _lines(*exchanges),
        )
    return _verdict(case, "holds", f"{judged} valid attributes documents")


def check_x3(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed = _no_answer(case, ex)
    if failed:
        return failed
    assert ex.status is not None
    if 400 <= ex.status < 500:
        return _verdict(case, "holds", f"refused with {ex.status}")
    if ex.status != 200:
        return _verdict(case, "broken", f"{ex.probe.label} answered {ex.status}", _lines(ex))
    parsed = _parsed(ex)
    if not parsed.ok:
        return _verdict(
            case,
            "broken",
            f"{ex.probe.label}: {parsed.problem}",
            _lines(ex, near=_near(parsed, ex)),
        )
    return _verdict(case, "holds", "a well-formed answer")


# -- timing and concurrency ----------------------------------------------------------------------


def check_b1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    budget = float(case.params.get("budget_s", 30.0))
    for ex in exchanges:
        if ex.status is None:
            return _verdict(
                case, "broken", f"no answer to {ex.probe.label}: {ex.error}", _lines(ex)
            )
        if ex.seconds > budget:
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} took {ex.seconds:.3f} s, more than the budget of {budget:.3f} s",
                _lines(ex),
            )
    slowest = max(exchanges, key=lambda e: e.seconds)
    return _verdict(
        case,
        "holds",
        f"{len(exchanges)} answers within {budget:.3f} s (slowest {slowest.seconds * 1000:.1f} ms)",
    )


def check_b2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    times = [ex.seconds for ex in exchanges if ex.status is not None]
    if not times:
        return _verdict(
            case, "inconclusive", "no lookup was answered (B1 judges that)", _lines(*exchanges)
        )
    median = statistics.median(times)
    summary = ", ".join(f"{t * 1000:.0f}" for t in times)
    if median > LOOKUP_LIMIT_S:
        return _verdict(
            case,
            "broken",
            f"the median compliance lookup took {median * 1000:.0f} ms (of {summary} ms); Cisco expects at most 300",
            _lines(*exchanges),
        )
    return _verdict(case, "holds", f"median {median * 1000:.1f} ms (of {summary} ms)")


def check_c1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    expected: list[str] = list(case.params.get("macs", []))
    for ex, mac in zip(exchanges, expected, strict=False):
        if ex.status is None:
            return _verdict(
                case,
                "broken",
                f"no answer to {ex.probe.label} among {len(exchanges)} at once: {ex.error}",
                _lines(ex),
            )
        if ex.status != 200:
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} answered {ex.status} among {len(exchanges)} at once",
                _lines(ex),
            )
        parsed = _parsed(ex)
        if not parsed.ok:
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label} among {len(exchanges)} at once: {parsed.problem}",
                _lines(ex, near=_near(parsed, ex)),
            )
        found = documents.devices(parsed.root) or []
        if len(found) != 1 or documents.normalise_mac(mac) not in found[0].macs:
            got = ", ".join(f"{d.key_kind} {d.key}" for d in found) or "no device"
            return _verdict(
                case,
                "broken",
                f"{ex.probe.label}, one of {len(exchanges)} at once, answered {got}",
                _lines(ex),
            )
    return _verdict(
        case, "holds", f"{len(exchanges)} lookups at once, each answered with its device"
    )


# -- actions -------------------------------------------------------------------------------------


def check_k1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed = _no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        return _verdict(case, "broken", f"{ex.probe.label} answered {ex.status}", _lines(ex))
    parsed = _parsed(ex)
    if not parsed.ok:
        return _verdict(
            case,
            "broken",
            f"{ex.probe.label}: {parsed.problem}",
            _lines(ex, near=_near(parsed, ex)),
        )
    assert parsed.root is not None
    problems = documents.validate(parsed.root, "action")
    if problems:
        return _verdict(
            case, "broken", "not a valid action document: " + "; ".join(problems[:4]), _lines(ex)
        )
    kind, value = str(case.params.get("identifier")), str(case.params.get("value"))
    device = documents.child(documents.child(parsed.root, "deviceList"), "device")
    echoed = documents.text(device, kind)
    same = (
        documents.normalise_mac(echoed or "") == documents.normalise_mac(value)
        if kind == "macaddress"
        else (echoed or "").lower() == value.lower()
    )
    if not same:
        return _verdict(
            case, "broken", f"the answer's {kind} is {echoed!r}, not the {value!r} sent", _lines(ex)
        )
    status = documents.text(documents.child(device, "result"), "action_status")
    return _verdict(case, "holds", f"action_status {status}")


CHECKS: dict[str, Callable[[ServerCase, Exchanges], ServerVerdict]] = {
    "D1": check_d1,
    "D2": check_d2,
    "D3": check_d3,
    "D4": check_d4,
    "L1": check_l1,
    "L2": check_l2,
    "L3": check_l3,
    "L4": check_l4,
    "L5": check_l5,
    "L6": check_l6,
    "L7": check_l7,
    "G1": check_g1,
    "G2": check_g2,
    "G3": check_g3,
    "G4": check_g4,
    "G5": check_g5,
    "A1": check_a1,
    "A2": check_a2,
    "X1": check_x1,
    "X2": check_x2,
    "X3": check_x3,
    "B1": check_b1,
    "B2": check_b2,
    "C1": check_c1,
    "K1": check_k1,
}


def check(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    """Judge ``case`` on the exchanges it produced."""
    if not exchanges:
        return _verdict(case, "inconclusive", "no request was sent")
    return CHECKS[case.contract](case, exchanges)
