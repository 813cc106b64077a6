"""Rule matching and schedules: first match wins, indexes and the cache agree with a plain scan,
and times/after/sequence/probability behave as documented."""

from __future__ import annotations

from typing import Any

from harness.attempt import operation_of, params_of
from harness.proxy.rules import AttemptInfo, RuleSet
from harness.scenario import scenario_from_dict


def _info(
    path: str, query: str = "", method: str = "GET", host: str = "acme.jamfcloud.test"
) -> AttemptInfo:
    params = params_of(query)
    return AttemptInfo(
        host=host,
        method=method,
        path=path,
        query=query,
        params=params,
        operation=operation_of(method, path, params),
    )


DISC = _info("/networkIntegrationEndpoint/7/ciscoise/mdminfo/", "ise_api_version=3")
DEV = _info("/7/ciscoise/v3/devices/", "paging=0&querycriteria=macaddress&value=AA")
WIPE = _info("/7/ciscoise/v3/action/actionType=full_wipe", method="POST")


def _rules(*rules: dict[str, Any], seed: int | None = None) -> RuleSet:
    data: dict[str, Any] = {"name": "t", "rules": list(rules)}
    if seed is not None:
        data["seed"] = seed
    return RuleSet(scenario_from_dict(data))


def _names(rs: RuleSet, info: AttemptInfo) -> str | None:
    rule = rs.owner("request", info)
    return None if rule is None else rule.name


def test_first_matching_rule_wins() -> None:
    rs = _rules(
        {"name": "wipes", "match": {"operation": "action", "method": "POST"}, "fault": "reset"},
        {"name": "any-v3", "match": {"path": "*/v3/*"}, "fault": "close"},
        {"name": "version-3", "match": {"query": {"ise_api_version": "3"}}, "fault": "close"},
        {"name": "no-paging", "match": {"query": {"paging": None}}, "fault": "close"},
    )
    assert [_names(rs, i) for i in (WIPE, DEV, DISC)] == ["wipes", "any-v3", "version-3"]
    assert _names(rs, _info("/other")) == "no-paging"
    assert _names(rs, _info("/other", "paging=1")) is None


def test_host_globs_are_case_insensitive_and_groups_are_separate() -> None:
    rs = _rules(
        {"name": "c", "match": {"phase": "connect", "host": "*.JAMFCLOUD.test"}, "fault": "hang"},
        {"name": "t", "match": {"phase": "tls"}, "fault": "hang"},
    )
    assert rs.owner("connect", AttemptInfo(host="acme.jamfcloud.test")).name == "c"  # type: ignore[union-attr]
    assert rs.owner("connect", AttemptInfo(host="other.test")) is None
    assert rs.owner("connect", AttemptInfo(host=None)) is None
    assert rs.owner("tls", AttemptInfo(host=None)).name == "t"  # type: ignore[union-attr]
    assert rs.owner("request", DISC) is None


def test_the_index_and_the_cache_agree_with_a_plain_scan() -> None:
    rules = [
        {
            "name": f"r{i}",
            "match": {
                "path": f"/nomatch/{i}/*",
                "operation": ["devices", "action", "mdminfo"][i % 3],
            },
            "fault": "close",
        }
        for i in range(300)
    ]
    rules.append(
        {
            "name": "target",
            "match": {"operation": "devices", "query": {"value": "A*"}},
            "fault": "close",
        }
    )
    rs = _rules(*rules)
    for _ in range(3):  # cold, then cached
        assert _names(rs, DEV) == "target"
        assert _names(rs, DISC) is None
        assert (
            _names(rs, _info("/nomatch/7/x")) is None
        )  # operation 'other' is not indexed under r7's
        assert _names(rs, _info("/7/ciscoise/v3/devices/nomatch/4/x")) is None


def _fired(rs: RuleSet, n: int) -> list[str | None]:
    out = []
    for _ in range(n):
        d = rs.decide("request", DISC)
        assert d is not None
        out.append(None if d.spec is None else (d.spec.name or d.spec.kind))
    return out


def test_after_and_times() -> None:
    rs = _rules({"name": "r", "fault": "reset", "schedule": {"after": 2, "times": 2}})
    assert _fired(rs, 6) == [None, None, "reset", "reset", None, None]
    assert rs.counters() == {"r": {"matched": 6, "fired": 2}}


