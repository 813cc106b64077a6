"""Benchmark of the reference client's cost per run: ``mdm-harness bench client [--repeat N]``.

The contract suite runs the reference client hundreds of times, so its start-up matters. This
starts a reference MDM on loopback and prints median and p90 wall times of:

* the interpreter alone (``python -c pass``) - the floor every exec run pays;
* ``mdm-harness reference-client <operation>`` and ``python -m harness.client.reference`` runs
  through the exec runner (spawn, imports, policy, TLS, discovery, the operation, JSON out);
* the same operations in-process (``harness.client.reference:factory``);
* importing :mod:`harness.client.reference` in a fresh interpreter.

Figures, not assertions: nothing here fails on a slow machine.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable


def _measure(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[min(len(times) - 1, int(len(times) * 0.9))] * 1000


__all__ = ["run"]


def run(repeat: int = 20) -> None:
    """Run the benchmark and print one line per measurement, ``repeat`` runs each."""
    from harness.client import ClientEnv, ClientSpec
    from harness.mdm.server import ReferenceMDM

    def line(label: str, figures: tuple[float, float]) -> None:
        print(f"{label:<58} median {figures[0]:6.1f} ms   p90 {figures[1]:6.1f} ms", flush=True)

    with tempfile.TemporaryDirectory() as state, ReferenceMDM(state_dir=state, devices=1000) as mdm:
        if mdm.ca_bundle is None:  # pragma: no cover - the server runs TLS
            raise RuntimeError("the reference MDM has no CA")
        env = ClientEnv(mdm.base_url, mdm.username, mdm.password, mdm.ca_bundle, timeout_ms=5000)
        device = next(iter(mdm.inventory))
        operations = [
            ("mdminfo", []),
            ("device", ["--mac", device.macaddress]),
            ("noncompliant", []),
        ]
        print(
            f"reference MDM: {len(mdm.inventory)} devices, "
            f"{len(mdm.inventory.find('compliance', 'false'))} non-compliant; python {sys.version.split()[0]}"
        )
        line(
            "python -c pass",
            _measure(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), repeat),
        )
        line(
            "python -c 'import harness.client.reference'",
            _measure(
                lambda: subprocess.run(
                    [sys.executable, "-c", "import harness.client.reference"], check=True
                ),
                repeat,
            ),
        )
        script = shutil.which("mdm-harness", path=os.path.dirname(sys.executable)) or shutil.which(
            "mdm-harness"
        )
        specs = [("python -m harness.client.reference", ClientSpec.reference())]
        if script:
            specs.insert(
                0,
                (
                    "mdm-harness reference-client",
                    ClientSpec("exec", argv=(script, "reference-client")),
                ),
            )
        specs.append(
            ("in-process harness.client.reference:factory", ClientSpec.reference(in_process=True))
        )
        for label, spec in specs:
            for operation, op_args in operations:

                def once(
                    spec: ClientSpec = spec,
                    operation: str = operation,
                    op_args: list[str] = op_args,
                ) -> None:
                    outcome = spec.run(operation, op_args, env)
                    if outcome.kind != "ok":
                        raise RuntimeError(f"{spec} {operation}: {outcome!r}")

                line(f"{label} {operation}", _measure(once, repeat))
