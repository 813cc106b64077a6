"""Fault ``respond``: its spec table; answers without (or instead of) the upstream; body sources."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.proxy import (
    DEVICES,
    addon,
    apply_at_response,
    bad_spec_message,
    drive_request,
    drive_response,
    flow,
    one_rule,
    record_of,
    response,
    run,
)

from harness.scenario import load_scenario


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"status": 99}, "status: 99 is not between 100 and 599"),
        ({"status": 600}, "status: 600 is not between 100 and 599"),
        ({"body": b"bytes"}, "body: expected text, got bytes b'bytes'"),
        ({"body_base64": "!!"}, "body_base64: is not valid base64"),
        (
            {"body": "a", "body_file": "/x"},
            "body_file: give only one of body, body_base64 and body_file",
        ),
        ({"body_file": ""}, "body_file: must not be empty"),
        (
            {"headers": {"Content-Type": None}},
            "headers.Content-Type: expected a string or a number, got nothing",
        ),
        ({"reason": "Nope"}, "reason: is not a parameter"),
        (
            {"body": "abc", "content_length": 2},
            "content_length: must be at least the body's 3 bytes",
        ),
        ({"content_length": -1}, "content_length: -1 is less than 0"),
        ({"then": "explode"}, "then: 'explode' is not one of close, reset, hang"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("respond", spec).startswith(message)


def _served(scenario: dict[str, object]) -> tuple[object, dict[str, object]]:
    with addon(scenario) as harness:
        f = flow()

        async def go() -> None:
            await drive_request(harness, f)
            await drive_response(harness, f, response(b"<never-used/>"))

        run(go())
        return f, record_of(harness)


def test_the_proxy_answers_and_the_upstream_never_sees_the_request() -> None:
    f, record = _served(one_rule({"kind": "respond", "status": 404, "body": "<missing/>"}))
    assert f.response.status_code == 404 and f.response.content == b"<missing/>"  # type: ignore[attr-defined]
    assert f.response.headers["Content-Type"] == "application/xml;charset=UTF-8"  # type: ignore[attr-defined]
    assert f.request.host != "127.0.0.1"  # type: ignore[attr-defined]
    assert record.status == 404 and record.sent.body_bytes == 10
    assert record.upstream is False and record.client_end == "completed"


def test_binary_bodies_and_explicit_headers() -> None:
    raw = b"<a>\x00\x01</a>"
    spec = {
        "kind": "respond",
        "body_base64": base64.b64encode(raw).decode(),
        "headers": {"Content-Type": "text/plain", "X-N": 3},
    }
    f, _ = _served(one_rule(spec))
    assert f.response.content == raw  # type: ignore[attr-defined]
    assert f.response.headers["Content-Type"] == "text/plain" and f.response.headers["X-N"] == "3"  # type: ignore[attr-defined]


def test_at_response_the_upstream_answer_is_replaced() -> None:
    f, record = apply_at_response(
        one_rule({"kind": "respond", "status": 500, "body": "boom"}, phase="response"),
        b"<ise_api/>",
        DEVICES,
    )
    assert f.response.status_code == 500 and f.response.content == b"boom"
    assert record.upstream is True and record.status == 500


def _file_scenario(tmp_path: Path, body: bytes = b"<x/>") -> Path:
    """A scenario file whose one rule answers mdminfo with ``doc.xml`` beside it."""
    (tmp_path / "doc.xml").write_bytes(body)
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "name: file\nrules:\n  - match: {operation: mdminfo}\n"
        "    fault: {kind: respond, body_file: doc.xml}\n"
    )
    return path


def _fires(path: Path, breaks: Callable[[], object] = lambda: None) -> tuple[Any, Any, Any]:
    """Load the scenario file into the addon, run ``breaks``, then one mdminfo and one device
    request; returns the mdminfo flow, the two records and the journal's counters."""
    with addon() as harness:
        harness.install(load_scenario(path))
        breaks()
        broken, fine = flow(), flow(DEVICES)

        async def go() -> None:
            await drive_request(harness, broken)
            await drive_request(harness, fine)
            await drive_response(harness, fine, response(b"<ise_api/>"))

        run(go())
        return broken, harness.journal.records(), harness.journal.counters()


def test_a_body_file_is_read_when_the_fault_fires(tmp_path: Path) -> None:
    doc = b"<ise_api><name>mdminfo</name></ise_api>"
    f, _, _ = _fires(_file_scenario(tmp_path, doc))
    assert f.response.content == doc


def test_an_exception_inside_the_fault_breaks_only_its_own_flow(tmp_path: Path) -> None:
    path = _file_scenario(tmp_path)
    # The file vanishes after the scenario was loaded.
    broken, (first, second), counters = _fires(path, (tmp_path / "doc.xml").unlink)
    assert broken.error is not None and broken.response is None
    assert first.client_end == "error" and "FileNotFoundError" in first.fault_error
    assert second.client_end == "completed" and second.status == 200 and second.fault_error is None
    assert counters["fault_errors"] == 1


def test_a_body_file_swapped_for_a_link_after_loading_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    secret.write_bytes(b"-----BEGIN PRIVATE KEY-----")
    (tmp_path / "scenario").mkdir()
    path = _file_scenario(tmp_path / "scenario")
    served, _, _ = _fires(path)  # the control: as loaded, the file is served
    assert served.response.content == b"<x/>"

    def swap() -> None:
        (tmp_path / "scenario" / "doc.xml").unlink()
        (tmp_path / "scenario" / "doc.xml").symlink_to(secret)

    broken, (first, _), _ = _fires(path, swap)
    assert broken.response is None and first.client_end == "error"
    assert "not its real path any more" in first.fault_error


def test_a_body_file_that_became_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = _file_scenario(tmp_path)

    def swap() -> None:
        (tmp_path / "doc.xml").unlink()
        os.mkfifo(tmp_path / "doc.xml")

    broken, (first, _), _ = _fires(path, swap)
    assert broken.response is None and "not a regular file" in first.fault_error
