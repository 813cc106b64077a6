"""One field reader and one error type for every file the harness reads.

Scenario, policy and inventory files are loaded with the hardened loader of
:mod:`harness._yaml` and read field by field through :class:`Fields`, which knows where each
value came from. Every problem is a :class:`FieldError` whose text is
``file:line: field: problem`` - the line of the value at fault, the dotted path of the field
(``rules[2].fault.delay_ms``) - and which shows a bad value cut short, never whole.

>>> doc = Fields.load("timeout_ms: soon\\n", source="policy.yaml")
>>> doc.integer("timeout_ms", low=1, high=600_000)
Traceback (most recent call last):
...
harness.fields.FieldError: policy.yaml:1: timeout_ms: expected an integer, got str 'soon'

Plain data (dicts and lists built in Python) reads the same way, without line numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from harness._yaml import DEFAULT_MAX_BYTES, YAMLSyntaxError, line_of, show
from harness._yaml import load as load_yaml

__all__ = ["MISSING", "FieldError", "Fields"]

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: The default of a required field.
MISSING: Any = _Missing()


class FieldError(ValueError):
    """A bad value in a file the harness reads: ``str()`` is ``file:line: field: problem``."""

    def __init__(self, source: str, line: int | None, field: str, problem: str) -> None:
        self.source, self.line, self.field, self.problem = source, line, field, problem
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")

    @property
    def path(self) -> str:
        """The file (or ``<name>``) the error is in."""
        return self.source


class Fields:
    """A mapping or a list of a loaded document, read one typed field at a time.

    Keys are strings for a mapping and indexes for a list. Each reader takes the field's
    type and bounds and a ``default`` (required when not given); :meth:`check_keys` refuses
    keys nobody reads.
    """

    def __init__(self, node: Any, *, source: str, field: str = "", line: int | None = None) -> None:
        self.node = node
        self.source = source
        self.field = field
        self.line = line if line is not None else line_of(node)

    # ---- construction

    @classmethod
    def load(
        cls, text: str, *, source: str, max_bytes: int = DEFAULT_MAX_BYTES, kind: str = "document"
    ) -> Fields:
        """Load YAML/JSON ``text`` whose top level must be a mapping."""
        try:
            data = load_yaml(text, max_bytes=max_bytes)
        except YAMLSyntaxError as exc:
            raise FieldError(source, exc.line, "", f"not valid YAML: {exc.problem}") from None
        if data is None:
            raise FieldError(source, None, "", f"the {kind} is empty")
        if not isinstance(data, Mapping):
            raise FieldError(source, line_of(data), "", f"expected a mapping, got {show(data)}")
        return cls(data, source=source)

    # ---- paths and errors

    def path(self, key: str | int) -> str:
        """The dotted path of ``key`` below this node (``rules[2].name``)."""
        if isinstance(key, int):
            return f"{self.field}[{key}]"
        return f"{self.field}.{key}" if self.field else str(key)

    def line_for(self, key: str | int, *, value: bool = True) -> int | None:
        return line_of(self.node, key, value=value) or self.line

    def fail(self, key: str | int | None, problem: str, *, value: bool = True) -> FieldError:
        """A :class:`FieldError` at ``key`` (``None``: this node itself)."""
        if key is None:
            return FieldError(self.source, self.line, self.field, problem)
        return FieldError(self.source, self.line_for(key, value=value), self.path(key), problem)

    def missing(self, key: str | int) -> FieldError:
        """``key`` is required but absent (reported at this node's line)."""
        return FieldError(self.source, self.line, self.path(key), "missing")

    # ---- structure

    def __contains__(self, key: object) -> bool:
        if isinstance(self.node, Mapping):
            return key in self.node and self.node[key] is not None
        return isinstance(key, int) and 0 <= key < len(self.node)

    def __len__(self) -> int:
        return len(self.node)

    def keys(self) -> list[str]:
        return [str(k) for k in self.node] if isinstance(self.node, Mapping) else []

    def check_keys(self, known: Iterable[str], required: Iterable[str] = ()) -> None:
        """Refuse keys not in ``known``; require every key in ``required``."""
        known = tuple(known)
        for key in self.node:
            if key not in known:
                raise self.fail(
                    str(key), f"unknown field; expected one of {', '.join(known)}", value=False
                )
        for key in required:
            if key not in self.node:
                raise self.missing(key)

    def raw(self, key: str | int, default: Any = MISSING) -> Any:
        """The value at ``key`` as loaded (``default`` when absent or null)."""
        if key not in self:
            if default is MISSING:
                raise self.missing(key)
            return default
        return self.node[key]

    def mapping(self, key: str | int, default: Any = MISSING) -> Fields:
        """The mapping at ``key`` (``default``: an empty one when absent, if given)."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            empty = default if default is not None else {}
            return Fields(empty, source=self.source, field=self.path(key), line=self.line)
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {show(value)}")
        return Fields(value, source=self.source, field=self.path(key), line=self.line_for(key))

    def sequence(
        self, key: str | int, default: Any = MISSING, *, min_len: int = 0, max_len: int = 10_000
    ) -> Fields:
        """The list at ``key`` (a single scalar is *not* promoted to a list)."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            items = list(default or ())
            return Fields(items, source=self.source, field=self.path(key), line=self.line)
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {show(value)}")
        if not min_len <= len(value) <= max_len:
            raise self.fail(
                key,
                f"expected {min_len}..{max_len} items, got {len(value)}"
                if min_len
                else f"expected at most {max_len} items, got {len(value)}",
            )
        return Fields(value, source=self.source, field=self.path(key), line=self.line_for(key))

    def indexes(self) -> Iterator[int]:
        """The indexes of a list node."""
        return iter(range(len(self.node)))

    # ---- scalars

    def integer(
        self,
        key: str | int,
        default: Any = MISSING,
        *,
        low: int | None = None,
        high: int | None = None,
    ) -> int:
        """An integer (booleans are not integers), within ``low..high``."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {show(value)}")
        _check_range(self, key, int(value), low, high)
        return int(value)

    def number(
        self,
        key: str | int,
        default: Any = MISSING,
        *,
        low: float | None = None,
        high: float | None = None,
        above: float | None = None,
    ) -> float:
        """A finite number (int or float), within ``low..high`` (``above``: strictly greater)."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {show(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(key, "expected a finite number")
        if above is not None and not number > above:
            raise self.fail(key, f"{number:g} must be greater than {above:g}")
        _check_range(self, key, number, low, high)
        return number

    def boolean(self, key: str | int, default: Any = MISSING) -> bool:
        """``true`` or ``false`` (not 0/1, not "yes")."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {show(value)}")
        return value

    def text(
        self,
        key: str | int,
        default: Any = MISSING,
        *,
        non_empty: bool = False,
        max_len: int = 10_000,
    ) -> str:
        """A string."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {show(value)}")
        if non_empty and not value.strip():
            raise self.fail(key, "must not be empty")
        if len(value) > max_len:
            raise self.fail(key, f"is {len(value)} characters long, more than {max_len}")
        return value

    def choice(self, key: str | int, choices: Sequence[T], default: Any = MISSING) -> T:
        """One of ``choices``."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            return value
        if isinstance(value, bool) or value not in choices:
            raise self.fail(
                key, f"{show(value)} is not one of {', '.join(str(c) for c in choices)}"
            )
        return value


def _check_range(
    fields: Fields, key: str | int, value: float, low: float | None, high: float | None
) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            raise fields.fail(key, f"{value:g} is not between {low:g} and {high:g}")
        if low is not None:
            raise fields.fail(key, f"{value:g} is less than {low:g}")
        raise fields.fail(key, f"{value:g} is more than {high:g}")