def test_sequence_then_pass() -> None:
    rs = _rules(
        {
            "name": "r",
            "schedule": {"after": 1, "sequence": ["reset", "status_503", "pass", "close"]},
        }
    )
    assert _fired(rs, 7) == [None, "reset", "status_503", None, "close", None, None]
    decisions = [rs.decide("request", DISC) for _ in range(1)]
    assert decisions[0] is not None and decisions[0].step is None


def test_probability_is_seeded_recorded_and_independent_of_other_rules() -> None:
    def draws(*extra: dict[str, Any]) -> list[tuple[bool, float]]:
        rs = _rules(
            *extra, {"name": "p", "fault": "close", "schedule": {"probability": 0.3}}, seed=5
        )
        out = []
        for _ in range(200):
            d = rs.decide("request", DISC)
            assert d is not None and d.seed == 5 and d.draw is not None
            out.append((d.spec is not None, d.draw))
        return out

    first = draws()
    assert first == draws({"name": "other", "match": {"operation": "action"}, "fault": "reset"})
    fired = sum(f for f, _ in first)
    assert 40 <= fired <= 80  # about 30 %
    assert all(f == (draw < 0.3) for f, draw in first)
    assert draws() != [(f, d) for f, d in _with_seed(6)]


def _with_seed(seed: int) -> list[tuple[bool, float]]:
    rs = _rules({"name": "p", "fault": "close", "schedule": {"probability": 0.3}}, seed=seed)
    return [
        (d.spec is not None, d.draw)
        for d in (rs.decide("request", DISC) for _ in range(200))
        if d and d.draw is not None
    ]


def test_no_scenario_means_no_rules() -> None:
    rs = RuleSet(None)
    assert len(rs) == 0 and rs.decide("request", DISC) is None and rs.counters() == {}


# -- the layered matcher (indexes, caches) must agree with a plain scan of the rules -----------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_HOSTS = ["acme.jamfcloud.test", "ACME.jamfcloud.test", "other.test", None]
_PATHS = [
    "/7/ciscoise/v3/devices/",
    "/networkIntegrationEndpoint/7/ciscoise/mdminfo/",
    "/7/ciscoise/v3/action/x",
    "/a/b",
]
_QUERIES = ["", "paging=0", "paging=1&value=AA", "ise_api_version=3", "value=AB&value=AA"]


@st.composite
def _rule_dicts(draw: st.DrawFn, index: int) -> dict[str, Any]:
    match: dict[str, Any] = {}
    if draw(st.booleans()):
        match["host"] = draw(
            st.sampled_from(["acme.jamfcloud.test", "*.jamfcloud.test", "other.test", "*"])
        )
    if draw(st.booleans()):
        match["path"] = draw(
            st.sampled_from(["/7/*", "*/mdminfo/", "/a/b", "/7/ciscoise/v3/devices/"])
        )
    if draw(st.booleans()):
        match["operation"] = draw(st.sampled_from(["devices", "mdminfo", "action", "other"]))
    if draw(st.booleans()):
        match["method"] = draw(st.sampled_from(["GET", "POST"]))
    if draw(st.booleans()):
        match["query"] = draw(
            st.dictionaries(
                st.sampled_from(["paging", "value", "ise_api_version"]),
                st.sampled_from(["0", "1", "AA", "A*", "3", None]),
                max_size=2,
            )
        )
    return {"name": f"r{index}", "match": match, "fault": "close"}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_layered_matching_equals_a_plain_scan(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 12))
    rules = [data.draw(_rule_dicts(i)) for i in range(n)]
    rs = _rules(*rules)
    from harness.proxy.rules import _Compiled

    plain = [_Compiled(i, r) for i, r in enumerate(rs.scenario.rules)]  # type: ignore[union-attr]
    for _ in range(6):
        info = _info(
            data.draw(st.sampled_from(_PATHS)),
            data.draw(st.sampled_from(_QUERIES)),
            data.draw(st.sampled_from(["GET", "POST"])),
            data.draw(st.sampled_from(_HOSTS)),  # type: ignore[arg-type]
        )
        expected = next((c.rule.name for c in plain if c.matches(info)), None)
        assert _names(rs, info) == expected
