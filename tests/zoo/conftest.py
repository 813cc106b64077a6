"""The zoo's two runs: the matrix by default, each client alone with ``--zoo-full``.

A test marked ``zoo_matrix`` runs only without ``--zoo-full``, one marked ``zoo_full`` only
with it; the other is deselected (not skipped: nothing is counted as passing that did not run).
The ``zoo_matrix`` tests go first in the whole session: the matrix takes minutes, mostly
waiting on the hangs and backoffs it injects, and started first (``pytest -n auto`` hands a
worker its items in order) it overlaps the CPU-bound rest of the suite instead of ending the
run with one worker waiting on it.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "zoo_matrix: the zoo in one matrix session (default run)")
    config.addinivalue_line("markers", "zoo_full: each zoo client alone (--zoo-full, tox -e zoo)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unwanted = "zoo_matrix" if config.getoption("zoo_full") else "zoo_full"
    dropped = [item for item in items if item.get_closest_marker(unwanted) is not None]
    if dropped:
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]
        config.hook.pytest_deselected(items=dropped)
    items.sort(key=lambda item: item.get_closest_marker("zoo_matrix") is None)  # stable
