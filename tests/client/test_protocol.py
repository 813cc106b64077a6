"""The adapter protocol's vocabulary: environment, operations, outcomes, and how a client's
stdout is judged (crash reasons, result shapes)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harness.client import ClientEnv, Operation, OperationError, Outcome, parse_operation
from harness.client.protocol import normalise_mac
from harness.client.results import interpret, validate_result

CA = Path("/nonexistent/ca.pem")


def test_environment_in_proxy_mode() -> None:
    env = ClientEnv(
        base_url="https://acme.jamfcloud.test/networkIntegrationEndpoint/7",
        username="ise",
        password="s3cret-pw",
        proxy="http://127.0.0.1:41233",
        ca_bundle=CA,
        timeout_ms=750,
    )
    assert env.as_environ() == {
        "MDM_BASE_URL": "https://acme.jamfcloud.test/networkIntegrationEndpoint/7",
        "MDM_USERNAME": "ise",
        "MDM_PASSWORD": "s3cret-pw",
        "MDM_PROXY": "http://127.0.0.1:41233",
        "HTTPS_PROXY": "http://127.0.0.1:41233",
        "MDM_CA_BUNDLE": str(CA),
        "MDM_TIMEOUT_MS": "750",
    }
    assert "s3cret-pw" not in repr(env)
    assert ClientEnv.from_environ(env.as_environ()) == env


def test_environment_in_reverse_mode_has_an_empty_proxy() -> None:
    env = ClientEnv(base_url="https://127.0.0.1:8443", username="u", password="p", ca_bundle=CA)
    environ = env.as_environ()
    assert environ["MDM_PROXY"] == "" and "HTTPS_PROXY" not in environ
    assert environ["MDM_TIMEOUT_MS"] == "1000"
    assert ClientEnv.from_environ(environ).proxy is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MDM_BASE_URL": None}, "missing environment variable(s): MDM_BASE_URL"),
        ({"MDM_PASSWORD": None, "MDM_USERNAME": None}, "MDM_USERNAME, MDM_PASSWORD"),
        ({"MDM_CA_BUNDLE": ""}, "MDM_CA_BUNDLE is empty"),
        ({"MDM_TIMEOUT_MS": "soon"}, "MDM_TIMEOUT_MS='soon' is not a positive integer"),
        ({"MDM_TIMEOUT_MS": "0"}, "is not a positive integer"),
    ],
)
def test_bad_environment_is_named(change: dict[str, str | None], message: str) -> None:
    environ = ClientEnv(base_url="https://h", username="u", password="p", ca_bundle=CA).as_environ()
    for key, value in change.items():
        if value is None:
            del environ[key]
        else:
            environ[key] = value
    with pytest.raises(OperationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ClientEnv.from_environ(environ)


def test_timeout_defaults_when_absent() -> None:
    environ = ClientEnv(base_url="https://h", username="u", password="p", ca_bundle=CA).as_environ()
    del environ["MDM_TIMEOUT_MS"]
    assert ClientEnv.from_environ(environ, default_timeout_ms=2500).timeout_ms == 2500
    with pytest.raises(ValueError, match="positive"):
        ClientEnv(base_url="https://h", username="u", password="p", ca_bundle=CA, timeout_ms=0)


@pytest.mark.parametrize(
    ("operation", "args", "expected"),
    [
        ("mdminfo", [], Operation("mdminfo")),
        ("noncompliant", [], Operation("noncompliant")),
        ("device", ["--mac", "00:26:b4:24:fe:b4"], Operation("device", "mac", "0026B424FEB4")),
        ("device", ["--mac=0026-b424-feb4"], Operation("device", "mac", "0026B424FEB4")),
        ("device", ["--guid", "d6645fa9-e8a8"], Operation("device", "guid", "d6645fa9-e8a8")),
        ("device", ["--udid", "00008120-79F2"], Operation("device", "udid", "00008120-79F2")),
        ("device", ["--imei", "353258117519840"], Operation("device", "imei", "353258117519840")),
        ("device", ["--meid", "35325811751984"], Operation("device", "meid", "35325811751984")),
        ("device", ["--serial", "WNX5BKVWN7"], Operation("device", "serial", "WNX5BKVWN7")),
        (
            "action",
            ["full_wipe", "--mac", "0026b424feb4"],
            Operation("action", "mac", "0026B424FEB4", action="full_wipe"),
        ),
        (
            "action",
            ["pin_lock", "--guid", "g-1"],
            Operation("action", "guid", "g-1", action="pin_lock"),
        ),
    ],
)
def test_operations_parse(operation: str, args: list[str], expected: Operation) -> None:
    parsed = parse_operation(operation, args)
    assert parsed == expected
    assert parse_operation(operation, parsed.argv()) == parsed


@pytest.mark.parametrize(
    ("operation", "args", "message"),
    [
        ("wipe", [], "unknown operation 'wipe'"),
        ("mdminfo", ["--mac", "x"], "mdminfo takes no arguments"),
        ("device", [], "device needs exactly one of --mac|--guid|--udid|--imei|--meid|--serial"),
        ("device", ["--mac"], "needs exactly one of"),
        ("device", ["--mac", "1", "--guid", "2"], "needs exactly one of"),
        ("device", ["--hostname", "h"], "needs exactly one of"),
        ("device", ["--guid", "  "], "needs a non-empty value"),
        ("device", ["--mac", "0026B424FE"], "device --mac: '0026B424FE' is not a MAC address"),
        (
            "action",
            [],
            "action needs one of full_wipe, corporate_wipe, pin_lock first, got nothing",
        ),
        ("action", ["reboot", "--mac", "0026B424FEB4"], "got 'reboot'"),
        ("action", ["full_wipe", "--udid", "u"], "action needs exactly one of --mac|--guid VALUE"),
    ],
)
def test_bad_operations_are_usage_errors(operation: str, args: list[str], message: str) -> None:
    with pytest.raises(OperationError) as info:
        parse_operation(operation, args)
    assert message in str(info.value)


def test_mac_normalisation() -> None:
    for written in (
        "0026b424feb4",
        "00:26:B4:24:FE:B4",
        "00-26-b4-24-fe-b4",
        "0026.b424.feb4",
        " 0026B424FEB4 ",
    ):
        assert normalise_mac(written) == "0026B424FEB4"
    for bad in ("", "0026B424FEB", "0026B424FEB4A", "G026B424FEB4", "00:26:B4:24:FE"):
        with pytest.raises(ValueError):
            normalise_mac(bad)


# ------------------------------------------------------------------------------ Outcome


def test_outcome_round_trips_through_json() -> None:
    outcome = Outcome(
        kind="error",
        operation="device",
        error="timeout",
        message="took too long",
        started=10.0,
        ended=11.25,
        exit_code=0,
        stdout='{"outcome": "error"}',
        stderr="trace",
    )
    data = outcome.to_json()
    assert json.loads(json.dumps(data)) == data
    assert Outcome.from_json(data) == outcome
    assert Outcome.from_json(json.dumps(data)) == outcome
    assert outcome.duration == 1.25 and outcome.category == "timeout"
    assert repr(outcome) == (
        "Outcome('error', 'device', error='timeout', message='took too long', duration=1.250)"
    )
    with pytest.raises(ValueError, match="unknown Outcome field"):
        Outcome.from_json({**data, "verdict": "x"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "maybe"}, "kind='maybe'"),
        ({"kind": "ok"}, "an 'ok' outcome has a result"),
        ({"kind": "error", "error": "oops"}, "error='oops'"),
        ({"kind": "error"}, "an 'error' outcome has an error category"),
        ({"kind": "crash"}, "a 'crash' outcome has a crash_reason"),
        ({"kind": "ok", "result": {}, "crash_reason": "x"}, "a 'crash' outcome has a crash_reason"),
    ],
)
def test_outcome_invariants(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Outcome(operation="device", **fields)


# ------------------------------------------------------------------------------ judging stdout

DEVICE: dict[str, Any] = {
    "macaddress": "0026B424FEB4",
    "guid": None,
    "register_status": True,
    "disk_encryption_on": None,
    "pin_lock_on": False,
    "jail_broken": None,
    "compliance": {"status": False, "failure_reason": "no pin", "remediation": None},
    "manufacturer": "Apple",
    "model": None,
    "imei": None,
    "meid": None,
    "udid": None,
    "serial_number": None,
    "os_version": None,
    "phone_number": None,
    "last_checkin_ms": 1621571561000,
    "macaddresses": ["0026B424FEB4"],
}
MDMINFO: dict[str, Any] = {
    "api_version": 3,
    "api_path": "/7/ciscoise/v3",
    "redirect_url": None,
    "vendor": "JAMF Software",
    "product_name": "JSS",
    "product_version": "10.48.1",
    "query_max_size": 1000,
    "messaging_support": None,
}


@pytest.mark.parametrize(
    ("operation", "result"),
    [
        ("mdminfo", MDMINFO),
        ("mdminfo", {**MDMINFO, "extra": [1, 2]}),
        ("device", {"devices": []}),
        ("noncompliant", {"devices": [DEVICE, {**DEVICE, "hostname": "ignored"}]}),
        ("action", {"action_status": False, "failure_reason": "unknown device"}),
    ],
)
def test_well_formed_results_are_ok(operation: str, result: dict[str, Any]) -> None:
    verdict = interpret(operation, json.dumps({"outcome": "ok", "result": result}) + "\n")
    assert verdict.crash_reason is None and verdict.result == result


def _device_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    device = copy.deepcopy(DEVICE)
    target = device
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return {"devices": [DEVICE, device]}


@pytest.mark.parametrize(
    ("operation", "result", "reason"),
    [
        (
            "mdminfo",
            {**MDMINFO, "api_version": "3"},
            'result.api_version: expected an integer >= 1, got "3"',
        ),
        (
            "mdminfo",
            {**MDMINFO, "api_version": True},
            "result.api_version: expected an integer >= 1, got true",
        ),
        ("mdminfo", {k: v for k, v in MDMINFO.items() if k != "vendor"}, "result.vendor: missing"),
        (
            "mdminfo",
            {**MDMINFO, "query_max_size": None},
            "result.query_max_size: expected an integer >= 1",
        ),
        (
            "mdminfo",
            {**MDMINFO, "messaging_support": "no"},
            "result.messaging_support: expected true, false or null",
        ),
        ("mdminfo", [], "result: expected an object, got []"),
        ("device", {}, "result.devices: missing"),
        ("device", {"devices": {}}, "result.devices: expected a list"),
        ("device", {"devices": [1]}, "result.devices[0]: expected an object, got 1"),
        (
            "device",
            _device_with(("macaddress",), "0026b424feb4"),
            "result.devices[1].macaddress: expected 12 upper-case hex digits or null",
        ),
        (
            "device",
            _device_with(("compliance", "status"), "false"),
            "result.devices[1].compliance.status: expected true, false or null",
        ),
        (
            "device",
            _device_with(("compliance",), KeyError),
            "result.devices[1].compliance: missing",
        ),
        (
            "device",
            _device_with(("last_checkin_ms",), 1.5),
            "result.devices[1].last_checkin_ms: expected an integer or null",
        ),
        (
            "device",
            _device_with(("macaddresses",), None),
            "result.devices[1].macaddresses: expected a list",
        ),
        (
            "device",
            _device_with(("macaddresses",), ["0026B424FEB4", None]),
            "result.devices[1].macaddresses[1]: expected 12 upper-case hex digits",
        ),
        (
            "noncompliant",
            _device_with(("udid",), 5),
            "result.devices[1].udid: expected a string or null",
        ),
        (
            "action",
            {"action_status": None, "failure_reason": None},
            "result.action_status: expected true or false",
        ),
        ("action", {"action_status": True}, "result.failure_reason: missing"),
    ],
)
def test_malformed_results_are_crashes_naming_the_field(
    operation: str, result: Any, reason: str
) -> None:
    verdict = interpret(operation, json.dumps({"outcome": "ok", "result": result}))
    assert verdict.result is None
    assert verdict.crash_reason is not None and verdict.crash_reason.startswith(
        "malformed result: "
    )
    assert reason in verdict.crash_reason


@pytest.mark.parametrize(
    ("stdout", "reason"),
    [
        ("", "no JSON on stdout"),
        ("  \n", "no JSON on stdout"),
        ("connecting...\n{}", "invalid JSON: Expecting value: line 1 column 1 (char 0)"),
        (
            '{"outcome": "ok", "result": {"devices": []}}\n{"outcome": "ok"}',
            "invalid JSON: Extra data",
        ),
        ("[1, 2]", "JSON is not an object but list"),
        ('{"result": {}}', "JSON object has no 'outcome'"),
        ('{"outcome": "ok"}', "'ok' outcome without 'result'"),
        ('{"outcome": "maybe"}', "unknown outcome 'maybe'"),
        ('{"outcome": "error", "error": "teapot"}', "unknown error category 'teapot'"),
        ('{"outcome": "error"}', "unknown error category None"),
        ('{"outcome": "error", "error": "timeout", "message": 5}', "'message' is not a string"),
    ],
)
def test_protocol_violations_are_crashes(stdout: str, reason: str) -> None:
    verdict = interpret("device", stdout)
    assert verdict.crash_reason == reason or (verdict.crash_reason or "").startswith(reason)


@pytest.mark.parametrize(
    "category",
    [
        "timeout",
        "connection_error",
        "tls_error",
        "unauthorized",
        "not_found",
        "server_error",
        "parse_error",
        "protocol_error",
    ],
)
def test_every_error_category_is_accepted(category: str) -> None:
    verdict = interpret("mdminfo", json.dumps({"outcome": "error", "error": category}))
    assert (verdict.error, verdict.message, verdict.crash_reason) == (category, None, None)


def test_validate_result_rejects_an_unknown_operation() -> None:
    with pytest.raises(ValueError, match="unknown operation 'reboot'"):
        validate_result("reboot", {})
