"""Small helpers for faults that answer in the proxy's name."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

#: What the reference MDM (and Jamf) send with XML bodies.
XML_CONTENT_TYPE = "application/xml;charset=UTF-8"


def error_document(status: int, message: str) -> bytes:
    """The reference MDM's error body: ``<ise_api><name>error</name><error>..</error></ise_api>``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ise_api><name>error</name><error><status>{status}</status>"
        f"<message>{escape(message)}</message></error></ise_api>\n"
    ).encode()


def with_content_type(
    headers: Sequence[tuple[str, str]], body: bytes, default: str = XML_CONTENT_TYPE
) -> tuple[tuple[str, str], ...]:
    """``headers`` plus a Content-Type when the body is not empty and none was given."""
    if body and not any(k.lower() == "content-type" for k, _ in headers):
        return (*headers, ("Content-Type", default))
    return tuple(headers)
