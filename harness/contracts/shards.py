"""Shards of the contract suite: ``K/N`` picks every N-th test of a stable order.

The order is by test file name and test name (parameters included), so it is the same on
every machine whatever the checkout or install path; shard ``K`` takes the tests at positions
``K-1, K-1+N, ...``. The N shards together run each test exactly once, and their sizes differ
by at most one. Round-robin over the sorted names also spreads the expensive families (the
parametrized hang cases sit next to each other) across shards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``total``."""

    index: int
    total: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"`` -> ``Shard(2, 3)``; :class:`ValueError` with a one-line reason otherwise."""
        match = _SPEC.match(text)
        if not match:
            raise ValueError(f"shard {text!r} is not K/N (e.g. 2/3)")
        index, total = int(match.group(1)), int(match.group(2))
        if total < 1:
            raise ValueError(f"shard {text!r}: N must be at least 1")
        if not 1 <= index <= total:
            raise ValueError(f"shard {text!r}: K must be between 1 and N={total}")
        return cls(index, total)

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def select(self, items: Sequence[T], key: Callable[[T], str]) -> tuple[list[T], list[T]]:
        """``(kept, dropped)``: this shard's items of ``items``, in their original order."""
        ordered = sorted(range(len(items)), key=lambda i: key(items[i]))
        mine = {i for rank, i in enumerate(ordered) if rank % self.total == self.index - 1}
        kept = [item for i, item in enumerate(items) if i in mine]
        dropped = [item for i, item in enumerate(items) if i not in mine]
        return kept, dropped


def matrix(total: int) -> dict[str, list[dict[str, object]]]:
    """The CI matrix for ``total`` shards, in the ``{"include": [...]}`` form matrix strategies take."""
    if total < 1:
        raise ValueError(f"--shards {total}: must be at least 1")
    return {
        "include": [
            {"shard": f"{k}/{total}", "index": k, "total": total} for k in range(1, total + 1)
        ]
    }
