"""The ``mdm-harness`` command line.

Each group of subcommands lives beside the code it drives and exposes
``register(subparsers)``; this module only assembles them, so ``mdm-harness --help`` stays
fast (heavy imports happen inside the handlers).

Exit codes: 0 success, 1 a verdict or check failed, 2 bad usage or bad input (nothing started),
3 the harness itself failed (a dead proxy or MDM, a report it cannot write, an interruption):
no verdict.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harness import __version__
from harness.errors import HARNESS_ERROR_EXIT, HarnessError, UsageError

#: Modules contributing subcommands, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "harness.certify.cli",
    "harness.certify.server_cli",
    "harness.certify.policy_cli",
    "harness.mdm.cli",
    "harness.proxy.cli",
    "harness.client.cli",
    "harness.bench.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mdm-harness",
        description=(
            "Fault-injection harness and contract-test suite for clients of the Cisco ISE MDM API."
        ),
    )
    parser.add_argument("--version", action="version", version=f"mdm-harness {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except UsageError as exc:
        print(f"mdm-harness {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except HarnessError as exc:
        print(f"mdm-harness {args.command}: ERROR (harness): {exc}", file=sys.stderr)
        return HARNESS_ERROR_EXIT
    except KeyboardInterrupt:
        print(f"mdm-harness {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
