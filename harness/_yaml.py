"""The one loader for every file the harness reads: safe, bounded, with line numbers.

Scenario, policy and inventory files (and scenarios sent to the proxy's control API) are YAML -
JSON is YAML 1.2. :func:`load` reads them from the *events* of libyaml's parser (ruamel's
``CParser``; ruamel's pure-Python parser where the C one is not installed) and builds the
values itself, iteratively, so that it can refuse a hostile document early:

* **no aliases** (``*name``): an alias bomb cannot expand, and no value is shared between two
  places;
* **bounded size, depth and count**: at most ``max_bytes`` of UTF-8 text, ``max_depth`` levels
  of nesting and ``max_nodes`` values (so that 4 MB of ``[],`` cannot become 200 MB of lists). Nothing recurses (libyaml's C *composer* does, and crashes on deep nesting; it is
  never used), and stopping at the depth limit also bounds libyaml's own scanning, which is
  quadratic in the nesting of flow collections (4 MB of ``[`` takes it hours);
* **bounded numbers**: integers of at most :data:`MAX_INT_DIGITS` digits, no NaN or infinity;
* **plain data only**: the YAML 1.2 core schema (null, booleans, integers, floats, strings,
  mappings, lists); an explicit tag other than these (``!!python/object``, ``!!binary``,
  ``!custom``) is refused, and so are duplicate keys, keys that are not scalars, a second
  document and strings that are not valid Unicode.

With ``positions=True`` (the default) mappings and lists come back as :class:`Map` and
:class:`Seq` - a ``dict`` and a ``list`` that remember the line of every key, value and item
(:func:`line_of`). ``positions=False`` builds plain ``dict``/``list``; :func:`line_at` then
finds the line of one path on demand, which is how a 100 000-device inventory stays cheap.

:func:`load_json` is the fast path for large JSON files (the standard library's C decoder, with
the same bounds on numbers, no NaN/Infinity and no duplicate keys; its nesting is bounded by
the interpreter's recursion limit).

Every refusal is a :class:`YAMLSyntaxError` with the line where it happened and a one-line
problem that never shows a whole value.

Over 400 lines: a hardened loader is one state machine - the safe constructor, the bounds on
size, depth, nodes and numbers, duplicate keys, line lookup and the JSON fast path - whose
refusals must agree.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Generator, Iterator, Sequence
from typing import Any

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "MAX_NODES",
    "Map",
    "Seq",
    "YAMLSyntaxError",
    "line_at",
    "line_of",
    "load",
    "load_json",
    "show",
]

#: The largest document :func:`load` reads unless told otherwise (bytes of UTF-8 text).
DEFAULT_MAX_BYTES = 4 << 20
#: The deepest nesting of mappings and lists accepted unless told otherwise.
MAX_DEPTH = 64
#: The most values (scalars, mappings and lists) one document may hold unless told otherwise.
MAX_NODES = 1_000_000
#: The most digits an integer may have (a 64-bit integer has 20).
MAX_INT_DIGITS = 30

_CORE = "tag:yaml.org,2002:"
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_NAN = frozenset((".nan", ".NaN", ".NAN"))
_INF = frozenset(f"{sign}{word}" for sign in ("", "+", "-") for word in (".inf", ".Inf", ".INF"))
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_NUMBER_START = frozenset("0123456789+-.")


class YAMLSyntaxError(ValueError):
    """Text that is not (acceptable) YAML: ``line`` (1-based, when known) and a one-line ``problem``."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


