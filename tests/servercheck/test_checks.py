"""The server checks on hand-made exchanges: each holds for the right answer, breaks for the
wrong one (the negative control that proves it bites), and is inconclusive - never broken -
when what it needs is missing for a reason another contract owns."""

from __future__ import annotations

from typing import Any

import pytest

from harness.servercheck import checks
from harness.servercheck.model import Exchange, Probe, ServerCase

XML = "application/xml;charset=UTF-8"
MAC, MAC2 = "0026B424FEB4", "3C22FB000001"
GUID, GUID2 = "1759c0fd-c8da-49e8-b14f-19d85acfacea", "6a0f7b7e-0000-4000-8000-000000000002"
DECL = '<?xml version="1.0" encoding="UTF-8"?>'


def device(
    key: str = "macaddress",
    value: str = MAC,
    *,
    guid: str | None = GUID,
    macs: str | None = None,
    udid: str | None = "00008110-001A2C3E0E91801E",
    register: str = "true",
    extra: str = "",
    attributes: str | None = None,
) -> str:
    if attributes is None:
        attributes = (
            f"<register_status>{register}</register_status>"
            "<compliance><status>false</status><failure_reason>Passcode &amp; OS</failure_reason></compliance>"
            "<jail_broken>false</jail_broken>"
            + (f"<udid>{udid}</udid>" if udid else "")
            + (f"<guid>{guid}</guid>" if guid else "")
            + (f"<macaddresses>{macs}</macaddresses>" if macs else "")
            + extra
        )
    return f"<device><{key}>{value}</{key}><attributes>{attributes}</attributes></device>"


def attributes_doc(
    *devices: str, version: int = 3, paging: str | None = "0", busy: str | None = None
) -> bytes:
    parts = ["<ise_api><name>attributes</name>", f"<api_version>{version}</api_version>"]
    if paging is not None:
        parts.append(f"<paging_info>{paging}</paging_info>")
    if busy is not None:
        parts.append(f"<server_busy_wait_seconds>{busy}</server_busy_wait_seconds>")
    parts.append(f"<deviceList>{''.join(devices)}</deviceList></ise_api>")
    return (DECL + "".join(parts)).encode()


def mdminfo(version: int = 3, *, vendor: bool = True, size: str = "1000", extra: str = "") -> bytes:
    body = (
        f"<ise_api><name>mdminfo</name><api_version>{version}</api_version>"
        f"<api_path>/7/ciscoise/v{version}</api_path><redirect_url>https://acme.test/enroll</redirect_url>"
        f"<query_max_size>{size}</query_max_size><messaging_support>false</messaging_support>"
    )
    if vendor:
        body += "<vendor>JAMF Software</vendor><product_name>JSS</product_name><product_version>10.48</product_version>"
    return (DECL + body + extra + "</ise_api>").encode()


def ex(
    body: bytes = b"",
    status: int | None = 200,
    *,
    ct: str = XML,
    label: str = "the probe",
    target: str = "/7/ciscoise/v3/devices/?paging=0",
    error: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    seconds: float = 0.001,
    method: str = "GET",
) -> Exchange:
    probe = Probe(target, label, method=method)
    head = (("Content-Type", ct), *headers) if status is not None else ()
    return Exchange(
        probe,
        target,
        status=status,
        headers=head,
        body=body,
        error=error,
        started=0.0,
        ended=seconds,
    )


def case(contract: str, n: int = 1, **params: Any) -> ServerCase:
    probes = tuple(Probe(f"/p{i}", f"probe {i}") for i in range(n))
    return ServerCase(contract, "a case", probes, params)


def judge(contract: str, exchanges: list[Exchange], **params: Any) -> checks.ServerVerdict:
    return checks.check(case(contract, len(exchanges), **params), exchanges)


# ---------------------------------------------------------------------------------- the table

NOT_WELL_FORMED = (
    DECL + "<ise_api><name>attributes</name><deviceList><device>&</deviceList>"
).encode()

