"""In-process clients for the runner tests (``support.inprocess:<factory>``), one per behaviour."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any


class _Client:
    def __init__(self, behave: Any) -> None:
        self.behave = behave

    def run(self, operation: str, args: list[str], env: Mapping[str, str]) -> Any:
        return self.behave(operation, args, env)


def echo() -> _Client:
    """Answers every operation with an error whose message shows what it was given."""
    return _Client(
        lambda op, args, env: {
            "outcome": "error",
            "error": "not_found",
            "message": f"{op} {' '.join(args)} {env['MDM_BASE_URL']} {env['MDM_TIMEOUT_MS']}",
        }
    )


def unregistered() -> _Client:
    return _Client(lambda op, args, env: {"outcome": "ok", "result": {"devices": []}})


def raises() -> _Client:
    def behave(op: str, args: list[str], env: Mapping[str, str]) -> Any:
        raise RuntimeError("the client fell over")

    return _Client(behave)


def overruns() -> _Client:
    def behave(op: str, args: list[str], env: Mapping[str, str]) -> Any:
        time.sleep(5)
        return {"outcome": "ok", "result": {"devices": []}}

    return _Client(behave)


def not_json() -> _Client:
    return _Client(lambda op, args, env: {"outcome": "ok", "result": {"devices": [object()]}})


def wrong_shape() -> _Client:
    return _Client(lambda op, args, env: {"outcome": "ok", "result": {"device": []}})


def broken_factory() -> _Client:
    raise ImportError("a dependency is missing")


NOT_CALLABLE = 42
