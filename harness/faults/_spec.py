"""Reading a fault's parameters from a plain mapping, with errors that name the field.

Every fault module's ``from_spec`` uses :class:`SpecReader`: it takes each parameter once with
its type and bounds, then :meth:`SpecReader.done` refuses any key nobody asked for. Errors are
:class:`SpecError` (a ``ValueError``) whose ``field`` the scenario parser turns into a file and
line.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING: Any = object()


class SpecError(ValueError):
    """A bad fault parameter: ``field`` names it, ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class SpecReader:
    """Take typed parameters out of ``spec`` (``kind`` itself is skipped)."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        if not isinstance(spec, Mapping):
            raise SpecError("fault", f"must be a mapping, got {type(spec).__name__}")
        self._spec = spec
        self._seen: set[str] = {"kind"}

    def _get(self, name: str) -> Any:
        self._seen.add(name)
        return self._spec.get(name, _MISSING)

    def has(self, name: str) -> bool:
        """Whether ``name`` was given (and is not null)."""
        return self._spec.get(name) is not None

    def integer(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        min: builtins.int | None = None,
        max: builtins.int | None = None,
    ) -> Any:
        """An integer parameter (booleans are refused), optionally bounded."""
        value = self._get(name)
        if value is _MISSING or value is None:
            return self._default(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(name, f"must be an integer, got {value!r}")
        _bounded(name, value, min, max)
        return value

    def number(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        min: float | None = None,
        max: float | None = None,
        min_exclusive: bool = False,
    ) -> Any:
        """An int or float parameter, returned as float."""
        value = self._get(name)
        if value is _MISSING or value is None:
            return self._default(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(name, f"must be a number, got {value!r}")
        if min is not None and min_exclusive and value <= min:
            raise SpecError(name, f"must be greater than {min}, got {value!r}")
        _bounded(name, value, None if min_exclusive else min, max)
        return float(value)

    def text(self, name: str, default: Any = _MISSING, *, non_empty: bool = False) -> Any:
        """A string parameter."""
        value = self._get(name)
        if value is _MISSING or value is None:
            return self._default(name, default)
        if not isinstance(value, str):
            raise SpecError(name, f"must be a string, got {value!r}")
        if non_empty and not value:
            raise SpecError(name, "must not be empty")
        return value

    def flag(self, name: str, default: Any = _MISSING) -> Any:
        """A boolean parameter (``true``/``false`` only)."""
        value = self._get(name)
        if value is _MISSING or value is None:
            return self._default(name, default)
        if not isinstance(value, bool):
            raise SpecError(name, f"must be true or false, got {value!r}")
        return value

    def choice(self, name: str, choices: Sequence[T], default: Any = _MISSING) -> T:
        """One of ``choices``."""
        value = self._get(name)
        if value is _MISSING or value is None:
            return self._default(name, default)
        if value not in choices:
            shown = ", ".join(str(c) for c in choices)
            raise SpecError(name, f"must be one of {shown}, got {value!r}")
        return value

    def headers(self, name: str = "headers") -> tuple[tuple[str, str], ...]:
        """A mapping of header names to string (or number) values, kept in order."""
        value = self._get(name)
        if value is _MISSING or value is None:
            return ()
        if not isinstance(value, Mapping):
            raise SpecError(name, f"must be a mapping of header names to values, got {value!r}")
        out: list[tuple[str, str]] = []
        for key, item in value.items():
            if not isinstance(key, str) or not key or not _is_token(key):
                raise SpecError(f"{name}.{key}", "is not a valid header name")
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise SpecError(f"{name}.{key}", f"must be a string or a number, got {item!r}")
            text = str(item)
            if "\r" in text or "\n" in text:
                raise SpecError(f"{name}.{key}", "must not contain line breaks")
            out.append((key, text))
        return tuple(out)

    def done(self) -> None:
        """Refuse parameters that no field took."""
        unknown = sorted(str(k) for k in self._spec if k not in self._seen)
        if unknown:
            raise SpecError(unknown[0], "is not a parameter of this fault kind")

    @staticmethod
    def _default(name: str, default: Any) -> Any:
        if default is _MISSING:
            raise SpecError(name, "is required")
        return default


def _bounded(name: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise SpecError(name, f"must be at least {low}, got {value!r}")
    if high is not None and value > high:
        raise SpecError(name, f"must be at most {high}, got {value!r}")


_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def _is_token(name: str) -> bool:
    return all(c in _TOKEN_CHARS for c in name)


def header_map(headers: Sequence[tuple[str, str]]) -> dict[str, str] | None:
    """Headers as the mapping a scenario writes (``None`` when there are none)."""
    return dict(headers) if headers else None
