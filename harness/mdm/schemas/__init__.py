"""XML Schemas (XSD 1.0), one per response kind the reference MDM sends.

==============  ==========================================================
kind            document
==============  ==========================================================
``mdminfo``     discovery, API v1/v2 (vendor fields optional)
``mdminfo-v3``  discovery, API v3 (vendor, product_name, product_version required)
``attributes``  device attribute replies, every version, criterion and filter
``action``      action replies
``sendmessage`` message replies
``error``       the error body of every 4xx/5xx answer
==============  ==========================================================

``common.xsd`` holds the simple types the others include.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from lxml import etree

__all__ = ["SCHEMA_KINDS", "SchemaError", "kind_of", "schema", "validate"]

SCHEMA_KINDS: tuple[str, ...] = (
    "mdminfo",
    "mdminfo-v3",
    "attributes",
    "action",
    "sendmessage",
    "error",
)


class SchemaError(ValueError):
    """A document that does not validate; the message names the kind, line and problem."""


@functools.cache
def schema(kind: str) -> etree.XMLSchema:
    """The compiled schema for ``kind`` (one of :data:`SCHEMA_KINDS`)."""
    if kind not in SCHEMA_KINDS:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(SCHEMA_KINDS)}")
    path = resources.files(__package__).joinpath(f"{kind}.xsd")
    with resources.as_file(path) as real:
        return etree.XMLSchema(etree.parse(str(real)))


def kind_of(document: bytes) -> str:
    """The schema kind for a response document, from its ``<name>`` and ``<api_version>``."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    name = root.findtext("name")
    if name == "mdminfo":
        return "mdminfo-v3" if (root.findtext("api_version") or "").strip() == "3" else "mdminfo"
    if name in SCHEMA_KINDS:
        return name
    raise SchemaError(f"no schema for a document named {name!r}")


def validate(document: bytes, kind: str | None = None) -> str:
    """Validate ``document`` against the schema of ``kind`` (default: :func:`kind_of`).

    Returns the kind; raises :class:`SchemaError` with every problem found.
    """
    kind = kind or kind_of(document)
    xsd = schema(kind)
    tree = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    if not xsd.validate(tree):
        log: Any = xsd.error_log
        problems = "; ".join(f"line {e.line}: {e.message}" for e in log)
        raise SchemaError(f"not a valid {kind} document: {problems}")
    return kind
