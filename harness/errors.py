"""Errors every layer of the harness may raise, kept at the bottom so no layer imports upward."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """Bad arguments or input: the command line reports it as one line on stderr, exit code 2."""
