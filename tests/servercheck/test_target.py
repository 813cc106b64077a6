"""Bad options are refused with a message that names the option; good ones round-trip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.servercheck.target import DeviceSpec, Options, Target, TargetError, system_ca_bundle
from harness.tls import CertificateAuthority


def test_a_device_spec_round_trips_and_normalises_the_mac() -> None:
    spec = DeviceSpec.parse(
        "mac=00:26:b4:24:fe:b4, guid=G-1,username=alice,hostname=h,udid=U,imei=1,meid=M"
    )
    assert spec.macaddress == "0026B424FEB4" and spec.username == "alice"
    assert DeviceSpec.parse(spec.to_text()) == spec
    assert DeviceSpec.parse("guid=abc").to_text() == "guid=abc"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0026B424FEB4", "expected KEY=VALUE pairs"),
        ("serial=X", "KEY one of mac, guid, username, hostname, udid, imei, meid"),
        ("mac=", "mac= is empty"),
        ("mac=12345", "'12345' is not a MAC address"),
        ("mac=0026B424FEB4,mac=0026B424FEB5", "mac is given twice"),
        ("username=alice", "name the device by mac= or guid="),
    ],
)
def test_bad_device_specs(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=re.escape(message)) as caught:
        DeviceSpec.parse(text, "--device")
    assert str(caught.value).startswith("--device")


def test_a_target(tmp_path: Path) -> None:
    t = Target.checked("https://mdm.example.test/networkIntegrationEndpoint/7/", "u", "s3cret-pw")
    assert t.url == "https://mdm.example.test/networkIntegrationEndpoint/7"
    assert t.origin == "https://mdm.example.test:443"
    assert t.instance == "/networkIntegrationEndpoint/7"
    assert "s3cret-pw" not in repr(t) and "s3cret-pw" not in t.describe()
    assert Target.checked("https://[::1]:8443", "u", "p").origin == "https://[::1]:8443"
    assert t.upstream_ca() == system_ca_bundle() and system_ca_bundle().is_file()


@pytest.mark.parametrize(
    ("url", "user", "password", "extra", "message"),
    [
        (None, "u", "p", {}, "URL: the server's base URL is required"),
        ("http://mdm.test", "u", "p", {}, "ISE talks to an MDM over https only"),
        ("https://", "u", "p", {}, "no host"),
        ("https://mdm.test:99999", "u", "p", {}, "URL 'https://mdm.test:99999'"),
        ("https://mdm.test/x?y=1", "u", "p", {}, "without a query"),
        ("https://mdm.test", "", "p", {}, "--username: required"),
        ("https://mdm.test", "a:b", "p", {}, "without ':'"),
        ("https://mdm.test", "u", None, {}, "--password: required (or set MDM_PASSWORD)"),
        (
            "https://mdm.test",
            "u",
            "p",
            {"ca": "/nonexistent/ca.pem"},
            "--ca '/nonexistent/ca.pem': not a readable PEM",
        ),
        (
            "https://mdm.test",
            "u",
            "p",
            {"proxy": "https://proxy:3128"},
            "--proxy 'https://proxy:3128': expected http://host:port",
        ),
        ("https://mdm.test", "u", "p", {"proxy": "http://proxy"}, "give the port"),
    ],
)
def test_bad_targets(
    url: str | None, user: str, password: str | None, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(TargetError, match=re.escape(message)):
        Target.checked(url, user, password, **extra)


def test_a_ca_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(TargetError, match="not a readable PEM bundle"):
        Target.checked("https://mdm.test", "u", "p", ca=bad)


def test_a_relative_ca_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ca: CertificateAuthority
) -> None:
    """The proxy and the suite's workers run in other directories: ``--ca ca.pem`` must name
    the file in the directory it was given in (it made certify-server a harness error)."""
    (tmp_path / "ca.pem").write_bytes(ca.bundle_path.read_bytes())
    monkeypatch.chdir(tmp_path)
    target = Target.checked("https://mdm.test", "u", "p", ca="ca.pem")
    assert target.ca == tmp_path / "ca.pem" and target.ca.is_absolute()
    assert target.upstream_ca() == tmp_path / "ca.pem"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": -1}, "--rate -1"),
        ({"budget_ms": 0}, "--budget-ms 0"),
        ({"concurrency": 65}, "--concurrency 65"),
        ({"max_pages": 0}, "--max-pages 0"),
        ({"profile": "exhaustive"}, "--profile 'exhaustive'"),
        ({"action": "reboot"}, "--action 'reboot'"),
        (
            {"action_devices": (DeviceSpec("0026B424FEB4"),)},
            "--action-device: actions need --allow-actions",
        ),
        ({"allow_actions": True}, "--allow-actions: name the devices"),
    ],
)
def test_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TargetError, match=re.escape(message)):
        Options(**kwargs)  # type: ignore[arg-type]


def test_the_harness_waits_past_the_budget() -> None:
    assert Options(budget_ms=30_000).wait_s == 45.0
    assert Options(budget_ms=100).wait_s == pytest.approx(5.1)
    assert Options(profile="quick").examples == 4 and Options(profile="thorough").examples == 50