CASES: list[tuple[str, str, list[Exchange], dict[str, Any], str]] = [
    # D1
    ("D1", "holds", [ex(mdminfo(2))], {"asked": 2}, "asked 2, answered 2"),
    ("D1", "holds", [ex(mdminfo(1))], {"asked": 3}, "asked 3, answered 1"),
    (
        "D1",
        "broken",
        [ex(mdminfo(3))],
        {"asked": 2},
        "asked ise_api_version=2, it answered api_version 3",
    ),
    ("D1", "holds", [ex(mdminfo(3))], {"asked": None}, "v1 form"),
    ("D1", "broken", [ex(b"", 404)], {"asked": 3}, "answered 404"),
    ("D1", "broken", [ex(status=None, error="timeout: no answer")], {"asked": 3}, "no answer"),
    ("D1", "inconclusive", [ex(NOT_WELL_FORMED)], {"asked": 3}, "X1"),
    # D2
    ("D2", "holds", [ex(mdminfo(3))], {}, "valid mdminfo-v3"),
    ("D2", "holds", [ex(mdminfo(2, vendor=False))], {}, "valid mdminfo"),
    ("D2", "broken", [ex(mdminfo(3, vendor=False))], {}, "vendor"),
    ("D2", "broken", [ex(mdminfo(3, size="0"))], {}, "query_max_size"),
    ("D2", "broken", [ex(mdminfo(3, size="lots"))], {}, "query_max_size"),
    ("D2", "holds", [ex(mdminfo(3, extra="<extra>ignored</extra>"))], {}, "valid"),
    ("D2", "inconclusive", [ex(b"", 500)], {}, "D1"),
    # D3
    (
        "D3",
        "holds",
        [ex(attributes_doc())],
        {"api_path": "/7/ciscoise/v3"},
        "answers device queries",
    ),
    ("D3", "broken", [ex(b"", 404)], {"api_path": "/ciscoise/v3"}, "answered 404"),
    (
        "D3",
        "broken",
        [ex(mdminfo())],
        {"api_path": "https://other.test/x", "unusable": "api_path points at another origin"},
        "another origin",
    ),
    # D4
    ("D4", "holds", [ex(mdminfo(1))], {}, "itself"),
    ("D4", "broken", [ex(b"", 301, headers=(("Location", "/x/"),))], {}, "301 redirect to /x/"),
    ("D4", "broken", [ex(b"", 404)], {}, "answered 404"),
    # L1
    ("L1", "holds", [ex(attributes_doc(device()))], {}, "found 1 device"),
    ("L1", "broken", [ex(attributes_doc())], {}, "found no device"),
    ("L1", "broken", [ex(b"", 400)], {}, "answered 400"),
    ("L1", "inconclusive", [ex(NOT_WELL_FORMED)], {}, "X1"),
    # L2
    ("L2", "holds", [ex(attributes_doc())], {"criterion": "macaddress"}, "empty deviceList"),
    ("L2", "broken", [ex(b"", 404)], {"criterion": "macaddress"}, "answered 404"),
    (
        "L2",
        "broken",
        [ex(attributes_doc(device(), device(value=MAC2)))],
        {"criterion": "macaddress"},
        "2 device(s)",
    ),
    ("L2", "inconclusive", [ex(b"", 400), ex(b"", 400)], {"criterion": "udid"}, "known device too"),
    (
        "L2",
        "broken",
        [ex(b"", 400), ex(attributes_doc(device()))],
        {"criterion": "udid"},
        "answered 400",
    ),
    # L4 / L5: filter register_status + compliance
    (
        "L4",
        "holds",
        [
            ex(
                attributes_doc(
                    device(
                        attributes="<register_status>true</register_status><compliance><status>true</status></compliance>"
                    )
                )
            )
        ],
        {},
        "are there",
    ),
    (
        "L5",
        "holds",
        [
            ex(
                attributes_doc(
                    device(
                        attributes="<register_status>true</register_status><compliance><status>true</status></compliance>"
                    )
                )
            )
        ],
        {},
        "only",
    ),
    (
        "L4",
        "broken",
        [ex(attributes_doc(device(attributes="")))],
        {},
        "missing: compliance, register_status",
    ),
    ("L4", "broken", [ex(b"", 400)], {}, "the filter was refused"),
    ("L5", "broken", [ex(attributes_doc(device()))], {}, "also sent: guid, jail_broken, udid"),
    ("L4", "holds", [ex(attributes_doc(device()))], {}, "are there"),
    ("L4", "inconclusive", [ex(attributes_doc())], {}, "L1"),
    # L6
    ("L6", "holds", [ex(attributes_doc(device(macs=f"{MAC},{MAC2}")))], {}, "3 MACs"),
    ("L6", "broken", [ex(attributes_doc(device(value=MAC.lower())))], {}, "0026b424feb4"),
    (
        "L6",
        "broken",
        [ex(attributes_doc(device(macs="00:26:B4:24:FE:B4")))],
        {},
        "00:26:B4:24:FE:B4",
    ),
    ("L6", "not applicable", [ex(attributes_doc(device("guid", GUID)))], {}, "without a MAC"),
    ("L6", "inconclusive", [ex(attributes_doc())], {}, "L1"),
    # L7
    ("L7", "holds", [ex(attributes_doc(device(), version=3))], {"version": 3}, "api_version 3"),
    (
        "L7",
        "broken",
        [ex(attributes_doc(device(), version=2))],
        {"version": 3},
        "says api_version 2",
    ),
    # G1-G5: walks
    (
        "G1",
        "holds",
        [ex(attributes_doc(device(), paging="77")), ex(attributes_doc(device(value=MAC2)))],
        {"max_pages": 5},
        "2 page(s), 2 devices",
    ),
    ("G1", "holds", [ex(attributes_doc(device(), paging=None))], {"max_pages": 5}, "1 page(s)"),
    (
        "G1",
        "broken",
        [ex(attributes_doc(device(), paging="77")), ex(attributes_doc(device()))],
        {"max_pages": 5},
        f"device {MAC} came on page 1 and again on page 2",
    ),
    (
        "G1",
        "broken",
        [
            ex(attributes_doc(device(), paging="77")),
            ex(attributes_doc(device(value=MAC2), paging="77")),
        ],
        {"max_pages": 5},
        "used before",
    ),
    (
        "G1",
        "inconclusive",
        [
            ex(attributes_doc(device(), paging="77")),
            ex(attributes_doc(device(value=MAC2), paging="78")),
        ],
        {"max_pages": 2},
        "--max-pages",
    ),
    (
        "G1",
        "inconclusive",
        [ex(attributes_doc(device(), paging="77")), ex(b"", 400)],
        {"max_pages": 5},
        "G3",
    ),
    ("G1", "broken", [ex(b"", 500)], {"max_pages": 5}, "answered 500"),
    (
        "G2",
        "holds",
        [ex(attributes_doc(device(), device(value=MAC2)))],
        {"query_max_size": 2},
        "none above",
    ),
    (
        "G2",
        "broken",
        [ex(attributes_doc(device(), device(value=MAC2)))],
        {"query_max_size": 1},
        "page 1 holds 2 devices",
    ),
    ("G3", "not applicable", [ex(attributes_doc(device()))], {}, "one page"),
    (
        "G3",
        "holds",
        [ex(attributes_doc(device(), paging="77")), ex(attributes_doc())],
        {},
        "1 cursor(s)",
    ),
    (
        "G3",
        "broken",
        [ex(attributes_doc(device(), paging="77")), ex(b"", 400)],
        {},
        "was answered 400",
    ),
    ("G4", "holds", [ex(attributes_doc(device(), busy="0"))], {}, "server_busy_wait_seconds 0"),
    ("G4", "holds", [ex(attributes_doc(device()))], {}, "no page sent"),
    ("G4", "broken", [ex(attributes_doc(device(), busy="-5"))], {}, "'-5'"),
    ("G4", "broken", [ex(attributes_doc(device(), busy="soon"))], {}, "'soon'"),
    (
        "G5",
        "holds",
        [ex(attributes_doc(device(), busy="3600"))],
        {},
        "no server_busy_wait_seconds above",
    ),
    ("G5", "broken", [ex(attributes_doc(device(), busy="3601"))], {}, "3601"),
    # A1 / A2
    ("A1", "holds", [ex(b"<error/>", 401), ex(b"", 401)], {"device_values": [MAC]}, "each 401"),
    (
        "A1",
        "broken",
        [ex(attributes_doc(device()), 200)],
        {"device_values": [MAC]},
        "answered 200, not 401",
    ),
    ("A1", "broken", [ex(b"", 403)], {}, "answered 403"),
    ("A1", "broken", [ex(b"", 500)], {}, "answered 500"),
    (
        "A1",
        "broken",
        [ex(f"<err>{MAC.lower()}</err>".encode(), 401)],
        {"device_values": [MAC]},
        f"the device's {MAC}",
    ),
    (
        "A1",
        "broken",
        [ex(attributes_doc(device("guid", "g-1")), 401)],
        {"device_values": []},
        "a <device> element",
    ),
    (
        "A2",
        "holds",
        [ex(b"", 401, headers=(("WWW-Authenticate", 'Basic realm="x"'),))],
        {},
        "Basic challenge",
    ),
    (
        "A2",
        "holds",
        [ex(b"", 401, headers=(("WWW-Authenticate", 'Bearer x="1", Basic realm="x"'),))],
        {},
        "Basic challenge",
    ),
    ("A2", "broken", [ex(b"", 401)], {}, "no WWW-Authenticate"),
    ("A2", "broken", [ex(b"", 401, headers=(("WWW-Authenticate", "Bearer"),))], {}, "'Bearer'"),
    ("A2", "inconclusive", [ex(b"", 200)], {}, "A1"),
    # X1
    (
        "X1",
        "holds",
        [
            ex(mdminfo()),
            ex(attributes_doc(), ct="application/vnd.acme+xml"),
            ex(b"", 404, ct="text/html"),
        ],
        {},
        "2 answers",
    ),
    ("X1", "holds", [ex(mdminfo(), ct="text/xml")], {}, "1 answers"),
    (
        "X1",
        "broken",
        [ex(mdminfo(), ct="text/html; charset=utf-8")],
        {},
        "'text/html; charset=utf-8', not XML",
    ),
    ("X1", "broken", [ex(mdminfo(), ct="")], {}, "with no content type"),
    ("X1", "broken", [ex(NOT_WELL_FORMED)], {}, "not a well-formed XML document"),
    ("X1", "inconclusive", [ex(b"", 401)], {}, "no request was answered 200"),
    # X2: the variations ISE tolerates are not X2's failures
    ("X2", "holds", [ex(attributes_doc(device()))], {}, "1 valid"),
    (
        "X2",
        "holds",
        [
            ex(
                DECL.encode()
                + b'<ise_api xmlns="urn:intune"><Name>attributes</Name><api_version>3</api_version>'
                + b"<deviceList><device><Attributes><Compliance><failure_reason/><status> true </status></Compliance>"
                + b"<udid/><unknown>x</unknown></Attributes><macaddress>0026b424feb4</macaddress></device></deviceList></ise_api>"
            )
        ],
        {},
        "1 valid",
    ),
    ("X2", "holds", [ex(attributes_doc(device(), busy="-5"))], {}, "1 valid"),
    ("X2", "broken", [ex(attributes_doc(device(register="yes")))], {}, "'yes'"),
    ("X2", "broken", [ex(attributes_doc(device(), paging="next"))], {}, "paging_info"),
    (
        "X2",
        "broken",
        [
            ex(
                DECL.encode()
                + b"<ise_api><name>attributes</name><api_version>3</api_version></ise_api>"
            )
        ],
        {},
        "deviceList",
    ),
    ("X2", "inconclusive", [ex(NOT_WELL_FORMED)], {}, "X1"),
    # X3
    ("X3", "holds", [ex(b"", 400)], {}, "refused with 400"),
    ("X3", "holds", [ex(attributes_doc())], {}, "well-formed"),
    ("X3", "broken", [ex(b"", 500)], {}, "answered 500"),
    ("X3", "broken", [ex(b"", 302, headers=(("Location", "/login"),))], {}, "redirect to /login"),
    ("X3", "broken", [ex(NOT_WELL_FORMED)], {}, "not a well-formed"),
    ("X3", "broken", [ex(status=None, error="connection: reset")], {}, "no answer"),
    # B1 / B2
    (
        "B1",
        "holds",
        [ex(mdminfo(), seconds=0.5), ex(mdminfo(), seconds=0.9)],
        {"budget_s": 1.0},
        "slowest 900.0 ms",
    ),
    (
        "B1",
        "broken",
        [ex(mdminfo(), seconds=0.5), ex(mdminfo(), seconds=1.2)],
        {"budget_s": 1.0},
        "took 1.200 s",
    ),
    (
        "B1",
        "broken",
        [ex(status=None, error="timeout: no answer within 45.0 s")],
        {"budget_s": 30.0},
        "no answer",
    ),
    ("B2", "holds", [ex(seconds=0.1), ex(seconds=0.9), ex(seconds=0.2)], {}, "median 200.0 ms"),
    (
        "B2",
        "broken",
        [ex(seconds=0.31), ex(seconds=0.4), ex(seconds=0.1)],
        {},
        "median compliance lookup took 310 ms",
    ),
    ("B2", "inconclusive", [ex(status=None, error="timeout")], {}, "B1"),
    # C1
    (
        "C1",
        "holds",
        [ex(attributes_doc(device())), ex(attributes_doc(device(value=MAC2)))],
        {"macs": [MAC, MAC2]},
        "2 lookups at once",
    ),
    (
        "C1",
        "broken",
        [ex(attributes_doc(device(value=MAC2))), ex(attributes_doc(device(value=MAC2)))],
        {"macs": [MAC, MAC2]},
        f"answered macaddress {MAC2}",
    ),
    (
        "C1",
        "broken",
        [ex(attributes_doc(device())), ex(b"", 503)],
        {"macs": [MAC, MAC2]},
        "answered 503",
    ),
    (
        "C1",
        "broken",
        [ex(attributes_doc(device())), ex(NOT_WELL_FORMED)],
        {"macs": [MAC, MAC2]},
        "not a well-formed",
    ),
]


