"""Deliberate defects of the reference MDM: the server zoo that proves each server contract bites.

The reference MDM answers as Cisco's API says. Switched on one at a time, each defect below
makes it answer the way a real, broken server does - the mistakes found in public ISE-MDM
servers and mocks (docs/protocol.md, section 6a) - so that a test can show that
``mdm-harness certify-server`` notices: :mod:`tests.servercheck` runs the server suite against
the reference MDM with each defect and expects exactly the contract it breaks to fail.

A defect is named on the command line (``mdm-harness serve --defect unknown-device-404``), in
the library (``ReferenceMDM(defects=["slow=150"])``, or ``mdm.defects = ...`` while it runs)
and through the admin API (``POST /_harness/settings {"defects": [...]}``). ``slow`` takes a
value in milliseconds (``slow=150``); the others take none.

Defects that only change bytes of an answer (MAC case, a boolean, an escape) are applied by
:func:`rewrite` to the finished document, so the renderer and its caches stay untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DEFECTS", "Defects", "rewrite"]

#: Every defect: its name and what the server then does wrong.
DEFECTS: Mapping[str, str] = {
    "version-above-ask": "discovery answers the highest version it speaks, whatever was asked (v3 to a v2 ask)",
    "v3-without-vendor": "a v3 discovery answer leaves out vendor, product_name and product_version",
    "api-path-not-served": "discovery announces an api_path the server does not serve (no instance ID)",
    "discovery-slash-redirect": "discovery at Cisco's v1 URL (no trailing slash) is a 301 to mdminfo/",
    "udid-lookup-unsupported": "lookups by udid are refused with 400",
    "unknown-device-404": "a lookup of a device the server does not know is 404",
    "unknown-returns-devices": "a lookup of a device the server does not know answers with other devices",
    "guid-lookup-wrong-device": "a lookup by GUID answers with another device",
    "filter-drops-asked": "a filter other than all gives empty attributes",
    "ignores-filter": "the filter is ignored: every attribute is sent",
    "lowercase-macs": "MAC addresses in answers are lower case",
    "attributes-api-version-2": "v3 attribute answers say api_version 2",
    "repeats-device-across-pages": "each page starts with the last device of the page before",
    "exceeds-page-size": "pages hold query_max_size + 1 devices",
    "rejects-own-cursor": "a paging cursor sent back is refused with 400",
    "busy-wait-negative": "v3 attribute answers say server_busy_wait_seconds -5",
    "busy-wait-huge": "v3 attribute answers say server_busy_wait_seconds 86400 (a day)",
    "accepts-bad-credentials": "no authentication: any credentials, or none, are accepted",
    "challenge-missing": "401 answers carry no WWW-Authenticate challenge",
    "unescaped-ampersand": "stored text is written into answers unescaped (&, <, >)",
    "html-content-type": "200 answers are labelled text/html",
    "bad-boolean": "register_status is yes/no instead of true/false",
    "markup-500": "a query value holding & < > \" or ' breaks the back end: 500",
    "slow": "lookups by MAC or GUID answer late (slow=MS; default 1000 ms)",
    "race-under-concurrency": "lookups by MAC that overlap answer each other's query (v2/v3 form)",
    "action-reply-broken": "action answers leave out result/action_status",
}

_DEFAULT_SLOW_MS = 1000
_WITH_VALUE = frozenset({"slow"})


@dataclass(frozen=True)
class Defects:
    """The defects switched on (none by default); ``slow_ms`` is the delay of ``slow``."""

    active: frozenset[str] = frozenset()
    slow_ms: int = 0

    @classmethod
    def parse(cls, specs: Iterable[str]) -> Defects:
        """``["unknown-device-404", "slow=150"]`` -> :class:`Defects`; :class:`ValueError` names a bad one."""
        active: set[str] = set()
        slow_ms = 0
        for spec in specs:
            name, sep, value = str(spec).strip().partition("=")
            name = name.strip()
            if name not in DEFECTS:
                raise ValueError(f"defect {name!r} is unknown; known: {', '.join(sorted(DEFECTS))}")
            if sep and name not in _WITH_VALUE:
                raise ValueError(f"defect {name!r} takes no value (got {spec!r})")
            if name == "slow":
                text = value.strip() if sep else str(_DEFAULT_SLOW_MS)
                if not text.isdigit() or not 1 <= int(text) <= 600_000:
                    raise ValueError(f"defect {spec!r}: slow=MS needs 1..600000 milliseconds")
                slow_ms = int(text)
            active.add(name)
        return cls(frozenset(active), slow_ms)

    def __contains__(self, name: object) -> bool:
        return name in self.active

    def __bool__(self) -> bool:
        return bool(self.active)

    def specs(self) -> list[str]:
        """The defects as :meth:`parse` reads them, sorted."""
        return sorted(f"slow={self.slow_ms}" if n == "slow" else n for n in self.active)


_MAC = re.compile(rb"<(macaddress|macaddresses)>([0-9A-F,]+)</\1>")
_REGISTERED = re.compile(rb"<register_status>(true|false)</register_status>")
_BUSY = re.compile(rb"<server_busy_wait_seconds>[0-9]+</server_busy_wait_seconds>")
_VENDOR = re.compile(rb"<(vendor|product_name|product_version)>[^<]*</\1>")
_RESULT = re.compile(rb"<result>.*?</result>", re.S)


def rewrite(kind: str, version: int, body: bytes, defects: Defects) -> bytes:
    """The finished ``kind`` document (``mdminfo``, ``attributes``, ``action``) as the defects
    switched on would have written it."""
    if not defects:
        return body
    if kind == "mdminfo":
        if "v3-without-vendor" in defects and version >= 3:
            body = _VENDOR.sub(b"", body)
        return body
    if kind == "action":
        if "action-reply-broken" in defects:
            body = _RESULT.sub(b"", body)
        return body
    if kind != "attributes":
        return body
    if "lowercase-macs" in defects:
        body = _MAC.sub(lambda m: m.group(0).lower(), body)
    if "bad-boolean" in defects:
        body = _REGISTERED.sub(
            lambda m: (
                b"<register_status>"
                + (b"yes" if m.group(1) == b"true" else b"no")
                + b"</register_status>"
            ),
            body,
        )
    if version >= 3 and "attributes-api-version-2" in defects:
        body = body.replace(b"<api_version>3</api_version>", b"<api_version>2</api_version>", 1)
    if version >= 3 and "busy-wait-negative" in defects:
        body = _BUSY.sub(b"<server_busy_wait_seconds>-5</server_busy_wait_seconds>", body, 1)
    if version >= 3 and "busy-wait-huge" in defects:
        body = _BUSY.sub(b"<server_busy_wait_seconds>86400</server_busy_wait_seconds>", body, 1)
    if "unescaped-ampersand" in defects:
        body = body.replace(b"&lt;", b"<").replace(b"&gt;", b">").replace(b"&amp;", b"&")
    return body
