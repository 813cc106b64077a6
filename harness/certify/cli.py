"""Subcommands: ``certify``, ``matrix``, ``replay`` and ``report merge``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.errors import UsageError


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
            "holds; 1: a contract is broken; 2: bad input."
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
    m.add_argument("--shards", type=int, required=True, metavar="N", help="number of shards")
    m.set_defaults(func=_matrix)

    r = subparsers.add_parser(
        "replay",
        help="run one failing case again from its replay file",
        description="Run the case in a replay file (written by certify under failures/) once more and print the verdict. Exit 0 if the contract holds now, 1 if it is still broken.",
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
    rep.set_defaults(func=lambda args: (rep.print_help(sys.stderr), 2)[1])


def _certify(args: argparse.Namespace) -> int:
    from .runner import certify

    return certify(args)


def _matrix(args: argparse.Namespace) -> int:
    from harness.contracts.shards import matrix

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
    print(observation.verdict.report())
    return 0 if observation.verdict.passed else 1


def _merge(args: argparse.Namespace) -> int:
    from .report import merge
    from .runner import print_summary

    sources = [Path(s) for s in args.sources]
    for source in sources:
        if not source.is_dir():
            raise UsageError(f"{source}: not a directory")
    try:
        report = merge(sources, Path(args.output))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print_summary(report, Path(args.output))
    return 0 if report.ok else 1