@pytest.mark.parametrize(
    ("contract", "status", "exchanges", "params", "reason"),
    CASES,
    ids=[f"{c}-{s}-{i}" for i, (c, s, *_) in enumerate(CASES)],
)
def test_check(
    contract: str, status: str, exchanges: list[Exchange], params: dict[str, Any], reason: str
) -> None:
    verdict = judge(contract, exchanges, **params)
    assert (verdict.status, reason in verdict.reason) == (status, True), verdict.report()
    if status == "broken":
        joined = "\n".join(verdict.evidence)
        assert exchanges[-1].target in joined or exchanges[0].target in joined  # names the request
        assert "->" in joined  # and the answer


def test_every_contract_bites_here() -> None:
    """Every check is shown holding and broken (the zoo does it again on a real server)."""
    statuses: dict[str, set[str]] = {}
    for contract, status, *_ in CASES:
        statuses.setdefault(contract, set()).add(status)
    missing = [
        c
        for c in checks.CHECKS
        if c not in ("L3", "K1") and not {"holds", "broken"} <= statuses.get(c, set())
    ]
    assert missing == []


# -- L3: one device by several criteria ------------------------------------------------------------


def _l3(*answers: bytes, version: int = 3) -> checks.ServerVerdict:
    asked = [
        {"criterion": "macaddress", "value": MAC},
        {"criterion": "guid", "value": GUID},
        {"criterion": "udid", "value": "00008110-001A2C3E0E91801E"},
    ][: len(answers)]
    exchanges = [
        ex(a, label=f"lookup by {q['criterion']}") for a, q in zip(answers, asked, strict=True)
    ]
    return judge("L3", exchanges, version=version, asked=asked)


