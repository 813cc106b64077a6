"""The request plan: how many requests a run may send, computed before the first one.

The plan is an upper bound built from the options alone: every case of the suite is built
against a server that serves every version and whose known devices have every identifier
(:func:`full_site`), and their budgets are added up - the walk once (G1-G5 share it), X3's
hostile values by the profile's count, K1 once per ``--action-device`` - plus the preflight
and, per worker, the survey. The run then enforces it: every request takes its turn from the
:class:`~harness.servercheck.pace.Pacer`, which refuses the request after the last planned
one (a harness error: the server is never sent more than the plan says).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .cases import PARAMETERS, build
from .catalog import CONTRACTS
from .model import ServerCase
from .site import MIN_DEVICES, KnownDevice, Site, VersionInfo, survey_budget
from .target import Options

__all__ = ["Plan", "compute", "full_site", "workers_of"]


def workers_of(value: str | int | None) -> int:
    """The number of worker processes ``-n`` means (``auto``: the CPUs this process may use)."""
    if value in (None, "", "0", 0, "no"):
        return 1
    if isinstance(value, int):
        return max(1, value)
    if str(value).isdigit():
        return max(1, int(value))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def full_site(options: Options) -> Site:
    """A server that serves v1-v3 and whose known devices have every identifier: the most
    requests any real server can draw."""
    versions = {
        v: VersionInfo(v, 200, v, f"/plan/v{v}", f"/plan/v{v}", 1000, None, True) for v in (1, 2, 3)
    }
    devices = tuple(
        KnownDevice(
            macaddress=f"02000000{i:04X}",
            guid=f"00000000-0000-4000-8000-{i:012x}",
            udid=f"00008110-{i:016X}",
            imei=f"35693803564{i:04d}",
            meid=f"A10000000{i:05X}",
            username=f"user{i}",
            hostname=f"host{i}",
            compliant=bool(i % 2),
            source="named",
        )
        for i in range(max(MIN_DEVICES, options.concurrency, len(options.devices)))
    )
    return Site("https://plan.invalid:443", "/plan", versions, devices)


@dataclass(frozen=True)
class Plan:
    """The most requests a run sends: ``total``, and where they go."""

    workers: int
    survey: int
    preflight: int = 1
    #: Requests per contract (the walk counted once, under G1).
    cases: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.preflight + self.workers * self.survey + sum(self.cases.values())

    def describe(self) -> str:
        parts = ", ".join(f"{c} {n}" for c, n in self.cases.items() if n)
        return (
            f"at most {self.total} requests: preflight {self.preflight}, survey {self.survey} "
            f"x {self.workers} worker(s), cases {sum(self.cases.values())} ({parts})"
        )


def compute(options: Options, workers: int = 1) -> Plan:
    """The plan of a whole run with ``options`` on ``workers`` processes."""
    site = full_site(options)
    counts: dict[str, int] = {}
    shared: set[str] = set()
    for contract in CONTRACTS:
        if contract == "X3":
            counts[contract] = options.examples
            continue
        if contract == "K1":
            counts[contract] = len(options.action_devices) if options.allow_actions else 0
            continue
        total = 0
        for params in PARAMETERS[contract]:
            built = build(contract, site, options, *params)
            if not isinstance(built, ServerCase):
                continue
            if built.shared:
                if built.shared in shared:
                    continue
                shared.add(built.shared)
            total += built.budget
        counts[contract] = total
    return Plan(workers=workers, survey=survey_budget(options), cases=counts)
