"""What a correct client reports for a device of the reference MDM's inventory."""

from __future__ import annotations

from typing import Any

from harness.mdm.inventory import Device

XML_WS = " \t\n\r"


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip(XML_WS) or None


def expected(
    device: Device, version: int, key: str, key_value: str | None = None
) -> dict[str, Any]:
    """The device object a correct client reports for ``device`` served at ``version`` with
    the key element ``key`` (the MDM's choice, see docs/mdm.md)."""
    v3 = version >= 3
    return {
        "macaddress": (key_value or device.macaddress) if key == "macaddress" else None,
        "guid": device.guid if key == "guid" or v3 else None,
        "register_status": device.register_status,
        "compliance": {
            "status": device.compliant,
            "failure_reason": _text(device.failure_reason),
            "remediation": _text(device.remediation),
        },
        "disk_encryption_on": device.disk_encryption_on,
        "pin_lock_on": device.pin_lock_on,
        "jail_broken": device.jail_broken,
        "manufacturer": _text(device.manufacturer),
        "model": _text(device.model),
        "imei": _text(device.imei),
        "meid": _text(device.meid),
        "udid": _text(device.udid),
        "serial_number": _text(device.serial_number),
        "os_version": _text(device.os_version),
        "phone_number": _text(device.phone_number),
        "last_checkin_ms": device.last_checkin_ms if v3 else None,
        "macaddresses": list(device.macaddresses) if v3 else [],
    }
