"""The gallery's tests run only when asked for (``-m gallery``, as ``tox -e gallery`` does).

Each certifies a real client for minutes; a plain ``pytest`` run deselects them - and says
so in its summary - rather than counting them as passed or skipped.
"""

from __future__ import annotations

import pytest

MARK = "gallery"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gallery: certifies a real client for minutes; run with -m gallery (tox -e gallery)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MARK in (config.option.markexpr or ""):
        return
    chosen, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker(MARK) else chosen).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen
