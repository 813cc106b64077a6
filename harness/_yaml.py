"""YAML with line numbers, shared by the parsers of scenario, policy and inventory files.

Every file the harness reads is YAML (JSON is YAML 1.2), read with ruamel's round-trip loader
so that an error can name the line of the field at fault. Each parser keeps its own error type;
this module gives them the same loading, the same line lookup and the same way of showing a
bad value.
"""

from __future__ import annotations

from typing import Any


class YAMLSyntaxError(ValueError):
    """Text that is not YAML: ``line`` (1-based, when known) and a one-line ``problem``."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def load(text: str) -> Any:
    """Load YAML ``text`` with positions kept (``node.lc``); duplicate keys are an error."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        raise YAMLSyntaxError(line, problem.replace("\n", " ")) from None
    except YAMLError as exc:
        raise YAMLSyntaxError(None, str(exc).replace("\n", " ")) from None


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
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 5] + "...'"
    return f"{type(value).__name__} {text}"
