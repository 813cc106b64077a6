"""Certify an MDM server the way ISE will use it: the server contracts, their checks and suite.

``mdm-harness certify-server URL`` (:mod:`harness.certify.server`) runs the shipped suite
(``harness/servercheck/test_*.py``, a pytest plugin registered as ``mdm_harness_server``)
against a server, through the harness's own pass-through proxy so that every exchange is
journaled, and writes a certification report. The pieces work without pytest too::

    with ServerCheck(target, options, state_dir=tmp) as check:   # doctest: +SKIP
        for case, verdict in check.suite():
            print(verdict.report())

* :mod:`~harness.servercheck.catalog` - the contracts, their levels and sources;
* :mod:`~harness.servercheck.cases` - each contract's requests, from the survey's :class:`Site`;
* :mod:`~harness.servercheck.checks` - the pure checks, ``(case, exchanges) -> verdict``;
* :mod:`~harness.servercheck.session` - proxy, prober, pacing, recording;
* :mod:`~harness.servercheck.plan` - the request plan, computed before anything is sent.

It sits beside :mod:`harness.contracts` in the layers: it uses the proxy, the reference MDM's
schemas and the reference client's layer below it; the certification run and its report
(``harness.certify.server``, ``harness.certify.server_report``) sit above it, in the certify layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import CONTRACTS, ServerContract
    from .model import Exchange, NotApplicable, Probe, ServerCase, ServerVerdict
    from .session import ServerCheck, ServerUnusable
    from .site import Site
    from .target import DeviceSpec, Options, Target, TargetError

__all__ = [
    "CONTRACTS",
    "DeviceSpec",
    "Exchange",
    "NotApplicable",
    "Options",
    "Probe",
    "ServerCase",
    "ServerCheck",
    "ServerContract",
    "ServerUnusable",
    "ServerVerdict",
    "Site",
    "Target",
    "TargetError",
]

_LAZY = {
    "CONTRACTS": "catalog",
    "ServerContract": "catalog",
    "Exchange": "model",
    "NotApplicable": "model",
    "Probe": "model",
    "ServerCase": "model",
    "ServerVerdict": "model",
    "ServerCheck": "session",
    "ServerUnusable": "session",
    "Site": "site",
    "DeviceSpec": "target",
    "Options": "target",
    "Target": "target",
    "TargetError": "target",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.servercheck' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
