"""How long ``mdm-harness certify-server`` takes against the reference MDM, as a user runs it.

``mdm-harness bench server [--json FILE] [--devices N] [--workers N] [--seed N]`` starts
``mdm-harness serve`` (``--devices`` devices, default 1000, in its own process), then runs
``mdm-harness certify-server`` against it twice, each a real ``python -P -m harness
certify-server URL ...`` into a temporary report directory: with the default options (the rate
cap of 5 requests per second, one worker, the standard profile), and with ``--rate 0`` (the
harness's own cost, no cap). Wall time is from spawn to exit, report included; CPU time is that
of the run and every process it started (the CLI, pytest and its workers, the mitmdumps), which
a busy machine does not inflate the way it does wall time. It prints a table, and with
``--json`` writes the figures (:data:`KEYS`).

Exit code 0 when both runs certified the reference MDM, 1 otherwise (a figure from a failing
run is not a figure).
"""

from __future__ import annotations

import json
import os
import re
import resource
import select
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import _util

__all__ = ["KEYS", "run"]

KEYS: dict[str, str] = {
    "server_devices": "devices of the reference MDM (mdm-harness serve --devices)",
    "server_workers": "certify-server -n",
    "server_default_s": "wall time of certify-server with its defaults (rate cap 5/s), spawn to exit",
    "server_default_exit": "its exit code (0: certified)",
    "server_default_requests": "requests it sent (meta.json requests_sent)",
    "server_default_plan": "the most its plan allowed",
    "server_default_tests": "server tests that ran (junit.xml)",
    "server_default_cpu_s": "CPU seconds (user + system) of that run and every process it started",
    "server_nocap_s": "wall time with --rate 0 (no cap): the harness's own cost",
    "server_nocap_exit": "its exit code",
    "server_nocap_requests": "requests it sent",
    "server_nocap_cpu_s": "CPU seconds of the run without a cap",
    "cpus": "CPUs this process may use",
    "load_start": "1-minute load average before the runs",
}


def _serve(devices: int, state: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [*_util.python("-m", "harness", "serve", "--json", "--devices", str(devices)),
         "--state-dir", str(state), "--log-level", "error"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_util.scrubbed_env(),
    )  # fmt: skip
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    if not ready:
        _util.stop_process(proc)
        raise RuntimeError("mdm-harness serve printed nothing within 120 s")
    return proc, json.loads(proc.stdout.readline())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _certify(
    facts: dict[str, Any], report: Path, options: Sequence[str], say: Callable[[str], None]
) -> tuple[float, int, dict[str, Any], float]:
    command = [
        *_util.python("-m", "harness", "certify-server", facts["base_url"]),
        "--username", facts["username"], "--ca", facts["ca_bundle"], "--report", str(report), *options,
    ]  # fmt: skip
    env = _util.scrubbed_env({"MDM_PASSWORD": facts["password"]})
    cpu = _children_cpu()
    started = time.perf_counter()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if (
                line.startswith(("mdm-harness", "plan:", "CERTIFIED", "NOT CERTIFIED"))
                or " passed" in line
            ):
                say(f"certify-server {' '.join(options)} | {line.rstrip()}")
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu  # every process waited for: the CLI, pytest, workers, mitmdumps
    meta: dict[str, Any] = {}
    if (report / "meta.json").exists():
        meta = json.loads((report / "meta.json").read_text(encoding="utf-8"))
    return elapsed, proc.returncode, meta, cpu


def _tests(report: Path) -> int:
    import xml.etree.ElementTree as ET

    path = report / "junit.xml"
    return len(ET.parse(path).getroot().findall(".//testcase")) if path.exists() else 0


def run(
    devices: int = 1000,
    workers: str = "1",
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Both runs against one reference MDM; see :data:`KEYS`."""
    say = progress or (lambda message: None)
    out: dict[str, Any] = {
        "server_devices": devices,
        "server_workers": workers,
        "cpus": len(os.sched_getaffinity(0)),
        "load_start": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory(prefix="mdm-bench-server-") as tmp:
        proc, facts = _serve(devices, Path(tmp) / "state")
        try:
            base = ["-n", workers, "--seed", str(seed)]
            for name, extra in (("default", []), ("nocap", ["--rate", "0"])):
                report = Path(tmp) / name
                elapsed, code, meta, cpu = _certify(facts, report, [*base, *extra], say)
                out[f"server_{name}_s"] = round(elapsed, 1)
                out[f"server_{name}_cpu_s"] = round(cpu, 1)
                out[f"server_{name}_exit"] = code
                out[f"server_{name}_requests"] = meta.get("requests_sent")
                if name == "default":
                    plan = re.search(r"at most (\d+) requests", str(meta.get("plan", "")))
                    out["server_default_plan"] = int(plan.group(1)) if plan else None
                    out["server_default_tests"] = _tests(report)
        finally:
            _util.stop_process(proc)
    return {key: out.get(key) for key in KEYS}
