"""``mdm-harness certify``: check the inputs, run the contract suite, write the report.

Everything the user gave is checked before anything starts (a client command that is not
there, a policy that does not parse, a shard like ``3/2``, a report directory that cannot be
written: one line on stderr, exit code 2). Then the suite runs in a child pytest - across
cores with pytest-xdist, one CA, reference MDM and fault proxy per worker - showing pytest's
progress, and the report is built from what it left behind.

Exit codes: 0 every contract holds (certified); 1 at least one contract is broken; 2 bad
input (nothing started); 3 the harness itself failed or was interrupted - a dead proxy or MDM,
a killed worker, a report directory it cannot write, SIGTERM/SIGINT - so there is no verdict
(the report says what failed).

No process outlives a run: certify forwards SIGTERM and SIGINT to the suite, and every child
(pytest, its xdist workers, their mitmdump proxies, the clients under test) is started to die
with its parent (Linux ``PR_SET_PDEATHSIG``), so even ``kill -9`` of certify leaves nothing
running.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import __version__
from harness._util import (
    DIE_WITH_PARENT_ENV,
    check_range,
    check_regular_file,
    parent_death_signal,
    python,
)
from harness.contracts.shards import Shard
from harness.errors import HARNESS_ERROR_EXIT, UsageError

from . import DEFAULT_REPORT_DIR, PROFILES

__all__ = ["DEFAULT_REPORT_DIR", "PROFILES", "Plan", "certify", "plan", "pytest_command"]
#: How long the suite gets to wind down after a forwarded SIGTERM/SIGINT before it is killed.
_STOP_GRACE_S = 20.0
#: How often certify looks at the suite while it runs (for the grace above).
_POLL_S = 0.25
_OWN_FILES = ("junit.xml", "journal.jsonl", "certification.md", "certification.html", "meta.json")

if TYPE_CHECKING:
    from harness.client.runner import ClientSpec


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


def check_client(text: str) -> ClientSpec:
    """``--client``, checked: a command that exists and is executable, or an importable
    factory. Paths in a command come back absolute (the suite runs in the report directory and
    each client run in an empty directory of its own); :class:`UsageError` otherwise."""
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
        return spec
    assert spec.target is not None
    module, _, factory = spec.target.partition(":")
    try:
        loaded = importlib.import_module(module)
    except Exception as exc:  # any import failure of the vendor's module is a usage error here
        raise UsageError(f"--client: cannot import {module!r}: {exc}") from None
    if not callable(getattr(loaded, factory, None)):
        raise UsageError(f"--client: {module!r} has no callable {factory!r}")
    return spec


def check_keyword(text: str) -> None:
    """Refuse a ``-k`` expression pytest would refuse (an INTERNALERROR under xdist otherwise)."""
    if not text.strip():
        raise UsageError("-k: the expression is empty")
    try:
        from _pytest.mark.expression import Expression
    except ImportError:  # pragma: no cover - pytest moved it; pytest's own check remains
        return
    try:
        Expression.compile(text)
    except Exception as exc:  # pytest's ParseError (not public)
        raise UsageError(f"-k {text!r}: {exc}") from None


def plan(args: Any) -> Plan:
    """Check every input; :class:`UsageError` names the first bad one."""
    from harness.client import REFERENCE_POLICY_PATH
    from harness.client.policy import PolicyError, load_policy
    from harness.contracts.config import reference_client_command

    command = None
    if args.client is not None:
        command = str(check_client(args.client))
        if args.policy is None:
            raise UsageError(
                "--policy is required with --client: the suite judges a client against what it declares"
            )
    client = command or reference_client_command()
    policy_path = Path(args.policy) if args.policy else Path(REFERENCE_POLICY_PATH)
    check_regular_file(policy_path, "--policy")
    if getattr(args, "keyword", None) is not None:
        check_keyword(args.keyword)
    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        raise UsageError(f"--policy: {exc}") from None
    except OSError as exc:
        raise UsageError(
            f"--policy: cannot read {str(policy_path)!r}: {exc.strerror or exc}"
        ) from None
    workers = str(args.workers).strip().lower()
    most = max(8, 4 * (os.cpu_count() or 1))
    if workers != "auto" and not (workers.isdigit() and 1 <= int(workers) <= most):
        raise UsageError(
            f"-n {args.workers!r}: expected auto or a number of workers from 1 to {most}"
        )
    if args.seed is not None:
        check_range(args.seed, "--seed", 0, 2**64 - 1)
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


def pytest_command(p: Plan, junit: Path | None = None) -> list[str]:
    """The child pytest that runs the suite (``junit``: where it writes JUnit XML)."""
    command = [
        *python("-m", "pytest"), "--pyargs", "harness.contracts",
        "-p", "no:cacheprovider", "-q", "-rfE",
        "--mdm-client", p.client, "--mdm-policy", str(p.policy),
        "--mdm-profile", p.profile, "--mdm-seed", str(p.seed),
        "--mdm-report", str(p.report), "--junitxml", str(junit or p.report / "junit.xml"),
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
    with tempfile.TemporaryDirectory(prefix="mdm-harness-certify-") as private:
        # pytest writes its JUnit file here, not into the report directory: a report
        # directory that became unwritable mid-run must not end the suite in a traceback.
        junit = Path(private) / "junit.xml"
        # Hypothesis keeps a cache (of constants it finds in the source) in its storage
        # directory, by default ./.hypothesis - the report directory: keep it private to the
        # run. No example database is written either (replay files reproduce a failure).
        storage = {"HYPOTHESIS_STORAGE_DIRECTORY": str(Path(private) / "hypothesis")}
        returncode, interrupted = run_suite(
            pytest_command(p, junit), cwd=p.report, env_extra=storage
        )
        duration = time.monotonic() - t0
        problems = _run_problems(returncode, interrupted, junit)
        try:
            if junit.exists():
                shutil.copyfile(junit, p.report / "junit.xml")
        except OSError as exc:
            print(
                f"mdm-harness certify: ERROR (harness): cannot write the report to "
                f"{p.report}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return HARNESS_ERROR_EXIT
    if returncode in (4, 5) and interrupted is None:
        # pytest refused its arguments, or nothing matched the selection: the user's input.
        what = "no contract test matches -k" if returncode == 5 else "pytest refused the arguments"
        raise UsageError(f"{what} (pytest exit {returncode})")
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
        "pytest_exit": returncode,
        "harness_errors": problems,
    }
    from . import report as reporting

    try:
        (p.report / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        report = reporting.build(p.report, meta)
        reporting.write(p.report, report)
    except OSError as exc:
        where = exc.filename or p.report
        print(
            f"mdm-harness certify: ERROR (harness): cannot write the report to {where}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return HARNESS_ERROR_EXIT
    except reporting.ReportError as exc:
        print(f"mdm-harness certify: ERROR (harness): {exc}", file=sys.stderr)
        return HARNESS_ERROR_EXIT
    print_summary(report, p.report)
    return report.exit_code


def run_suite(
    command: list[str], *, cwd: Path, env_extra: Mapping[str, str] | None = None
) -> tuple[int, str | None]:
    """Run the suite's pytest; forward SIGTERM/SIGINT to it. ``(exit code, signal name or None)``.

    pytest and its workers are started to die with this process (and the workers' proxies and
    clients with them), so no exit of certify - a forwarded signal, ``kill -9`` - leaves a
    process behind.
    """
    env = {**os.environ, **(env_extra or {})}
    env[DIE_WITH_PARENT_ENV] = "1"
    received: list[int] = []
    proc = subprocess.Popen(command, cwd=cwd, env=env, preexec_fn=parent_death_signal())

    def forward(signum: int, _frame: Any) -> None:
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        # A wait that a signal interrupts carries on with its own timeout (PEP 475), so the
        # grace is counted here, in short waits, from the first forwarded signal.
        stop_by: float | None = None
        while True:
            try:
                code = proc.wait(timeout=_POLL_S)
                break
            except subprocess.TimeoutExpired:
                if received and stop_by is None:
                    stop_by = time.monotonic() + _STOP_GRACE_S
                if stop_by is not None and time.monotonic() >= stop_by:
                    proc.kill()  # it did not wind down in time: its children follow it
                    code = proc.wait()
                    break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    name = signal.Signals(received[0]).name if received else None
    return code, name


def _run_problems(returncode: int, interrupted: str | None, junit: Path) -> list[str]:
    """What failed in the harness at the level of the whole run (the tests name their own)."""
    if interrupted is not None:
        return [f"interrupted by {interrupted}: the run did not finish (pytest exit {returncode})"]
    if returncode < 0:
        return [f"the contract suite was killed by signal {-returncode} (it did not finish)"]
    if returncode == 2:
        return ["the contract suite was interrupted (pytest exit 2): the run did not finish"]
    if returncode == 3:
        return ["pytest failed internally (INTERNALERROR, exit 3): see its output above"]
    if returncode not in (0, 1, 4, 5):
        return [f"the contract suite ended with exit code {returncode}"]
    if returncode in (0, 1) and not junit.exists():
        return ["the contract suite wrote no JUnit XML"]
    return []


def print_summary(report: Any, directory: Path) -> None:
    print()
    for row in report.contracts():
        passed = sum(1 for t in row.tests if t.verdict == "passed")
        word = {"broken": "BROKEN", "error": "ERROR"}.get(row.status, row.status)
        print(f"  {row.id:3} {row.level:6} {word:15} {passed:3}/{len(row.tests):<3} {row.promise}")
    print(f"\n{report.summary()}")
    for problem in report.harness_errors[:10]:
        print(f"  harness: {problem}")
    for failure in report.failures:
        where = (
            f" - replay: mdm-harness replay {directory / failure.replay}" if failure.replay else ""
        )
        print(f"  {failure.contract} {failure.key}: {failure.reason}{where}")
    for advice in report.advice:
        print(f"  advice {advice.contract} ({advice.level}) {advice.key}: {advice.reason}")
    print(
        f"report: {directory / 'certification.html'} (and certification.md, junit.xml, journal.jsonl)"
    )
