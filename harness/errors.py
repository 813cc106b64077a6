"""Errors every layer of the harness may raise, kept at the bottom so no layer imports upward."""

from __future__ import annotations

__all__ = ["HARNESS_ERROR_EXIT", "HarnessError", "UsageError"]

#: The exit code of a command whose run the harness itself could not complete (documented in
#: the README): distinct from 1 (a verdict: the client is broken) and 2 (bad input).
HARNESS_ERROR_EXIT = 3


class UsageError(Exception):
    """Bad arguments or input: the command line reports it as one line on stderr, exit code 2."""


class HarnessError(BaseException):
    """The harness itself failed - a dead proxy or MDM, a control-API failure, a report it cannot
    write, an interrupted run: an ERROR of the harness, never a verdict on the client.

    Like pytest's own outcomes it derives from :class:`BaseException`, so that neither hypothesis
    (which would shrink it as if it were the client's failure) nor an ``except Exception`` in
    the code under test swallows it. The contract suite reports it as a pytest *error*.
    """
