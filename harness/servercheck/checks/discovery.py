"""Discovery: D1 api_version, D2 the document, D3 the api_path, D4 Cisco's v1 URL."""

from __future__ import annotations

from .. import documents
from ..model import ServerCase, ServerVerdict
from ._common import Exchanges, inconclusive_xml, lines, no_answer, parsed_body, verdict


def _discovery_version(parsed: documents.Parsed) -> int | None:
    value = documents.text(parsed.root, "api_version")
    return int(value) if value is not None and value.isdigit() else None


def check_d1(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    asked = case.params.get("asked")
    failed = no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        return verdict(
            case,
            "broken",
            f"{ex.probe.label} answered {ex.status}, not a discovery document",
            lines(ex),
        )
    parsed = parsed_body(ex)
    if not parsed.ok:
        return inconclusive_xml(case, ex, parsed)
    version = _discovery_version(parsed)
    if version is None or version < 1:
        return verdict(
            case,
            "inconclusive",
            f"api_version {documents.text(parsed.root, 'api_version')!r} is not an integer of at least 1 (D2 judges that)",
            lines(ex),
        )
    if asked is None:
        return verdict(
            case, "holds", f"the v1 form (no ise_api_version) answered api_version {version}"
        )
    if version > int(asked):
        return verdict(
            case,
            "broken",
            f"asked ise_api_version={asked}, it answered api_version {version}",
            lines(ex, near=b"<api_version>"),
        )
    return verdict(case, "holds", f"asked {asked}, answered {version}")


def check_d2(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    if ex.status != 200:
        return verdict(
            case,
            "inconclusive",
            f"{ex.probe.label} gave no document to judge (D1 judges that)",
            lines(ex),
        )
    parsed = parsed_body(ex)
    if not parsed.ok:
        return inconclusive_xml(case, ex, parsed)
    assert parsed.root is not None
    if (
        documents.local(parsed.root) != "ise_api"
        or (documents.text(parsed.root, "name") or "").lower() != "mdminfo"
    ):
        return verdict(
            case, "broken", "the answer is not an <ise_api> document named mdminfo", lines(ex)
        )
    version = _discovery_version(parsed)
    kind = "mdminfo-v3" if version is not None and version >= 3 else "mdminfo"
    problems = documents.validate(parsed.root, kind)
    if problems:
        return verdict(
            case,
            "broken",
            f"not a valid api_version {version if version is not None else '?'} discovery document ({kind}.xsd): "
            + "; ".join(problems[:4]),
            lines(ex),
        )
    return verdict(case, "holds", f"a valid {kind} document")


def check_d3(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    unusable = case.params.get("unusable")
    if unusable:
        return verdict(case, "broken", str(unusable), lines(*exchanges))
    (ex,) = exchanges
    failed = no_answer(case, ex)
    if failed:
        return failed
    announced = case.params.get("api_path")
    if ex.status != 200:
        return verdict(
            case,
            "broken",
            f"a device query under the announced api_path {announced!r} answered {ex.status}",
            lines(ex),
        )
    return verdict(case, "holds", f"api_path {announced!r} answers device queries")


def check_d4(case: ServerCase, exchanges: Exchanges) -> ServerVerdict:
    (ex,) = exchanges
    failed = no_answer(case, ex)
    if failed:
        return failed
    if ex.status != 200:
        return verdict(case, "broken", f"Cisco's v1 discovery URL answered {ex.status}", lines(ex))
    parsed = parsed_body(ex)
    if not parsed.ok:
        return inconclusive_xml(case, ex, parsed)
    if (documents.text(parsed.root, "name") or "").lower() != "mdminfo":
        return verdict(
            case,
            "broken",
            "Cisco's v1 discovery URL answered something other than mdminfo",
            lines(ex),
        )
    return verdict(case, "holds", "the v1 URL answers the discovery document itself")
