"""Request parsing for the reference MDM, free of any web framework.

Everything a request carries - query parameters, path segments, XML bodies, paging cursors -
is checked here, and anything wrong raises :class:`ProtocolError` with the HTTP status and a
one-line message that the server puts into its XML error body.

Request XML goes through a hardened lxml parser (no DTD loading, no entity resolution, no
network, no huge trees), and any document with a DOCTYPE is refused outright, so an
external-entity (XXE) body is rejected before anything could be fetched.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from lxml import etree

from harness import _xml as hardened_xml
from harness.mdm.documents import ATTRIBUTES_V3
from harness.mdm.inventory import CRITERIA, CRITERIA_ALIASES, QueryError, normalize_value

__all__ = [
    "ACTION_TYPES",
    "CursorCodec",
    "ProtocolError",
    "identifier",
    "message_fields",
    "parse_api_version",
    "parse_criterion",
    "parse_deviceidentifier",
    "parse_filter",
    "parse_value",
    "parse_xml",
    "values",
]

ACTION_TYPES: tuple[str, ...] = ("full_wipe", "corporate_wipe", "pin_lock")
#: Identifier elements an action or message may name, and the API version each needs.
IDENTIFIER_KINDS: dict[str, int] = {"macaddress": 1, "guid": 3, "guidhn": 3}


class ProtocolError(Exception):
    """A request the server refuses: ``status``, a one-line ``message`` and, for 405, ``allow``."""

    def __init__(self, status: int, message: str, *, allow: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.allow = allow


def parse_api_version(text: str) -> int:
    """``ise_api_version``: an integer of at least 1."""
    if not re.fullmatch(r"\s*\+?[0-9]{1,6}\s*", text) or int(text) < 1:
        raise ProtocolError(400, f"ise_api_version={text!r} is not an integer of at least 1")
    return int(text)


def parse_criterion(text: str, version: int) -> str:
    """A ``querycriteria`` valid for ``version`` (aliases ``uid``, ``serialnumber`` accepted)."""
    name = text.strip().lower()
    name = CRITERIA_ALIASES.get(name, name)
    since = CRITERIA.get(name)
    if since is None or since > version:
        valid = ", ".join(c for c, v in CRITERIA.items() if v <= version)
        why = "unknown" if since is None else f"needs API v{since}; this api_path serves v{version}"
        raise ProtocolError(400, f"querycriteria={text!r}: {why} (valid here: {valid})")
    return name


def parse_value(criterion: str, text: str) -> str:
    """The index key for a query ``value`` (MACs in any format, case-insensitive GUIDs, ...)."""
    try:
        return normalize_value(criterion, text)
    except QueryError as exc:
        raise ProtocolError(400, f"value for querycriteria={criterion}: {exc}") from None


_FILTER_NAMES: dict[str, str | None] = {
    **{name.replace("_", "").lower(): name for name in ATTRIBUTES_V3},
    "compliancestatus": "compliance",
    "status": "compliance",
    "diskencryption": "disk_encryption_on",
    "pinlock": "pin_lock_on",
    "uid": "udid",
    "serial": "serial_number",
    "lastcheckin": "lastCheckinTimeStamp",
    "period": None,  # "time period in days" in Cisco's table: accepted, nothing to add
}
_FILTER_SPLIT = re.compile(r"[+\s,]+")


def parse_filter(text: str) -> frozenset[str] | None:
    """A ``filter``: ``None`` for ``all`` (or empty), else the attribute element names asked for.

    Names are joined by ``+`` (a query string decodes it to a space; both work) and matched
    without regard to case or underscores (``Serial_Number``, ``serialnumber``). Attributes a
    version does not have (``guid`` before v3) are simply not written.
    """
    names: set[str] = set()
    for raw in _FILTER_SPLIT.split(text.strip()):
        if not raw:
            continue
        key = raw.lower().replace("_", "").replace("-", "")
        if key == "all":
            return None
        if key not in _FILTER_NAMES:
            raise ProtocolError(
                400,
                f"filter: unknown attribute {raw!r} (use all, or names joined by '+': "
                f"{', '.join(ATTRIBUTES_V3)})",
            )
        mapped = _FILTER_NAMES[key]
        if mapped is not None:
            names.add(mapped)
    return frozenset(names) if names else None


def parse_deviceidentifier(text: str | None, version: int) -> str | None:
    """``deviceidentifier``: ``macaddress``, or ``guid`` from v3; ``None`` when absent."""
    if text is None or not text.strip():
        return None
    kind = text.strip().lower()
    if kind == "macaddress" or (kind == "guid" and version >= 3):
        return kind
    if kind == "guid":
        raise ProtocolError(
            400, f"deviceidentifier=guid needs API v3; this api_path serves v{version}"
        )
    raise ProtocolError(400, f"deviceidentifier={text!r} is not macaddress or guid")


# -- request bodies ------------------------------------------------------------------------


def parse_xml(body: bytes) -> etree._Element:
    """The root of a request body, parsed without DTDs, entities or network; root ``ise_api``."""
    if not body.strip():
        raise ProtocolError(400, "an XML body is required")
    try:
        root = hardened_xml.parse(body)
    except hardened_xml.UnsafeOrBrokenXML as exc:
        if exc.reason == "syntax":
            raise ProtocolError(400, f"malformed XML: {exc.message}") from None
        raise ProtocolError(400, f"{exc.message} in request XML") from None
    if _local(root) != "ise_api":
        raise ProtocolError(400, f"the root element must be ise_api, not {_local(root)}")
    return root


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and _local(c) == name]


def values(root: etree._Element) -> list[str]:
    """The ``<value>`` texts of a ``batchdevices`` body (at least one)."""
    found = [(c.text or "").strip() for c in _children(root, "value")]
    if not found:
        raise ProtocolError(400, "batchdevices: the body needs <value> elements under <ise_api>")
    return found


def identifier(root: etree._Element, version: int) -> tuple[str, str]:
    """``(kind, value)`` from ``<identifier><macaddress|guid|guidhn>v</..></identifier>``."""
    idents = _children(root, "identifier")
    if len(idents) != 1:
        raise ProtocolError(400, "the body needs exactly one <identifier> under <ise_api>")
    inner = [c for c in idents[0] if isinstance(c.tag, str)]
    if len(inner) != 1:
        raise ProtocolError(400, "<identifier> needs exactly one of macaddress, guid, guidhn")
    kind = _local(inner[0])
    since = IDENTIFIER_KINDS.get(kind)
    if since is None:
        raise ProtocolError(400, f"<identifier>: unknown element {kind} (macaddress, guid, guidhn)")
    if since > version:
        raise ProtocolError(
            400, f"<identifier>: {kind} needs API v{since}; this api_path serves v{version}"
        )
    value = (inner[0].text or "").strip()
    if not value:
        raise ProtocolError(400, f"<identifier>: <{kind}> is empty")
    if kind == "macaddress":
        value = parse_value("macaddress", value)
    elif len(value.encode()) > 128:
        raise ProtocolError(400, f"<identifier>: <{kind}> is longer than 128 bytes")
    return kind, value


def message_fields(root: etree._Element) -> dict[str, str]:
    """``message_type``, ``message_header``, ``message_body`` of a ``sendmessage`` body."""
    messages = _children(root, "message")
    if len(messages) != 1:
        raise ProtocolError(400, "sendmessage: the body needs one <message> under <ise_api>")
    fields = {}
    for name in ("message_type", "message_header", "message_body"):
        found = _children(messages[0], name)
        fields[name] = (found[0].text or "").strip() if found else ""
    if not fields["message_body"] and not fields["message_header"]:
        raise ProtocolError(
            400, "sendmessage: <message> has neither message_header nor message_body"
        )
    return fields


# -- paging cursors --------------------------------------------------------------------------

_SEQ_BITS = 24
_TAG_BITS = 39


class CursorCodec:
    """Opaque, signed paging cursors that are also integers (as Cisco's Swagger types them).

    A cursor is the decimal form of ``(last_sequence + 1) << 39 | tag``, where ``tag`` is 39
    bits of an HMAC-SHA256 over the query it belongs to and the sequence number, under a key
    random per server. It fits a signed 64-bit integer, looks random, and only the server that
    issued it accepts it, and only for the same query: anything else is a 400.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else os.urandom(32)

    def _tag(self, scope: str, number: int) -> int:
        digest = hmac.new(self._key, f"{number}\0{scope}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:5], "big") >> (40 - _TAG_BITS)

    def encode(self, scope: str, last_sequence: int) -> str:
        """The cursor that continues ``scope`` after the device numbered ``last_sequence``."""
        number = last_sequence + 1
        if not 1 <= number < (1 << _SEQ_BITS):
            raise ValueError(f"last_sequence={last_sequence!r} is out of range")
        return str(number << _TAG_BITS | self._tag(scope, number))

    def decode(self, scope: str, cursor: str) -> int:
        """The last sequence number behind ``cursor``; ``-1`` for ``0`` (the first page)."""
        text = cursor.strip()
        if text == "0":
            return -1
        if not re.fullmatch(r"[0-9]{1,19}", text):
            raise ProtocolError(400, f"paging={cursor!r} is not 0 or a cursor this server issued")
        value = int(text)
        number, tag = value >> _TAG_BITS, value & ((1 << _TAG_BITS) - 1)
        if not 1 <= number < (1 << _SEQ_BITS) or not hmac.compare_digest(
            tag.to_bytes(5, "big"), self._tag(scope, number).to_bytes(5, "big")
        ):
            raise ProtocolError(
                400, f"paging={cursor!r} is not a cursor this server issued for this query"
            )
        return number - 1
