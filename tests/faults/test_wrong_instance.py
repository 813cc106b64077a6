"""Fault ``wrong_instance``: its spec table; the path sent upstream carries another instance
(the MDM's own 404 through a real proxy: tests/proxy/test_curl.py)."""

from __future__ import annotations

import pytest
from support.proxy import (
    DEVICES,
    DISCOVERY,
    addon,
    bad_spec_message,
    drive_request,
    flow,
    one_rule,
    record_of,
    run,
)

from harness.faults import MutationSkipped
from harness.faults.wrong_instance import WrongInstance


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"instance": 7}, "instance: expected text, got int 7"),
        ({"instance": "networkIntegrationEndpoint/9"}, "instance: must start with '/'"),
        (
            {"instance": "/networkIntegrationEndpoint/9/"},
            "instance: must start with '/' and not end",
        ),
        ({"instance": "/x?y=1"}, "instance: must be a path prefix"),
        ({"instance": "/x/ciscoise"}, "instance: must be a path prefix"),
        ({"instance": "/x y"}, "instance: must not contain white space"),
        ({"path": "/x"}, "path: is not a parameter of wrong_instance (it takes instance)"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("wrong_instance", spec).startswith(message)


@pytest.mark.parametrize(
    ("instance", "path", "forwarded"),
    [
        (
            "/networkIntegrationEndpoint/999",
            "/networkIntegrationEndpoint/7/ciscoise/mdminfo/",
            "/networkIntegrationEndpoint/999/ciscoise/mdminfo/",
        ),
        (
            "/networkIntegrationEndpoint/999",
            "/7/ciscoise/v3/devices/",
            "/networkIntegrationEndpoint/999/ciscoise/v3/devices/",
        ),
        ("/tenant-x", "/ciscoise/mdminfo/", "/tenant-x/ciscoise/mdminfo/"),  # no instance at all
        ("", "/7/ciscoise/v3/devices/", "/ciscoise/v3/devices/"),
    ],
)
def test_the_instance_is_what_comes_before_ciscoise(
    instance: str, path: str, forwarded: str
) -> None:
    assert WrongInstance(instance).rewrite(path) == forwarded


def test_a_path_outside_the_api_is_left_alone() -> None:
    with pytest.raises(MutationSkipped, match="not an ISE MDM API call"):
        WrongInstance().rewrite("/healthz")


def test_the_request_goes_upstream_with_the_other_instance_and_the_journal_keeps_the_clients() -> (
    None
):
    spec = {"kind": "wrong_instance", "instance": "/networkIntegrationEndpoint/999"}
    with addon(one_rule(spec, operation="mdminfo")) as harness:
        f, other = flow(DISCOVERY), flow(DEVICES)
        run(drive_request(harness, f))
        run(drive_request(harness, other))
        first, second = harness.journal.records()
    # The flow goes on to the upstream (no answer from the proxy) with the path rewritten.
    assert f.response is None and f.error is None
    assert f.request.path == "/networkIntegrationEndpoint/999/ciscoise/mdminfo/?ise_api_version=3"
    assert f.request.host == "127.0.0.1" and f.request.port == 9  # routed to the upstream
    assert first.path == "/networkIntegrationEndpoint/7/ciscoise/mdminfo/"  # as the client sent it
    assert first.fault is not None and first.fault.params["forwarded_path"] == (
        "/networkIntegrationEndpoint/999/ciscoise/mdminfo/"
    )
    # Control: the rule matches discovery only; a device query keeps its path.
    assert other.request.path == DEVICES and second.fault is None


def test_a_path_outside_the_api_passes_unchanged_and_says_why() -> None:
    with addon(one_rule("wrong_instance")) as harness:
        f = flow("/healthz")
        run(drive_request(harness, f))
        record = record_of(harness)
    assert f.request.path == "/healthz" and f.response is None
    assert record.fault is not None and "not an ISE MDM API call" in (record.fault.skipped or "")
