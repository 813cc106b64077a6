"""The ISE MDM API side of the gallery's adapters: XML in, adapter-protocol JSON out.

Standard library only (pyexpat), so that it runs under any ``python3``: the curl and wget
adapters call it as a helper that reads a response body on stdin (``python3 mdmapi.py ...``,
see :func:`main`), and the requests and httpx adapters import it. It knows nothing of HTTP:
each adapter's HTTP stack - the thing the gallery certifies - is its own.

Parsing is hardened the way the OWASP XXE cheat sheet asks for expat: any ``<!DOCTYPE`` is
refused before a single declaration is read (so no entity, internal, external or a bomb, is
ever declared, expanded or fetched), and parameter entities are never parsed. It is tolerant
where ISE is (docs/protocol.md section 4: any namespace, element names in any case, empty elements
as null, MACs in any form) and strict where the meaning needs it (a wrong root or ``name``, a
missing required element, a wrong type or a duplicated element is ``parse_error``; an
``api_version`` above the one asked, or a v3 answer without its vendor fields, is
``protocol_error``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import xml.parsers.expat as expat
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = [
    "MdmError",
    "Request",
    "UsageError",
    "action_body",
    "action_url",
    "api_base",
    "discovery_url",
    "parse_action",
    "parse_args",
    "parse_attributes",
    "parse_mdminfo",
    "run",
    "status_error",
]

#: The largest body read (a full page of 5000 devices is well under 8 MiB).
MAX_BODY_BYTES = 16 * 1024 * 1024
#: ``query_max_size`` when discovery does not say (docs/protocol.md section 3).
DEFAULT_QUERY_MAX_SIZE = 5000
#: The most pages one listing may take before the client calls it a loop.
MAX_PAGES = 1000
#: What each lookup criterion needs of the server (Cisco's Swagger: v2 adds udid, imei, meid
#: and serial; v3 adds guid).
CRITERION = {
    "mac": ("macaddress", 1),
    "guid": ("guid", 3),
    "udid": ("udid", 2),
    "imei": ("imei", 2),
    "meid": ("meid", 2),
    "serial": ("serial", 2),
}
ACTIONS = ("full_wipe", "corporate_wipe", "pin_lock")
_XML_WS = " \t\n\r"
_INT = re.compile(r"[0-9]+")
_MAC = re.compile(r"[0-9A-F]{12}")


class MdmError(Exception):
    """A failure with its adapter-protocol category (``timeout``, ``parse_error``, ...)."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


class UsageError(Exception):
    """Bad arguments: the adapter exits 2 (a crash, as the protocol wants for bad usage)."""


# --------------------------------------------------------------------------------------------
# Arguments


class Request:
    """One adapter-protocol operation: ``mdminfo``, ``device --mac X``, ``noncompliant``, ``action ...``."""

    def __init__(
        self,
        operation: str,
        identifier: str | None = None,
        value: str | None = None,
        action: str | None = None,
    ) -> None:
        self.operation, self.identifier, self.value, self.action = (
            operation,
            identifier,
            value,
            action,
        )


def normalise_mac(text: str) -> str:
    """``00:26:b4-24.fe b4`` -> ``0026B424FEB4``; :class:`ValueError` unless 12 hex digits remain."""
    mac = re.sub(r"[\s:.\-]", "", text).upper()
    if not _MAC.fullmatch(mac):
        raise ValueError(f"{text!r} is not a MAC address")
    return mac


def parse_args(argv: Sequence[str]) -> Request:
    """The protocol's ``<operation> [args]``; :class:`UsageError` with a one-line message."""
    if not argv:
        raise UsageError(
            "usage: ADAPTER mdminfo | device --mac|--guid|--udid|--imei|--meid|--serial V | noncompliant | action ACTION --mac|--guid V"
        )
    operation, rest = argv[0], list(argv[1:])
    if operation in ("mdminfo", "noncompliant"):
        if rest:
            raise UsageError(f"{operation} takes no arguments")
        return Request(operation)
    if operation not in ("device", "action"):
        raise UsageError(f"unknown operation {operation!r}")
    action = None
    allowed: Sequence[str] = tuple(CRITERION)
    if operation == "action":
        if not rest or rest[0] not in ACTIONS:
            raise UsageError(f"action needs one of {', '.join(ACTIONS)} first")
        action, allowed = rest.pop(0), ("mac", "guid")
    if rest and rest[0].startswith("--") and "=" in rest[0]:
        flag, _, value = rest[0].partition("=")
        rest = [flag, value, *rest[1:]]
    if (
        len(rest) != 2
        or not rest[0].startswith("--")
        or rest[0][2:] not in allowed
        or not rest[1].strip()
    ):
        raise UsageError(
            f"{operation} needs exactly one of {', '.join('--' + a for a in allowed)} VALUE"
        )
    identifier, value = rest[0][2:], rest[1].strip()
    if identifier == "mac":
        try:
            value = normalise_mac(value)
        except ValueError as exc:
            raise UsageError(f"--mac: {exc}") from None
    return Request(operation, identifier, value, action)


