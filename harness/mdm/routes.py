"""Which operation a request path names, and with which method it may be asked.

A path is either discovery (``{instance}/ciscoise/mdminfo``, with or without the trailing slash)
or lies under one of the ``api_path`` s the profile announces, one per API version; the version
served is the one of the ``api_path`` the request came in on. Anything else is 404, as is the
form of another version (the v1 path form on a v2 ``api_path``, ``batchdevices`` on v3, ...),
with a message naming the right form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.mdm.protocol import ProtocolError
from harness.mdm.state import ServerState

__all__ = ["ALLOWED", "Kind", "Route", "resolve"]

Kind = Literal["mdminfo", "devices", "devices-path", "batch", "action", "sendmessage"]

#: The one method each kind of request is served with (anything else is 405).
ALLOWED: dict[Kind, str] = {
    "mdminfo": "GET",
    "devices": "GET",
    "devices-path": "GET",
    "batch": "POST",
    "action": "POST",
    "sendmessage": "PUT",
}


@dataclass(frozen=True)
class Route:
    """A resolved request path: the operation, the API version it is served at, and the rest.

    ``rest`` is what follows the operation's segment: the v1 path segments of ``devices-path``,
    the ``actionType=...`` segment of ``action``; ``""`` otherwise. ``version`` is 0 for
    discovery (the version comes from its query).
    """

    kind: Kind
    version: int = 0
    rest: str = ""

    @property
    def method(self) -> str:
        return ALLOWED[self.kind]


def resolve(state: ServerState, path: str) -> Route:
    """The route of ``path``; :class:`ProtocolError` 404 when the server has no such resource."""
    if path in state.discovery_paths:
        return Route("mdminfo")
    for prefix, version in state.api_prefixes:
        if not path.startswith(prefix + "/"):
            continue
        rest = path[len(prefix) + 1 :]
        head = rest.rstrip("/").split("/", 1)[0]
        if head == "devices":
            if rest.rstrip("/") == "devices":
                if version == 1:
                    raise ProtocolError(
                        404, "API v1 asks devices/{paging}/{querycriteria}/{value}/{filter}"
                    )
                return Route("devices", version)
            if version >= 2:
                raise ProtocolError(
                    404, f"API v{version} asks devices/?paging=..&querycriteria=..&value=.."
                )
            return Route("devices-path", version, rest[len("devices/") :])
        if head == "batchdevices" and rest.rstrip("/") == "batchdevices":
            if version >= 3:
                raise ProtocolError(404, "batchdevices is part of API v1 and v2 only")
            return Route("batch", version)
        if head == "action":
            tail = rest[len("action") :].strip("/")
            if tail == "" or tail.startswith("actionType="):
                return Route("action", version, tail)
        if head == "sendmessage" and rest.rstrip("/") == "sendmessage":
            if not state.profile.messaging_support:
                raise ProtocolError(404, "messaging is not supported (messaging_support false)")
            return Route("sendmessage", version)
        break
    raise ProtocolError(404, f"no such resource: {path}")
