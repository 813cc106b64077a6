"""What one reference MDM's request handlers share: settings, credentials, records, errors.

:class:`ServerState` is created by :class:`harness.mdm.server.ReferenceMDM` and handed to every
request handler (:mod:`harness.mdm.handlers`) and to the admin surface (:mod:`harness.mdm.admin`).
Handlers run on the server's event-loop thread only; the records (actions, requests, errors)
are also read from other threads, under :attr:`ServerState.lock`.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hmac
import threading
import time
from dataclasses import dataclass
from typing import Any

from harness.mdm import documents
from harness.mdm.defects import Defects
from harness.mdm.inventory import Inventory
from harness.mdm.profile import Profile
from harness.mdm.protocol import CursorCodec

__all__ = ["REQUEST_LOG_SIZE", "ActionRecord", "RequestRecord", "ServerState"]

#: How many requests :attr:`ServerState.requests` remembers (the oldest are dropped).
REQUEST_LOG_SIZE = 10_000


@dataclass(frozen=True)
class ActionRecord:
    """One executed action (or sent message) on one device."""

    action: str  #: full_wipe, corporate_wipe, pin_lock or sendmessage
    identifier: str  #: the identifier element the client used: macaddress, guid or guidhn
    key: str  #: the value of that element (a MAC normalised to 12 upper-case hex digits)
    guid: str  #: the device's GUID
    macaddress: str  #: the device's primary MAC
    api_version: int
    monotonic: float  #: ``time.monotonic()`` when the server executed it
    time_ms: int  #: wall-clock milliseconds since the epoch
    message: str | None = None  #: for sendmessage: header and body

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the server saw it (admin requests are not recorded)."""

    method: str
    path: str
    query: str
    status: int
    monotonic: float  #: when the request arrived

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return dict(self.__dict__)


class ServerState:
    """Everything the handlers of one server share."""

    def __init__(
        self,
        profile: Profile,
        inventory: Inventory,
        username: str,
        password: str,
        basic_auth_enabled: bool,
        max_body_bytes: int,
        defects: Defects | None = None,
    ) -> None:
        self.profile = profile
        self.inventory = inventory
        self.username = username
        self.password = password
        self._credentials = (username.encode(), password.encode())
        self.basic_auth_enabled = basic_auth_enabled
        self.server_busy_wait_seconds = profile.server_busy_wait_seconds
        self.max_body_bytes = max_body_bytes
        #: The deliberate defects switched on (the server zoo); none by default.
        self.defects = defects if defects is not None else Defects()
        self.cursors = CursorCodec()
        self.mdminfo = {v: documents.mdminfo(profile, v) for v in profile.versions}
        instance = profile.instance
        self.discovery_paths = frozenset(
            {instance + "/ciscoise/mdminfo", instance + "/ciscoise/mdminfo/"}
        )
        api: dict[str, int] = {}
        for version in profile.versions:  # a version-less template serves the highest version
            api[profile.api_path_for(version)] = version
        #: ``(api_path, version)``, longest path first (so the most specific prefix wins).
        self.api_prefixes = sorted(api.items(), key=lambda item: -len(item[0]))
        self.lock = threading.Lock()
        self.actions: list[ActionRecord] = []
        self.requests: collections.deque[RequestRecord] = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self.request_count = 0
        self.errors: list[BaseException] = []
        self.started = time.monotonic()
        #: The query of the last device query, for the ``race-under-concurrency`` defect.
        self.race_slot: dict[str, str] | None = None

    def authorized(self, header: str | None) -> bool:
        """Constant-time check of a Basic ``Authorization`` header against the credentials."""
        if not header:
            return False
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        user_ok = hmac.compare_digest(user, self._credentials[0])
        password_ok = hmac.compare_digest(password, self._credentials[1])
        return bool(sep) and user_ok and password_ok

    def record_request(self, record: RequestRecord) -> None:
        with self.lock:
            self.request_count += 1
            self.requests.append(record)

    def record_action(self, record: ActionRecord) -> None:
        with self.lock:
            self.actions.append(record)

    def record_error(self, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(exc)
