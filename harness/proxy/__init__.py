"""The fault proxy: a mitmproxy addon, its faults, journal and control API, and a launcher.

>>> from harness.proxy import FaultProxy
>>> with FaultProxy(upstream=mdm.origin, ca=ca) as proxy:            # doctest: +SKIP
...     proxy.control.load_scenario("seed-1-connection-timeout")

See ``docs/proxy.md``. The addon file for ``mitmdump -s`` is :data:`ADDON_PATH`.
"""

from __future__ import annotations

from harness.proxy.launcher import (
    ADDON_PATH,
    ControlClient,
    ControlError,
    FaultProxy,
    ProxyStartError,
    ScenarioRejected,
)

__all__ = [
    "ADDON_PATH",
    "ControlClient",
    "ControlError",
    "FaultProxy",
    "ProxyStartError",
    "ScenarioRejected",
]
