"""Judging what a client printed: the protocol object and the ``result`` shape per operation.

:func:`interpret` turns a client's stdout into the fields of an
:class:`~harness.client.protocol.Outcome`; anything that is not one protocol object is a crash
with a reason that names the problem (and, for a malformed ``result``, the field). Extra keys
are allowed everywhere and ignored; every documented key must be present (``null`` where the
table allows it), so that parsing contracts can compare a client's conclusions with what the
MDM really sent.

=============== ============================================================================
operation       ``result``
=============== ============================================================================
``mdminfo``     ``api_version`` int, ``api_path`` str, ``redirect_url``, ``vendor``,
                ``product_name``, ``product_version`` str|null, ``query_max_size`` int,
                ``messaging_support`` bool|null
``device``,     ``devices``: list of device objects
``noncompliant``
``action``      ``action_status`` bool, ``failure_reason`` str|null
=============== ============================================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.client.protocol import ERROR_CATEGORIES, OPERATIONS

__all__ = ["Interpretation", "interpret", "interpret_object", "validate_result"]

_HEX12 = re.compile(r"[0-9A-F]{12}")


class ShapeError(ValueError):
    """A ``result`` that does not have its operation's shape; the message names the field."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(value: Any, where: str, ok: Callable[[Any], bool], expected: str) -> None:
    if not ok(value):
        raise ShapeError(f"{where}: expected {expected}, got {json.dumps(value)[:80]}")


def _str_or_null(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _bool_or_null(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _is_mac(value: Any) -> bool:
    return isinstance(value, str) and bool(_HEX12.fullmatch(value))


def _mac_or_null(value: Any) -> bool:
    return value is None or _is_mac(value)


def _int_or_null(value: Any) -> bool:
    return value is None or _is_int(value)


def _require(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise ShapeError(f"{where}.{key}: missing")
    return obj[key]


def _check_fields(
    obj: Mapping[str, Any], where: str, fields: Mapping[str, tuple[Callable[[Any], bool], str]]
) -> None:
    for key, (ok, expected) in fields.items():
        _check(_require(obj, key, where), f"{where}.{key}", ok, expected)


_STR_OR_NULL = (_str_or_null, "a string or null")
_BOOL_OR_NULL = (_bool_or_null, "true, false or null")

_MDMINFO_FIELDS = {
    "api_version": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "api_path": (lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
    "redirect_url": _STR_OR_NULL,
    "vendor": _STR_OR_NULL,
    "product_name": _STR_OR_NULL,
    "product_version": _STR_OR_NULL,
    "query_max_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "messaging_support": _BOOL_OR_NULL,
}

_DEVICE_FIELDS = {
    "macaddress": (_mac_or_null, "12 upper-case hex digits or null"),
    "guid": _STR_OR_NULL,
    "register_status": _BOOL_OR_NULL,
    "disk_encryption_on": _BOOL_OR_NULL,
    "pin_lock_on": _BOOL_OR_NULL,
    "jail_broken": _BOOL_OR_NULL,
    "manufacturer": _STR_OR_NULL,
    "model": _STR_OR_NULL,
    "imei": _STR_OR_NULL,
    "meid": _STR_OR_NULL,
    "udid": _STR_OR_NULL,
    "serial_number": _STR_OR_NULL,
    "os_version": _STR_OR_NULL,
    "phone_number": _STR_OR_NULL,
    "last_checkin_ms": (_int_or_null, "an integer or null"),
}

_COMPLIANCE_FIELDS = {
    "status": _BOOL_OR_NULL,
    "failure_reason": _STR_OR_NULL,
    "remediation": _STR_OR_NULL,
}

_ACTION_FIELDS = {
    "action_status": (lambda v: isinstance(v, bool), "true or false"),
    "failure_reason": _STR_OR_NULL,
}


def _validate_device(device: Any, where: str) -> None:
    _check(device, where, lambda v: isinstance(v, dict), "an object")
    _check_fields(device, where, _DEVICE_FIELDS)
    compliance = _require(device, "compliance", where)
    _check(compliance, f"{where}.compliance", lambda v: isinstance(v, dict), "an object")
    _check_fields(compliance, f"{where}.compliance", _COMPLIANCE_FIELDS)
    macs = _require(device, "macaddresses", where)
    _check(macs, f"{where}.macaddresses", lambda v: isinstance(v, list), "a list")
    for i, mac in enumerate(macs):
        _check(mac, f"{where}.macaddresses[{i}]", _is_mac, "12 upper-case hex digits")


def validate_result(operation: str, result: Any) -> None:
    """Raise :class:`ShapeError` naming the field unless ``result`` has ``operation``'s shape."""
    if operation not in OPERATIONS:
        raise ShapeError(f"unknown operation {operation!r}")
    _check(result, "result", lambda v: isinstance(v, dict), "an object")
    if operation == "mdminfo":
        _check_fields(result, "result", _MDMINFO_FIELDS)
    elif operation == "action":
        _check_fields(result, "result", _ACTION_FIELDS)
    else:
        devices = _require(result, "devices", "result")
        _check(devices, "result.devices", lambda v: isinstance(v, list), "a list")
        for i, device in enumerate(devices):
            _validate_device(device, f"result.devices[{i}]")


@dataclass(frozen=True)
class Interpretation:
    """What a client's protocol object says; exactly one of the three groups is set."""

    result: dict[str, Any] | None = None
    error: str | None = None
    message: str | None = None
    crash_reason: str | None = None


def interpret_object(operation: str, obj: Any) -> Interpretation:
    """Judge one decoded JSON value against the protocol (see the module docstring)."""
    if not isinstance(obj, dict):
        return Interpretation(crash_reason=f"JSON is not an object but {type(obj).__name__}")
    if "outcome" not in obj:
        return Interpretation(crash_reason="JSON object has no 'outcome'")
    kind = obj["outcome"]
    if kind == "ok":
        if "result" not in obj:
            return Interpretation(crash_reason="'ok' outcome without 'result'")
        try:
            validate_result(operation, obj["result"])
        except ShapeError as exc:
            return Interpretation(crash_reason=f"malformed result: {exc}")
        return Interpretation(result=obj["result"])
    if kind == "error":
        category = obj.get("error")
        if category not in ERROR_CATEGORIES:
            return Interpretation(crash_reason=f"unknown error category {category!r}")
        message = obj.get("message")
        if message is not None and not isinstance(message, str):
            return Interpretation(crash_reason="'message' is not a string")
        return Interpretation(error=category, message=message)
    return Interpretation(crash_reason=f"unknown outcome {kind!r}")


def interpret(operation: str, stdout: str) -> Interpretation:
    """Judge a client's whole stdout: exactly one JSON object (white space around it allowed)."""
    text = stdout.strip()
    if not text:
        return Interpretation(crash_reason="no JSON on stdout")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Interpretation(crash_reason=f"invalid JSON: {exc}")
    return interpret_object(operation, obj)
