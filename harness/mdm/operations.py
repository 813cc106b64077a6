"""The reference MDM's operations: discovery, device queries, actions and messages.

Each operation is a function of the server's :class:`~harness.mdm.state.ServerState`, the
resolved :class:`~harness.mdm.routes.Route` and the request as a framework-free :class:`Call`,
and returns a :class:`Reply` - or raises :class:`~harness.mdm.protocol.ProtocolError` with the
status and message of a refusal. The tornado handler (:mod:`harness.mdm.handlers`) does the
HTTP around them: routing, authentication, methods, body size, writing the answer.

The server zoo's defects (:mod:`harness.mdm.defects`) that change *what* is answered - which
version, which devices, which page - act here; those that change *how* (bytes, headers,
timing) act in the handler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from harness.mdm import documents, protocol
from harness.mdm.inventory import UNIQUE_CRITERIA, Slot
from harness.mdm.protocol import ACTION_TYPES, ProtocolError
from harness.mdm.routes import Route
from harness.mdm.state import ActionRecord, ServerState

__all__ = ["MARKUP", "Call", "Reply", "answer", "fragment"]

logger = logging.getLogger("harness.mdm")

#: Characters the ``markup-500`` defect chokes on.
MARKUP = frozenset("&<>\"'")


@dataclass(frozen=True)
class Call:
    """One request as the operations see it: no framework, every value already decoded."""

    method: str
    path: str
    #: Query arguments, decoded and stripped (the last value of a repeated one).
    args: Mapping[str, str]
    body: bytes = b""

    def arg(self, name: str) -> str | None:
        return self.args.get(name)


@dataclass(frozen=True)
class Reply:
    """A 200 answer: the document, and its kind and API version (for the zoo's rewrites)."""

    body: bytes
    kind: str
    version: int


def answer(state: ServerState, route: Route, call: Call) -> Reply:
    """Perform the operation ``route`` names (its method and credentials already checked)."""
    if route.kind == "mdminfo":
        return _mdminfo(state, call)
    if route.kind == "devices":
        return _devices_query(state, route.version, call)
    if route.kind == "devices-path":
        return _devices_path(state, route.version, route.rest)
    if route.kind == "batch":
        return _batch(state, route.version, call)
    if route.kind == "action":
        return _action(state, route.version, route.rest, call)
    return _sendmessage(state, route.version, call)


# -- discovery ---------------------------------------------------------------------------------


def _mdminfo(state: ServerState, call: Call) -> Reply:
    asked = call.arg("ise_api_version")
    profile = state.profile
    version = (
        1 if asked is None else min(profile.max_api_version, protocol.parse_api_version(asked))
    )
    if "version-above-ask" in state.defects:
        version = profile.max_api_version
    if "api-path-not-served" in state.defects:
        wrong = "/ciscoise/v{version}"
        if profile.api_path == wrong:
            wrong = "/ciscoise/api/v{version}"
        return Reply(
            documents.mdminfo(profile.replace(api_path=wrong), version), "mdminfo", version
        )
    return Reply(state.mdminfo[version], "mdminfo", version)


# -- device queries ----------------------------------------------------------------------------


def _refuse_markup(state: ServerState, values: list[str]) -> None:
    if "markup-500" in state.defects and any(MARKUP.intersection(v) for v in values):
        raise ProtocolError(500, "internal server error: the device query failed")


def _criterion(state: ServerState, text: str, version: int) -> str:
    criterion = protocol.parse_criterion(text, version)
    if criterion == "udid" and "udid-lookup-unsupported" in state.defects:
        raise ProtocolError(400, "querycriteria='udid' is not supported")
    return criterion


def _devices_query(state: ServerState, version: int, call: Call) -> Reply:
    criterion_text = call.arg("querycriteria")
    criterion = value = None
    if criterion_text is not None and criterion_text.strip():
        value = call.arg("value")
        _refuse_markup(state, [] if value is None else [value])
        criterion = _criterion(state, criterion_text, version)
        if value is None:
            raise ProtocolError(400, f"querycriteria={criterion_text} needs a value")
    return _answer_devices(
        state,
        version,
        paging=call.arg("paging") or "0",
        criterion=criterion,
        values=[] if value is None else [value],
        filter_text=call.arg("filter") or "all",
        identifier=call.arg("deviceidentifier"),
    )


def _devices_path(state: ServerState, version: int, rest: str) -> Reply:
    parts = [unquote(p) for p in rest.rstrip("/").split("/")]
    if len(parts) == 2 and parts[1].lower() == "all":
        paging, criterion, values, filter_text = parts[0], None, [], "all"
    elif len(parts) in (3, 4):
        _refuse_markup(state, [parts[2]])
        paging, values = parts[0], [parts[2]]
        criterion = _criterion(state, parts[1], version)
        filter_text = parts[3] if len(parts) == 4 else "all"
    else:
        raise ProtocolError(
            400, "API v1 device path is devices/{paging}/{querycriteria}/{value}/{filter}"
        )
    return _answer_devices(state, version, paging, criterion, values, filter_text, None)


def _batch(state: ServerState, version: int, call: Call) -> Reply:
    criterion_text = call.arg("querycriteria")
    if not criterion_text:
        raise ProtocolError(400, "batchdevices needs querycriteria")
    criterion = _criterion(state, criterion_text, version)
    root = protocol.parse_xml(call.body)
    return _answer_devices(
        state,
        version,
        paging=call.arg("paging") or "0",
        criterion=criterion,
        values=protocol.values(root),
        filter_text=call.arg("filter") or "all",
        identifier=call.arg("deviceidentifier"),
    )


def _answer_devices(
    state: ServerState,
    version: int,
    paging: str,
    criterion: str | None,
    values: list[str],
    filter_text: str,
    identifier: str | None,
) -> Reply:
    defects = state.defects
    fields = protocol.parse_filter(filter_text)
    if "ignores-filter" in defects:
        fields = None
    elif "filter-drops-asked" in defects and fields is not None:
        fields = frozenset()
    key_kind = protocol.parse_deviceidentifier(identifier, version) or _default_key(
        version, criterion
    )
    keys = (
        list(dict.fromkeys(protocol.parse_value(criterion, v) for v in values)) if criterion else []
    )
    scope = f"v{version}|{criterion}|" + "\x1f".join(sorted(keys))
    if "rejects-own-cursor" in defects and paging.strip() != "0":
        raise ProtocolError(400, f"paging={paging!r}: the cursor has expired")
    after = state.cursors.decode(scope, paging)
    size = state.profile.query_max_size + (1 if "exceeds-page-size" in defects else 0)
    slots, more = state.inventory.window(criterion, keys, after, size)
    if defects and criterion in UNIQUE_CRITERIA:
        slots, more = _misanswer(state, criterion, slots, more)
    wanted = frozenset(keys) if criterion == "macaddress" else frozenset()
    fragments = [fragment(slot, version, key_kind, wanted, fields) for slot in slots]
    paging_info = "0"
    if more:
        last = slots[-1].seq
        if "repeats-device-across-pages" in defects and len(slots) >= 2:
            last -= 1  # the next page starts at this page's last device again
        paging_info = state.cursors.encode(scope, last)
    body = documents.attributes(version, paging_info, state.server_busy_wait_seconds, fragments)
    return Reply(body, "attributes", version)


def _misanswer(
    state: ServerState, criterion: str, slots: list[Slot], more: bool
) -> tuple[list[Slot], bool]:
    """The zoo's wrong answers to a lookup by a unique identifier."""
    defects, inventory = state.defects, state.inventory
    if not slots:
        if "unknown-device-404" in defects:
            raise ProtocolError(404, "no such device")
        if "unknown-returns-devices" in defects:
            return inventory.window(None, [], -1, state.profile.query_max_size)
    elif criterion == "guid" and "guid-lookup-wrong-device" in defects:
        other, _ = inventory.window(None, [], slots[0].seq, 1)
        if not other:
            other, _ = inventory.window(None, [], -1, 1)
        if other and other[0].seq != slots[0].seq:
            return other, False
    return slots, more


#: Criteria answered with the v2 shape (a macaddress key) in v3, as Cisco's v3 text says.
_LEGACY_CRITERIA = frozenset({"macaddress", "udid", "imei", "meid", "serial"})


def _default_key(version: int, criterion: str | None) -> str:
    """The key element of each ``<device>``: macaddress before v3; in v3 macaddress for the
    legacy identifier queries and guid for guid, guidhn, compliance, username and all-devices."""
    if version < 3 or criterion in _LEGACY_CRITERIA:
        return "macaddress"
    return "guid"


def fragment(
    slot: Slot, version: int, key_kind: str, wanted: frozenset[str], fields: frozenset[str] | None
) -> bytes:
    """One ``<device>`` element, rendered once per device, version and key and then cached."""
    device, cache = slot.state
    if key_kind == "macaddress":
        key_value = device.macaddress
        if wanted and key_value not in wanted:  # asked by a secondary MAC: answer with that MAC
            key_value = next((m for m in device.macaddresses if m in wanted), key_value)
    else:
        key_value = device.guid
    if fields is not None:
        return documents.device_fragment(device, version, key_kind, key_value, fields)
    cache_key = (version, key_kind, key_value)
    rendered = cache.get(cache_key)
    if rendered is None:
        rendered = cache[cache_key] = documents.device_fragment(
            device, version, key_kind, key_value
        )
    return rendered


# -- actions and messages ----------------------------------------------------------------------


def _action(state: ServerState, version: int, tail: str, call: Call) -> Reply:
    action = tail[len("actionType=") :] if tail else call.arg("actionType")
    if not action:
        raise ProtocolError(400, "actionType is required (full_wipe, corporate_wipe, pin_lock)")
    action = unquote(action).strip()
    if action not in ACTION_TYPES:
        raise ProtocolError(400, f"actionType={action!r} is not one of {', '.join(ACTION_TYPES)}")
    root = protocol.parse_xml(call.body)
    kind, value = protocol.identifier(root, version)
    status, reason = _run_action(state, action, kind, value, version, None)
    return Reply(documents.action_reply(version, kind, value, status, reason), "action", version)


def _sendmessage(state: ServerState, version: int, call: Call) -> Reply:
    root = protocol.parse_xml(call.body)
    kind, value = protocol.identifier(root, version)
    fields = protocol.message_fields(root)
    text = " - ".join(t for t in (fields["message_header"], fields["message_body"]) if t)
    status, reason = _run_action(state, "sendmessage", kind, value, version, text)
    body = documents.message_reply(version, kind, value, status, reason)
    return Reply(body, "sendmessage", version)


def _run_action(
    state: ServerState, action: str, kind: str, value: str, version: int, message: str | None
) -> tuple[bool, str | None]:
    found = state.inventory.find(kind, value)  # kinds are criteria names too
    if not found:
        return False, f"no managed device with {kind} {value}"
    device = found[0]
    if not device.register_status:
        return False, f"device {device.guid} is not enrolled (register_status false)"
    state.record_action(
        ActionRecord(
            action=action,
            identifier=kind,
            key=value,
            guid=device.guid,
            macaddress=device.macaddress,
            api_version=version,
            monotonic=time.monotonic(),
            time_ms=int(time.time() * 1000),
            message=message,
        )
    )
    logger.info("%s executed on %s (%s %s)", action, device.guid, kind, value)
    return True, None
