"""Fault ``reset``: no parameters; it needs the client's socket (see test_proxy_wire for the RST)."""

from __future__ import annotations

import pytest
from support.proxy import addon, bad_spec_message, drive_request, flow, one_rule, record_of, run


@pytest.mark.parametrize(
    ("spec", "message"),
    [({"linger": 0}, "linger: is not a parameter"), ({"kind2": "x"}, "kind2: is not a parameter")],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("reset", spec).startswith(message)


def test_without_a_live_socket_reset_fails_only_its_own_flow() -> None:
    # In taddons there is no socket to reset: the fault fails, and the addon contains it.
    with addon(one_rule("reset")) as harness:
        f = flow()
        run(drive_request(harness, f))
        record = record_of(harness)
        counters = harness.journal.counters()
    assert record.client_end == "error"
    assert "reset: the client connection is not a live socket" in record.fault_error
    assert f.error is not None and f.error.msg == "Connection killed."
    assert counters["fault_errors"] == 1
