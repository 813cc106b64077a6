"""The policy language, schema 2: failure kinds, retry sets per operation class, four backoff
models, Retry-After handling, a declared transparent resend - and the five real clients of
``docs/clients.md`` written in it, each checked against what its own documentation says.

Everything runs without sleeping: the arithmetic is pure."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from harness.client import REFERENCE_POLICY_PATH
from harness.client.policy import (
    AFTER_SEND,
    BEFORE_SEND,
    CATEGORY_KINDS,
    FAILURE_KINDS,
    LIMITS,
    Backoff,
    Policy,
    PolicyError,
    Resend,
    RetryAfter,
    RetryRule,
    RetrySet,
    category_of,
    load_policy,
    operation_class,
    parse_policy,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
ATTEMPTS = "max_attempts: {mdminfo: 1, device: 1, noncompliant: 1, action: 1}\n"
HEAD = "schema: 2\ntimeout_ms: 500\n" + ATTEMPTS


def v2(body: str = "") -> Policy:
    return parse_policy(HEAD + body, source="p.yaml")


def approx_bounds(policy: Policy, n: int, *a: object, **kw: object) -> tuple[float, float] | None:
    bounds = policy.delay_bounds(n, *a, **kw)  # type: ignore[arg-type]
    return None if bounds is None else (round(bounds[0], 6), round(bounds[1], 6))


# ------------------------------------------------------------------------------ vocabulary


def test_failure_kinds_split_by_phase_and_map_to_reported_categories() -> None:
    assert {"connect_refused", "connect_timeout", "connect_closed", "tls_error"} == BEFORE_SEND
    assert {"read_timeout", "closed_before_response", "closed_mid_response"} == AFTER_SEND
    assert set(FAILURE_KINDS) == BEFORE_SEND | AFTER_SEND | {"parse_error", "protocol_error"}
    assert [category_of(k) for k in FAILURE_KINDS] == [
        "connection_error",
        "timeout",
        "connection_error",
        "tls_error",
        "timeout",
        "connection_error",
        "connection_error",
        "parse_error",
        "protocol_error",
    ]
    # every kind belongs to exactly one schema-1 category
    assert sorted(k for kinds in CATEGORY_KINDS.values() for k in kinds) == sorted(FAILURE_KINDS)
    assert [operation_class(op) for op in ("mdminfo", "device", "noncompliant", "action")] == [
        "lookups",
        "lookups",
        "lookups",
        "actions",
    ]
    with pytest.raises(ValueError, match="operation='wipe'"):
        operation_class("wipe")


def test_the_reference_policy_is_schema_2_and_pinned() -> None:
    policy = load_policy(REFERENCE_POLICY_PATH)
    assert policy.schema == 2
    assert repr(policy) == (
        "Policy(1000ms attempts[mdminfo=3,device=3,noncompliant=3,action=2] "
        "RetryRule(lookups connect_refused,connect_timeout,connect_closed,read_timeout,"
        "closed_before_response,closed_mid_response | 429,502,503,504; "
        "actions connect_refused,connect_timeout,connect_closed | -) "
        "Backoff(100ms x2 cap 1000ms jitter=equal) RetryAfter(honour cap 2000ms) "
        "Discovery(v3,2,1 fallback on 401 max 1) Paging(max 1000 pages, busy wait cap 2000ms))"
    )
    # a wipe is re-sent only when it provably never left
    assert policy.retries("connect_refused", "action")
    assert not policy.retries("read_timeout", "action")
    assert not policy.retries("closed_before_response", "action")
    assert not policy.retries(status=503, operation="action")
    assert policy.retries("closed_before_response", "device")
    assert not policy.retries("tls_error", "device")


def test_schema_1_means_the_same_for_both_operation_classes() -> None:
    policy = parse_policy(
        "timeout_ms: 5\n" + ATTEMPTS + "retry: {categories: [timeout], statuses: [503]}\n"
    )
    assert policy.schema == 1
    for op in ("device", "action", "lookups", "actions"):
        assert policy.retries("connect_timeout", op) and policy.retries("read_timeout", op)
        assert not policy.retries("closed_before_response", op)
        assert policy.retries(status=503, operation=op)
    assert policy.retries(category="timeout") and not policy.retries(category="tls_error")
    assert repr(policy.retry) == "RetryRule(timeout | 503)"


# ------------------------------------------------------------------------------ retry sets


def test_retry_sets_differ_by_operation_class_and_accept_shorthands() -> None:
    policy = v2(
        "retry:\n"
        "  lookups: {failures: [before_send, read_timeout], statuses: [500], if_retry_after: [429]}\n"
        "  actions: {failures: [connection_error]}\n"
    )
    assert policy.retry.lookups.failures == BEFORE_SEND | {"read_timeout"}
    assert policy.retry.actions.failures == CATEGORY_KINDS["connection_error"]
    assert policy.retries(status=500) and not policy.retries(status=429)
    assert policy.retries(status=429, retry_after=True)  # only with a Retry-After
    assert not policy.retries(status=500, operation="action")
    assert policy.retries("closed_mid_response", "action")
    assert not policy.retries("closed_mid_response", "device")
    assert repr(policy.retry) == (
        "RetryRule(lookups connect_refused,connect_timeout,connect_closed,tls_error,read_timeout"
        " | 500 (+429 with Retry-After); actions connect_refused,connect_closed,"
        "closed_before_response,closed_mid_response | -)"
    )
    with pytest.raises(ValueError, match="kind='timeout'"):
        policy.retries("timeout")  # a category, not a kind: say category="timeout"


def test_a_policy_without_retries_retries_nothing() -> None:
    policy = v2()
    assert not any(policy.retries(k, op) for k in FAILURE_KINDS for op in ("device", "action"))
    assert not policy.retries_anything("device") and not policy.retries_anything("action")
    assert policy.retry == RetryRule(lookups=RetrySet(), actions=RetrySet())


# ------------------------------------------------------------------------------ backoff models


@pytest.mark.parametrize(
    ("yaml", "waits", "text"),
    [
        (
            "{model: exponential, initial_ms: 100, multiplier: 2, cap_ms: 1000}",
            [0.1, 0.2, 0.4, 0.8, 1.0, 1.0],
            "Backoff(100ms x2 cap 1000ms jitter=none)",
        ),
        (
            "{model: exponential, first: immediate, initial_ms: 1000, multiplier: 2, cap_ms: 3000}",
            [0.0, 1.0, 2.0, 3.0, 3.0, 3.0],
            "Backoff(0ms then 1000ms x2 cap 3000ms jitter=none)",
        ),
        (
            "{model: linear, step_ms: 1000, cap_ms: 4000}",
            [1.0, 2.0, 3.0, 4.0, 4.0, 4.0],
            "Backoff(linear 1000ms +1000ms cap 4000ms jitter=none)",
        ),
        (
            "{model: linear, initial_ms: 0, step_ms: 250, cap_ms: 600}",
            [0.0, 0.25, 0.5, 0.6, 0.6, 0.6],
            "Backoff(linear 0ms +250ms cap 600ms jitter=none)",
        ),
        (
            "{model: constant, delay_ms: 300}",
            [0.3] * 6,
            "Backoff(constant 300ms jitter=none)",
        ),
        (
            "{model: list, delays_ms: [0, 500, 1000]}",
            [0.0, 0.5, 1.0, 1.0, 1.0, 1.0],
            "Backoff(list 0,500,1000ms jitter=none)",
        ),
    ],
    ids=["exponential", "exponential-immediate", "linear", "linear-from-0", "constant", "list"],
)
def test_each_backoff_model_has_its_arithmetic(yaml: str, waits: list[float], text: str) -> None:
    policy = v2(f"backoff: {yaml}\n")
    assert [policy.backoff.base_s(n) for n in range(1, 7)] == pytest.approx(waits)
    assert [policy.delay_bounds(n) for n in range(1, 7)] == [pytest.approx((w, w)) for w in waits]
    assert repr(policy.backoff) == text
    assert policy.backoff.max_s == pytest.approx(max(waits))


@pytest.mark.parametrize("model", ["constant", "list", "linear", "exponential"])
@pytest.mark.parametrize("jitter", ["full", "equal"])
def test_jitter_applies_to_every_model(model: str, jitter: str) -> None:
    backoff = {
        "constant": Backoff.constant(400, jitter=jitter),  # type: ignore[arg-type]
        "list": Backoff.listed([400], jitter=jitter),  # type: ignore[arg-type]
        "linear": Backoff.linear(400, 400, jitter=jitter),  # type: ignore[arg-type]
        "exponential": Backoff.exponential(400, 1, 400, jitter=jitter),  # type: ignore[arg-type]
    }[model]
    low = 0.0 if jitter == "full" else 0.2
    assert backoff.bounds(3) == pytest.approx((low, 0.4))
    rng = random.Random(3)
    draws = [backoff.delay(3, rng) for _ in range(40)]
    assert all(low <= d <= 0.4 for d in draws) and len(set(draws)) > 1


def test_backoff_constructors_validate() -> None:
    with pytest.raises(ValueError, match="at least one delay"):
        Backoff.listed([])
    with pytest.raises(ValueError, match="initial_ms <= cap_ms"):
        Backoff.linear(100, 50)
    with pytest.raises(ValueError, match="model='random'"):
        Backoff(model="random")  # type: ignore[arg-type]
    assert Backoff.exponential(100, 2, 1000) == Backoff(initial_ms=100, multiplier=2, cap_ms=1000)


# ------------------------------------------------------------------------------ Retry-After


def test_retry_after_statuses_cap_beyond_and_zero() -> None:
    backoff = "backoff: {model: constant, delay_ms: 100}\n"
    give_up = v2(backoff + "retry_after: {statuses: [503], cap_ms: 2000}\n")
    assert approx_bounds(give_up, 1, 1.5, status=503) == (1.5, 1.5)
    assert give_up.delay_bounds(1, 2.5, status=503) is None  # beyond the cap: give up
    assert approx_bounds(give_up, 1, 1.5, status=429) == (0.1, 0.1)  # not honoured on 429
    assert approx_bounds(give_up, 1, 0, status=503) == (0.0, 0.0)  # zero means now
    clamp = v2(backoff + "retry_after: {statuses: any, cap_ms: 2000, beyond_cap: clamp}\n")
    assert approx_bounds(clamp, 1, 30, status=500) == (2.0, 2.0)
    assert clamp.retry_after.honoured_on(418)
    zero = v2(backoff + "retry_after: {statuses: [429], cap_ms: 5000, zero: backoff}\n")
    assert approx_bounds(zero, 1, 0, status=429) == (0.1, 0.1)
    unlimited = v2(backoff + "retry_after: {statuses: [429], cap_ms: unlimited}\n")
    assert approx_bounds(unlimited, 1, 3600, status=429) == (3600.0, 3600.0)
    assert unlimited.retry_after_cap_s == float("inf")
    assert repr(unlimited.retry_after) == ("RetryAfter(on 429 no cap beyond=give_up zero=now)")
    assert not v2().retry_after.honour and repr(v2().retry_after) == "RetryAfter(ignored)"
    assert RetryAfter(honour=True, cap_ms=5).statuses == {429, 503}  # schema 1's meaning


# ------------------------------------------------------------------------------ resend


def test_a_declared_resend_is_per_class_and_not_counted_as_a_retry() -> None:
    policy = v2(
        "resend: {max: 1, lookups: [connect_refused, closed_before_response], "
        "actions: [connect_refused]}\n"
    )
    assert policy.resends("closed_before_response", "device")
    assert not policy.resends("closed_before_response", "action")
    assert policy.resends("connect_refused", "action")
    assert not policy.retries("closed_before_response", "device")
    assert policy.retries_anything("device") and policy.max_attempts_for("device") == 1
    assert repr(policy.resend) == (
        "Resend(1 after lookups connect_refused,closed_before_response; actions connect_refused)"
    )
    assert repr(policy).endswith(repr(policy.resend) + ")")
    assert repr(Resend()) == "Resend(none)" and not Resend().allows("connect_refused", "device")


# ------------------------------------------------------------------------------ bad files

BAD_V2 = [
    ("schema: 3\n", 1, "schema", "3 is not one of 1, 2"),
    (
        HEAD + "resend: {max: 1}\nretry: {lookups: {failures: [reset]}}\n",
        5,
        "retry.lookups.failures[0]",
        "'reset' is not one of connect_refused",
    ),
    (
        HEAD + "retry:\n  lookups:\n    statuses: [503, 200]\n",
        6,
        "retry.lookups.statuses[1]",
        "200 is not between 400 and 599",
    ),
    (
        HEAD + "retry: {everything: {}}\n",
        4,
        "retry.everything",
        "unknown field; expected one of lookups, actions",
    ),
    (HEAD + "backoff: {initial_ms: 1, multiplier: 2, cap_ms: 5}\n", 4, "backoff.model", "missing"),
    (HEAD + "backoff: {model: linear, step_ms: 100}\n", 4, "backoff.cap_ms", "missing"),
    (
        HEAD + "backoff: {model: linear, step_ms: 100, cap_ms: 50}\n",
        4,
        "backoff.cap_ms",
        "50 is less than initial_ms 100",
    ),
    (
        HEAD + "backoff: {model: constant, delay_ms: 700000}\n",
        4,
        "backoff.delay_ms",
        "700000 is not between 0 and 600000",
    ),
    (
        HEAD + "backoff: {model: constant, delay_ms: 5, multiplier: 2}\n",
        4,
        "backoff.multiplier",
        "unknown field",
    ),
    (
        HEAD + "backoff: {model: list, delays_ms: []}\n",
        4,
        "backoff.delays_ms",
        "expected 1..100 items, got 0",
    ),
    (
        HEAD
        + "backoff: {model: exponential, initial_ms: 1, multiplier: 2, cap_ms: 5, first: later}\n",
        4,
        "backoff.first",
        "'later' is not one of backoff, immediate",
    ),
    (HEAD + "retry_after: {statuses: [429]}\n", 4, "retry_after.cap_ms", "missing"),
    (
        HEAD + "retry_after: {statuses: [429], cap_ms: -1}\n",
        4,
        "retry_after.cap_ms",
        "-1 is not between 0 and 86400000",
    ),
    (
        HEAD + "retry_after: {statuses: all, cap_ms: 1}\n",
        4,
        "retry_after.statuses",
        "expected a list, got str 'all'",
    ),
    (
        HEAD + "retry_after: {statuses: [429], cap_ms: 1, beyond_cap: wait}\n",
        4,
        "retry_after.beyond_cap",
        "is not one of give_up, clamp",
    ),
    (HEAD + "retry_after: {honour: true, cap_ms: 1}\n", 4, "retry_after.honour", "unknown field"),
    (HEAD + "resend: {lookups: [connect_refused]}\n", 4, "resend.max", "missing"),
    (HEAD + "resend: {max: 0}\n", 4, "resend.max", "0 is not between 1 and 10"),
    ("timeout_ms: 5\n" + ATTEMPTS + "resend: {max: 1}\n", 3, "resend", "unknown field"),
]


@pytest.mark.parametrize(("text", "line", "field", "problem"), BAD_V2)
def test_bad_schema_2_files_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, problem: str
) -> None:
    path = tmp_path / "client-policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), line, field), str(err)
    assert problem in err.problem
    assert str(err).startswith(f"{path}:{line}: {field}: ")


# ------------------------------------------------------------------------------ the docs


def _docs_section(title: str, level: str = "### ") -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(level + title)
    following = re.search(r"^#{2,3} ", text[start + len(level + title) :], re.M)
    return text[
        start : start + len(level + title) + (following.start() if following else len(text))
    ]


#: For every field whose docs row states a range, a policy with ``{v}`` in that field.
RANGED: dict[str, str] = {
    "timeout_ms": "schema: 2\ntimeout_ms: {v}\n" + ATTEMPTS,
    "max_attempts.{mdminfo,device,noncompliant,action}": HEAD.replace("device: 1", "device: {v}"),
    "retry.{lookups,actions}.statuses": HEAD + "retry: {actions: {statuses: [{v}]}}\n",
    "retry.{lookups,actions}.if_retry_after": HEAD + "retry: {lookups: {if_retry_after: [{v}]}}\n",
    "backoff.initial_ms, backoff.cap_ms (exponential, linear)": HEAD
    + "backoff: {model: exponential, initial_ms: 0, multiplier: 1, cap_ms: {v}}\n",
    "backoff.step_ms (linear)": HEAD
    + "backoff: {model: linear, initial_ms: 0, step_ms: {v}, cap_ms: 600000}\n",
    "backoff.delay_ms (constant)": HEAD + "backoff: {model: constant, delay_ms: {v}}\n",
    "backoff.delays_ms (list)": HEAD + "backoff: {model: list, delays_ms: [{v}]}\n",
    "retry_after.statuses": HEAD + "retry_after: {statuses: [{v}], cap_ms: 1}\n",
    "retry_after.cap_ms": HEAD + "retry_after: {statuses: [429], cap_ms: {v}}\n",
    "resend.max": HEAD + "resend: {max: {v}}\n",
    "discovery.versions": HEAD + "discovery: {versions: [{v}]}\n",
    "discovery.fallback_on": HEAD + "discovery: {versions: [3], fallback_on: [{v}]}\n",
    "paging.max_pages": HEAD + "paging: {max_pages: {v}}\n",
    "paging.busy_wait_cap_ms": HEAD + "paging: {busy_wait_cap_ms: {v}}\n",
}


def test_every_range_in_the_docs_is_the_validators() -> None:
    """The field table of docs/clients.md states each range; the validator accepts exactly it
    (the bounds, not one past them). ``retry_after.cap_ms`` was once documented as "int >= 0"
    and refused above 600000: this is the test that stops that drift."""
    table = _docs_section("Every field")
    rows = re.findall(r"^\| `([^|]+?)`? \| ([^|]+) \|", table, re.M)
    ranged = {}
    for name, kind in rows:
        name = name.replace("`", "")
        found = re.findall(r"(\d+) – (\d+)", kind)  # the value's range is the last one
        if found and "len(versions)" not in kind:
            ranged[name] = (int(found[-1][0]), int(found[-1][1]))
    assert set(ranged) == set(RANGED), "a ranged docs row without a probe, or the reverse"
    for name, (low, high) in ranged.items():
        template = RANGED[name]
        for good in (low, high):
            parse_policy(template.replace("{v}", str(good)))
        for bad in (low - 1, high + 1):
            with pytest.raises(PolicyError, match=rf"{bad} is not between {low} and {high}"):
                parse_policy(template.replace("{v}", str(bad)))


def test_the_limits_table_names_the_documented_bounds() -> None:
    table = _docs_section("Every field")
    for name, (low, high) in LIMITS.items():
        if name == "list_items":
            assert f"{low} – {high} ints" in table
        else:
            assert f"{low} – {high}" in table, name


def test_the_error_examples_in_the_docs_are_real(tmp_path: Path) -> None:
    section = _docs_section("Every field")
    examples = re.findall(r"^client-policy\.yaml:(\d+): (\S+): (.+)$", section, re.M)
    assert len(examples) == 2
    texts = {
        "retry.lookups.statuses[1]": HEAD
        + "retry:\n  lookups:\n    statuses:\n      - 503\n      - 200\n",
        "timeout": "schema: 2\ntimeout_ms: 5\ntimeout: 3\n" + ATTEMPTS,
    }
    for line, field, problem in examples:
        path = tmp_path / "client-policy.yaml"
        path.write_text(texts[field])
        with pytest.raises(PolicyError) as info:
            load_policy(path)
        assert str(info.value) == f"{path}:{line}: {field}: {problem}"


def _real_clients() -> dict[str, Policy]:
    section = _docs_section("Five real clients, written out")
    names = re.findall(r"^\*\*(curl|requests|httpx|GNU wget|JDK)", section, re.M)
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(names) == len(blocks) == 5
    return {
        name: parse_policy(block, source=name) for name, block in zip(names, blocks, strict=True)
    }


#: The gallery folder of each client the docs write out.
GALLERY_NAMES = {
    "curl": "curl",
    "requests": "requests",
    "httpx": "httpx",
    "GNU wget": "wget",
    "JDK": "jdk",
}


@pytest.mark.parametrize("name", sorted(GALLERY_NAMES))
def test_each_documented_client_policy_is_the_gallery_one(name: str) -> None:
    """docs/clients.md writes out, field for field, the policy each gallery adapter is
    certified with (issue 12, F: they had drifted apart)."""
    gallery = DOCS.parents[1] / "examples" / "clients" / GALLERY_NAMES[name] / "policy.yaml"
    documented = _real_clients()[name]
    shipped = load_policy(gallery)
    assert replace(documented, source="") == replace(shipped, source=""), (
        f"docs/clients.md's {name} policy:\n  {documented!r}\nis not {gallery}'s:\n  {shipped!r}"
    )


def test_curl_retry_as_its_documentation_states() -> None:
    # curl(1) --retry: "Transient error means either: a timeout, an FTP 4xx response code or an
    # HTTP 408, 429, 500, 502, 503 or 504 response code. [...] it first waits one second and
    # then for all forthcoming retries it doubles the waiting time until it reaches 10
    # minutes" and "curl complies with the Retry-After: response header" (everything.curl.dev,
    # "Retry"; docs/cmdline-opts/retry.d). --retry-delay: "Setting this delay to zero makes
    # curl use the default backoff time"; CURLINFO_RETRY_AFTER is 0 for "Retry-After: 0", which
    # curl's tool treats as "no Retry-After" (measured with curl 7.88.1). libcurl re-sends on a
    # dead reused connection ("Connection died, retrying a fresh connect").
    curl = _real_clients()["curl"]
    assert curl.max_attempts_for("action") == 4  # --retry 3, and a POST is retried too
    for op in ("device", "action"):
        assert curl.retries("connect_timeout", op) and curl.retries("read_timeout", op)
        assert not curl.retries("connect_refused", op)  # needs --retry-connrefused
        assert all(curl.retries(status=s, operation=op) for s in (408, 429, 500, 502, 503, 504))
        assert not curl.retries(status=501, operation=op)
    assert [curl.backoff.base_s(n) for n in (1, 2, 3, 10, 11)] == [1, 2, 4, 512, 600]
    assert curl.delay_bounds(1, 3600, status=500) == (3600, 3600)  # any status, no cap
    assert curl.delay_bounds(2, 0, status=503) == (2, 2)  # 0 falls back to the backoff
    assert curl.resends("closed_before_response", "action")


def test_urllib3_retry_as_its_documentation_states() -> None:
    # urllib3 2.x util/retry.py: get_backoff_time() is 0 for the first retry, then
    # backoff_factor * 2 ** (n - 1), capped by backoff_max (DEFAULT_BACKOFF_MAX = 120);
    # read errors and statuses only for allowed_methods (DEFAULT_ALLOWED_METHODS has no POST);
    # _is_connection_error errors for any method; is_retry() also retries a status in
    # RETRY_AFTER_STATUS_CODES (413, 429, 503) that carries Retry-After; sleep_for_retry()
    # sleeps any retried answer's Retry-After when truthy (so 0 falls back to the backoff),
    # parse_retry_after() limits it to retry_after_max (DEFAULT_RETRY_AFTER_MAX = 21600).
    urllib3 = _real_clients()["requests"]
    assert [urllib3.backoff.base_s(n) for n in (1, 2, 3, 9)] == [0, 1, 2, 120]
    assert urllib3.retries("read_timeout", "device")
    assert not urllib3.retries("read_timeout", "action")
    assert urllib3.retries("connect_timeout", "action")
    assert urllib3.retries(status=502) and not urllib3.retries(status=502, operation="action")
    assert not urllib3.retries(status=429) and urllib3.retries(status=429, retry_after=True)
    assert urllib3.delay_bounds(1, 10**6, status=500) == (21600, 21600)  # clamped
    assert urllib3.delay_bounds(3, 0, status=503) == (2, 2)


def test_httpx_retries_as_its_documentation_states() -> None:
    # httpx "Transports": retries=N "retry on httpx.ConnectError and httpx.ConnectTimeout";
    # httpcore _sync/connection.py retries connect_tcp + start_tls with
    # exponential_backoff(factor=0.5): 0, 0.5, 1.0 ... seconds.
    httpx = _real_clients()["httpx"]
    assert all(httpx.retries(k, "action") for k in BEFORE_SEND)
    assert not any(httpx.retries(k, "device") for k in AFTER_SEND)
    assert not httpx.retries(status=503)
    assert [httpx.backoff.base_s(n) for n in (1, 2, 3)] == [0, 0.5, 1.0]
    # the same delays as an exponential model with an immediate first retry
    assert Backoff.exponential(500, 2, 1000, first="immediate").base_s(3) == 1.0


def test_wget_as_its_documentation_states() -> None:
    # wget(1) --waitretry: "Wget will use linear backoff, waiting 1 second after the first
    # failure on a given file, then waiting 2 seconds after the second failure on that file,
    # up to the maximum number of seconds you specify" (default 10); --tries: "The default is
    # to retry 20 times, with the exception of fatal errors like connection refused or not
    # found (404)"; --retry-connrefused: "Normally Wget gives up on a URL when it is unable to
    # connect". Statuses: of 500, 502, 503, 504, 408 and 429, wget 1.21.3 retries only 504
    # (measured on this machine with --tries=3). Retry-After is ignored (measured).
    wget = _real_clients()["GNU wget"]
    assert [wget.backoff.base_s(n) for n in (1, 2, 3, 10, 19)] == [1, 2, 3, 10, 10]
    assert not wget.retries("connect_refused") and wget.retries("connect_closed")
    assert wget.retries(status=504) and not wget.retries(status=503)
    assert not wget.retry_after.honour
    assert wget.max_attempts_for("device") == 3  # --tries=3 (the default is 20)


def test_jdk_httpclient_as_its_documentation_states() -> None:
    # JDK 17 jdk.internal.net.http.MultiExchange: retryOnFailure() is true for a
    # ConnectionExpiredException (the connection closed before any response) or a
    # ConnectException; the former is retried only if canRetryRequest() (idempotent, unless
    # jdk.httpclient.enableAllMethodRetry), and only once per exchange (expiredOnce).
    jdk = _real_clients()["JDK"]
    assert not any(jdk.retries(k, op) for k in FAILURE_KINDS for op in ("device", "action"))
    assert jdk.resend.max == 1
    assert jdk.resends("closed_before_response", "device")
    assert not jdk.resends("closed_before_response", "action")
    assert jdk.resends("connect_refused", "action")


def test_the_reference_policy_in_the_docs_is_the_shipped_one() -> None:
    section = _docs_section("The policy file", level="## ")
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    assert parse_policy(block.group(1)) == load_policy(REFERENCE_POLICY_PATH)
