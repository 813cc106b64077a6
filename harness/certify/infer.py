"""Running ``policy infer``'s probes: the reference MDM behind the fault proxy, and the client.

:mod:`harness.client.infer` plans the probes and reads the policy out of what they show; it
may not start servers (it sits below the proxy). :class:`ProbeHarness` is its
:data:`~harness.client.infer.Runner`: one CA, one reference MDM and one long-lived fault
proxy, and for each probe a fresh scenario through the control API, one run of the client, and
the proxy's journal once every attempt has closed - what ``ContractHarness`` does for a
contract case, without a verdict.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.client.infer import Inference, Observation, Probe, Site, infer
from harness.client.protocol import ClientEnv
from harness.client.runner import ClientSpec
from harness.contracts.lab import Lab

__all__ = ["ProbeHarness", "infer_policy"]


class ProbeHarness(Lab):
    """A CA, the reference MDM and the fault proxy for probing one client; a context manager."""

    def __init__(self, client: ClientSpec, *, state_dir: Path, timeout_ms: int) -> None:
        super().__init__(state_dir, devices=20)
        self.client = client
        self.timeout_ms = timeout_ms

    def __enter__(self) -> ProbeHarness:
        super().__enter__()
        return self

    def site(self) -> Site:
        from harness.mdm.documents import mdminfo

        device = next(iter(self.mdm.inventory))
        return Site(device.macaddress, mdminfo(self.mdm.profile, 3).decode("utf-8"))

    def env(self) -> ClientEnv:
        return self.client_env(self.timeout_ms)

    def run(self, probe: Probe) -> Observation:
        """Load the probe's scenario, run the client once, and collect every attempt."""
        control = self.proxy.control
        control.reset()
        control.load_scenario(json.dumps(probe.scenario(), ensure_ascii=False))
        self.mdm.reset_records()
        outcome = self.client.run(
            probe.operation, list(probe.args), self.env(), hard_limit_s=probe.hard_limit_s
        )
        records = control.journal(wait_idle=5.0)
        attempts = tuple(sorted(records, key=lambda a: (a.began, a.seq)))
        return Observation(probe, outcome, attempts)


def infer_policy(
    client: ClientSpec,
    *,
    timeout_ms: int = 1000,
    budget_s: float = 90.0,
    state_dir: Path | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> Inference:
    """Probe ``client`` (passing it ``MDM_TIMEOUT_MS=timeout_ms``) and infer its policy."""
    with tempfile.TemporaryDirectory(prefix="mdm-harness-infer-") as tmp:
        where = Path(state_dir) if state_dir is not None else Path(tmp)
        with ProbeHarness(client, state_dir=where, timeout_ms=timeout_ms) as harness:
            return infer(
                harness.run, harness.site(), timeout_ms=timeout_ms, budget_s=budget_s, log=log
            )
