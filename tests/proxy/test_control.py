"""The control API of a running proxy: scenarios (good, bad, by name), reset, journal, counters, canary."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest
from support.proxy import DEVICES, DISCOVERY, Lab, lab

from harness.proxy import ControlError, ScenarioRejected


@pytest.fixture(scope="module")
def control_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(tmp_path_factory.mktemp("control"), scenario="seed-3-unauthorized") as the_lab:
        yield the_lab


def _raw(lab: Lab, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    control = lab.proxy.control
    conn = http.client.HTTPConnection("127.0.0.1", control.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Authorization": f"Bearer {control.token}"})
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def test_health_describes_the_running_proxy(control_lab: Lab) -> None:
    health = control_lab.proxy.control.health()
    assert health["ok"] is True and health["mode"] == "regular"
    assert (
        health["proxy"]["port"] == control_lab.proxy.port and health["proxy"]["host"] == "127.0.0.1"
    )
    assert health["upstream"] == control_lab.mdm.origin
    assert health["scenario"] == "seed-3-unauthorized"  # loaded at start by the launcher
    assert {"version", "mitmproxy", "records", "in_flight", "dropped"} <= set(health)


def test_a_bad_scenario_is_refused_and_the_old_one_stays(control_lab: Lab) -> None:
    control = control_lab.proxy.control
    control_lab.load("seed-3-unauthorized")
    with pytest.raises(ScenarioRejected) as exc:
        control.load_scenario("name: broken\nrules:\n  - fault: {kind: delay, delay_ms: soon}\n")
    assert exc.value.status == 400
    assert (
        exc.value.message
        == "<request>:3: rules[0].fault.delay_ms: expected an integer, got str 'soon'"
    )
    with pytest.raises(ScenarioRejected, match="no such scenario"):
        control.load_scenario("no-such-library-scenario")
    assert control.health()["scenario"] == "seed-3-unauthorized"
    assert control_lab.curl(DISCOVERY).status == 401  # still in force


def test_scenarios_by_name_text_and_dict_and_cleared(control_lab: Lab) -> None:
    control = control_lab.proxy.control
    assert control.load_scenario("discovery-404")["scenario"] == "discovery-404"
    assert control_lab.curl(DISCOVERY).status == 404
    yaml_text = "name: inline\nrules:\n  - match: {operation: mdminfo}\n    fault: status_503\n"
    assert control.load_scenario(yaml_text) == {"ok": True, "scenario": "inline", "rules": 1}
    assert control_lab.curl(DISCOVERY).status == 503
    control.load_scenario(
        {"name": "as-dict", "rules": [{"match": {"operation": "mdminfo"}, "fault": "status_502"}]}
    )
    assert (
        control.scenario()["scenario"] == "as-dict" and "status_502" in control.scenario()["yaml"]
    )
    assert control_lab.curl(DISCOVERY).status == 502
    control.clear_scenario()
    assert control.scenario()["scenario"] is None and control_lab.curl(DISCOVERY).status == 200


def test_loading_resets_schedule_counters(control_lab: Lab) -> None:
    once = {
        "name": "once",
        "rules": [
            {"match": {"operation": "mdminfo"}, "fault": "status_500", "schedule": {"times": 1}}
        ],
    }
    control_lab.load(once)
    assert [control_lab.curl(DISCOVERY).status for _ in range(2)] == [500, 200]
    control_lab.proxy.control.load_scenario(once)
    assert control_lab.curl(DISCOVERY).status == 500


def test_reset_clears_journal_counters_and_schedules(control_lab: Lab) -> None:
    control = control_lab.proxy.control
    control_lab.load(
        {
            "name": "seq",
            "rules": [
                {
                    "match": {"operation": "mdminfo"},
                    "schedule": {"sequence": ["status_500", "pass"]},
                }
            ],
        }
    )
    assert [control_lab.curl(DISCOVERY).status for _ in range(2)] == [500, 200]
    counters = control.counters()
    assert counters["attempts"] == 2 and counters["by_kind"] == {"respond": 1}
    assert counters["by_rule"] == {"rule-1": 1} and counters["rules"] == {
        "rule-1": {"matched": 2, "fired": 1}
    }
    assert counters["client_end"] == {"completed": 2}
    control.reset()
    assert control.journal() == [] and control.counters()["attempts"] == 0
    assert control_lab.curl(DISCOVERY).status == 500  # the sequence starts again
    assert control.journal()[0].seq == 1


def test_journal_waits_until_idle(control_lab: Lab) -> None:
    control_lab.load(
        {
            "name": "slow",
            "rules": [
                {"match": {"operation": "devices"}, "fault": {"kind": "delay", "delay_ms": 600}}
            ],
        }
    )
    worker = threading.Thread(target=control_lab.curl, args=(DEVICES,))
    worker.start()
    deadline = time.monotonic() + 10
    while control_lab.proxy.control.counters()["in_flight"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert control_lab.proxy.control.journal()[0].end is None  # in flight: end is null
    (record,) = control_lab.proxy.control.journal(wait_idle=10)
    worker.join()
    assert record.end is not None and record.client_end == "completed"
    status, _ = _raw(control_lab, "GET", "/journal?wait_idle=soon")
    assert status == 400


def test_journal_is_json_lines(control_lab: Lab) -> None:
    control_lab.load(None)
    control_lab.curl(DISCOVERY)
    control_lab.curl(DEVICES)
    status, body = _raw(control_lab, "GET", "/journal")
    lines = body.decode().splitlines()
    assert status == 200 and len(lines) == 2
    assert [json.loads(line)["operation"] for line in lines] == ["mdminfo", "devices"]


def _fetch(url: str) -> tuple[int, bytes]:
    """What a careless parser does with a canary URL: a plain GET, no token."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_canary_endpoints_record_hits(control_lab: Lab) -> None:
    control_lab.load(None)
    proxy = control_lab.proxy
    assert _fetch(proxy.canary_url("a7-0011aabb")) == (200, b"mdm-harness-canary")
    status, body = _fetch(proxy.canary_url("a8-00.dtd"))
    assert status == 200 and body.startswith(b"<!--")
    assert _fetch(proxy.canary_url("bad%20token"))[0] == 400
    hits = control_lab.proxy.control.canary_hits()
    assert [(h["token"], h["seq"]) for h in hits] == [("a7-0011aabb", 7), ("a8-00.dtd", 8)]
    assert all(h["peer"].startswith("127.0.0.1:") for h in hits)
    control_lab.proxy.control.reset()
    assert control_lab.proxy.control.canary_hits() == []


def test_unknown_paths_and_methods(control_lab: Lab) -> None:
    assert _raw(control_lab, "GET", "/nope")[0] == 404
    assert _raw(control_lab, "POST", "/health")[0] == 405
    with pytest.raises(ControlError):
        control_lab.proxy.control._json("GET", "/nope")
