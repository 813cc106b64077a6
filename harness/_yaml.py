"""The one YAML loader for every file the harness reads: safe, bounded, with line numbers.

Scenario, policy and inventory files (and scenarios sent to the proxy's control API) are YAML -
JSON is YAML 1.2 - read with ruamel's pure-Python round-trip loader, so that an error can name
the line of the field at fault. The loader is hardened against hostile files:

* **no aliases** (``*name``, ``<<: *name``): an alias bomb cannot expand, and no value is
  shared between two places;
* **bounded size and depth**: at most ``max_bytes`` of text and :data:`MAX_DEPTH` levels of
  nesting (no recursion error, no C loader to crash);
* **bounded numbers**: integers of at most :data:`MAX_INT_DIGITS` digits, and no NaN or
  infinity;
* duplicate keys are an error.

Every refusal is a :class:`YAMLSyntaxError` with the line where it happened and a one-line
problem that never shows a whole value.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "YAMLSyntaxError",
    "line_of",
    "load",
    "show",
]

#: The largest document :func:`load` reads unless told otherwise (bytes of UTF-8 text).
DEFAULT_MAX_BYTES = 4 << 20
#: The deepest nesting of mappings and lists accepted.
MAX_DEPTH = 64
#: The most digits an integer may have.
MAX_INT_DIGITS = 30

_DIGITS = re.compile(r"[0-9a-fA-F]")


class YAMLSyntaxError(ValueError):
    """Text that is not (acceptable) YAML: ``line`` (1-based, when known) and a one-line ``problem``."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def _classes() -> tuple[Any, Any]:
    """The hardened composer and constructor classes (built once, on first use)."""
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES
    from ruamel.yaml.composer import Composer, ComposerError
    from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
    from ruamel.yaml.events import AliasEvent

    class BoundedComposer(Composer):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.parser.check_event(AliasEvent):
                event = self.parser.get_event()
                raise ComposerError(
                    None,
                    None,
                    f"aliases (*{event.anchor}) are not allowed: write each value where it is used",
                    event.start_mark,
                )
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise ComposerError(
                        None,
                        None,
                        f"nested more than {MAX_DEPTH} levels deep",
                        self.parser.peek_event().start_mark,
                    )
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    class BoundedConstructor(RoundTripConstructor):
        def construct_yaml_int(self, node: Any) -> Any:
            digits = len(_DIGITS.findall(str(node.value)))
            if digits > MAX_INT_DIGITS:
                raise ConstructorError(
                    None,
                    None,
                    f"an integer of {digits} digits is too long (at most {MAX_INT_DIGITS})",
                    node.start_mark,
                )
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node: Any) -> Any:
            text = str(node.value).strip().lower().lstrip("+-")
            if text in (".nan", ".inf"):
                raise ConstructorError(
                    None, None, "NaN and infinity are not numbers here", node.start_mark
                )
            value = super().construct_yaml_float(node)
            if value != value or value in (float("inf"), float("-inf")):
                raise ConstructorError(
                    None, None, "NaN and infinity are not numbers here", node.start_mark
                )
            return value

    BoundedConstructor.add_constructor(
        "tag:yaml.org,2002:int", BoundedConstructor.construct_yaml_int
    )
    BoundedConstructor.add_constructor(
        "tag:yaml.org,2002:float", BoundedConstructor.construct_yaml_float
    )
    _CLASSES = (BoundedComposer, BoundedConstructor)
    return _CLASSES


_CLASSES: tuple[Any, Any] | None = None


def load(text: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Load YAML ``text`` with positions kept (``node.lc``), hardened as the module says."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise YAMLSyntaxError(None, f"the document is {size} bytes, more than {max_bytes}")
    composer, constructor = _classes()
    yaml = YAML(typ="rt", pure=True)
    yaml.Composer = composer
    yaml.Constructor = constructor
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        raise YAMLSyntaxError(line, _one_line(problem)) from None
    except YAMLError as exc:
        raise YAMLSyntaxError(None, _one_line(str(exc))) from None
    except (ValueError, RecursionError, OverflowError) as exc:  # a constructor's own refusal
        raise YAMLSyntaxError(None, _one_line(f"{type(exc).__name__}: {exc}")) from None


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def line_of(node: Any, key: Any = None, *, value: bool = False) -> int | None:
    """The 1-based line of ``node[key]`` (of its value with ``value=True``; of ``node`` itself
    when ``key`` is None), when ``node`` came from :func:`load`."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return int(lc.line) + 1
        if isinstance(key, int) and isinstance(node, list):
            return int(lc.item(key)[0]) + 1
        pos = lc.value(key) if value else lc.key(key)
        return int(pos[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return int(lc.line) + 1 if getattr(lc, "line", None) is not None else None


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
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 5] + "...'"
    return f"{type(value).__name__} {text}"
