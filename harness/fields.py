"""One field reader and one error type for every file the harness reads.

Scenario, policy and inventory files (and fault parameters inside scenarios) are loaded with
the hardened loader of :mod:`harness._yaml` and read field by field through :class:`Fields`,
which knows where each value came from. Every problem is a :class:`FieldError` whose text is
``file:line: field: problem`` - the line of the value at fault, the dotted path of the field
(``rules[2].fault.delay_ms``) - and which shows a bad value cut short, never whole.

>>> doc = Fields.load("timeout_ms: soon\\n", source="policy.yaml")
>>> doc.integer("timeout_ms", low=1, high=600_000)
Traceback (most recent call last):
...
harness.fields.FieldError: policy.yaml:1: timeout_ms: expected an integer, got str 'soon'

Plain data (dicts and lists built in Python) reads the same way, without line numbers. Each
kind of file has its own limits (:data:`LIMITS`); :meth:`Fields.read` reads a file within them.

Over 400 lines: the one field reader for every file the harness reads - every typed read,
the error it gives and the limits per kind of file - kept in one place so that every file
speaks the same ``file:line: field: problem``.
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from harness._yaml import (
    DEFAULT_MAX_BYTES,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_NODES,
    YAMLSyntaxError,
    line_at,
    line_of,
    load_json,
    show,
)
from harness._yaml import load as load_yaml

__all__ = ["LIMITS", "MISSING", "FieldError", "Fields", "Limits", "located", "read_text"]

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: The default of a required field.
MISSING: Any = _Missing()

_INT_LIMIT = 10**MAX_INT_DIGITS
#: A key a path shows as it is (others are quoted): what a schema's field names look like.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True)
class Limits:
    """How large, how deeply nested and how many values one kind of file may be."""

    max_bytes: int
    max_depth: int
    max_nodes: int


#: The limits of each kind of file the harness reads. A scenario is at most 4 MiB (the control
#: API's cap too) and 500 000 values (10 000 rules of 50), a policy 1 MiB and 100 000 values,
#: an inventory 256 MiB (about 350 000 devices; larger fleets are generated:
#: ``serve --devices N``). No file the harness reads nests deeper than 8 levels.
LIMITS: dict[str, Limits] = {
    "scenario": Limits(4 << 20, 32, 500_000),
    "policy": Limits(1 << 20, 32, 100_000),
    "inventory": Limits(256 << 20, 16, 40_000_000),
}


class FieldError(ValueError):
    """A bad value in a file the harness reads: ``str()`` is ``file:line: field: problem``.

    ``source`` is the file (or ``<name>``; empty for a bare mapping), ``line`` is 1-based or
    ``None``, ``field`` the dotted path (empty for the document itself), ``problem`` one line.
    ``parts`` is the field's path as keys and indexes, when the reader knew it, and ``at_key``
    whether the problem is the key itself (an unknown field) rather than its value.
    """

    parts: tuple[str | int, ...] = ()
    at_key: bool = False

    def __init__(self, source: str, line: int | None, field: str, problem: str) -> None:
        self.source, self.line, self.field, self.problem = source, line, field, problem
        where = f"{source}:{line}" if source and line is not None else source
        super().__init__(": ".join(part for part in (where, field, problem) if part))

    @property
    def path(self) -> str:
        """The file (or ``<name>``) the error is in."""
        return self.source


def located(error: FieldError, text: str) -> FieldError:
    """``error`` with its line found in ``text`` (the document it came from) when it has none.

    For documents loaded without positions: the line comes from ``error.parts``, found by
    reading ``text`` again only as far as that field.
    """
    if error.line is not None or (not error.parts and not error.field):
        return error
    line = line_at(text, error.parts, key=error.at_key)
    if line is None:
        return error
    found = type(error)(error.source, line, error.field, error.problem)
    found.parts, found.at_key = error.parts, error.at_key
    return found


def read_text(
    path: str | os.PathLike[str], *, max_bytes: int, error: type[FieldError] = FieldError
) -> str:
    """The UTF-8 text of the file at ``path``, refused past ``max_bytes``.

    Never reads more than ``max_bytes + 1`` bytes (``/dev/zero`` is refused, not read), never
    blocks on a FIFO nobody writes to, and turns every failure into ``error``.
    """
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise error(name, None, "", f"cannot read: {_reason(exc)}") from None
    except ValueError:  # a NUL in the path
        raise error(name, None, "", "cannot read: not a valid path") from None
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(name, None, "", f"cannot read: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise error(name, None, "", f"larger than {max_bytes} bytes")
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(name, line, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _reason(exc: OSError) -> str:
    if exc.errno is not None and exc.errno in errno.errorcode:
        return (exc.strerror or os.strerror(exc.errno)).lower()
    return str(exc)


class Fields:
    """A mapping or a list of a loaded document, read one typed field at a time.

    Keys are strings for a mapping and indexes for a list. Each reader takes the field's
    type and bounds and a ``default`` (required when not given); :meth:`check_keys` refuses
    keys not in a list, :meth:`done` keys that no reader asked for. Errors are of class
    ``error`` (a :class:`FieldError`; children inherit it).
    """

    def __init__(
        self,
        node: Any,
        *,
        source: str,
        field: str = "",
        line: int | None = None,
        error: type[FieldError] = FieldError,
        parts: tuple[str | int, ...] = (),
    ) -> None:
        self.node = node
        self._is_map = isinstance(node, Mapping)
        self.source = source
        self.field = field
        self.line = line if line is not None else line_of(node)
        self.error = error
        self.parts = parts
        self._seen: dict[Any, None] = {}

    # ---- construction

    @classmethod
    def load(
        cls,
        text: str,
        *,
        source: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        kind: str = "document",
        max_depth: int = MAX_DEPTH,
        max_nodes: int = MAX_NODES,
        syntax: Literal["yaml", "json"] = "yaml",
        positions: bool = True,
        error: type[FieldError] = FieldError,
        top: tuple[type, ...] = (Mapping,),
    ) -> Fields:
        """Load YAML (or, with ``syntax="json"``, JSON) ``text`` whose top level must be a
        mapping (or one of the types in ``top``).

        ``positions=False`` (large data files) keeps no lines; errors then carry the field's
        path in ``parts``, and :func:`located` finds their line.
        """
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            line = text.count("\n", 0, exc.start) + 1
            raise error(source, line, "", "not valid Unicode text (a lone surrogate)") from None
        if size > max_bytes:
            raise error(source, None, "", f"{size} bytes is more than the {max_bytes} allowed")
        try:
            if syntax == "json":
                data = load_json(text, max_bytes=max_bytes)
            else:
                data = load_yaml(
                    text,
                    max_bytes=max_bytes,
                    max_depth=max_depth,
                    max_nodes=max_nodes,
                    positions=positions,
                )
        except YAMLSyntaxError as exc:
            name = "JSON" if syntax == "json" else "YAML"
            raise error(source, exc.line, "", f"not valid {name}: {exc.problem}") from None
        if data is None:
            raise error(source, None, "", f"the {kind} is empty")
        if not isinstance(data, top):
            raise error(source, line_of(data), "", f"expected a mapping, got {show(data)}")
        return cls(data, source=source, error=error)

    @classmethod
    def read(
        cls,
        path: str | os.PathLike[str],
        *,
        limits: Limits,
        kind: str = "file",
        syntax: Literal["yaml", "json"] = "yaml",
        positions: bool = True,
        error: type[FieldError] = FieldError,
        top: tuple[type, ...] = (Mapping,),
    ) -> Fields:
        """Read the file at ``path`` within ``limits`` and load it (see :meth:`load`)."""
        text = read_text(path, max_bytes=limits.max_bytes, error=error)
        return cls.load(
            text,
            source=str(path),
            max_bytes=limits.max_bytes,
            max_depth=limits.max_depth,
            max_nodes=limits.max_nodes,
            kind=kind,
            syntax=syntax,
            positions=positions,
            error=error,
            top=top,
        )

    def child(self, key: str | int, node: Any, *, line: int | None = None) -> Fields:
        """A :class:`Fields` for ``node``, found at ``key`` below this one."""
        return Fields(
            node,
            source=self.source,
            field=self.path(key),
            line=line if line is not None else self.line_for(key),
            error=self.error,
            parts=(*self.parts, key),
        )

    # ---- paths and errors

    def path(self, key: str | int) -> str:
        """The dotted path of ``key`` below this node (``rules[2].name``); a key that is not a
        plain word is shown quoted and cut short, so the path stays on one line."""
        if isinstance(key, int) and not isinstance(key, bool) and not self._is_map:
            return f"{self.field}[{key}]"
        name = str(key)
        if not _PLAIN_KEY.fullmatch(name):
            name = repr(name[:40]) if len(name) <= 40 else repr(name[:37])[:-1] + "...'"
        return f"{self.field}.{name}" if self.field else name

    def line_for(self, key: str | int, *, value: bool = True) -> int | None:
        return line_of(self.node, key, value=value) or self.line

    def fail(self, key: str | int | None, problem: str, *, value: bool = True) -> FieldError:
        """A :class:`FieldError` at ``key`` (``None``: this node itself)."""
        if key is None:
            exc = self.error(self.source, self.line, self.field, problem)
            exc.parts = self.parts
            return exc
        exc = self.error(self.source, self.line_for(key, value=value), self.path(key), problem)
        exc.parts, exc.at_key = (*self.parts, key), not value
        return exc

    def missing(self, key: str | int, why: str | None = None) -> FieldError:
        """``key`` is required but absent (reported at this node's line); ``why`` says more."""
        exc = self.error(
            self.source, self.line, self.path(key), f"missing ({why})" if why else "missing"
        )
        exc.parts = self.parts
        return exc

    # ---- structure

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is there and not null."""
        if self._is_map:
            try:
                return self.node.get(key) is not None
            except TypeError:  # an unhashable key
                return False
        return isinstance(key, int) and 0 <= key < len(self.node) and self.node[key] is not None

    def __len__(self) -> int:
        return len(self.node)

    def keys(self) -> list[str]:
        return [str(k) for k in self.node] if self._is_map else []

    def check_keys(self, known: Iterable[str], required: Iterable[str] = ()) -> None:
        """Refuse keys not in ``known``; require every key in ``required``."""
        known = tuple(known)
        allowed = frozenset(known)
        for key in self.node:
            if key not in allowed:
                raise self.fail(
                    key if isinstance(key, str | int) else str(key),
                    f"unknown field; expected one of {', '.join(known)}",
                    value=False,
                )
        for key in required:
            if key not in self.node:
                raise self.missing(key)

    def asked(self) -> list[str]:
        """The keys some reader asked for, in the order asked."""
        return [str(k) for k in self._seen]

    def unread(self) -> list[str | int]:
        """The keys of this mapping that no reader asked for, in document order."""
        if not self._is_map:
            return []
        return [k if isinstance(k, str | int) else str(k) for k in self.node if k not in self._seen]

    def done(self) -> None:
        """Refuse keys that no reader asked for (the first, in document order)."""
        unknown = self.unread()
        if unknown:
            asked = ", ".join(self.asked())
            raise self.fail(
                unknown[0],
                f"unknown field; expected one of {asked}" if asked else "unknown field",
                value=False,
            )

    def raw(self, key: str | int, default: Any = MISSING) -> Any:
        """The value at ``key`` as loaded (``default`` when absent or null)."""
        self._seen[key] = None
        if self._is_map:
            value = self.node.get(key)
        elif isinstance(key, int) and 0 <= key < len(self.node):
            value = self.node[key]
        else:
            value = None
        if value is None:
            if default is MISSING:
                raise self.missing(key)
            return default
        return value

    def mapping(self, key: str | int, default: Any = MISSING) -> Fields:
        """The mapping at ``key`` (``default``: an empty one when absent, if given)."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            empty = default if default is not None else {}
            return self.child(key, empty, line=self.line)
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {show(value)}")
        return self.child(key, value)

    def sequence(
        self, key: str | int, default: Any = MISSING, *, min_len: int = 0, max_len: int = 10_000
    ) -> Fields:
        """The list at ``key`` (a single scalar is *not* promoted to a list)."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            return self.child(key, list(default or ()), line=self.line)
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {show(value)}")
        if not min_len <= len(value) <= max_len:
            raise self.fail(
                key,
                f"expected {min_len}..{max_len} items, got {len(value)}"
                if min_len
                else f"expected at most {max_len} items, got {len(value)}",
            )
        return self.child(key, value)

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
        if not -_INT_LIMIT < value < _INT_LIMIT:
            raise self.fail(key, f"an integer of more than {MAX_INT_DIGITS} digits is too long")
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
        if isinstance(value, int) and not -_INT_LIMIT < value < _INT_LIMIT:
            raise self.fail(key, f"a number of more than {MAX_INT_DIGITS} digits is too long")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(key, "expected a finite number")
        if above is not None and not number > above:
            raise self.fail(key, f"{_num(number)} must be greater than {_num(above)}")
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
        numbers: bool = False,
    ) -> str:
        """A string (valid Unicode: no lone surrogates) of at most ``max_len`` characters.

        With ``numbers``, an integer counts as its digits (an IMEI or a phone number written
        unquoted in YAML)."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            return value
        if numbers and isinstance(value, int) and not isinstance(value, bool):
            if not -_INT_LIMIT < value < _INT_LIMIT:
                raise self.fail(key, f"an integer of more than {MAX_INT_DIGITS} digits is too long")
            return str(value)
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {show(value)}")
        if non_empty and not value.strip():
            raise self.fail(key, "must not be empty")
        if len(value) > max_len:
            raise self.fail(key, f"is {len(value)} characters long, more than {max_len}")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail(key, "is not valid Unicode text (a lone surrogate)") from None
        return value

    def choice(self, key: str | int, choices: Sequence[T], default: Any = MISSING) -> T:
        """One of ``choices`` (of the same type: ``1.0`` is not ``1``, ``true`` not ``1``)."""
        value = self.raw(key, default)
        if value is default and default is not MISSING:
            return value
        for choice in choices:
            if type(value) is type(choice) and value == choice:
                return choice
        raise self.fail(key, f"{_shown(value)} is not one of {', '.join(str(c) for c in choices)}")


def _shown(value: Any) -> str:
    """A value as a "not one of" message shows it: words and numbers as such, others by kind."""
    if isinstance(value, str):
        return repr(value[:40]) if len(value) <= 40 else repr(value[:37])[:-1] + "...'"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return show(value).split(" ", 1)[1]
    return show(value)


def _num(value: float) -> str:
    """A number as messages show it: integers in full, other numbers briefly."""
    if isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) < 1e16
    ):
        return str(int(value))
    return f"{value:g}"


def _check_range(
    fields: Fields, key: str | int, value: float, low: float | None, high: float | None
) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            raise fields.fail(key, f"{_num(value)} is not between {_num(low)} and {_num(high)}")
        if low is not None:
            raise fields.fail(key, f"{_num(value)} is less than {_num(low)}")
        raise fields.fail(key, f"{_num(value)} is more than {_num(high or 0)}")
