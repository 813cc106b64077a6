"""Fault ``paging_loop``: its spec table; the cursor repeats, even on a one-page listing."""

from __future__ import annotations

import pytest
from lxml import etree
from support.proxy import (
    addon,
    bad_spec_message,
    drive_request,
    drive_response,
    flow,
    mdm_document,
    one_rule,
    response,
    run,
)

from harness.faults import RequestView
from harness.faults.paging_loop import request_cursor


@pytest.mark.parametrize(
    ("spec", "message"),
    [({"cursor": "0"}, "cursor: must not be 0"), ({"cursor": ""}, "cursor: must not be empty")],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("paging_loop", spec).startswith(message)


def test_the_cursor_comes_from_the_query_or_the_v1_path() -> None:
    assert (
        request_cursor(RequestView("GET", "/7/ciscoise/v3/devices/", {"paging": ["c9"]}, "devices"))
        == "c9"
    )
    assert (
        request_cursor(RequestView("GET", "/7/ciscoise/v1/devices/42/all", {}, "devices")) == "42"
    )
    assert request_cursor(None) is None


def _page(harness, path: str, body: bytes, status: int = 200):  # type: ignore[no-untyped-def]
    f = flow(path)

    async def go() -> None:
        await drive_request(harness, f)
        await drive_response(harness, f, response(body, status))

    run(go())
    return f


def test_one_page_becomes_an_endless_loop() -> None:
    listing = mdm_document("attributes")  # paging_info 0: the upstream has a single page
    with addon(one_rule({"kind": "paging_loop", "cursor": "7"}, phase="response")) as harness:
        first = _page(
            harness,
            "/7/ciscoise/v3/devices/?paging=0&querycriteria=compliance&value=false",
            listing,
        )
        assert etree.fromstring(first.response.content).findtext("paging_info") == "7"
        # The upstream does not know cursor 7 and says so; the client gets the same page again.
        for _ in range(3):
            again = _page(
                harness,
                "/7/ciscoise/v3/devices/?paging=7&querycriteria=compliance&value=false",
                b"<bad/>",
                400,
            )
            assert again.response.status_code == 200
            assert etree.fromstring(again.response.content).findtext("paging_info") == "7"
        assert harness.journal.records()[-1].fault.params["replayed"] is True


def test_a_later_page_points_back_at_itself() -> None:
    page = mdm_document("attributes").replace(
        b"<paging_info>0</paging_info>", b"<paging_info>99</paging_info>"
    )
    with addon(one_rule({"kind": "paging_loop"}, phase="response")) as harness:
        f = _page(harness, "/7/ciscoise/v3/devices/?paging=55", page)
    assert etree.fromstring(f.response.content).findtext("paging_info") == "55"


def test_a_reply_that_is_not_a_listing_passes() -> None:
    body = mdm_document("mdminfo")
    with addon(one_rule({"kind": "paging_loop"}, phase="response")) as harness:
        f = _page(harness, "/x", body)
        record = harness.journal.records()[0]
    assert f.response.content == body and "not a device listing" in record.fault.skipped
