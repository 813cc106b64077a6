"""The reference client, through the exec protocol, against the reference MDM: every operation
and identifier, at every API version, and its JSON results equal the inventory."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.expect import expected

from harness.client import ClientEnv, ClientSpec, Outcome
from harness.mdm.inventory import Device
from harness.mdm.server import ReferenceMDM
from harness.tls import CertificateAuthority

REFERENCE = ClientSpec.reference()


@pytest.fixture(scope="module")
def mdm(ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    # A small page size so that the non-compliant listing takes several pages.
    with ReferenceMDM(ca=ca, devices=120, seed=5, query_max_size=9) as server:
        yield server


def env_for(mdm: ReferenceMDM, ca: CertificateAuthority) -> ClientEnv:
    return ClientEnv(mdm.base_url, mdm.username, mdm.password, ca.bundle_path, timeout_ms=5000)


def run(
    mdm: ReferenceMDM,
    ca: CertificateAuthority,
    operation: str,
    *args: str,
    spec: ClientSpec = REFERENCE,
) -> Outcome:
    outcome = spec.run(operation, list(args), env_for(mdm, ca), hard_limit_s=60)
    assert mdm.password not in outcome.stdout + outcome.stderr
    return outcome


def a_device_with(mdm: ReferenceMDM, attribute: str) -> Device:
    """A device that has ``attribute`` (for ``macaddresses``: more than one MAC)."""
    if attribute == "macaddresses":
        return next(d for d in mdm.inventory if len(d.macaddresses) > 1)
    return next(d for d in mdm.inventory if getattr(d, attribute))


def test_mdminfo(mdm: ReferenceMDM, ca: CertificateAuthority) -> None:
    outcome = run(mdm, ca, "mdminfo")
    assert outcome.kind == "ok", outcome
    assert outcome.result == {
        "api_version": 3,
        "api_path": "/7/ciscoise/v3",
        "redirect_url": "https://acme.jamfcloud.test/enroll",
        "vendor": "JAMF Software",
        "product_name": "JSS",
        "product_version": "10.48.1-t1689600654",
        "query_max_size": 9,
        "messaging_support": False,
    }


@pytest.mark.parametrize(
    "identifier", ["mac", "secondary-mac", "guid", "udid", "imei", "meid", "serial"]
)
def test_device_lookup_by_every_identifier(
    mdm: ReferenceMDM, ca: CertificateAuthority, identifier: str
) -> None:
    attribute = {
        "serial": "serial_number",
        "mac": "macaddress",
        "secondary-mac": "macaddresses",
    }.get(identifier, identifier)
    device = a_device_with(mdm, attribute)
    key, key_value = ("guid", None) if identifier == "guid" else ("macaddress", None)
    if identifier == "mac":
        flag, value = (
            "--mac",
            ":".join(device.macaddress[i : i + 2] for i in range(0, 12, 2)).lower(),
        )
    elif identifier == "secondary-mac":
        flag, value = "--mac", device.macaddresses[1].lower()
        key_value = device.macaddresses[1]
    else:
        flag, value = f"--{identifier}", getattr(device, attribute)
    outcome = run(mdm, ca, "device", flag, value)
    assert outcome.kind == "ok", outcome
    assert outcome.result == {"devices": [expected(device, 3, key, key_value)]}


def test_an_unknown_device_is_unregistered_not_an_error(
    mdm: ReferenceMDM, ca: CertificateAuthority
) -> None:
    known = {m for d in mdm.inventory for m in d.macaddresses}
    unknown = next(f"{n:012X}" for n in range(1, 10_000) if f"{n:012X}" not in known)
    outcome = run(mdm, ca, "device", "--mac", unknown)
    assert outcome.kind == "ok" and outcome.result == {"devices": []}


def test_noncompliant_walks_every_page(mdm: ReferenceMDM, ca: CertificateAuthority) -> None:
    mdm.reset_records()
    outcome = run(mdm, ca, "noncompliant")
    assert outcome.kind == "ok", outcome
    want = [expected(d, 3, "guid") for d in mdm.inventory.find("compliance", "false")]
    assert len(want) > 2 * 9  # several pages
    assert sorted(outcome.result["devices"], key=lambda d: d["guid"]) == sorted(
        want, key=lambda d: d["guid"]
    )  # type: ignore[index]
    pages = [r for r in mdm.requests if r.path.endswith("/devices/")]
    assert len(pages) == -(-len(want) // 9)


def test_actions_execute_once(mdm: ReferenceMDM, ca: CertificateAuthority) -> None:
    device = next(d for d in mdm.inventory if d.register_status)
    mdm.reset_records()
    by_mac = run(mdm, ca, "action", "pin_lock", "--mac", device.macaddress.lower())
    by_guid = run(mdm, ca, "action", "corporate_wipe", "--guid", device.guid)
    for outcome in (by_mac, by_guid):
        assert outcome.kind == "ok" and outcome.result == {
            "action_status": True,
            "failure_reason": None,
        }
    assert [(a.action, a.identifier, a.guid) for a in mdm.actions()] == [
        ("pin_lock", "macaddress", device.guid),
        ("corporate_wipe", "guid", device.guid),
    ]


def test_an_action_on_an_unknown_device_is_refused_by_the_mdm(
    mdm: ReferenceMDM, ca: CertificateAuthority
) -> None:
    outcome = run(mdm, ca, "action", "full_wipe", "--guid", "no-such-device")
    assert outcome.kind == "ok" and outcome.result is not None
    assert (
        outcome.result["action_status"] is False
        and "no managed device" in outcome.result["failure_reason"]
    )


@pytest.mark.parametrize("version", [1, 2])
def test_older_servers_are_spoken_to_at_their_version(
    ca: CertificateAuthority, version: int
) -> None:
    with ReferenceMDM(ca=ca, devices=30, seed=9, max_api_version=version, query_max_size=4) as old:
        info = run(old, ca, "mdminfo")
        assert info.kind == "ok" and info.result is not None
        assert (
            info.result["api_version"] == version
            and info.result["api_path"] == f"/7/ciscoise/v{version}"
        )
        device = next(iter(old.inventory))
        lookup = run(old, ca, "device", "--mac", device.macaddress)
        assert lookup.result == {"devices": [expected(device, version, "macaddress")]}
        listing = run(old, ca, "noncompliant")
        want = [
            expected(d, version, "macaddress") for d in old.inventory.find("compliance", "false")
        ]
        assert listing.kind == "ok" and listing.result is not None
        assert sorted(listing.result["devices"], key=lambda d: d["macaddress"]) == sorted(
            want, key=lambda d: d["macaddress"]
        )
        guid = run(old, ca, "device", "--guid", device.guid)
        assert guid.kind == "error" and guid.error == "protocol_error"
        if version == 1:
            assert any("/devices/0/macaddress/" in r.path for r in old.requests)
            assert run(old, ca, "device", "--udid", "x").error == "protocol_error"


def test_basic_auth_disabled_is_unauthorized_after_two_discoveries(
    ca: CertificateAuthority,
) -> None:
    with ReferenceMDM(ca=ca, devices=3, basic_auth_enabled=False) as locked:
        outcome = run(locked, ca, "device", "--mac", "0026B424FEB4")
        assert outcome.kind == "error" and outcome.error == "unauthorized"
        assert [r.query for r in locked.requests] == ["ise_api_version=3", "ise_api_version=2"]


def test_a_wrong_password_is_unauthorized(mdm: ReferenceMDM, ca: CertificateAuthority) -> None:
    env = ClientEnv(mdm.base_url, mdm.username, "wrong-password", ca.bundle_path)
    outcome = REFERENCE.run("mdminfo", [], env)
    assert outcome.kind == "error" and outcome.error == "unauthorized"
    assert "wrong-password" not in outcome.stdout + outcome.stderr


def test_the_documented_command_and_the_inprocess_form(
    mdm: ReferenceMDM, ca: CertificateAuthority
) -> None:
    script = Path(sys.executable).with_name("mdm-harness")
    command = str(script) if script.exists() else shutil.which("mdm-harness")
    assert command, "the mdm-harness console script is installed"
    device = a_device_with(mdm, "guid")
    for spec in (
        ClientSpec.parse(f"{command} reference-client"),
        ClientSpec.parse("harness.client.reference:factory"),
    ):
        outcome = run(mdm, ca, "device", "--guid", device.guid, spec=spec)
        assert outcome.kind == "ok", outcome
        assert outcome.result == {"devices": [expected(device, 3, "guid")]}
