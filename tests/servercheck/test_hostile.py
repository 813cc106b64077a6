"""Hostile query values: every one carries markup, the draw is the seed's, and it proves it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.servercheck.cases import CRITERIA
from harness.servercheck.hostile import MARKUP, draw_queries, hostile_queries, hostile_values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=hostile_values(max_size=40))
def test_every_value_carries_markup_and_keeps_its_size(value: str) -> None:
    assert any(c in value for c in MARKUP)
    assert 1 <= len(value) <= 300
    value.encode("utf-8")  # no lone surrogates: every value can be sent


@settings(max_examples=30, deadline=None)
@given(query=hostile_queries([1, 2]))
def test_a_query_uses_a_criterion_of_its_version(query: tuple[int, str, str]) -> None:
    version, criterion, _ = query
    assert version in (1, 2) and criterion in CRITERIA[version]


def test_the_draw_is_the_seed_s() -> None:
    first = draw_queries([1, 2, 3], 10, seed=1729)
    assert first == draw_queries([1, 2, 3], 10, seed=1729)
    assert first != draw_queries([1, 2, 3], 10, seed=1730)
    assert len(first) == 10
    assert any(len(v) > 200 for *_, v in draw_queries([3], 50, seed=7))  # some are long
    assert any(
        any(ord(c) > 127 for c in v) for *_, v in draw_queries([3], 50, seed=7)
    )  # some are not ASCII


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: hostile_values(max_size=0), "max_size=0"),
        (lambda: hostile_queries([]), "at least one API version"),
    ],
)
def test_bad_arguments(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_the_strategies_shrink_to_a_single_markup_character() -> None:
    from hypothesis import find

    # No example database: a saved example would be replayed, not shrunk. Values of up to 40
    # characters (every branch of the strategy still draws): shrinking 4096 takes seconds.
    fresh = settings(database=None)
    assert find(hostile_values(max_size=40), lambda v: True, settings=fresh) in MARKUP
    nested = st.just(0).flatmap(lambda _: hostile_values(max_size=40))
    assert len(find(nested, lambda v: True, settings=fresh)) == 1
