"""XML shared by the whole harness: the hardened parser, the content type, the error document.

The one hardened XML parser setup: no DTD, no entities, no network, no huge trees.

The reference MDM parses request bodies with it and the reference client parses answers with
it. A DOCTYPE is refused outright - before parsing by a byte scan, and after it by the
document's own record (an encoding such as UTF-16 can hide it from the scan) - so no entity,
internal, external or a bomb, is ever expanded or fetched.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)

#: The Content-Type of every XML body the harness sends (Jamf Pro's spelling).
XML_CONTENT_TYPE = "application/xml;charset=UTF-8"


def error_document(status: int, message: str) -> bytes:
    """The reference MDM's error body (also what faults answer in its name)::

    <ise_api><name>error</name><error><status>N</status><message>..</message></error></ise_api>
    """
    root = etree.Element("ise_api")
    etree.SubElement(root, "name").text = "error"
    err = etree.SubElement(root, "error")
    etree.SubElement(err, "status").text = str(status)
    etree.SubElement(err, "message").text = message
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


class UnsafeOrBrokenXML(ValueError):
    """Why a body was refused: ``reason`` is ``empty``, ``doctype``, ``entity`` or ``syntax``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse(data: bytes) -> etree._Element:
    """The root element of ``data``; :class:`UnsafeOrBrokenXML` for anything else."""
    if not data.strip():
        raise UnsafeOrBrokenXML("empty", "empty body")
    if _DOCTYPE.search(data):
        raise UnsafeOrBrokenXML("doctype", "a DOCTYPE is not allowed (no DTDs, no entities)")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise UnsafeOrBrokenXML("syntax", str(exc.msg or exc)) from None
    if root is None:  # pragma: no cover - lxml raises instead
        raise UnsafeOrBrokenXML("syntax", "no root element")
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeOrBrokenXML("doctype", "a DOCTYPE is not allowed (no DTDs, no entities)")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise UnsafeOrBrokenXML("entity", "entity references are not allowed")
    return root


#: Bodies larger than this are not examined (:func:`examine` returns ``None``).
EXAMINE_MAX_BYTES = 8 << 20


def examine(data: bytes) -> tuple[str, bool, bool] | None:
    """What a body *is*, without resolving or fetching anything: ``(form, doctype, external)``.

    ``form`` is ``empty``, ``xml`` (well-formed) or ``malformed``; ``doctype`` says the document
    declares a DOCTYPE; ``external`` that the DOCTYPE or one of its entities (general or
    parameter) names something outside the document (``SYSTEM``/``PUBLIC``). ``None`` for a
    body over :data:`EXAMINE_MAX_BYTES`.
    """
    if len(data) > EXAMINE_MAX_BYTES:
        return None
    if not data.strip():
        return ("empty", False, False)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return ("malformed", bool(_DOCTYPE.search(data)), False)
    if root is None:  # pragma: no cover - lxml raises instead
        return ("malformed", False, False)
    docinfo: Any = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    doctype = bool(docinfo.doctype) or dtd is not None
    external = bool(docinfo.system_url or docinfo.public_id) or (
        dtd is not None and any(entity.system_url for entity in dtd.iterentities())
    )
    return ("xml", doctype, external)
