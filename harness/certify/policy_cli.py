"""Subcommands: ``policy check`` and ``policy infer``.

``policy infer`` runs probes against the reference MDM and the fault proxy, so it lives in the
layer that may start them (``harness.certify``), beside ``certify``; ``policy check`` is here
with it so that the group stays one. Only argparse is imported at the top.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import UsageError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``policy`` group: ``check`` and ``infer``."""
    group = subparsers.add_parser(
        "policy",
        help="check a client policy file, or infer the policy a client actually follows",
        description="Client policies (docs/clients.md): check a file, or infer one from a client.",
    )
    actions = group.add_subparsers(dest="policy_command", metavar="ACTION")

    def usage(args: argparse.Namespace) -> int:
        group.print_help(sys.stderr)
        return 2

    group.set_defaults(func=usage)

    check = actions.add_parser(
        "check",
        help="validate policy files (exit 1 on any error)",
        description="Parse each policy file as certify would and print its meaning, or one "
        "line per bad file: FILE:LINE: FIELD: PROBLEM. Exit 1 if any file is bad.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="policy YAML files")
    check.set_defaults(func=_check)

    infer = actions.add_parser(
        "infer",
        help="probe a client and write the policy it actually follows",
        description=(
            "Run a bounded set of probes (about 40 runs of the client, each under one fault "
            "scenario, against the reference MDM behind the fault proxy) and write the schema-2 "
            "policy the client follows - timeout, attempts, retry sets per failure kind, status "
            "and operation class, the backoff fitted to the measured waits, Retry-After, "
            "silent resends, discovery - each field with its evidence as a comment. About 1.5 "
            "minutes for a quick client; a client that waits seconds between retries takes "
            "several minutes. Exit 0 once written, 2 for bad input."
        ),
    )
    infer.add_argument(
        "--client",
        required=True,
        metavar="CMD|module:factory",
        help="the client: a command speaking the adapter protocol, or an in-process factory",
    )
    infer.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="where to write the policy (default: stdout)",
    )
    infer.add_argument(
        "--timeout-ms",
        type=int,
        default=1000,
        metavar="N",
        help="MDM_TIMEOUT_MS passed to the client (default: 1000); the timeout it really "
        "applies is measured",
    )
    infer.add_argument(
        "--budget-s",
        type=float,
        default=60.0,
        metavar="S",
        help="the longest one probe may run before the client is killed (default: 60)",
    )
    infer.add_argument(
        "--quiet", action="store_true", help="do not print each probe's result on stderr"
    )
    infer.set_defaults(func=_infer)


def _check(args: argparse.Namespace) -> int:
    from harness.client.policy import PolicyError, load_policy

    bad = 0
    for name in args.files:
        try:
            policy = load_policy(name)
        except PolicyError as exc:
            print(str(exc), file=sys.stderr)
            bad += 1
            continue
        print(f"{name}: {policy!r}")
    return 1 if bad else 0


def _client(text: str) -> object:
    from harness.certify.runner import check_client

    return check_client(text)


def _infer(args: argparse.Namespace) -> int:
    if not 1 <= args.timeout_ms <= 600_000:
        raise UsageError(f"--timeout-ms={args.timeout_ms}: expected 1 to 600000")
    if not 5 <= args.budget_s <= 3600:
        raise UsageError(f"--budget-s={args.budget_s:g}: expected 5 to 3600")
    spec = _client(args.client)
    if args.out is not None and not args.out.parent.is_dir():
        raise UsageError(f"--out: {str(args.out.parent)!r} is not a directory")

    from harness.client.runner import ClientSpec

    from .infer import infer_policy

    assert isinstance(spec, ClientSpec)
    log = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    inference = infer_policy(spec, timeout_ms=args.timeout_ms, budget_s=args.budget_s, log=log)
    text = inference.render(client=args.client)
    inference.policy(client=args.client)  # the harness's own check: what it writes parses
    if args.out is None:
        sys.stdout.write(text)
    else:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.out)
        print(
            f"policy infer: wrote {args.out} ({inference.runs} runs, {inference.seconds:.0f} s)",
            file=sys.stderr,
        )
    return 0
