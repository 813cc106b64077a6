"""Subcommands: ``certify``, ``matrix``, ``replay``, ``report merge`` and ``report diff``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import UsageError

#: The most shards ``matrix`` prints (a CI engine's matrix limit; the suite has fewer tests).
MAX_SHARDS = 256


def register(subparsers: argparse._SubParsersAction) -> None:
    from . import DEFAULT_REPORT_DIR, PROFILES

    p = subparsers.add_parser(
        "certify",
        help="run the contract suite against a client and write a certification report",
        description=(
            "Certify a client of the ISE MDM API: run every contract (T1-T8, P1-P5, R1-R6, S1-S5) "
            "against it through the fault proxy and the reference MDM, in parallel, and write "
            "junit.xml, certification.md/.html, journal.jsonl and a replay file per failure. "
            "With no arguments it certifies the bundled reference client. Exit 0: every contract "
            "holds; 1: a contract is broken; 2: bad input; 3: the harness itself failed or was "
            "interrupted (no verdict: the report says what failed)."
        ),
    )
    p.add_argument(
        "--client",
        metavar="CMD|module:factory",
        help="the client under test: a command speaking the adapter protocol, or an in-process Python factory (default: the bundled reference client)",
    )
    p.add_argument(
        "--policy",
        metavar="FILE",
        help="the client's policy YAML (required with --client; default: the reference client's)",
    )
    p.add_argument("--client-version", metavar="TEXT", help="the client's version, for the report")
    p.add_argument(
        "--profile",
        choices=PROFILES,
        default="standard",
        help="hypothesis examples per contract test: quick (4, no shrinking: CI regression runs), standard (10, the default), thorough (50)",
    )
    p.add_argument(
        "-n",
        dest="workers",
        default="auto",
        metavar="auto|N",
        help="parallel workers (default: auto, one per core)",
    )
    p.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPR",
        help="run only the contract tests whose names match EXPR (pytest -k syntax, e.g. 't1 or s1'); the report marks the rest 'not run'",
    )
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="run only shard K of N (a stable split; see 'mdm-harness matrix')",
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        default=DEFAULT_REPORT_DIR,
        help=f"report directory (default: ./{DEFAULT_REPORT_DIR})",
    )
    p.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="seed for every random draw (default: random, printed and in the report)",
    )
    p.set_defaults(func=_certify)

    m = subparsers.add_parser(
        "matrix",
        help="print a CI matrix of certify shards as JSON",
        description='Print the shards of a CI matrix as JSON ({"include": [{"shard": "1/N", ...}]}), for a CI engine\'s matrix strategy; each job runs \'mdm-harness certify --shard K/N\'.',
    )
    m.add_argument(
        "--shards", type=int, required=True, metavar="N", help=f"number of shards (1-{MAX_SHARDS})"
    )
    m.set_defaults(func=_matrix)

    r = subparsers.add_parser(
        "replay",
        help="run one failing case again from its replay file",
        description="Run the case in a replay file (written by certify under failures/) once more and print the verdict, the attempt timeline, the client's answer and the last lines of its stderr (password redacted). Exit 0 if the contract holds now, 1 if it is still broken, 3 if the harness failed.",
    )
    r.add_argument("file", metavar="FILE", help="a replay file")
    r.add_argument(
        "--client",
        metavar="CMD|module:factory",
        help="client to run (default: the one recorded in the file)",
    )
    r.add_argument(
        "--policy", metavar="FILE", help="policy (default: the one recorded in the file)"
    )
    r.set_defaults(func=_replay)

    rep = subparsers.add_parser("report", help="work with certification reports")
    rep_sub = rep.add_subparsers(dest="report_command", metavar="ACTION")
    merge = rep_sub.add_parser(
        "merge",
        help="merge shard reports into one",
        description="Merge the report directories of certify shards into one report (the same verdicts as one unsharded run).",
    )
    merge.add_argument("sources", nargs="+", metavar="DIR", help="shard report directories")
    merge.add_argument(
        "--output",
        "-o",
        metavar="DIR",
        default=DEFAULT_REPORT_DIR,
        help=f"where to write the merged report (default: ./{DEFAULT_REPORT_DIR})",
    )
    merge.set_defaults(func=_merge)
    d = rep_sub.add_parser(
        "diff",
        help="what broke, was fixed or changed between two reports",
        description=(
            "Compare two certification report directories (say, two releases of a client): the "
            "contracts and tests that broke, were fixed or changed, and the SHOULD contracts "
            "whose advice came or went (advice never fails the diff). Exit 1 when something "
            "broke, 0 otherwise, 2 when a directory is not a report."
        ),
    )
    d.add_argument("old", metavar="OLD", help="the earlier report directory")
    d.add_argument("new", metavar="NEW", help="the later report directory")
    d.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="plain text (default) or Markdown, e.g. for a CI comment",
    )
    d.set_defaults(func=_diff)
    rep.set_defaults(func=lambda args: (rep.print_help(sys.stderr), 2)[1])


def _certify(args: argparse.Namespace) -> int:
    from .runner import certify

    return certify(args)


def _matrix(args: argparse.Namespace) -> int:
    from harness.contracts.shards import matrix

    if not 1 <= args.shards <= MAX_SHARDS:
        raise UsageError(f"--shards {args.shards}: must be between 1 and {MAX_SHARDS}")
    try:
        print(json.dumps(matrix(args.shards)))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _replay(args: argparse.Namespace) -> int:
    import tempfile

    from harness.client.policy import PolicyError, load_policy
    from harness.client.runner import ClientSpec
    from harness.contracts.session import ContractHarness

    from .replay import ReplayError, load_replay

    try:
        data = load_replay(args.file)
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    client_text = args.client or data["client"]
    policy_path = args.policy or data["policy"]
    if not client_text or not policy_path:
        raise UsageError("the replay file names no client or policy; give --client and --policy")
    try:
        client = ClientSpec.parse(client_text)
        policy = load_policy(policy_path)
    except (ValueError, PolicyError, OSError) as exc:
        raise UsageError(str(exc)) from None
    case = data["case"]
    print(f"replaying {case.describe()} against {client} (seed {data['seed']})", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="mdm-harness-replay-") as tmp,
        ContractHarness(
            state_dir=Path(tmp), client=client, policy=policy, seed=data["seed"]
        ) as harness,
    ):
        observation = harness.run(case)
        print(replay_output(observation, harness.secrets))
    return 0 if observation.verdict.passed else 1


def replay_output(observation: Any, secrets: Sequence[str]) -> str:
    """What ``replay`` prints: the verdict, the timeline, the client's answer and stderr tail."""
    from harness._util import redact

    from .report import STDERR_LINES
    from .timeline import attempt_line

    outcome = observation.outcome
    verdict = observation.verdict
    word = "holds" if verdict.passed else "ADVICE" if verdict.advice else "BROKEN"
    lines = [f"{verdict.contract} {word}: {verdict.reason}"]
    lines += [f"  {line}" for line in verdict.evidence if not line.lstrip().startswith("+")]
    attempts = observation.journal.attempts
    if attempts:
        lines.append("timeline (per attempt: whether the request reached the MDM):")
        lines += [f"  {attempt_line(a, attempts[0].began)}" for a in attempts]
    answer = outcome.stdout.strip() or (
        f"(no answer: {outcome.crash_reason})" if outcome.crash_reason else "(nothing on stdout)"
    )
    lines += ["the client's answer:", *(f"  {line}" for line in answer.splitlines()[-40:])]
    tail = (
        outcome.stderr.rstrip("\n").splitlines()[-STDERR_LINES:] if outcome.stderr.strip() else []
    )
    if tail:
        lines += [f"the client's stderr (last {len(tail)} lines):", *(f"  {t}" for t in tail)]
    else:
        lines.append("the client wrote nothing to stderr")
    return redact("\n".join(lines), secrets)


def _merge(args: argparse.Namespace) -> int:
    from .report import ReportError, merge
    from .runner import print_summary

    sources = [Path(s) for s in args.sources]
    for source in sources:
        if not source.is_dir():
            raise UsageError(f"{source}: not a directory")
    try:
        report = merge(sources, Path(args.output))
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(
            f"--output: cannot write to {exc.filename or args.output}: {exc.strerror or exc}"
        ) from None
    print_summary(report, Path(args.output))
    return report.exit_code


def _diff(args: argparse.Namespace) -> int:
    from .diff import diff, load
    from .report import ReportError

    try:
        result = diff(load(Path(args.old)), load(Path(args.new)))
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(result.markdown() if args.format == "markdown" else result.text())
    return result.exit_code
