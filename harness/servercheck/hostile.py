"""Hostile query values for X3, drawn by hypothesis from the run's seed.

Every value holds at least one character that must be escaped in XML (``& < > " '``); some
add non-ASCII text, and some are thousands of characters long. :func:`hostile_queries`
pairs a value with an API version the server serves and a criterion of that version.

The values are drawn before any request is sent (:func:`draw_queries`): the same seed gives the
same values, the plan knows their number in advance, and no example is shrunk against a
production server - a failing value is reported, and replayed, exactly as drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from .cases import CRITERIA, hostile_case
from .model import NotApplicable, ServerCase
from .site import Site
from .target import Options

__all__ = ["MARKUP", "draw_queries", "hostile_cases", "hostile_queries", "hostile_values"]

#: The characters XML must escape.
MARKUP = "&<>\"'"
#: The criteria whose values are free text or opaque identifiers (where a server is tempted to
#: paste the value into a query or a document).
HOSTILE_CRITERIA = ("username", "guid", "guidhn", "udid", "imei", "meid", "macaddress")

_PLAIN = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_WIDE = st.characters(
    min_codepoint=0xA0, max_codepoint=0x2FFFF, blacklist_categories=("Cs", "Co", "Cn", "Zl", "Zp")
)


def hostile_values(*, max_size: int = 4096) -> st.SearchStrategy[str]:
    """Strings with at least one of ``& < > " '``; some non-ASCII, some long (up to ``max_size``).

    Shrinks towards a single markup character between short ASCII runs."""
    if max_size < 1:
        raise ValueError(f"max_size={max_size!r} must be at least 1")
    tail = st.one_of(
        st.just(""),
        st.text(_WIDE, min_size=1, max_size=16),
        st.text(_PLAIN, min_size=max(1, max_size // 4), max_size=max_size),
    )
    return st.builds(
        lambda head, mark, middle, end: (head + mark + middle + end)[:max_size],
        st.text(_PLAIN, max_size=12),
        st.sampled_from(MARKUP),
        st.text(st.one_of(_PLAIN, _WIDE), max_size=12),
        tail,
    )


def hostile_queries(versions: Sequence[int]) -> st.SearchStrategy[tuple[int, str, str]]:
    """``(version, criterion, value)`` with ``version`` from ``versions`` and a criterion it defines."""
    if not versions:
        raise ValueError("versions=[] : at least one API version is needed")
    return st.sampled_from(sorted(versions)).flatmap(
        lambda v: st.tuples(
            st.just(v),
            st.sampled_from([c for c in HOSTILE_CRITERIA if c in CRITERIA[v]]),
            hostile_values(),
        )
    )


def draw_queries(versions: Sequence[int], count: int, seed: int) -> list[tuple[int, str, str]]:
    """``count`` queries drawn by hypothesis from ``seed`` (deterministic, nothing shrunk)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    drawn: list[tuple[int, str, str]] = []

    @with_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_queries(versions))
    def collect(query: tuple[int, str, str]) -> None:
        drawn.append(query)

    collect()
    return drawn[:count]


def hostile_cases(site: Site, options: Options) -> list[ServerCase | NotApplicable]:
    """X3's cases: one per drawn value (``options.examples`` of them)."""
    if not site.served:
        return [NotApplicable("X3", "the server serves no API version (D1-D3)")]
    queries = draw_queries(site.served, options.examples, options.seed)
    return [hostile_case(site, *query) for query in queries]
