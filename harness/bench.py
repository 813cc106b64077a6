"""``mdm-harness bench`` (placeholder until the bench issue lands)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Nothing yet."""
