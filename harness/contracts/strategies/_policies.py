"""Random valid client policies in the policy language (schema 2), for property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from harness.client.policy import AFTER_SEND, BEFORE_SEND, Policy, parse_policy

#: Statuses a drawn policy may retry, and those it may retry only with a Retry-After.
_STATUSES = (408, 429, 500, 502, 503, 504)
_IF_RETRY_AFTER = (413, 429, 503)


def _flow(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return str(value)


@st.composite
def policy_texts(
    draw: st.DrawFn,
    *,
    min_timeout_ms: int = 200,
    max_timeout_ms: int = 400,
    max_delay_ms: int = 150,
    max_attempts: int = 3,
) -> str:
    """The YAML of a random valid schema-2 policy (see :func:`policies`)."""
    if not 1 <= min_timeout_ms <= max_timeout_ms:
        raise InvalidArgument(
            f"min_timeout_ms={min_timeout_ms!r}, max_timeout_ms={max_timeout_ms!r}"
        )
    if max_delay_ms < 0 or max_attempts < 1:
        raise InvalidArgument(f"max_delay_ms={max_delay_ms!r}, max_attempts={max_attempts!r}")
    attempts = st.integers(1, max_attempts)
    lines = [
        "schema: 2",
        f"timeout_ms: {draw(st.integers(min_timeout_ms, max_timeout_ms), label='timeout_ms')}",
        "max_attempts: "
        + _flow(
            {
                "mdminfo": draw(attempts),
                "device": draw(attempts),
                "noncompliant": draw(attempts),
                "action": draw(st.integers(1, min(2, max_attempts))),
            }
        ),
    ]
    lookups = {
        "failures": sorted(
            draw(st.sets(st.sampled_from(sorted(BEFORE_SEND | AFTER_SEND | {"parse_error"}))))
        ),
        "statuses": sorted(draw(st.sets(st.sampled_from(_STATUSES)))),
        "if_retry_after": sorted(draw(st.sets(st.sampled_from(_IF_RETRY_AFTER), max_size=2))),
    }
    # An action may be re-sent only when it provably never left: a baseline rule, so a
    # policy a client can follow exactly says no more than that for actions.
    actions = {"failures": sorted(draw(st.sets(st.sampled_from(sorted(BEFORE_SEND)))))}
    retry = {k: v for k, v in (("lookups", lookups), ("actions", actions)) if any(v.values())}
    if retry:
        lines.append(
            "retry: " + _flow({k: {f: v for f, v in s.items() if v} for k, s in retry.items()})
        )
    delay = st.integers(0, max_delay_ms)
    jitter = draw(st.sampled_from(["none", "full", "equal"]))
    model = draw(st.sampled_from(["exponential", "linear", "constant", "list", None]))
    if model == "exponential":
        initial = draw(delay)
        backoff: dict[str, Any] = {
            "model": model,
            "initial_ms": initial,
            "multiplier": draw(st.sampled_from([1, 1.5, 2, 3])),
            "cap_ms": draw(st.integers(initial, max(initial, max_delay_ms))),
            "first": draw(st.sampled_from(["backoff", "immediate"])),
        }
    elif model == "linear":
        step = draw(delay)
        backoff = {
            "model": model,
            "step_ms": step,
            "cap_ms": draw(st.integers(step, max(step, max_delay_ms))),
        }
    elif model == "constant":
        backoff = {"model": model, "delay_ms": draw(delay)}
    elif model == "list":
        backoff = {"model": model, "delays_ms": draw(st.lists(delay, min_size=1, max_size=3))}
    else:
        backoff = {}
    if backoff:
        lines.append("backoff: " + _flow({**backoff, "jitter": jitter}))
    honoured = draw(
        st.one_of(
            st.just("any"), st.lists(st.sampled_from((429, 503, 500, 413)), unique=True, max_size=3)
        )
    )
    if honoured:
        lines.append(
            "retry_after: "
            + _flow(
                {
                    "statuses": honoured,
                    "cap_ms": draw(st.sampled_from([0, 500, 1500, "unlimited"])),
                    "beyond_cap": draw(st.sampled_from(["give_up", "clamp"])),
                    "zero": draw(st.sampled_from(["now", "backoff"])),
                }
            )
        )
    if draw(st.booleans()):
        resend: dict[str, Any] = {"max": 1}
        lookups_resend = sorted(
            draw(
                st.sets(
                    st.sampled_from(["connect_refused", "connect_closed", "closed_before_response"])
                )
            )
        )
        actions_resend = sorted(
            draw(st.sets(st.sampled_from(["connect_refused", "connect_closed"])))
        )
        if lookups_resend:
            resend["lookups"] = lookups_resend
        if actions_resend:
            resend["actions"] = actions_resend
        if len(resend) > 1:
            lines.append("resend: " + _flow(resend))
    lines.append("discovery: {versions: [3, 2, 1], fallback_on: [401], max_fallbacks: 1}")
    return "\n".join(lines) + "\n"


@st.composite
def policies(
    draw: st.DrawFn,
    *,
    min_timeout_ms: int = 200,
    max_timeout_ms: int = 400,
    max_delay_ms: int = 150,
    max_attempts: int = 3,
) -> Policy:
    """Random valid policies in the language of ``docs/clients.md`` (schema 2): any retry sets
    for lookups (kinds, statuses, statuses with ``Retry-After``), actions re-sent only before
    they left (the baseline), any backoff model and jitter, any ``Retry-After`` handling, a
    resend or none. Timeouts and delays stay small (``min_timeout_ms``..``max_timeout_ms``,
    delays up to ``max_delay_ms``) so that a live run of the cases is quick.

    Each is drawn as YAML and parsed, so it is valid by construction of the validator itself.
    Shrinks towards a policy that retries nothing, with the shortest timeout.
    """
    text = draw(
        policy_texts(
            min_timeout_ms=min_timeout_ms,
            max_timeout_ms=max_timeout_ms,
            max_delay_ms=max_delay_ms,
            max_attempts=max_attempts,
        )
    )
    return parse_policy(text, source="<drawn policy>")
