"""100 concurrent clients with mixed faults: one journal record per attempt, and the proxy serves on."""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Iterator
from typing import Any

import pytest
from support.proxy import DEVICES, DISCOVERY, Lab, lab, read_to_end

from harness.scenario import to_yaml

CASES = ("pass", "reset", "close", "hang", "delay", "busy", "cut", "truncate", "broken", "refuse")

#: How each case must end, as the journal says it.
EXPECTED_END = {
    "pass": "completed",
    "reset": "proxy_reset",
    "close": "proxy_closed",
    "hang": "proxy_closed",  # capped at 300 ms
    "delay": "completed",
    "busy": "completed",
    "cut": "proxy_closed",
    "truncate": "completed",
    "broken": "error",
    "refuse": "completed",  # the 503 answer to the CONNECT was delivered
}


def _scenario(body_file: str) -> dict[str, Any]:
    def case(name: str, fault: Any, phase: str = "request") -> dict[str, Any]:
        return {"name": name, "match": {"phase": phase, "query": {"case": name}}, "fault": fault}

    return {
        "name": "mixed",
        "rules": [
            {
                "name": "refuse",
                "match": {"phase": "connect", "host": "refuse.test"},
                "fault": {"kind": "connect_refuse", "status": 503},
            },
            case("reset", "reset"),
            case("close", "close"),
            case("hang", {"kind": "hang", "max_ms": 300}),
            case("delay", {"kind": "delay", "distribution": "uniform", "min_ms": 10, "max_ms": 80}),
            case("busy", {"kind": "retry_after", "status": 503}),
            case("cut", {"kind": "partial", "bytes": 50, "then": "close"}, phase="response"),
            case("truncate", {"kind": "xml_truncate"}, phase="response"),
            case("broken", {"kind": "respond", "body_file": body_file}),
        ],
    }


@pytest.fixture(scope="module")
def busy_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("concurrency")
    # "broken" names a file beside the scenario; only a scenario file the proxy loads itself
    # may name one, so this scenario is loaded at start rather than through the control API.
    (tmp / "doc.xml").write_text("<ise_api/>")
    (tmp / "mixed.yaml").write_text(to_yaml(_scenario("doc.xml")))
    with lab(tmp, scenario=str(tmp / "mixed.yaml")) as the_lab:
        yield the_lab


def _client(lab: Lab, case: str) -> str:
    path = (DEVICES if case != "truncate" else DISCOVERY) + f"&case={case}"
    try:
        sock = lab.tunnel(
            host="refuse.test" if case == "refuse" else "acme.jamfcloud.test", timeout=20
        )
    except ConnectionError as exc:
        return f"refused: {exc}"
    with sock:
        sock.sendall(lab.request_bytes(path))
        data, end, _ = read_to_end(sock)
    return f"{end}:{data[:12]!r}"


def test_one_record_per_attempt_under_load_and_the_proxy_keeps_serving(busy_lab: Lab) -> None:
    busy_lab.proxy.control.reset()
    (busy_lab.tmp / "doc.xml").unlink()  # "broken": the file is gone, the fault raises
    cases = [CASES[i % len(CASES)] for i in range(100)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        outcomes = list(pool.map(lambda c: _client(busy_lab, c), cases))

    records = busy_lab.journal(wait_idle=30)
    assert len(records) == 100
    assert sorted(r.seq for r in records) == list(range(1, 101))
    assert all(r.end is not None for r in records)
    ends = collections.Counter((_case_of(r), r.client_end) for r in records)
    assert ends == collections.Counter((c, EXPECTED_END[c]) for c in cases), ends
    broken = [r for r in records if _case_of(r) == "broken"]
    assert all("FileNotFoundError" in r.fault_error for r in broken)
    assert busy_lab.proxy.control.counters()["fault_errors"] == 10
    # Clients saw what the journal says.
    seen = collections.Counter((c, o.split(":")[0]) for c, o in zip(cases, outcomes, strict=True))
    assert (
        seen[("reset", "reset")] == 10
        and seen[("close", "eof")] == 10
        and seen[("refuse", "refused")] == 10
    )
    assert seen[("pass", "eof")] == 10 and all(
        o.startswith("eof:b'HTTP/1.1 200")
        for c, o in zip(cases, outcomes, strict=True)
        if c == "pass"
    )

    # The proxy keeps serving.
    busy_lab.load(None)
    assert busy_lab.curl(DISCOVERY).status == 200


def _case_of(record: dict[str, Any]) -> str:
    if record.host == "refuse.test":
        return "refuse"
    return record.params["case"][0]
