"""Reading a fault's parameters through :class:`harness.fields.Fields`.

Every fault module's ``from_spec`` takes its parameters with :func:`params` - one typed
reader per parameter (``r.integer("delay_ms", low=0, high=...)``), then :func:`finish`
refuses any key nobody asked for. Inside a scenario the :class:`~harness.fields.Fields` the
scenario parser hands over knows the file, the line of each parameter and the field's path,
so a bad parameter is reported as ``file:line: rules[0].fault.delay_ms: problem``. A plain
mapping (``fault_from_spec({"kind": "delay", ...})``) reads the same way; its errors are
:class:`SpecError`, whose text is ``delay_ms: problem``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness._yaml import show
from harness.fields import FieldError, Fields

#: The longest text parameter that is a whole body (``respond`` ``body``, ``body_base64``):
#: as long as a scenario may be.
MAX_BODY_CHARS = 4 << 20


class SpecError(FieldError):
    """A bad fault parameter read from a plain mapping: a :class:`~harness.fields.FieldError`
    with no file, whose text is ``field: problem``.

    Besides FieldError's ``(source, line, field, problem)`` it takes ``(field, problem)``, the
    form a fault module (one of a user's own, say) raises by hand.
    """

    def __init__(self, *args: Any) -> None:
        if len(args) == 2:
            args = ("", None, *args)
        super().__init__(*args)


def params(spec: Fields | Mapping[str, Any]) -> Fields:
    """The parameters of one fault (``kind`` is the registry's business, not a parameter)."""
    if isinstance(spec, Fields):
        fields = spec
    elif isinstance(spec, Mapping):
        fields = Fields(spec, source="", error=SpecError)
    else:
        raise SpecError("fault", f"expected a mapping with a kind, got {show(spec)}")
    fields.raw("kind", None)
    return fields


def finish(r: Fields, kind: str) -> None:
    """Refuse the parameters no reader of ``kind`` asked for."""
    unknown = r.unread()
    if unknown:
        taken = [name for name in r.asked() if name != "kind"]
        listed = f"it takes {', '.join(taken)}" if taken else "it takes none"
        raise r.fail(unknown[0], f"is not a parameter of {kind} ({listed})", value=False)


def headers(r: Fields, key: str = "headers") -> tuple[tuple[str, str], ...]:
    """A mapping of header names to string (or number) values, kept in order."""
    node = r.mapping(key, None)
    out: list[tuple[str, str]] = []
    for name in list(node.node):
        if not isinstance(name, str) or not name or not _is_token(name):
            raise node.fail(
                name if isinstance(name, str | int) else str(name),
                "is not a valid header name",
                value=False,
            )
        value = node.node[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise node.fail(name, f"expected a string or a number, got {show(value)}")
        text = node.text(name, max_len=8192) if isinstance(value, str) else str(value)
        if "\r" in text or "\n" in text or "\0" in text:
            raise node.fail(name, "must not contain line breaks")
        out.append((name, text))
    if len(out) > 100:
        raise r.fail(key, f"{len(out)} headers is more than 100")
    return tuple(out)


_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def _is_token(name: str) -> bool:
    return len(name) <= 256 and all(c in _TOKEN_CHARS for c in name)


def header_map(headers: Sequence[tuple[str, str]]) -> dict[str, str] | None:
    """Headers as the mapping a scenario writes (``None`` when there are none)."""
    return dict(headers) if headers else None
