"""The client policy, schema 1: parsing (with file, line and field in every error), the value
object, and the backoff arithmetic - all without sleeping. ``LEGACY`` is the reference client's
policy as it was written before schema 2: every schema-1 file keeps meaning what it meant.
(Schema 2 is tested in ``test_policy_v2.py``.)"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from harness.client.policy import (
    Backoff,
    Discovery,
    Policy,
    PolicyError,
    RetryAfter,
    load_policy,
    parse_policy,
)

#: The reference policy as shipped until schema 2 (a schema-1 file, kept to pin its meaning).
SCHEMA1_REFERENCE = """\
# The reference client's policy: what it promises, and what it runs on.
# Values are chosen so that the contract suite stays fast while the behaviour stays realistic
# (ISE's own device-compliance timeout is far longer; see docs/clients.md).

# Per-request timeout. The harness passes this as MDM_TIMEOUT_MS.
timeout_ms: 1000

# Attempts per request of each operation (1 = never retried). An action is re-sent only when
# the first attempt provably never reached the server (connect, CONNECT or TLS failure).
max_attempts:
  mdminfo: 3
  device: 3
  noncompliant: 3
  action: 2

# What is retried: transport failures by category, HTTP answers by status.
retry:
  categories: [timeout, connection_error]
  statuses: [429, 502, 503, 504]

# Wait before retry n: min(cap_ms, initial_ms * multiplier^(n-1)), "equal" jitter = [half, whole].
backoff:
  initial_ms: 100
  multiplier: 2
  cap_ms: 1000
  jitter: equal

# Retry-After on a retried 429/503 decides the wait; longer than cap_ms ends the retries.
retry_after:
  honour: true
  cap_ms: 2000

# Discovery asks v3 first; a 401 is retried once at v2 (what ISE does in the seed's scenario 3).
discovery:
  versions: [3, 2, 1]
  fallback_on: [401]
  max_fallbacks: 1

# Paging guards: at most this many pages per listing; server_busy_wait_seconds honoured up to
# busy_wait_cap_ms before the next page.
paging:
  max_pages: 1000
  busy_wait_cap_ms: 2000
