"""Fault schedules: per-attempt sequences of faults (:class:`harness.scenario.FaultSpec`
records, ``None`` where an attempt gets through), as a scenario's ``schedule.sequence`` holds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hypothesis import strategies as st

from harness.client.policy import NEVER_RETRIED, Policy, category_of
from harness.faults.connect_refuse import ConnectRefuse
from harness.faults.partial import Partial
from harness.faults.respond import Respond
from harness.faults.retry_after import RetryAfter
from harness.scenario import FaultSpec, fault_named

#: Failures a client may declare retryable, one per phase x termination family: an HTTP status
#: the proxy answers itself, a FIN or an RST instead of an answer, a 429 with Retry-After 0.
RETRYABLE_STEPS: tuple[FaultSpec, ...] = (
    *(fault_named(name) for name in ("status_503", "status_502", "status_504", "reset", "close")),
    FaultSpec("retry_after", RetryAfter(status=429, retry_after_s=0)),
)

#: Failures no client may retry (T3): client errors.
FINAL_STEPS: tuple[str, ...] = ("status_400", "status_401", "status_403", "status_404")


def _step_name(step: FailureStep | FaultSpec | None) -> str:
    if step is None:
        return "pass"
    if isinstance(step, FailureStep):
        return step.name
    status = getattr(step.fault, "status", None)
    return step.name or (step.kind if status is None else f"{step.kind}_{status}")


@st.composite
def fault_schedules(
    draw: st.DrawFn,
    *,
    steps: Sequence[FaultSpec] = RETRYABLE_STEPS,
    min_size: int = 0,
    max_size: int = 3,
    then_pass: bool = True,
) -> list[FaultSpec | None]:
    """A per-attempt sequence: ``min_size``..``max_size`` faults drawn from ``steps``, then a pass.

    Each entry is what a scenario's ``schedule.sequence`` holds (a fault, or ``None``: the
    attempt gets through). With ``then_pass`` the list ends in ``None`` (the next attempt gets
    through); without, attempts pass only once the list is used up. Shrinks towards fewer
    faults and towards the first of ``steps``.
    """
    if min_size < 0 or max_size < min_size:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"min_size={min_size!r}, max_size={max_size!r} is not a range")
    if not steps:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument("steps=() leaves nothing to draw")
    faults: list[FaultSpec | None] = draw(
        st.lists(st.sampled_from(list(steps)), min_size=min_size, max_size=max_size)
    )
    return [*faults, None] if then_pass else faults


def describe_schedule(schedule: Sequence[FailureStep | FaultSpec | None]) -> str:
    """``status_503, reset, pass`` - a schedule in one line, for case titles."""
    return ", ".join(_step_name(s) for s in schedule)


# ------------------------------------------------------------------------------------ from a policy


@dataclass(frozen=True)
class FailureStep:
    """One failure a scenario can inject on one attempt, and what the wire shows of it.

    ``fault`` is a ``schedule.sequence`` entry; ``level`` says where the rule sits:
    ``connection`` (the CONNECT phase, before any request: it hits whatever request the client
    is making - discovery first) or ``request`` (the response phase of the target operation).
    ``kind`` is the policy language's failure kind, or ``"status"`` with ``status``.
    """

    name: str
    fault: FaultSpec
    level: Literal["connection", "request"]
    kind: str
    status: int | None = None
    #: A hang: the client's timeout decides when it ends.
    slow: bool = False
    #: The ``Retry-After`` (seconds) the answer carries, if any.
    retry_after_s: int | None = None

    @property
    def category(self) -> str:
        """The error category a client reports for this failure when it gives up."""
        if self.kind != "status":
            return category_of(self.kind)
        assert self.status is not None
        if self.status in (401, 403):
            return "unauthorized"
        if self.status == 404:
            return "not_found"
        if self.status == 429 or self.status >= 500:
            return "server_error"
        return "protocol_error"


#: Failures before any request, one per kind (the CONNECT phase).
CONNECTION_STEPS: tuple[FailureStep, ...] = (
    FailureStep(
        "connect_refused",
        FaultSpec("connect_refuse", ConnectRefuse(status=502)),
        "connection",
        "connect_refused",
    ),
    FailureStep("connect_closed", fault_named("close"), "connection", "connect_closed"),
    FailureStep("connect_reset", fault_named("reset"), "connection", "connect_closed"),
    FailureStep("connect_timeout", fault_named("hang"), "connection", "connect_timeout", slow=True),
)

#: Failures after the request reached the MDM, one per kind (the response phase).
REQUEST_STEPS: tuple[FailureStep, ...] = (
    FailureStep(
        "closed_before_response", fault_named("close"), "request", "closed_before_response"
    ),
    FailureStep("reset_before_response", fault_named("reset"), "request", "closed_before_response"),
    FailureStep(
        "closed_mid_response",
        FaultSpec("partial", Partial(bytes=20, then="close")),
        "request",
        "closed_mid_response",
    ),
    FailureStep("parse_error", fault_named("xml_truncate"), "request", "parse_error"),
    FailureStep("read_timeout", fault_named("hang"), "request", "read_timeout", slow=True),
)

#: Statuses a policy may or may not retry (the baseline's 400/401/403/404 are never retried).
STATUS_CANDIDATES: tuple[int, ...] = (503, 502, 504, 429, 500, 408, 501)


def status_step(status: int, *, retry_after_s: int | None = None) -> FailureStep:
    """An answer with ``status`` (and a ``Retry-After`` of ``retry_after_s`` seconds)."""
    if retry_after_s is None:
        name = f"status_{status}"
        return FailureStep(name, fault_named(name), "request", "status", status)
    headers = (("Retry-After", str(retry_after_s)), ("Content-Type", "application/xml"))
    fault = FaultSpec("respond", Respond(status=status, headers=headers))
    return FailureStep(
        f"status_{status}_retry_after_{retry_after_s}",
        fault,
        "request",
        "status",
        status,
        retry_after_s=retry_after_s,
    )


def _recovers(policy: Policy, operation: str, step: FailureStep) -> bool:
    if step.kind == "status":
        assert step.status is not None
        return step.status not in NEVER_RETRIED and policy.retries(
            status=step.status,
            operation=operation,
            retry_after=step.retry_after_s is not None,
        )
    return policy.retries(step.kind, operation)


def policy_steps(
    policy: Policy,
    *,
    operation: str = "device",
    level: Literal["connection", "request"] = "request",
    retried: bool = True,
) -> list[FailureStep]:
    """The failures at ``level`` that ``policy`` retries for ``operation`` (``retried=False``:
    those it does not). Hangs come only when nothing quicker qualifies (each costs a timeout).
    Connection-level failures hit discovery first, so they are judged for ``mdminfo``."""
    op = "mdminfo" if level == "connection" else operation
    if level == "connection":
        pool = list(CONNECTION_STEPS)
    else:
        pool = list(REQUEST_STEPS) + [status_step(s) for s in STATUS_CANDIDATES]
        if retried:
            rules = policy.retry.of(op)
            extra = sorted((rules.statuses | rules.if_retry_after) - NEVER_RETRIED)
            known = {s.status for s in pool}
            pool += [status_step(s, retry_after_s=0) for s in extra if s not in known]
            pool += [
                status_step(s, retry_after_s=0)
                for s in sorted(rules.if_retry_after - rules.statuses - NEVER_RETRIED)
            ]
    chosen = [s for s in pool if _recovers(policy, op, s) == retried]
    if not retried:
        # not even a silent resend may recover it: the outcome is then certain
        chosen = [s for s in chosen if s.kind == "status" or not policy.resends(s.kind, op)]
    quick = [s for s in chosen if not s.slow]
    return quick or chosen


@st.composite
def policy_schedules(
    draw: st.DrawFn,
    policy: Policy,
    *,
    operation: str = "device",
    level: Literal["connection", "request"] = "request",
    min_failures: int = 1,
    max_failures: int = 2,
) -> list[FailureStep]:
    """Failures ``policy`` retries for ``operation``, as many as its attempts allow (at most
    ``max_failures``; none when it retries nothing). The next attempt is expected to pass, so a
    correct client reports ``ok``. Shrinks towards fewer failures and the first kind."""
    if min_failures < 0 or max_failures < min_failures:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"min_failures={min_failures!r}, max_failures={max_failures!r}")
    op = "mdminfo" if level == "connection" else operation
    steps = policy_steps(policy, operation=operation, level=level)
    budget = min(max_failures, policy.max_attempts_for(op) - 1)
    if not steps or budget < 1:
        return []
    return draw(
        st.lists(st.sampled_from(steps), min_size=min(min_failures, budget), max_size=budget)
    )