# --------------------------------------------------------------------------------------------
# URLs


def _q(text: str) -> str:
    return quote(text, safe="-._~")


def discovery_url(base_url: str, version: int = 3) -> str:
    """Discovery: ``{instance}/ciscoise/mdminfo/?ise_api_version=N`` (v1 without a query)."""
    base = base_url.rstrip("/")
    return (
        f"{base}/ciscoise/mdminfo"
        if version == 1
        else f"{base}/ciscoise/mdminfo/?ise_api_version={version}"
    )


def api_base(base_url: str, api_path: str) -> str:
    """``api_path`` on the base URL's origin; another origin is a ``protocol_error`` (the
    credentials go only to the MDM the user named)."""
    base = urlsplit(base_url)
    origin = f"{base.scheme}://{base.netloc}"
    if any(ord(c) < 0x21 for c in api_path):
        raise MdmError(
            "protocol_error", f"api_path {api_path!r} contains white space or control characters"
        )
    if "://" in api_path:
        given = urlsplit(api_path)
        if f"{given.scheme}://{given.netloc}".lower() != origin.lower():
            raise MdmError(
                "protocol_error", f"api_path {api_path!r} is on another origin than {origin}"
            )
        api_path = given.path
    if not api_path.startswith("/"):
        api_path = "/" + api_path
    return origin + api_path.rstrip("/")


def page_url(api: str, version: int, criterion: str, value: str, cursor: str) -> str:
    """One page of a lookup or listing; the cursor goes back verbatim (percent-encoded)."""
    if version == 1:
        return f"{api}/devices/{_q(cursor)}/{_q(criterion)}/{_q(value)}/all"
    params = [("paging", cursor), ("querycriteria", criterion), ("value", value)]
    if criterion == "compliance":
        params.append(("deviceidentifier", "guid" if version >= 3 else "macaddress"))
    params.append(("filter", "all"))
    return f"{api}/devices/?" + "&".join(f"{k}={_q(v)}" for k, v in params)


def action_url(api: str, action: str) -> str:
    return f"{api}/action/actionType={action}"


def action_body(criterion: str, value: str) -> bytes:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ise_api><identifier><{criterion}>{escaped}'
        f"</{criterion}></identifier></ise_api>"
    ).encode()


def status_error(status: int, where: str) -> MdmError | None:
    """The protocol's category for a non-2xx status (``None`` for a 2xx)."""
    if 200 <= status < 300:
        return None
    if status in (401, 403):
        return MdmError("unauthorized", f"{where}: HTTP {status}")
    if status == 404:
        return MdmError("not_found", f"{where}: HTTP 404")
    if status == 429 or status >= 500:
        return MdmError("server_error", f"{where}: HTTP {status}")
    if 300 <= status < 400:
        return MdmError("protocol_error", f"{where}: HTTP {status}: redirects are not followed")
    return MdmError("protocol_error", f"{where}: unexpected HTTP {status}")


# --------------------------------------------------------------------------------------------
# XML


