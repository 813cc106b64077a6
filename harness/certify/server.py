"""``mdm-harness certify-server``: check the inputs, plan, preflight, run the suite, report.

Everything the user gave is checked before any request (a URL that is not https, a missing
password, a CA that does not load, a device spec that does not parse, actions without named
devices, a plan larger than ``--max-requests``, a report directory that cannot be written: one
line on stderr, exit 2). Then the plan - the most requests the run may send - is computed and
printed, one preflight request asks discovery (exit 2 when the server cannot be reached, the
credentials are refused or the instance is wrong: nothing could be judged), and the suite runs
in a child pytest - across cores with pytest-xdist, one pass-through proxy per worker - sharing
one rate cap and the plan's total. The report is built from what it left behind.

Exit codes: 0 certified (every MUST contract holds); 1 a contract is broken; 2 bad input or an
unreachable server; 3 an error of the harness (its proxy, the suite), never the server's fault.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import __version__
from harness._util import python, scrubbed_env
from harness.errors import HARNESS_ERROR_EXIT, HarnessError, UsageError
from harness.servercheck.plan import Plan, compute, workers_of
from harness.servercheck.target import DeviceSpec, Options, Target, TargetError

__all__ = ["DEFAULT_REPORT_DIR", "Run", "certify_server", "prepare", "pytest_command", "replay"]

DEFAULT_REPORT_DIR = "mdm-harness-server-report"
_OWN_FILES = (
    "junit.xml",
    "journal.jsonl",
    "certification.md",
    "certification.html",
    "meta.json",
    "preflight.json",
)


@dataclass(frozen=True)
class Run:
    """A checked certify-server run."""

    target: Target
    options: Options
    plan: Plan
    workers: str
    report: Path
    keyword: str | None = None


def _target(args: Any) -> Target:
    try:
        return Target.checked(
            args.url or os.environ.get("MDM_BASE_URL"),
            args.username or os.environ.get("MDM_USERNAME"),
            args.password or os.environ.get("MDM_PASSWORD"),
            ca=args.ca,
            proxy=args.proxy,
        )
    except TargetError as exc:
        raise UsageError(str(exc)) from None


def _options(args: Any, seed: int) -> Options:
    try:
        return Options(
            rate=args.rate,
            budget_ms=args.budget_ms,
            concurrency=args.concurrency,
            max_pages=args.max_pages,
            profile=args.profile,
            seed=seed,
            devices=tuple(DeviceSpec.parse(s, "--device") for s in args.device),
            allow_actions=args.allow_actions,
            action_devices=tuple(
                DeviceSpec.parse(s, "--action-device") for s in args.action_device
            ),
            action=args.action,
        )
    except TargetError as exc:
        raise UsageError(str(exc)) from None


def _writable(report: Path) -> Path:
    try:
        report.mkdir(parents=True, exist_ok=True)
        probe = report / ".mdm-harness-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"--report: cannot write to {str(report)!r}: {exc.strerror or exc}"
        ) from None
    return report.resolve()


def prepare(args: Any) -> Run:
    """Check every input and compute the plan; :class:`UsageError` names the first bad one."""
    target = _target(args)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    options = _options(args, seed)
    workers = str(args.workers).strip().lower()
    if workers != "auto" and not (workers.isdigit() and int(workers) >= 1):
        raise UsageError(f"-n {args.workers!r}: expected auto or a number of workers >= 1")
    plan = compute(options, workers_of(workers))
    if args.max_requests is not None and plan.total > args.max_requests:
        raise UsageError(
            f"--max-requests {args.max_requests}: the plan needs up to {plan.total} requests "
            f"({plan.describe()}); lower --max-pages, --profile, --concurrency or -n, or raise the cap"
        )
    return Run(target, options, plan, workers, _writable(Path(args.report)), args.keyword)


def pytest_command(run: Run, pacer: Path) -> list[str]:
    """The child pytest that runs the server suite (the password goes by environment only)."""
    t, o = run.target, run.options
    command = [
        *python("-m", "pytest"), "--pyargs", "harness.servercheck",
        "-p", "no:cacheprovider", "-q", "-rfE",
        "--mdm-server", t.url, "--mdm-server-username", t.username,
        "--mdm-server-rate", f"{o.rate:g}", "--mdm-server-budget-ms", str(o.budget_ms),
        "--mdm-server-concurrency", str(o.concurrency), "--mdm-server-max-pages", str(o.max_pages),
        "--mdm-server-profile", o.profile, "--mdm-server-seed", str(o.seed),
        "--mdm-server-report", str(run.report), "--mdm-server-pacer", str(pacer),
        "--mdm-server-max-requests", str(run.plan.total),
        "--junitxml", str(run.report / "junit.xml"),
    ]  # fmt: skip
    if t.ca is not None:
        command += ["--mdm-server-ca", str(t.ca.resolve())]
    if t.proxy:
        command += ["--mdm-server-proxy", t.proxy]
    for spec in o.devices:
        command += ["--mdm-server-device", spec.to_text()]
    if o.allow_actions:
        command += ["--mdm-server-allow-actions", "--mdm-server-action", o.action]
        for spec in o.action_devices:
            command += ["--mdm-server-action-device", spec.to_text()]
    # The walk's tests share one worker (xdist_group), so the walk is sent once.
    command += (
        ["-p", "no:xdist"] if run.workers == "1" else ["-n", run.workers, "--dist", "loadgroup"]
    )
    if run.keyword:
        command += ["-k", run.keyword]
    return command


def _clean(report: Path) -> None:
    for name in _OWN_FILES:
        (report / name).unlink(missing_ok=True)
    for pattern in ("verdicts-*.jsonl", "site-*.json", "survey-*.jsonl"):
        for path in report.glob(pattern):
            path.unlink()
    shutil.rmtree(report / "failures", ignore_errors=True)


def _preflight(run: Run, pacer_path: Path, state: Path) -> dict[str, Any]:
    """One discovery request through the harness's proxy; :class:`UsageError` if nothing could
    be judged. Returns the exchange and its journal record, for the report."""
    from harness.proxy import ProxyStartError
    from harness.servercheck.pace import Pacer
    from harness.servercheck.session import ServerCheck, ServerUnusable

    pacer = Pacer(pacer_path, rate=run.options.rate, limit=run.plan.total)
    try:
        with ServerCheck(run.target, run.options, state_dir=state, pacer=pacer) as check:
            exchange = check.preflight()
    except ServerUnusable as exc:
        raise UsageError(str(exc)) from None
    except ProxyStartError as exc:
        raise HarnessError(
            f"the harness's proxy did not start: {str(exc).splitlines()[0]}"
        ) from None
    return {
        "exchange": exchange.to_json(),
        "journal": [exchange.attempt.to_json()] if exchange.attempt is not None else [],
    }


def certify_server(args: Any) -> int:
    if args.replay:
        return replay(args)
    run = prepare(args)
    _clean(run.report)
    from importlib.metadata import version

    t, o = run.target, run.options
    print(
        f"mdm-harness certify-server: {t.describe()}; profile {o.profile}, workers {run.workers}, "
        f"rate {o.rate:g}/s, budget {o.budget_ms} ms, seed {o.seed}",
        flush=True,
    )
    print(f"plan: {run.plan.describe()}", flush=True)
    started = datetime.datetime.now(datetime.UTC)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mdm-harness-server-") as tmp:
        pacer_path = Path(tmp) / "pacer.json"
        preflight = _preflight(run, pacer_path, Path(tmp) / "preflight")
        (run.report / "preflight.json").write_text(
            json.dumps(preflight, indent=2), encoding="utf-8"
        )
        env = scrubbed_env({"MDM_PASSWORD": t.password})
        proc = subprocess.run(pytest_command(run, pacer_path), cwd=run.report, env=env)
        from harness.servercheck.pace import Pacer

        sent = Pacer(pacer_path, rate=o.rate, limit=run.plan.total).sent
    duration = time.monotonic() - t0
    meta = {
        "server": t.url,
        "product": _product(run.report),
        "username": t.username,
        "ca": str(t.ca.resolve()) if t.ca else "the system store",
        "proxy": t.proxy,
        "harness_version": __version__,
        "mitmproxy_version": version("mitmproxy"),
        "python": platform.python_version(),
        "profile": o.profile,
        "seed": o.seed,
        "selection": run.keyword,
        "workers": run.workers,
        "rate": f"{o.rate:g}",
        "budget_ms": o.budget_ms,
        "plan": run.plan.describe(),
        "requests_sent": sent,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 1),
        "pytest_exit": proc.returncode,
    }
    if proc.returncode not in (0, 1) or not (run.report / "junit.xml").exists():
        (run.report / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        print(
            f"mdm-harness certify-server: error (harness): the server suite could not run (pytest exit {proc.returncode})",
            file=sys.stderr,
        )
        return HARNESS_ERROR_EXIT
    from . import server_report as reporting

    report = reporting.build_report(run.report, meta)
    posts = sum(
        1 for r in report.records for a in r.get("journal", []) if a.get("method") == "POST"
    )
    report.meta["posts_sent"] = posts
    (run.report / "meta.json").write_text(json.dumps(report.meta, indent=2), encoding="utf-8")
    reporting.write(run.report, report)
    print_summary(report, run.report)
    if any(status == "error" for *_, status, _ in reporting.rows(report)):
        return HARNESS_ERROR_EXIT
    return 0 if reporting.certified(report) and proc.returncode == 0 else 1


def _product(report: Path) -> str | None:
    for path in sorted(report.glob("site-*.json")):
        try:
            site = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        words = [site.get("vendor"), site.get("product"), site.get("product_version")]
        served = ", ".join(
            f"v{v}" for v, info in sorted(site.get("versions", {}).items()) if info.get("usable")
        )
        text = " ".join(w for w in words if w)
        return f"{text or 'unnamed'} (serves {served or 'no version'})"
    return None


def print_summary(report: Any, directory: Path) -> None:
    from . import server_report as reporting

    print()
    for cid, _group, level, promise, status, tests in reporting.rows(report):
        passed = sum(1 for t in tests if t.outcome == "passed")
        shown = status.upper() if status in ("broken", "error") else status
        print(f"  {cid:3} {level:6} {shown:15} {passed:3}/{len(tests):<3} {promise}")
    print(f"\n{reporting.summary(report)}")
    for failure in report.failures:
        where = (
            f" - replay: mdm-harness certify-server --replay {directory / failure.replay}"
            if failure.replay
            else ""
        )
        print(f"  {failure.contract} {failure.key}: {failure.reason}{where}")
    for advice in report.advice:
        print(f"  advice {advice.contract} ({advice.level}) {advice.key}: {advice.reason}")
    print(
        f"report: {directory / 'certification.html'} (and certification.md, junit.xml, journal.jsonl)"
    )


# ------------------------------------------------------------------------------------ replay


def replay(args: Any) -> int:
    """Run the one case of a replay file again and print its verdict (0 holds, 1 broken)."""
    from harness import _yaml
    from harness.servercheck.model import ServerCase
    from harness.servercheck.pace import Pacer
    from harness.servercheck.session import ServerCheck

    path = Path(args.replay)
    try:
        data = _yaml.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--replay {str(path)!r}: cannot read: {exc.strerror or exc}") from None
    except _yaml.YAMLSyntaxError as exc:
        raise UsageError(f"--replay {path}:{exc.line or '?'}: {exc.problem}") from None
    if not isinstance(data, dict) or data.get("mdm_harness_server_replay") != 1:
        raise UsageError(
            f"--replay {path}: not a server replay file (no 'mdm_harness_server_replay: 1')"
        )
    try:
        case = ServerCase.from_json(data.get("case") or {})
    except ValueError as exc:
        raise UsageError(f"--replay {path}: {exc}") from None
    ca = args.ca or (data.get("ca") if data.get("ca") not in (None, "the system store") else None)
    try:
        target = Target.checked(
            args.url or data.get("server"),
            args.username or data.get("username") or os.environ.get("MDM_USERNAME"),
            args.password or os.environ.get("MDM_PASSWORD"),
            ca=ca,
            proxy=args.proxy or data.get("proxy"),
        )
        actions: tuple[DeviceSpec, ...] = ()
        if case.contract == "K1":
            if not args.allow_actions:
                raise TargetError("--replay of an action (K1) sends it again: add --allow-actions")
            kind, value = case.params.get("identifier"), case.params.get("value")
            actions = (
                DeviceSpec.parse(
                    f"{'mac' if kind == 'macaddress' else 'guid'}={value}", "--replay"
                ),
            )
        options = Options(
            rate=args.rate,
            budget_ms=int(data.get("budget_ms") or args.budget_ms),
            seed=int(data.get("seed") or 0),
            allow_actions=bool(actions),
            action_devices=actions,
        )
    except (TargetError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"replaying {case.describe()} against {target.url} ({case.budget} request(s) at most)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="mdm-harness-replay-") as tmp:
        pacer = Pacer(Path(tmp) / "pacer.json", rate=options.rate, limit=case.budget)
        with ServerCheck(target, options, state_dir=Path(tmp) / "state", pacer=pacer) as check:
            verdict, _ = check.run(case)
    print(verdict.report())
    return 1 if verdict.status == "broken" and not verdict.advice else 0