def test_l3_the_same_device_by_every_criterion_holds() -> None:
    by_mac = attributes_doc(device())
    by_guid = attributes_doc(device("guid", GUID, macs=MAC))
    assert _l3(by_mac, by_guid, by_mac).status == "holds"


def test_l3_another_device_by_guid_is_broken() -> None:
    other = attributes_doc(device("guid", GUID2, guid=None, macs=MAC2, udid="OTHER"))
    verdict = _l3(attributes_doc(device()), other)
    assert verdict.status == "broken" and "another device" in verdict.reason


def test_l3_a_v3_answer_to_a_mac_lookup_without_guid_is_broken() -> None:
    verdict = _l3(attributes_doc(device(guid=None)), attributes_doc(device("guid", GUID)))
    assert verdict.status == "broken" and "carries no guid" in verdict.reason
    v2 = _l3(attributes_doc(device(guid=None), version=2), version=2)
    assert v2.status == "holds"  # v2 answers carry no guid


def test_l3_a_contradicting_identifier_is_broken() -> None:
    by_udid = attributes_doc(device(udid="00008110-FFFFFFFFFFFFFFFF"))
    verdict = _l3(attributes_doc(device()), attributes_doc(device("guid", GUID)), by_udid)
    assert verdict.status == "broken" and "udid is '00008110-FFFFFFFFFFFFFFFF'" in verdict.reason
    clash = attributes_doc(device(guid="0000-other"))
    verdict = _l3(attributes_doc(device()), attributes_doc(device("guid", GUID)), clash)
    assert verdict.status == "broken" and "guid" in verdict.reason