"""
REFERENCE_POLICY = parse_policy(SCHEMA1_REFERENCE, source="schema1-reference.yaml")

MINIMAL = """\
timeout_ms: 500
max_attempts: {mdminfo: 1, device: 1, noncompliant: 1, action: 1}
"""


def test_reference_policy_repr_is_pinned() -> None:
    assert repr(REFERENCE_POLICY) == (
        "Policy(1000ms attempts[mdminfo=3,device=3,noncompliant=3,action=2] "
        "RetryRule(timeout,connection_error | 429,502,503,504) "
        "Backoff(100ms x2 cap 1000ms jitter=equal) RetryAfter(honour cap 2000ms) "
        "Discovery(v3,2,1 fallback on 401 max 1) Paging(max 1000 pages, busy wait cap 2000ms))"
    )


def test_reference_policy_queries() -> None:
    policy = REFERENCE_POLICY
    assert policy.source == "schema1-reference.yaml" and policy.schema == 1
    assert policy.timeout_s == 1.0
    assert [
        policy.max_attempts_for(op) for op in ("mdminfo", "device", "noncompliant", "action")
    ] == [
        3,
        3,
        3,
        2,
    ]
    assert policy.retries(category="timeout") and policy.retries(category="connection_error")
    assert not policy.retries(category="tls_error") and not policy.retries(category="parse_error")
    assert policy.retries(status=503) and policy.retries(status=429)
    assert not policy.retries(status=500) and not policy.retries(status=401)
    assert policy.retry_after_honoured and policy.retry_after_cap_s == 2.0
    assert policy.discovery.versions == (3, 2, 1)
    assert policy.discovery.falls_back_on(401) and not policy.discovery.falls_back_on(404)
    assert policy.paging.max_pages == 1000 and policy.paging.busy_wait_cap_ms == 2000


def test_minimal_policy_defaults_are_conservative() -> None:
    policy = parse_policy(MINIMAL)
    assert repr(policy) == (
        "Policy(500ms attempts[mdminfo=1,device=1,noncompliant=1,action=1] RetryRule(- | -) "
        "Backoff(0ms x1 cap 0ms jitter=none) RetryAfter(ignored) Discovery(v3 fallback on - max 0) "
        "Paging(max 1000 pages, busy wait cap 0ms))"
    )
    assert not policy.retries(category="timeout")
    assert not policy.discovery.falls_back_on(401)


def test_policy_is_immutable_and_hashable() -> None:
    policy = REFERENCE_POLICY
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.timeout_ms = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.max_attempts["device"] = 9  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.backoff.cap_ms = 1  # type: ignore[misc]
    assert hash(policy) == hash(parse_policy(SCHEMA1_REFERENCE))
    changed = policy.replace(timeout_ms=250)
    assert changed.timeout_ms == 250 and policy.timeout_ms == 1000 and changed != policy


def test_query_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        REFERENCE_POLICY.retries()
    with pytest.raises(ValueError, match="exactly one"):
        REFERENCE_POLICY.retries(category="timeout", status=503)
    with pytest.raises(ValueError, match="operation='sendmessage'"):
        REFERENCE_POLICY.max_attempts_for("sendmessage")
    with pytest.raises(ValueError, match="max_attempts lacks action"):
        Policy(timeout_ms=1, max_attempts={"mdminfo": 1, "device": 1, "noncompliant": 1})


# ------------------------------------------------------------------------------ backoff


@pytest.mark.parametrize(
    ("jitter", "expected"),
    [
        ("none", [(0.1, 0.1), (0.2, 0.2), (0.4, 0.4), (0.8, 0.8), (1.0, 1.0), (1.0, 1.0)]),
        ("full", [(0.0, 0.1), (0.0, 0.2), (0.0, 0.4), (0.0, 0.8), (0.0, 1.0), (0.0, 1.0)]),
        ("equal", [(0.05, 0.1), (0.1, 0.2), (0.2, 0.4), (0.4, 0.8), (0.5, 1.0), (0.5, 1.0)]),
    ],
)
def test_backoff_bounds_grow_exponentially_up_to_the_cap(
    jitter: str, expected: list[tuple[float, float]]
) -> None:
    backoff = Backoff(initial_ms=100, multiplier=2, cap_ms=1000, jitter=jitter)  # type: ignore[arg-type]
    got = [value for n in range(1, 7) for value in backoff.bounds(n)]
    assert got == pytest.approx([value for pair in expected for value in pair])


@pytest.mark.parametrize("jitter", ["none", "full", "equal"])
def test_backoff_delay_lies_within_its_bounds(jitter: str) -> None:
    backoff = Backoff(initial_ms=100, multiplier=3, cap_ms=2000, jitter=jitter)  # type: ignore[arg-type]
    rng = random.Random(1234)
    for n in range(1, 12):
        low, high = backoff.bounds(n)
        draws = [backoff.delay(n, rng) for _ in range(50)]
        assert all(low <= d <= high for d in draws)
        if jitter == "none":
            assert set(draws) == {high}
        else:
            assert len(set(draws)) > 1  # it really jitters


def test_backoff_without_jitter_does_not_touch_the_rng() -> None:
    rng = random.Random(5)
    state = rng.getstate()
    assert Backoff(initial_ms=50, multiplier=2, cap_ms=400).delay(3, rng) == 0.2
    assert rng.getstate() == state


def test_backoff_same_seed_same_delays() -> None:
    backoff = Backoff(initial_ms=100, multiplier=2, cap_ms=1000, jitter="full")
    a = [backoff.delay(n, random.Random(9)) for n in range(1, 6)]
    b = [backoff.delay(n, random.Random(9)) for n in range(1, 6)]
    assert a == b


def test_backoff_edge_cases() -> None:
    assert Backoff().bounds(1) == (0.0, 0.0)
    flat = Backoff(initial_ms=300, multiplier=1, cap_ms=300)
    assert flat.bounds(1) == flat.bounds(50) == (0.3, 0.3)
    huge = Backoff(initial_ms=1, multiplier=10, cap_ms=60_000)
    assert huge.bounds(10_000) == (60.0, 60.0)  # no float overflow far past the cap
    with pytest.raises(ValueError, match="retry_number=0"):
        flat.bounds(0)
    with pytest.raises(ValueError, match="multiplier"):
        Backoff(initial_ms=1, multiplier=0.5, cap_ms=2)
    with pytest.raises(ValueError, match="initial_ms <= cap_ms"):
        Backoff(initial_ms=10, multiplier=2, cap_ms=5)
    with pytest.raises(ValueError, match="jitter='some'"):
        Backoff(jitter="some")  # type: ignore[arg-type]
    assert repr(Backoff(initial_ms=250, multiplier=1.5, cap_ms=4000, jitter="full")) == (
        "Backoff(250ms x1.5 cap 4000ms jitter=full)"
    )


def test_retry_after_decides_the_wait_when_honoured() -> None:
    policy = REFERENCE_POLICY
    assert policy.delay_bounds(1, retry_after_s=1.5) == (1.5, 1.5)
    assert policy.delay_bounds(1, retry_after_s=0) == (0.0, 0.0)
    assert policy.delay_bounds(1, retry_after_s=2.5) is None  # beyond the cap: give up
    assert policy.next_delay(1, random.Random(0), retry_after_s=2.5) is None
    assert policy.delay_bounds(2) == pytest.approx((0.1, 0.2))
    ignoring = policy.replace(retry_after=RetryAfter(honour=False))
    assert ignoring.delay_bounds(2, retry_after_s=30) == pytest.approx((0.1, 0.2))
    assert repr(ignoring.retry_after) == "RetryAfter(ignored)"


def test_discovery_without_fallbacks_never_falls_back() -> None:
    assert not Discovery((3, 2), frozenset({401}), 0).falls_back_on(401)


# ------------------------------------------------------------------------------ bad files

BAD_FILES = [
    ("", None, "", "the file is empty"),
    ("timeout_ms: [1\n", 2, "", "not valid YAML"),
    ("- 1\n- 2\n", 1, "policy", "expected a mapping, got a list"),
    (
        "max_attempts: {mdminfo: 1, device: 1, noncompliant: 1, action: 1}\n",
        1,
        "timeout_ms",
        "missing",
    ),
    ("timeout_ms: 100\n", 1, "max_attempts", "missing"),
    (MINIMAL + "timeout: 3\n", 3, "timeout", "unknown field; expected one of timeout_ms"),
    (
        "timeout_ms: fast\n" + MINIMAL.splitlines()[1],
        1,
        "timeout_ms",
        "expected an integer, got str 'fast'",
    ),
    (
        "timeout_ms: true\n" + MINIMAL.splitlines()[1],
        1,
        "timeout_ms",
        "expected an integer, got boolean true",
    ),
    ("timeout_ms: 0\n" + MINIMAL.splitlines()[1], 1, "timeout_ms", "0 is not between 1 and 600000"),
    (
        "timeout_ms: 5\nmax_attempts:\n  mdminfo: 1\n  device: 1\n  noncompliant: 1\n",
        2,
        "max_attempts.action",
        "missing",
    ),
    (
        "timeout_ms: 5\nmax_attempts:\n  mdminfo: 1\n  device: 0\n  noncompliant: 1\n  action: 1\n",
        4,
        "max_attempts.device",
        "0 is not between 1 and 100",
    ),
    (
        "timeout_ms: 5\nmax_attempts:\n  mdminfo: 1\n  device: 1\n  noncompliant: 1\n  action: 1\n  wipe: 1\n",
        7,
        "max_attempts.wipe",
        "unknown field",
    ),
    (
        MINIMAL + "retry:\n  categories: [timeout, not_found]\n",
        4,
        "retry.categories[1]",
        "'not_found' is not one of timeout, connection_error, tls_error, parse_error, protocol_error",
    ),
    (
        MINIMAL + "retry:\n  statuses:\n    - 503\n    - 200\n",
        6,
        "retry.statuses[1]",
        "200 is not between 400 and 599",
    ),
    (MINIMAL + "retry:\n  statuses: 503\n", 4, "retry.statuses", "expected a list, got int 503"),
    (
        MINIMAL + "backoff:\n  initial_ms: 100\n  multiplier: 2\n  cap_ms: 50\n  jitter: none\n",
        6,
        "backoff.cap_ms",
        "50 is less than initial_ms 100",
    ),
    (
        MINIMAL + "backoff:\n  initial_ms: 100\n  multiplier: 0.5\n  cap_ms: 500\n  jitter: none\n",
        5,
        "backoff.multiplier",
        "0.5 must be a finite number >= 1",
    ),
    (
        MINIMAL + "backoff:\n  initial_ms: 100\n  multiplier: 2\n  cap_ms: 500\n  jitter: half\n",
        7,
        "backoff.jitter",
        "'half' is not one of none, full, equal",
    ),
    (
        MINIMAL + "backoff:\n  initial_ms: 100\n  multiplier: 2\n  cap_ms: 500\n",
        3,
        "backoff.jitter",
        "missing",
    ),
    (
        MINIMAL + "retry_after:\n  honour: yes please\n  cap_ms: 5\n",
        4,
        "retry_after.honour",
        "expected true or false, got str 'yes please'",
    ),
    (
        MINIMAL + "retry_after:\n  honour: true\n",
        3,
        "retry_after.cap_ms",
        "missing (required when honour is true)",
    ),
    (
        MINIMAL + "discovery:\n  versions: []\n",
        4,
        "discovery.versions",
        "must list at least one version",
    ),
    (
        MINIMAL + "discovery:\n  versions: [3, 4]\n",
        4,
        "discovery.versions[1]",
        "4 is not between 1 and 3",
    ),
    (
        MINIMAL + "discovery:\n  versions:\n    - 3\n    - 2\n    - 3\n",
        7,
        "discovery.versions[2]",
        "version 3 is listed twice",
    ),
    (
        MINIMAL + "discovery:\n  versions: [3, 2]\n  fallback_on: [401]\n  max_fallbacks: 2\n",
        6,
        "discovery.max_fallbacks",
        "2 is not between 0 and 1",
    ),
    (
        MINIMAL + "paging:\n  max_pages: 0\n",
        4,
        "paging.max_pages",
        "0 is not between 1 and 1000000",
    ),
    (MINIMAL + "timeout_ms: 7\n", 3, "", "not valid YAML"),  # a duplicate key
]


@pytest.mark.parametrize(("text", "line", "field", "problem"), BAD_FILES)
def test_bad_policy_files_name_file_line_and_field(
    tmp_path: Path, text: str, line: int | None, field: str, problem: str
) -> None:
    path = tmp_path / "client-policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert problem in err.problem
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(err).startswith(f"{where}: ")


def test_an_unreadable_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_a_full_policy_round_trips_every_field() -> None:
    policy = parse_policy(
        """\
timeout_ms: 2500
max_attempts: {mdminfo: 2, device: 4, noncompliant: 5, action: 1}
retry:
  categories: [timeout, parse_error]
  statuses: [503]
backoff: {initial_ms: 0, multiplier: 1.5, cap_ms: 800, jitter: full}
retry_after: {honour: false}
discovery: {versions: [2, 1], fallback_on: [401, 403]}
paging: {max_pages: 20, busy_wait_cap_ms: 0}
""",
        source="inline",
    )
    assert policy.source == "inline"
    assert dict(policy.max_attempts) == {"mdminfo": 2, "device": 4, "noncompliant": 5, "action": 1}
    assert policy.retry.categories == {"timeout", "parse_error"}
    assert policy.retry.statuses == {503}
    assert policy.backoff == Backoff(initial_ms=0, multiplier=1.5, cap_ms=800, jitter="full")
    assert policy.backoff.bounds(3) == (0.0, 0.0)
    assert not policy.retry_after_honoured
    # max_fallbacks defaults to "as many as there are lower versions" when fallback_on is given
    assert policy.discovery == Discovery((2, 1), frozenset({401, 403}), 1)
    assert policy.paging.max_pages == 20
