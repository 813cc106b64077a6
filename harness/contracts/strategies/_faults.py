"""Fault schedules: per-attempt sequences of faults, in the scenario schema of ``docs/scenarios.md``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

#: Failures a client may declare retryable, one per phase x termination family: an HTTP status
#: the proxy answers itself, a FIN or an RST instead of an answer, a 429 with Retry-After 0.
RETRYABLE_STEPS: tuple[Any, ...] = (
    "status_503",
    "status_502",
    "status_504",
    "reset",
    "close",
    {"kind": "retry_after", "status": 429, "retry_after_s": 0},
)

#: Failures no client may retry (T3): client errors.
FINAL_STEPS: tuple[str, ...] = ("status_400", "status_401", "status_403", "status_404")


def _step_name(step: Any) -> str:
    return step if isinstance(step, str) else f"{step['kind']}_{step.get('status', '')}".rstrip("_")


@st.composite
def fault_schedules(
    draw: st.DrawFn,
    *,
    steps: Sequence[Any] = RETRYABLE_STEPS,
    min_size: int = 0,
    max_size: int = 3,
    then_pass: bool = True,
) -> list[Any]:
    """A per-attempt sequence: ``min_size``..``max_size`` faults drawn from ``steps``, then ``pass``.

    Each entry is what a scenario's ``schedule.sequence`` takes (a fault name such as
    ``status_503`` or ``reset``, or an inline fault mapping). With ``then_pass`` the list ends
    in ``"pass"`` (the next attempt gets through); without, attempts pass only once the list
    is used up. Shrinks towards fewer faults and towards the first of ``steps``.
    """
    if min_size < 0 or max_size < min_size:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"min_size={min_size!r}, max_size={max_size!r} is not a range")
    if not steps:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument("steps=() leaves nothing to draw")
    faults = draw(st.lists(st.sampled_from(list(steps)), min_size=min_size, max_size=max_size))
    return [*faults, "pass"] if then_pass else faults


def describe_schedule(schedule: Sequence[Any]) -> str:
    """``status_503, reset, pass`` - a schedule in one line, for case titles."""
    return ", ".join(_step_name(s) for s in schedule)
