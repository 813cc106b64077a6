"""Paging cursors as a server may design them: opaque, URL-hostile, never to be interpreted."""

from __future__ import annotations

import string

from hypothesis import strategies as st

#: Characters a cursor may contain that a client must pass back exactly (URL-encoding them).
_CURSOR_ALPHABET = string.ascii_letters + string.digits + "+/=-_.~%&# :"


#: Characters with a meaning in a URL's query; every cursor holds at least one of them.
URL_SPECIALS = "+/=%&# "


@st.composite
def paging_cursors(draw: st.DrawFn) -> str:
    """One opaque cursor: never ``0``, never blank, always holding a character URLs treat specially.

    Shrinks towards ``c+``.
    """
    cursor = draw(st.text(st.sampled_from(_CURSOR_ALPHABET), max_size=40)).strip()
    special = draw(st.sampled_from(URL_SPECIALS.strip()))
    cursor = "c" + special + cursor if not cursor or draw(st.booleans()) else cursor + special + "c"
    return cursor


@st.composite
def paging_cursor_sequences(
    draw: st.DrawFn, *, min_pages: int = 2, max_pages: int = 4
) -> list[str]:
    """The cursors a server hands out for a walk of ``n`` pages: ``n - 1`` distinct cursors, then ``"0"``.

    Page ``i`` (0-based) of the walk carries ``cursors[i]`` in its ``paging_info``; a correct
    client asks page ``i + 1`` with exactly ``cursors[i]`` and stops at ``"0"``. Shrinks towards
    two pages with a one-letter cursor.
    """
    if min_pages < 1 or max_pages < min_pages:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"min_pages={min_pages!r}, max_pages={max_pages!r} is not a range")
    pages = draw(st.integers(min_value=min_pages, max_value=max_pages))
    cursors = draw(st.lists(paging_cursors(), min_size=pages - 1, max_size=pages - 1, unique=True))
    return [*cursors, "0"]