class _Node:
    __slots__ = ("children", "name", "parts", "path")

    def __init__(self, name: str, path: str) -> None:
        self.name, self.path = name, path
        self.children: list[_Node] = []
        self.parts: list[str] = []

    # ---- access: namespace-blind, case-insensitive, strict about duplicates and types

    def all(self, name: str) -> list[_Node]:
        return [c for c in self.children if c.name == name]

    def one(self, name: str) -> _Node | None:
        found = self.all(name)
        if len(found) > 1:
            raise MdmError(
                "parse_error", f"{self.path}/{name}: appears {len(found)} times, expected once"
            )
        return found[0] if found else None

    def need(self, name: str) -> _Node:
        node = self.one(name)
        if node is None:
            raise MdmError("parse_error", f"{self.path}/{name}: missing")
        return node

    def text(self, name: str, *, required: bool = False) -> str | None:
        node = self.need(name) if required else self.one(name)
        if node is None:
            return None
        if node.children:
            raise MdmError(
                "parse_error", f"{node.path}: expected text, found <{node.children[0].name}>"
            )
        value = "".join(node.parts).strip(_XML_WS)
        if not value and required:
            raise MdmError("parse_error", f"{node.path}: empty")
        return value or None

    def integer(self, name: str, *, required: bool = False, low: int | None = None) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not _INT.fullmatch(value) or (low is not None and int(value) < low):
            raise MdmError(
                "parse_error", f"{self.path}/{name}: {value[:40]!r} is not an integer >= {low or 0}"
            )
        return int(value)

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise MdmError(
                "parse_error", f"{self.path}/{name}: {value[:40]!r} is not true or false"
            )
        return value.lower() == "true"

    def mac(self, name: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return normalise_mac(value)
        except ValueError:
            raise MdmError(
                "parse_error", f"{self.path}/{name}: {value[:40]!r} is not a MAC address"
            ) from None


class _Refused(Exception):
    pass


def _tree(data: bytes) -> _Node:
    """Parse ``data`` into a small tree of local, lower-cased names; any DOCTYPE is refused."""
    if len(data) > MAX_BODY_BYTES:
        raise MdmError("parse_error", f"body of {len(data)} bytes is over {MAX_BODY_BYTES}")
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    stack: list[_Node] = []
    roots: list[_Node] = []

    def refuse(*_: Any) -> None:
        raise _Refused("a DOCTYPE is not allowed (no DTD, no entities)")

    def start(name: str, _attrs: Any) -> None:
        local = name.rsplit(" ", 1)[-1].lower()
        node = _Node(local, f"{stack[-1].path}/{local}" if stack else local)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].parts.append(text)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise MdmError("parse_error", str(exc)) from None
    except expat.ExpatError as exc:
        raise MdmError("parse_error", f"not well-formed XML: {exc}") from None
    if not roots:
        raise MdmError("parse_error", "no document element")
    return roots[0]


def _root(data: bytes, name: str) -> _Node:
    root = _tree(data)
    if root.name != "ise_api":
        raise MdmError("parse_error", f"root element is <{root.name}>, expected <ise_api>")
    got = root.text("name", required=True) or ""
    if got.lower() != name:
        raise MdmError("parse_error", f"ise_api/name is {got!r}, expected {name!r}")
    return root


def parse_mdminfo(data: bytes, asked_version: int) -> dict[str, Any]:
    """A discovery answer to a request for ``asked_version``, as the protocol's result."""
    root = _root(data, "mdminfo")
    info = {
        "api_version": root.integer("api_version", required=True, low=1),
        "api_path": root.text("api_path", required=True),
        "redirect_url": root.text("redirect_url"),
        "vendor": root.text("vendor"),
        "product_name": root.text("product_name"),
        "product_version": root.text("product_version"),
        "query_max_size": root.integer("query_max_size", low=1) or DEFAULT_QUERY_MAX_SIZE,
        "messaging_support": root.boolean("messaging_support"),
    }
    if info["api_version"] > asked_version:
        raise MdmError(
            "protocol_error",
            f"api_version {info['api_version']} answers a request for {asked_version}",
        )
    if info["api_version"] >= 3:
        missing = [k for k in ("vendor", "product_name", "product_version") if not info[k]]
        if missing:
            raise MdmError("protocol_error", f"a version 3 answer must name {', '.join(missing)}")
    return info


