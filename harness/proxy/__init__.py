"""The fault proxy: a mitmproxy addon, its faults, journal and control API, and a launcher.

>>> from harness.proxy import FaultProxy
>>> with FaultProxy(upstream=mdm.origin, ca=ca) as proxy:            # doctest: +SKIP
...     proxy.control.load_scenario("seed-1-connection-timeout")

See ``docs/proxy.md``. The addon file for ``mitmdump -s`` is :data:`ADDON_PATH`.

The launcher (and with it trustme and cryptography) loads on first use of a name below, so
that ``mdm-harness --help`` and the subcommands that do not run a proxy stay quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'harness.proxy' has no attribute {name!r}")
    from harness.proxy import launcher

    return getattr(launcher, name)