def test_l3_several_devices_for_one_identifier_is_broken() -> None:
    verdict = _l3(attributes_doc(device(), device(value=MAC2)))
    assert verdict.status == "broken" and "2 devices for one device" in verdict.reason


def test_l3_nothing_found_is_inconclusive() -> None:
    assert _l3(attributes_doc(), attributes_doc()).status == "inconclusive"


# -- K1: actions -----------------------------------------------------------------------------------


def _action(body: str) -> bytes:
    return (
        DECL
        + f"<ise_api><name>action</name><api_version>3</api_version><deviceList><device>{body}</device></deviceList></ise_api>"
    ).encode()


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (
            f"<guid>{GUID}</guid><result><action_status>true</action_status></result>",
            "holds",
            "action_status true",
        ),
        (
            f"<guid>{GUID.upper()}</guid><result><action_status>false</action_status><failure_reason>no</failure_reason></result>",
            "holds",
            "false",
        ),
        (f"<guid>{GUID}</guid>", "broken", "not a valid action document"),
        (
            f"<guid>{GUID2}</guid><result><action_status>true</action_status></result>",
            "broken",
            "not the",
        ),
        (
            f"<guid>{GUID}</guid><result><action_status>done</action_status></result>",
            "broken",
            "'done'",
        ),
    ],
)
def test_k1(body: str, status: str, reason: str) -> None:
    exchange = ex(_action(body), method="POST", label="pin_lock")
    verdict = judge("K1", [exchange], identifier="guid", value=GUID)
    assert verdict.status == status and reason in verdict.reason, verdict.report()


def test_a_should_contract_broken_is_advice_and_a_must_is_not() -> None:
    should = judge("L6", [ex(attributes_doc(device(value=MAC.lower())))])
    must = judge("L2", [ex(b"", 404)])
    assert should.advice and should.level == "SHOULD" and not should.passed
    assert not must.advice and must.level == "MUST"
    assert "rule (SHOULD)" in should.report() and "source: spec" in must.report()


def test_a_case_without_exchanges_is_inconclusive() -> None:
    assert checks.check(case("D1"), []).status == "inconclusive"