class Map(dict[Any, Any]):
    """A loaded mapping that remembers its own line and the line of each key and value."""

    __slots__ = ("key_lines", "line", "value_lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.value_lines: dict[Any, int] = {}


class Seq(list[Any]):
    """A loaded list that remembers its own line and the line of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


# -- the event stream ------------------------------------------------------------------------


def _events(text: str, *, pure: bool = False) -> Generator[Any, None, None]:
    """libyaml's parser events for ``text`` (ruamel's pure parser with ``pure`` or without
    the C extension). The events come one at a time: the caller stops the scan by stopping."""
    parser_class: Any = None
    if not pure:
        try:
            from ruamel.yaml import CParser as parser_class
        except ImportError:  # pragma: no cover - ruamel.yaml.clib ships for CPython 3.11
            parser_class = None
    if parser_class is None:
        from ruamel.yaml import YAML

        yield from YAML(typ="safe", pure=True).parse(text)
        return
    parser = parser_class(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def _checked_size(text: str, max_bytes: int) -> None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise YAMLSyntaxError(line, "not valid Unicode text (a lone surrogate)") from None
    if size > max_bytes:
        raise YAMLSyntaxError(None, f"the document is {size} bytes, more than {max_bytes}")


@contextlib.contextmanager
def _parse_errors(text: str) -> Iterator[None]:
    """Turn the parser's own errors into :class:`YAMLSyntaxError` (line and one-line problem)."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        yield
    except YAMLSyntaxError:
        raise
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "not YAML"
        raise YAMLSyntaxError(line, _one_line(problem)) from None
    except ReaderError as exc:
        where = text.encode("utf-8")[: max(0, int(exc.position))]
        raise YAMLSyntaxError(
            where.count(b"\n") + 1,
            f"character {_codepoint(exc.character)} is not allowed ({_one_line(str(exc.reason))})",
        ) from None
    except (YAMLError, ValueError, RecursionError, OverflowError) as exc:
        raise YAMLSyntaxError(None, _one_line(f"{type(exc).__name__}: {exc}")) from None


# -- scalars ---------------------------------------------------------------------------------


def _scalar(event: Any) -> Any:
    """The value of a scalar event under the YAML 1.2 core schema (tags checked)."""
    value: str = event.value
    tag = event.tag
    line = event.start_mark.line + 1
    if event.style == '"' and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise YAMLSyntaxError(
                line, "not valid Unicode text (an escaped lone surrogate)"
            ) from None
    if tag is None or tag == "!":
        if tag is None and event.implicit[0]:
            return _plain(value, line)
        return value
    if not tag.startswith(_CORE):
        raise YAMLSyntaxError(line, f"the tag {_cut(tag)} is not allowed here: plain data only")
    kind = tag[len(_CORE) :]
    if kind == "str":
        return value
    resolved = _plain(value, line)
    if kind == "null" and resolved is None:
        return None
    if kind == "bool" and isinstance(resolved, bool):
        return resolved
    if kind == "int" and isinstance(resolved, int) and not isinstance(resolved, bool):
        return resolved
    if kind == "float" and isinstance(resolved, int | float) and not isinstance(resolved, bool):
        return float(resolved)
    if kind in ("null", "bool", "int", "float"):
        raise YAMLSyntaxError(line, f"{show(value)} is not a valid !!{kind}")
    raise YAMLSyntaxError(line, f"the tag !!{_cut(kind)} is not allowed here: plain data only")


def _plain(value: str, line: int) -> Any:
    """A plain scalar resolved by the YAML 1.2 core schema."""
    if value in _NULLS:
        return None
    first = value[0]
    if first in "tTfF":
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        return value
    if first not in _NUMBER_START:
        return value
    if _INT10.fullmatch(value):
        return _integer(value, value.lstrip("+-"), 10, line)
    if _INT16.fullmatch(value):
        return _integer(value, value[2:], 16, line)
    if _INT8.fullmatch(value):
        return _integer(value, value[2:], 8, line)
    if value in _NAN or value in _INF:
        raise YAMLSyntaxError(line, "NaN and infinity are not numbers here")
    if _FLOAT.fullmatch(value):
        number = float(value)
        if not math.isfinite(number):
            raise YAMLSyntaxError(
                line, f"{show(value)} is too large for a number (quote it if it is text)"
            )
        return number
    return value


def _integer(text: str, digits: str, base: int, line: int) -> int:
    if len(digits) > MAX_INT_DIGITS:
        raise YAMLSyntaxError(
            line, f"an integer of {len(digits)} digits is too long (at most {MAX_INT_DIGITS})"
        )
    return int(text, base) if base != 10 else int(text)


# -- building --------------------------------------------------------------------------------

_NO_KEY: Any = object()


