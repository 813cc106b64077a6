"""Wall time of ``mdm-harness certify`` of the bundled reference client, with 1 and 2 workers.

Each run is a real ``python -P -m harness certify -n N --report <temporary dir> --seed S``, as a
user types it (the same seed for both, so both draw the same examples); its output is passed
to ``progress`` line by line. The wall time is from spawn to exit, report included. ``shard``
runs only a slice of the suite (``--shard K/N``): quick enough for a smoke run, but then the
fixed start-up of pytest and of each worker's harness dominates and the speed-up says little.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import _util

#: certify's lines not passed on as progress: the contract matrix (one line per contract,
#: the report says it better) and the path of a report that is deleted right after.
_QUIET = re.compile(r"^\s+[A-Z]\d+\s|^report: ")

__all__ = ["KEYS", "run"]

#: Every key of :func:`run`'s result.
KEYS: dict[str, str] = {
    "certify_profile": "hypothesis profile of both runs (as certify recorded it in meta.json)",
    "certify_shard": "the slice of the suite that ran (None: the whole suite)",
    "certify_seed": "the seed both runs used",
    "certify_tests": "contract tests that ran (junit.xml)",
    "certify_n1_s": "wall time with -n 1 (no xdist), spawn to exit",
    "certify_n2_s": "wall time with -n 2 (two xdist workers)",
    "certify_speedup": "certify_n1_s / certify_n2_s",
    "certify_n1_exit": "exit code of the -n 1 run (0: certified, or for a shard nothing it ran broke)",
    "certify_n2_exit": "exit code of the -n 2 run",
}


def _certify(
    workers: int, report: Path, options: list[str], say: Callable[[str], None]
) -> tuple[float, int]:
    command = _util.python("-m", "harness", "certify", "-n", str(workers), "--report", str(report))
    started = time.perf_counter()
    with subprocess.Popen(
        command + options,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_util.scrubbed_env(),
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() and not _QUIET.match(line):
                say(f"certify -n {workers} | {line.rstrip()}")
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"certify -n {workers} exited with {proc.returncode}")
    return elapsed, proc.returncode


def _tests(report: Path) -> int:
    import xml.etree.ElementTree as ET

    return len(ET.parse(report / "junit.xml").getroot().findall(".//testcase"))


def run(
    shard: str | None = None,
    profile: str | None = None,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time ``certify -n 1`` then ``certify -n 2``; ``profile`` None keeps certify's default.
    See :data:`KEYS`."""
    say = progress or (lambda message: None)
    options = ["--seed", str(seed)]
    if profile is not None:
        options += ["--profile", profile]
    if shard is not None:
        options += ["--shard", shard]
    out: dict[str, Any] = {"certify_shard": shard, "certify_seed": seed}
    with tempfile.TemporaryDirectory(prefix="mdm-bench-certify-") as tmp:
        for workers in (1, 2):
            report = Path(tmp) / f"n{workers}"
            elapsed, code = _certify(workers, report, options, say)
            out[f"certify_n{workers}_s"] = round(elapsed, 1)
            out[f"certify_n{workers}_exit"] = code
            meta = json.loads((report / "meta.json").read_text(encoding="utf-8"))
            out["certify_profile"] = meta["profile"]
            out["certify_tests"] = _tests(report)
    out["certify_speedup"] = round(out["certify_n1_s"] / out["certify_n2_s"], 2)
    return {key: out[key] for key in KEYS}
