"""The reference MDM: the Cisco ISE MDM API v1-v3, shaped like Jamf Pro (see ``docs/mdm.md``).

>>> with ReferenceMDM(state_dir=tmp, devices=1000, seed=7) as mdm:   # doctest: +SKIP
...     mdm.base_url, mdm.ca_bundle, mdm.username, mdm.password

The heavy parts (tornado, lxml) load on first use of :class:`ReferenceMDM`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness._util import normalise_mac
from harness.mdm.inventory import Device, Inventory, InventoryError, QueryError
from harness.mdm.profile import PROFILE_NAMES, Profile

if TYPE_CHECKING:
    from harness.mdm.admin import AdminClient, AdminError
    from harness.mdm.server import ActionRecord, MDMServerError, ReferenceMDM, RequestRecord

__all__ = [
    "PROFILE_NAMES",
    "ActionRecord",
    "AdminClient",
    "AdminError",
    "Device",
    "Inventory",
    "InventoryError",
    "MDMServerError",
    "Profile",
    "QueryError",
    "ReferenceMDM",
    "RequestRecord",
    "normalise_mac",
]

_LAZY = {
    "ActionRecord": "harness.mdm.server",
    "MDMServerError": "harness.mdm.server",
    "ReferenceMDM": "harness.mdm.server",
    "RequestRecord": "harness.mdm.server",
    "AdminClient": "harness.mdm.admin",
    "AdminError": "harness.mdm.admin",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.mdm' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