def _device(dev: _Node) -> dict[str, Any]:
    if dev.one("macaddress") is None and dev.one("guid") is None:
        raise MdmError(
            "parse_error", f"{dev.path}: no <macaddress> or <guid> identifies the device"
        )
    attrs = dev.need("attributes")
    if attrs.parts and "".join(attrs.parts).strip(_XML_WS):
        raise MdmError("parse_error", f"{attrs.path}: text where elements belong")
    guid, attr_guid = dev.text("guid"), attrs.text("guid")
    if guid is not None and attr_guid is not None and guid != attr_guid:
        raise MdmError(
            "parse_error", f"{dev.path}: <guid> {guid!r} contradicts attributes/guid {attr_guid!r}"
        )
    compliance = attrs.one("compliance")
    if (
        compliance is not None
        and not compliance.children
        and "".join(compliance.parts).strip(_XML_WS)
    ):
        raise MdmError(
            "parse_error", f"{compliance.path}: expected status/failure_reason/remediation"
        )
    macs = []
    for part in (attrs.text("macaddresses") or "").split(","):
        if part.strip(_XML_WS):
            try:
                macs.append(normalise_mac(part))
            except ValueError:
                raise MdmError(
                    "parse_error", f"{attrs.path}/macaddresses: {part.strip()[:40]!r} is not a MAC"
                ) from None
    return {
        "macaddress": dev.mac("macaddress"),
        "guid": guid if guid is not None else attr_guid,
        "register_status": attrs.boolean("register_status"),
        "compliance": {
            "status": compliance.boolean("status") if compliance else None,
            "failure_reason": compliance.text("failure_reason") if compliance else None,
            "remediation": compliance.text("remediation") if compliance else None,
        },
        "disk_encryption_on": attrs.boolean("disk_encryption_on"),
        "pin_lock_on": attrs.boolean("pin_lock_on"),
        "jail_broken": attrs.boolean("jail_broken"),
        **{
            k: attrs.text(k)
            for k in (
                "manufacturer",
                "model",
                "imei",
                "meid",
                "udid",
                "serial_number",
                "os_version",
                "phone_number",
            )
        },
        "last_checkin_ms": attrs.integer("lastcheckintimestamp"),
        "macaddresses": macs,
    }