def load(
    text: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
    positions: bool = True,
    pure: bool = False,
) -> Any:
    """Load one YAML (or JSON) document, hardened as the module says.

    Returns ``None`` for an empty document. ``positions`` keeps lines (:class:`Map`,
    :class:`Seq`); ``pure`` forces ruamel's pure-Python parser (the C one is used otherwise).
    """
    _checked_size(text, max_bytes)
    from ruamel.yaml.events import (
        AliasEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    root: Any = None
    documents = 0
    nodes = 0
    # The open containers: (container, is_mapping, pending key, its line) per level.
    stack: list[tuple[Any, bool, Any, int]] = []
    container: Any = None
    is_map = False
    key: Any = _NO_KEY
    key_line = 0
    events = _events(text, pure=pure)
    with _parse_errors(text):
        try:
            for event in events:
                kind = type(event)
                if kind is ScalarEvent:
                    nodes += 1
                    if nodes > max_nodes:
                        raise YAMLSyntaxError(
                            event.start_mark.line + 1, f"more than {max_nodes} values"
                        )
                    node = _scalar(event)
                    line = event.start_mark.line + 1
                elif kind is MappingStartEvent or kind is SequenceStartEvent:
                    line = event.start_mark.line + 1
                    nodes += 1
                    if nodes > max_nodes:
                        raise YAMLSyntaxError(line, f"more than {max_nodes} values")
                    if len(stack) >= max_depth:
                        raise YAMLSyntaxError(line, f"nested more than {max_depth} levels deep")
                    if is_map and key is _NO_KEY:
                        raise YAMLSyntaxError(
                            line, "a key must be a plain value, not a mapping or a list"
                        )
                    _check_collection_tag(
                        event, line, "map" if kind is MappingStartEvent else "seq"
                    )
                    stack.append((container, is_map, key, key_line))
                    if kind is MappingStartEvent:
                        container = Map(line) if positions else {}
                        is_map = True
                    else:
                        container = Seq(line) if positions else []
                        is_map = False
                    key = _NO_KEY
                    continue
                elif kind is MappingEndEvent or kind is SequenceEndEvent:
                    node = container
                    line = node.line if positions else 0
                    container, is_map, key, key_line = stack.pop()
                elif kind is AliasEvent:
                    raise YAMLSyntaxError(
                        event.start_mark.line + 1,
                        f"aliases (*{_cut(str(event.anchor))}) are not allowed: write each value "
                        "where it is used",
                    )
                elif kind is DocumentStartEvent:
                    documents += 1
                    if documents > 1:
                        raise YAMLSyntaxError(
                            event.start_mark.line + 1, "a file holds one document, not several"
                        )
                    continue
                else:
                    continue
                if container is None:
                    root = node
                elif is_map:
                    if key is _NO_KEY:
                        key, key_line = node, line
                        continue
                    if key in container:
                        first = container.key_lines[key] if positions else None
                        since = f" (first on line {first})" if first else ""
                        raise YAMLSyntaxError(key_line, f"duplicate key {_key_name(key)}{since}")
                    container[key] = node
                    if positions:
                        container.key_lines[key] = key_line
                        container.value_lines[key] = line
                    key = _NO_KEY
                else:
                    container.append(node)
                    if positions:
                        container.item_lines.append(line)
        finally:
            events.close()
    return root


def _check_collection_tag(event: Any, line: int, core: str) -> None:
    tag = event.tag
    if tag is None or tag == "!" or tag == _CORE + core:
        return
    raise YAMLSyntaxError(line, f"the tag {_cut(tag)} is not allowed here: plain data only")


def line_at(
    text: str, path: Sequence[str | int], *, key: bool = False, pure: bool = False
) -> int | None:
    """The 1-based line of the value at ``path`` in ``text`` (of its key with ``key=True``).

    Reads events only as far as the path (nothing is built). When the path does not exist to
    the end, the line of the deepest part that does; ``None`` if the text does not parse there.
    Mapping keys are compared as text, list items by index.
    """
    from ruamel.yaml.events import (
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    target = list(path)
    best: int | None = None
    # One frame per open container: [is mapping, next item index, pending key, key line,
    # whether the container sits exactly at the start of the path].
    stack: list[list[Any]] = []
    events = _events(text, pure=pure)
    try:
        for event in events:
            kind = type(event)
            if kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                if frame[4]:
                    return best  # the path goes on, but this container lacks the next part
                continue
            starts = kind is MappingStartEvent or kind is SequenceStartEvent
            if not starts and kind is not ScalarEvent:
                continue
            line = event.start_mark.line + 1
            if not stack:
                on_path = True
                result = line
            else:
                frame = stack[-1]
                if frame[0] and frame[2] is _NO_KEY:  # a mapping key
                    frame[2] = _key_text(event) if kind is ScalarEvent else None
                    frame[3] = line
                    if starts:  # a complex key: walked through like any other node
                        stack.append([kind is MappingStartEvent, 0, _NO_KEY, 0, False])
                    continue
                depth = len(stack) - 1
                step = frame[2] if frame[0] else frame[1]
                on_path = frame[4] and depth < len(target) and _same(target[depth], step)
                result = frame[3] if (key and frame[0]) else line
                if frame[0]:
                    frame[2] = _NO_KEY
                else:
                    frame[1] += 1
            if on_path:
                best = line
                if len(stack) == len(target):
                    return result
            if starts:
                if len(stack) >= _LINE_AT_DEPTH:
                    return best
                stack.append([kind is MappingStartEvent, 0, _NO_KEY, 0, on_path])
    except Exception:  # a text that does not parse past here has no more lines to give
        return best
    finally:
        events.close()
    return best


#: How deep :func:`line_at` follows a document (libyaml's scan is quadratic in flow depth).
_LINE_AT_DEPTH = 1024


def _same(part: str | int, step: Any) -> bool:
    if isinstance(part, int) and not isinstance(part, bool):
        return isinstance(step, int) and not isinstance(step, bool) and step == part
    return isinstance(step, str) and step == part


def _key_text(event: Any) -> Any:
    try:
        value = _scalar(event)
    except YAMLSyntaxError:
        return None
    return value if isinstance(value, str) else str(value)


# -- JSON ------------------------------------------------------------------------------------


class _Refused(ValueError):
    def __init__(self, token: str, problem: str) -> None:
        super().__init__(problem)
        self.token = token
        self.problem = problem


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(
            text, f"an integer of {digits} digits is too long (at most {MAX_INT_DIGITS})"
        )
    return int(text)


def _json_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _Refused(text, f"{show(text)} is too large for a number")
    return number


def _json_constant(text: str) -> Any:
    raise _Refused(text, "NaN and infinity are not numbers here")


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _Refused("", f"duplicate key {_key_name(name)}")
            seen.add(name)
    return out


_JSON_STRING = r'"(?:[^"\\\n]|\\.)*"'


def load_json(text: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Load a JSON document fast (no positions), as safely as :func:`load`."""
    _checked_size(text, max_bytes)
    try:
        return json.loads(
            text,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
            object_pairs_hook=_json_object,
        )
    except json.JSONDecodeError as exc:
        raise YAMLSyntaxError(exc.lineno, f"not valid JSON: {exc.msg}") from None
    except _Refused as exc:
        raise YAMLSyntaxError(_json_line(text, exc), exc.problem) from None
    except RecursionError:
        raise YAMLSyntaxError(None, "nested too deeply") from None


def _json_line(text: str, refused: _Refused) -> int | None:
    """Where ``refused`` happened: the first such token outside strings, or (a duplicate
    key) where the YAML loader finds one."""
    if not refused.token:
        try:
            load(text, max_bytes=1 << 62, positions=False, max_nodes=1 << 62)
        except YAMLSyntaxError as exc:
            return exc.line if exc.problem.startswith("duplicate key") else None
        return None
    pattern = re.compile(rf"{_JSON_STRING}|(?<![\w.+-])({re.escape(refused.token)})(?![\w.])")
    for match in pattern.finditer(text):
        if match.group(1) is not None:
            return text.count("\n", 0, match.start()) + 1
    return None


# -- lines and messages ----------------------------------------------------------------------


def line_of(node: Any, key: Any = None, *, value: bool = False) -> int | None:
    """The 1-based line of ``node[key]`` (of its value with ``value=True``; of ``node`` itself
    when ``key`` is None), when ``node`` came from :func:`load` with positions."""
    if isinstance(node, Map):
        if key is None:
            return node.line
        lines = node.value_lines if value else node.key_lines
        return lines.get(key, node.line) if _hashable(key) else node.line
    if isinstance(node, Seq):
        if key is None:
            return node.line
        if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(node.item_lines):
            return node.item_lines[key]
        return node.line
    return None


def _hashable(key: Any) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text[: limit * 4].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_name(key: Any) -> str:
    return _cut(repr(key)) if isinstance(key, str) else show(key)


def _codepoint(character: Any) -> str:
    code = character if isinstance(character, int) else ord(str(character)[:1] or "\0")
    return f"U+{code:04X}"


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show(value: Any, *, limit: int = 60) -> str:
    """A bad value as an error message shows it: its kind, and its text cut to ``limit``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very long integer"
    if isinstance(value, str | bytes):
        text = repr(value[: limit + 1])
        if len(value) > limit or len(text) > limit:
            text = text[: limit - 4] + "...'"
        return f"{type(value).__name__} {text}"
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails still gets a message
        text = "?"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"
