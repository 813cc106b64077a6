"""Small helpers for faults that answer in the proxy's name."""

from __future__ import annotations

from collections.abc import Sequence

from harness._xml import XML_CONTENT_TYPE, error_document

__all__ = ["XML_CONTENT_TYPE", "error_document", "with_content_type"]


def with_content_type(
    headers: Sequence[tuple[str, str]], body: bytes, default: str = XML_CONTENT_TYPE
) -> tuple[tuple[str, str], ...]:
    """``headers`` plus a Content-Type when the body is not empty and none was given."""
    if body and not any(k.lower() == "content-type" for k, _ in headers):
        return (*headers, ("Content-Type", default))
    return tuple(headers)