def parse_attributes(data: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """One attributes page: its devices and the next cursor (``None``: the last page)."""
    root = _root(data, "attributes")
    cursor = root.text("paging_info")
    root.integer("server_busy_wait_seconds")
    root.integer("api_version", low=1)
    devices = [_device(d) for d in root.need("devicelist").all("device")]
    return devices, None if cursor in (None, "0") else cursor


def parse_action(data: bytes) -> dict[str, Any]:
    root = _root(data, "action")
    devices = root.need("devicelist").all("device")
    if len(devices) != 1:
        raise MdmError("parse_error", f"ise_api/devicelist: {len(devices)} devices, expected one")
    result = devices[0].need("result")
    return {
        "action_status": result.boolean("action_status", required=True),
        "failure_reason": result.text("failure_reason"),
    }


# --------------------------------------------------------------------------------------------
# The whole operation, over any HTTP stack

#: ``fetch(method, url, body) -> (status, body)``: one request through the adapter's HTTP stack
#: (with whatever retries that stack does), raising :class:`MdmError` for a transport failure.
Fetch = Callable[[str, str, "bytes | None"], "tuple[int, bytes]"]


def _checked(fetch: Fetch, method: str, url: str, body: bytes | None = None) -> bytes:
    status, data = fetch(method, url, body)
    failure = status_error(status, f"{method} {url}")
    if failure is not None:
        raise failure
    return data


def run(request: Request, base_url: str, fetch: Fetch) -> dict[str, Any]:
    """Discovery (version 3), then the operation; the protocol's ``result``."""
    url = discovery_url(base_url, 3)
    info = parse_mdminfo(_checked(fetch, "GET", url), 3)
    if request.operation == "mdminfo":
        return info
    version = info["api_version"]
    api = api_base(base_url, info["api_path"])
    if request.operation == "action":
        criterion, _ = CRITERION[request.identifier or "mac"]
        data = _checked(
            fetch,
            "POST",
            action_url(api, request.action or ""),
            action_body(criterion, request.value or ""),
        )
        return parse_action(data)
    if request.operation == "noncompliant":
        criterion, value = "compliance", "false"
    else:
        criterion, needed = CRITERION[request.identifier or "mac"]
        if version < needed:
            raise MdmError(
                "protocol_error",
                f"lookups by {criterion} need API version {needed}; the server speaks {version}",
            )
        value = request.value or ""
    devices: list[dict[str, Any]] = []
    cursor, seen = "0", {"0"}
    for _ in range(MAX_PAGES):
        page, following = parse_attributes(
            _checked(fetch, "GET", page_url(api, version, criterion, value, cursor))
        )
        devices.extend(page)
        if following is None:
            return {"devices": devices}
        if following in seen:
            raise MdmError(
                "protocol_error", f"paging cursor {following!r} came back: the server is looping"
            )
        seen.add(following)
        cursor = following
    raise MdmError("protocol_error", f"the listing did not end within {MAX_PAGES} pages")


#: Secrets every answer masks (the helper command sets the password from its environment).
_ENV_SECRETS: tuple[str, ...] = ()


def answer(outcome: Mapping[str, Any], secrets: Sequence[str] = ()) -> None:
    """Print the protocol object (with every secret masked) on stdout."""
    text = json.dumps(outcome)
    for secret in (*secrets, *_ENV_SECRETS):
        if secret:
            text = text.replace(json.dumps(secret)[1:-1], "***")
    sys.stdout.write(text + "\n")


def error(category: str, message: str) -> dict[str, Any]:
    return {"outcome": "error", "error": category, "message": message}


# --------------------------------------------------------------------------------------------
# The helper command of the shell adapters (curl, wget): a body on stdin, facts on stdout


def main(argv: Sequence[str]) -> int:
    """``mdmapi.py COMMAND ...`` for the shell adapters; the body comes on stdin.

    ====================================== ===================================================
    ``args OPERATION [ARGS]``              check the operation; print its name, identifier,
                                           criterion, value and action, one a line (``-``: none)
    ``mdminfo BASE_URL OUT``               parse discovery (asked: 3): write the protocol object
                                           to OUT; print ``VERSION API_BASE`` (exit 3: OUT holds
                                           an error object)
    ``page-url API VERSION CRITERION VALUE CURSOR``   print the URL of one page
    ``page STATE``                         parse a page: append its devices to STATE (JSON
                                           lines); print the next cursor, or nothing
    ``devices STATE``                      print the ``ok`` object of the devices in STATE
    ``action-url API ACTION`` / ``action-body CRITERION VALUE``
    ``action``                             parse an action answer; print the protocol object
    ``error CATEGORY MESSAGE``             print that error object
    ``status STATUS WHERE``                print the error object for a non-2xx status (exit 3)
                                           or nothing (exit 0)
    ====================================== ===================================================

    A parse or protocol failure prints (or writes) the error object and exits 3.
    """
    command, rest = (argv[0], list(argv[1:])) if argv else ("", [])
    global _ENV_SECRETS
    _ENV_SECRETS = (os.environ.get("MDM_PASSWORD", ""),)
    try:
        if command == "args":
            req = parse_args(rest)
            criterion = CRITERION[req.identifier][0] if req.identifier else "-"
            for field in (req.operation, req.identifier, criterion, req.value, req.action):
                print(field or "-")
        elif command == "mdminfo":
            base_url, out = rest
            try:
                info = parse_mdminfo(sys.stdin.buffer.read(), 3)
                api = api_base(base_url, info["api_path"])
            except MdmError as exc:
                with open(out, "w", encoding="utf-8") as fh:
                    json.dump(error(exc.category, f"discovery answer: {exc.message}"), fh)
                return 3
            with open(out, "w", encoding="utf-8") as fh:
                json.dump({"outcome": "ok", "result": info}, fh)
            print(info["api_version"], api)
        elif command == "page-url":
            api, version, criterion, value, cursor = rest
            needed = dict(CRITERION.values()).get(criterion, 1)
            if int(version) < needed:
                raise MdmError(
                    "protocol_error",
                    f"lookups by {criterion} need API version {needed}; the server speaks {version}",
                )
            print(page_url(api, int(version), criterion, value, cursor))
        elif command == "page":
            (state,) = rest
            devices, following = parse_attributes(sys.stdin.buffer.read())
            with open(state, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(d) + "\n" for d in devices)
            if following is not None:
                if "\n" in following:
                    raise MdmError("protocol_error", "a paging cursor with a line break")
                print(following)
        elif command == "devices":
            (state,) = rest
            with open(state, encoding="utf-8") as fh:
                answer({"outcome": "ok", "result": {"devices": [json.loads(line) for line in fh]}})
        elif command == "action-url":
            print(action_url(*rest))
        elif command == "action-body":
            sys.stdout.buffer.write(action_body(*rest))
        elif command == "action":
            answer({"outcome": "ok", "result": parse_action(sys.stdin.buffer.read())})
        elif command == "error":
            category, message = rest
            answer(error(category, message))
        elif command == "status":
            status, where = rest
            failure = (
                status_error(int(status), where)
                if status.isdigit()
                else MdmError("protocol_error", f"{where}: no HTTP status")
            )
            if failure is not None:
                answer(error(failure.category, failure.message))
                return 3
        else:
            raise UsageError(f"unknown helper command {command!r}")
    except MdmError as exc:
        answer(error(exc.category, exc.message))
        return 3
    except (UsageError, ValueError) as exc:
        print(f"mdmapi: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
