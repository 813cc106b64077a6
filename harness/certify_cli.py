"""``mdm-harness certify`` and friends (placeholder until the certify issue lands)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "certify", help="certify a client against the contract suite (not built yet)"
    )
    p.set_defaults(func=_not_built)


def _not_built(args: argparse.Namespace) -> int:
    print("mdm-harness certify: not built yet (see the certify issue)", file=sys.stderr)
    return 2
