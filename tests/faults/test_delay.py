"""Fault ``delay``: its spec table, the three distributions, and waits through the addon."""

from __future__ import annotations

import random
import time

import pytest
from support.proxy import (
    DEVICES,
    addon,
    bad_spec_message,
    client_leaves_after,
    drive_request,
    drive_response,
    flow,
    one_rule,
    record_of,
    response,
    run,
)

from harness.faults import KINDS
from harness.faults.delay import MAX_DELAY_MS, Delay


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "delay_ms: missing"),
        ({"delay_ms": "soon"}, "delay_ms: expected an integer, got str 'soon'"),
        ({"delay_ms": True}, "delay_ms: expected an integer, got boolean true"),
        ({"delay_ms": -1}, "delay_ms: -1 is not between 0 and 600000"),
        (
            {"delay_ms": MAX_DELAY_MS + 1},
            f"delay_ms: {MAX_DELAY_MS + 1} is not between 0 and {MAX_DELAY_MS}",
        ),
        (
            {"distribution": "gaussian"},
            "distribution: 'gaussian' is not one of fixed, uniform, lognormal",
        ),
        ({"distribution": "uniform", "min_ms": 10}, "max_ms: missing"),
        (
            {"distribution": "uniform", "min_ms": 10, "max_ms": 5},
            "max_ms: must be at least min_ms (10)",
        ),
        ({"distribution": "lognormal"}, "median_ms: missing"),
        (
            {"distribution": "lognormal", "median_ms": 10, "sigma": -1},
            "sigma: -1 is not between 0 and 5",
        ),
        (
            {"delay_ms": 5, "min_ms": 1},
            "min_ms: is not a parameter of delay (it takes distribution, delay_ms)",
        ),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("delay", spec).startswith(message)


def test_draws() -> None:
    rng = random.Random(3)
    assert Delay(delay_ms=40).draw_ms(rng) == 40.0
    uniform = KINDS["delay"].from_spec({"distribution": "uniform", "min_ms": 100, "max_ms": 200})
    draws = [uniform.draw_ms(rng) for _ in range(200)]
    assert all(100 <= d <= 200 for d in draws) and max(draws) - min(draws) > 50
    lognormal = KINDS["delay"].from_spec(
        {"distribution": "lognormal", "median_ms": 100, "sigma": 1.0, "max_ms": 300}
    )
    draws = sorted(lognormal.draw_ms(rng) for _ in range(2000))
    assert 80 < draws[1000] < 125  # the median
    assert draws[-1] == 300.0  # the cap holds


def test_a_request_delay_holds_the_request_then_routes_it_upstream() -> None:
    with addon(one_rule({"kind": "delay", "delay_ms": 60})) as harness:
        f = flow()
        start = time.monotonic()
        run(drive_request(harness, f))
        waited = time.monotonic() - start
        record = record_of(harness)
    assert waited >= 0.06
    assert f.request.host == "127.0.0.1" and f.request.port == 9  # routed to the upstream
    assert record.fault.kind == "delay" and record.fault.params["drawn_ms"] == 60.0
    assert record.end is None  # still in flight: the upstream has not answered yet


def test_seeded_draws_repeat_from_scenario_to_scenario() -> None:
    spec = {"kind": "delay", "distribution": "uniform", "min_ms": 0, "max_ms": 5}
    drawn = []
    for _ in range(2):
        with addon(one_rule(spec)) as harness:
            for _ in range(3):
                run(drive_request(harness, flow()))
            drawn.append([r.fault.params["drawn_ms"] for r in harness.journal.records()])
    assert drawn[0] == drawn[1] and len(set(drawn[0])) == 3


def test_a_response_delay_waits_after_the_upstream_answered() -> None:
    with addon(one_rule({"kind": "delay", "delay_ms": 50}, phase="response")) as harness:
        f = flow(DEVICES)
        run(drive_request(harness, f))
        start = time.monotonic()
        run(drive_response(harness, f, response(b"<ise_api/>")))
        assert time.monotonic() - start >= 0.05
        record = record_of(harness)
    assert record.client_end == "completed" and record.upstream is True
    assert record.status == 200 and record.phase == "complete"


def test_the_client_leaving_ends_a_delay_early() -> None:
    with addon(one_rule({"kind": "delay", "delay_ms": 5000})) as harness:
        f = flow()

        async def go() -> float:
            client_leaves_after(f, 0.1)
            start = time.monotonic()
            await drive_request(harness, f)
            return time.monotonic() - start

        took = run(go())
        record = record_of(harness)
    assert took < 1.0
    assert record.client_end == "client_closed"
    assert f.error is not None and f.error.msg == "Connection killed."
