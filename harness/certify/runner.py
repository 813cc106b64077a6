"""``mdm-harness certify``: check the inputs, run the contract suite, write the report.

Everything the user gave is checked before anything starts (a client command that is not
there, a policy that does not parse, a shard like ``3/2``, a report directory that cannot be
written: one line on stderr, exit code 2). Then the suite runs in a child pytest - across
cores with pytest-xdist, one CA, reference MDM and fault proxy per worker - showing pytest's
progress, and the report is built from what it left behind.

Exit codes: 0 every contract holds (certified); 1 at least one contract is broken (or a test
errored); 2 bad input, or the suite could not run.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import __version__
from harness._util import python
from harness.contracts.shards import Shard
from harness.errors import UsageError

from . import DEFAULT_REPORT_DIR, PROFILES

__all__ = ["DEFAULT_REPORT_DIR", "PROFILES", "Plan", "certify", "plan", "pytest_command"]
_OWN_FILES = ("junit.xml", "journal.jsonl", "certification.md", "certification.html", "meta.json")


@dataclass(frozen=True)
class Plan:
    """A checked certification run."""

    client: str
    client_label: str
    client_version: str | None
    policy: Path
    policy_repr: str
    profile: str
    workers: str
    shard: Shard | None
    report: Path
    seed: int
    keyword: str | None = None


def _check_client(text: str) -> None:
    from harness.client.runner import ClientSpec

    try:
        spec = ClientSpec.parse(text)
    except ValueError as exc:
        raise UsageError(f"--client: {exc}") from None
    if spec.kind == "exec":
        exe = spec.argv[0]
        if os.sep in exe:
            if not (Path(exe).is_file() and os.access(exe, os.X_OK)):
                raise UsageError(f"--client: {exe!r} is not an executable file")
        elif shutil.which(exe) is None:
            raise UsageError(f"--client: command {exe!r} not found on PATH")
        return
    assert spec.target is not None
    module, _, factory = spec.target.partition(":")
    try:
        loaded = importlib.import_module(module)
    except Exception as exc:  # any import failure of the vendor's module is a usage error here
        raise UsageError(f"--client: cannot import {module!r}: {exc}") from None
    if not callable(getattr(loaded, factory, None)):
        raise UsageError(f"--client: {module!r} has no callable {factory!r}")


def plan(args: Any) -> Plan:
    """Check every input; :class:`UsageError` names the first bad one."""
    from harness.client import REFERENCE_POLICY_PATH
    from harness.client.policy import PolicyError, load_policy
    from harness.contracts.config import reference_client_command

    if args.client is not None:
        _check_client(args.client)
        if args.policy is None:
            raise UsageError(
                "--policy is required with --client: the suite judges a client against what it declares"
            )
    client = args.client or reference_client_command()
    policy_path = Path(args.policy) if args.policy else Path(REFERENCE_POLICY_PATH)
    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        raise UsageError(f"--policy: {exc}") from None
    except OSError as exc:
        raise UsageError(
            f"--policy: cannot read {str(policy_path)!r}: {exc.strerror or exc}"
        ) from None
    workers = str(args.workers).strip().lower()
    if workers != "auto" and not (workers.isdigit() and int(workers) >= 1):
        raise UsageError(f"-n {args.workers!r}: expected auto or a number of workers >= 1")
    try:
        shard = Shard.parse(args.shard) if args.shard else None
    except ValueError as exc:
        raise UsageError(f"--shard: {exc}") from None
    report = Path(args.report)
    try:
        report.mkdir(parents=True, exist_ok=True)
        probe = report / ".mdm-harness-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"--report: cannot write to {str(report)!r}: {exc.strerror or exc}"
        ) from None
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    label = args.client or "reference client (bundled)"
    version = args.client_version or (__version__ if args.client is None else None)
    return Plan(
        client,
        label,
        version,
        policy_path.resolve(),
        repr(policy),
        args.profile,
        workers,
        shard,
        report.resolve(),
        seed,
        getattr(args, "keyword", None),
    )


def pytest_command(p: Plan) -> list[str]:
    """The child pytest that runs the suite."""
    command = [
        *python("-m", "pytest"), "--pyargs", "harness.contracts",
        "-p", "no:cacheprovider", "-q", "-rfE",
        "--mdm-client", p.client, "--mdm-policy", str(p.policy),
        "--mdm-profile", p.profile, "--mdm-seed", str(p.seed),
        "--mdm-report", str(p.report), "--junitxml", str(p.report / "junit.xml"),
    ]  # fmt: skip
    command += ["-p", "no:xdist"] if p.workers == "1" else ["-n", p.workers]
    if p.shard is not None:
        command += ["--mdm-shard", str(p.shard)]
    if p.keyword:
        command += ["-k", p.keyword]
    return command


def _clean(report: Path) -> None:
    """Remove what an earlier run left in ``report`` (only the harness's own files)."""
    for name in _OWN_FILES:
        (report / name).unlink(missing_ok=True)
    for path in report.glob("verdicts-*.jsonl"):
        path.unlink()
    shutil.rmtree(report / "failures", ignore_errors=True)


def certify(args: Any) -> int:
    p = plan(args)
    _clean(p.report)
    from importlib.metadata import version

    started = datetime.datetime.now(datetime.UTC)
    print(
        f"mdm-harness certify: client {p.client_label}, policy {p.policy}, profile {p.profile}, "
        f"workers {p.workers}, seed {p.seed}{f', shard {p.shard}' if p.shard else ''}",
        flush=True,
    )
    t0 = time.monotonic()
    proc = subprocess.run(pytest_command(p), cwd=p.report)
    duration = time.monotonic() - t0
    meta = {
        "client": p.client_label,
        "client_command": p.client,
        "client_version": p.client_version or "not stated",
        "policy": str(p.policy),
        "policy_repr": p.policy_repr,
        "harness_version": __version__,
        "mitmproxy_version": version("mitmproxy"),
        "python": platform.python_version(),
        "profile": p.profile,
        "seed": p.seed,
        "shard": str(p.shard) if p.shard else None,
        "selection": p.keyword,
        "workers": p.workers,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 1),
        "pytest_exit": proc.returncode,
    }
    (p.report / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if proc.returncode not in (0, 1) or not (p.report / "junit.xml").exists():
        print(
            f"mdm-harness certify: error: the contract suite could not run (pytest exit {proc.returncode})",
            file=sys.stderr,
        )
        return 2
    from . import report as reporting

    report = reporting.build(p.report, meta)
    reporting.write(p.report, report)
    print_summary(report, p.report)
    return 0 if report.ok and proc.returncode == 0 else 1


def print_summary(report: Any, directory: Path) -> None:
    print()
    for cid, _group, promise, status, tests in report.contracts():
        passed = sum(1 for t in tests if t.outcome == "passed")
        print(
            f"  {cid:3} {status.upper() if status in ('broken', 'error') else status:15} {passed:3}/{len(tests):<3} {promise}"
        )
    print(f"\n{report.summary()}")
    for failure in report.failures:
        where = (
            f" - replay: mdm-harness replay {directory / failure.replay}" if failure.replay else ""
        )
        print(f"  {failure.contract} {failure.key}: {failure.reason}{where}")
    print(
        f"report: {directory / 'certification.html'} (and certification.md, junit.xml, journal.jsonl)"
    )
