"""``policy infer``: the backoff fit, the reading of attempts, the rendered policy - pure, on
hand-made data - and, with ``-m gallery``, inference against the reference client, whose
shipped policy it must give back (within its jitter envelope)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from harness.attempt import Attempt, Sent, failure_of
from harness.client import REFERENCE_POLICY_PATH
from harness.client.infer import (
    Inference,
    Observation,
    Probe,
    _Field,
    fit_backoff,
    tries_of,
)
from harness.client.policy import Policy, load_policy, parse_policy
from harness.client.protocol import Outcome


def waits(bounds: list[tuple[float, float]], runs: int, seed: int) -> list[list[float]]:
    """``runs`` series of waits drawn uniformly within ``bounds``, plus a little noise."""
    rng = random.Random(seed)
    return [[rng.uniform(lo, hi) + rng.uniform(0, 0.01) for lo, hi in bounds] for _ in range(runs)]


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ([(1, 1), (2, 2), (4, 4)], {"model": "exponential", "initial_ms": 1000, "multiplier": 2}),
        (
            [(0, 0), (1, 1), (2, 2)],
            {"model": "exponential", "first": "immediate", "initial_ms": 1000},
        ),
        ([(0.5, 0.5), (0.5, 0.5), (0.5, 0.5)], {"model": "constant", "delay_ms": 500}),
        ([(1, 1), (2, 2), (3, 3)], {"model": "linear", "step_ms": 1000}),
        ([(0.3, 0.3), (1.7, 1.7), (0.9, 0.9)], {"model": "list", "delays_ms": [300, 1700, 900]}),
        ([(0, 0), (0, 0), (0, 0)], None),
    ],
)
def test_waits_fit_the_model_that_made_them(
    bounds: list[tuple[float, float]], expected: dict[str, object] | None
) -> None:
    fit = fit_backoff(waits(bounds, 6, seed=len(bounds)))
    if expected is None:
        assert fit.backoff is None
        return
    assert fit.backoff is not None, fit.note
    assert {k: fit.backoff.get(k) for k in expected} == expected, (fit.backoff, fit.note)


@pytest.mark.parametrize("seed", range(20))
def test_a_jittered_backoff_is_fitted_within_its_envelope(seed: int) -> None:
    """The reference client's waits (100 ms doubling, equal jitter), nine runs of two waits as
    the series probe takes them: the fitted envelope of each wait is the true one, within the
    tolerance the equivalence test allows."""
    truth = [(0.05, 0.1), (0.1, 0.2)]
    fit = fit_backoff(waits(truth, 9, seed=seed))
    assert fit.backoff is not None and fit.backoff.get("jitter") == "equal", fit
    policy = parse_policy(
        "schema: 2\ntimeout_ms: 1000\nmax_attempts: {mdminfo: 3, device: 3, noncompliant: 3, action: 1}\n"
        f"backoff: {json.dumps(fit.backoff)}\n"
    )
    for n, (lo, hi) in enumerate(truth, start=1):
        ilo, ihi = policy.backoff.bounds(n)
        assert abs(lo - ilo) <= 0.025 + 0.2 * lo and abs(hi - ihi) <= 0.025 + 0.2 * hi, (n, fit)


def test_jitter_is_seen_only_across_runs() -> None:
    """One run cannot show jitter; several that spread do, and full jitter is told from equal."""
    one = fit_backoff(waits([(0.0, 1.0), (0.0, 2.0)], 1, seed=3))
    assert one.backoff is not None and "jitter" not in one.backoff
    full = fit_backoff([[0.05, 0.1], [0.9, 1.9], [0.5, 0.2], [0.3, 1.2]])
    assert full.backoff is not None and full.backoff.get("jitter") == "full", full


def attempt(seq: int, began: float, **kw: object) -> Attempt:
    a = Attempt(seq=seq, start=began, end=kw.pop("end", began + 0.01), phase="complete")
    for key, value in kw.items():
        setattr(a, key, value)
    return a


def sent(status: int, *headers: tuple[str, str]) -> Sent:
    return Sent(status=status, headers=list(headers), announced=10, body_bytes=10)


def devices(seq: int, began: float, **kw: object) -> Attempt:
    return attempt(
        seq, began, method="GET", path="/7/ciscoise/v3/devices/", operation="devices", **kw
    )


def test_an_answered_challenge_is_one_try_and_a_retry_is_another() -> None:
    """wget: a 401 challenge to a request without credentials, answered, is part of the try;
    a 503 and the retry after it are two tries, the wait measured between them."""
    challenge = devices(
        2, 1.0, sent=sent(401, ("WWW-Authenticate", 'Basic realm="x"')), client_end="completed"
    )
    failed = devices(
        3,
        1.1,
        end=1.2,
        auth={"scheme": "Basic", "hash": "x"},
        sent=sent(503),
        client_end="completed",
    )
    again = devices(
        4, 2.2, auth={"scheme": "Basic", "hash": "x"}, sent=sent(200), client_end="completed"
    )
    probe = Probe("p", "p", "device", (), (), "devices")
    obs = Observation(
        probe,
        Outcome("ok", "device", result={"devices": []}, started=0.0, ended=3.0),
        (challenge, failed, again),
    )
    tries = tries_of(obs)
    assert [(t.kind, t.status) for t in tries] == [("status", 503), ("ok", 200)]
    assert tries[0].began == 1.0 and tries[1].began - tries[0].end == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"client_end": "tls_failed"}, "tls_error"),
        ({"phase": "connect", "client_end": "client_closed"}, "connect_timeout"),
        ({"phase": "connect", "client_end": "proxy_closed"}, "connect_closed"),
        ({"method": "GET", "client_end": "client_closed"}, "read_timeout"),
        ({"method": "GET", "client_end": "proxy_reset"}, "closed_before_response"),
        (
            {
                "method": "GET",
                "client_end": "proxy_closed",
                "sent": Sent(200, announced=100, body_bytes=20),
            },
            "closed_mid_response",
        ),
        ({"method": "GET", "client_end": "completed", "sent": sent(503)}, "status"),
    ],
)
def test_an_attempt_fails_as_the_wire_shows(fields: dict[str, object], kind: str) -> None:
    a = Attempt(seq=1, start=0.0, end=1.0, phase="complete" if "method" in fields else "connect")
    for key, value in fields.items():
        setattr(a, key, value)
    assert failure_of(a)[0] == kind


def test_the_rendered_policy_parses_and_says_why() -> None:
    inference = Inference(
        timeout_ms=_Field(1000, ["a hang: given up after 1.00 s"]),
        max_attempts={
            op: _Field(3, ["503 on every attempt: 3 attempts"])
            for op in ("mdminfo", "device", "noncompliant", "action")
        },
        retry={
            "lookups": {
                "failures": _Field(["read_timeout"], ["read_timeout: retried"]),
                "statuses": _Field([503]),
            },
            "actions": {"failures": _Field([]), "statuses": _Field([])},
        },
        backoff=_Field(
            {"model": "exponential", "initial_ms": 100, "multiplier": 2.0, "cap_ms": 200},
            ["waits 0.10, 0.20 s"],
        ),
        retry_after=_Field(None, ["Retry-After: ignored"]),
        resend=_Field(None, ["no silent resend was seen"]),
        discovery=_Field({"versions": [3]}, ["discovery 401: asked version 3"]),
    )
    text = inference.render(client="demo")
    policy = inference.policy()
    assert "# waits 0.10, 0.20 s\nbackoff:" in text
    assert policy.max_attempts_for("device") == 3 and policy.retries("read_timeout")
    assert not policy.retries(status=503, operation="action")


# ---------------------------------------------------------------------------- equivalence


def delay_envelope(policy: Policy, n: int) -> tuple[float, float]:
    return policy.backoff.bounds(n)


def equivalent(shipped: Policy, inferred: Policy) -> list[str]:
    """Where ``inferred`` describes a different behaviour than ``shipped`` - as far as the
    probes can see it: attempts, retry sets, the waits of the retries that happen (within the
    jitter envelope, 25 ms + 20 % of slack), Retry-After, discovery."""
    problems = []
    for op in ("mdminfo", "device", "noncompliant", "action"):
        if shipped.max_attempts_for(op) != inferred.max_attempts_for(op):
            problems.append(
                f"max_attempts.{op}: {inferred.max_attempts_for(op)} != {shipped.max_attempts_for(op)}"
            )
    for cls in ("lookups", "actions"):
        a, b = shipped.retry.of(cls), inferred.retry.of(cls)
        if a.failures != b.failures or a.statuses != b.statuses:
            problems.append(f"retry.{cls}: {b!r} != {a!r}")
    if abs(shipped.timeout_ms - inferred.timeout_ms) > 100:
        problems.append(f"timeout_ms: {inferred.timeout_ms} != {shipped.timeout_ms}")
    for n in range(1, shipped.max_attempts_for("device")):
        (lo, hi), (ilo, ihi) = delay_envelope(shipped, n), delay_envelope(inferred, n)
        if abs(lo - ilo) > 0.025 + 0.2 * lo or abs(hi - ihi) > 0.025 + 0.2 * hi:
            problems.append(
                f"wait before retry {n}: {ilo:.3f}-{ihi:.3f} s, shipped {lo:.3f}-{hi:.3f} s"
            )
    ra, ira = shipped.retry_after, inferred.retry_after
    if (ra.statuses, ra.beyond_cap, ra.zero) != (ira.statuses, ira.beyond_cap, ira.zero):
        problems.append(f"retry_after: {ira!r} != {ra!r}")
    d, idisc = shipped.discovery, inferred.discovery
    asked = d.versions[: 1 + d.max_fallbacks]
    if (asked, d.fallback_on) != (idisc.versions[: 1 + idisc.max_fallbacks], idisc.fallback_on):
        problems.append(f"discovery: {idisc!r} != {d!r}")
    return problems


def test_equivalence_bites() -> None:
    """The comparison sees a changed attempt count, retry set, wait and Retry-After handling."""
    shipped = load_policy(REFERENCE_POLICY_PATH)
    assert equivalent(shipped, shipped) == []
    text = Path(REFERENCE_POLICY_PATH).read_text(encoding="utf-8")
    for old, new in [
        ("device: 3", "device: 4"),
        ("statuses: [429, 502, 503, 504]", "statuses: [429, 503, 504]"),
        ("initial_ms: 100", "initial_ms: 300"),
        ("zero: now", "zero: backoff"),
    ]:
        assert old in text, old
        assert equivalent(shipped, parse_policy(text.replace(old, new))), new


@pytest.mark.gallery
def test_infer_gives_back_the_reference_clients_policy(tmp_path: Path) -> None:
    from harness.certify.infer import infer_policy
    from harness.client.runner import ClientSpec

    lines: list[str] = []
    inference = infer_policy(
        ClientSpec.reference(), timeout_ms=1000, state_dir=tmp_path, log=lines.append
    )
    inferred = inference.policy()
    problems = equivalent(load_policy(REFERENCE_POLICY_PATH), inferred)
    assert not problems, "\n".join([*problems, inference.render(), *lines])
