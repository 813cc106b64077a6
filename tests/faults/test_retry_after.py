"""Fault ``retry_after``: its spec table; 429/503 with Retry-After."""

from __future__ import annotations

import pytest
from support.proxy import apply_at_response, bad_spec_message, one_rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"status": 500}, "status: 500 is not one of 429, 503"),
        ({"retry_after_s": -1}, "retry_after_s: -1 is not between 0 and 86400"),
        ({"retry_after_s": 1.5}, "retry_after_s: expected an integer, got float 1.5"),
        ({"retry_after_s": 86_401}, "retry_after_s: 86401 is not between 0 and 86400"),
        ({"headers": "X: 1"}, "headers: expected a mapping, got str 'X: 1'"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("retry_after", spec).startswith(message)


@pytest.mark.parametrize("status", [429, 503])
def test_status_and_retry_after(status: int) -> None:
    spec = {
        "kind": "retry_after",
        "status": status,
        "retry_after_s": 7,
        "headers": {"X-Why": "busy"},
    }
    f, record = apply_at_response(one_rule(spec), b"<never/>")
    assert f.response.status_code == status
    assert f.response.headers["Retry-After"] == "7" and f.response.headers["X-Why"] == "busy"
    assert record.fault.params["retry_after_s"] == 7
