"""The admin surface of a running reference MDM: JSON under ``/_harness/``, and its client.

It lets the CLI, and tests in another process, change and read a running server: flip a
device's compliance, read the action record and request log, read inventory and process
statistics, switch Basic authentication off and on. It takes the same Basic credentials as the
API, and keeps taking them when API Basic authentication is switched off.

==========  ===========================  =================================================
method      path                         does
==========  ===========================  =================================================
GET         /_harness/health             ``{"status": "ok", ...}``
GET         /_harness/stats              inventory counts, requests, actions, memory
GET         /_harness/devices/KEY        one device (KEY: GUID, any MAC, host name, ...)
POST        /_harness/compliance         ``{"device", "compliant", "failure_reason"?, "remediation"?}``
GET         /_harness/actions            ``{"actions": [...]}``; ``?device=KEY`` filters
GET         /_harness/requests           ``{"count": N, "requests": [...]}``; ``?limit=N``
POST        /_harness/settings           ``{"basic_auth_enabled"?, "server_busy_wait_seconds"?, "defects"?}``
POST        /_harness/reset              forget recorded actions and requests
==========  ===========================  =================================================

Errors are ``{"error": "..."}`` with 400, 401, 404 or 405.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

import tornado.web

from harness import _util
from harness.mdm.profile import RESERVED_PREFIX

if TYPE_CHECKING:
    from harness.mdm.server import ReferenceMDM
    from harness.mdm.state import ServerState

__all__ = ["AdminClient", "AdminError", "AdminHandler", "process_memory"]


class AdminError(Exception):
    """An admin request that failed: ``status`` (0 when no HTTP answer came) and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.message = message


def process_memory() -> dict[str, int | None]:
    """This process's peak and current resident memory in bytes (``VmHWM``, ``VmRSS``), Linux."""
    result: dict[str, int | None] = {"peak_rss_bytes": None, "rss_bytes": None}
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    result["peak_rss_bytes"] = int(line.split()[1]) * 1024
                elif line.startswith("VmRSS:"):
                    result["rss_bytes"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return result


class AdminHandler(tornado.web.RequestHandler):
    """JSON admin requests under ``/_harness/``."""

    def initialize(self, state: ServerState, mdm: ReferenceMDM) -> None:
        self.state = state
        self.mdm = mdm

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")

    def compute_etag(self) -> None:
        return None

    def _send(self, status: int, payload: Any) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload, sort_keys=True))

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": message})

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self._error(status_code, self._reason)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, tornado.web.HTTPError) and value is not None:
            self.state.record_error(value)
        super().log_exception(typ, value, tb)

    def _handle(self, method: str, path: str) -> None:
        if not self.state.authorized(self.request.headers.get("Authorization")):
            realm = self.state.profile.realm.replace('"', "'")
            self.set_header("WWW-Authenticate", f'Basic realm="{realm} admin"')
            self._error(401, "missing or wrong credentials")
            return
        route = _ROUTES.get((method, path.split("/", 1)[0]))
        if route is None:
            known = [p for m, p in _ROUTES if p == path.split("/", 1)[0]]
            if known:
                self._error(405, f"{method} is not allowed on {RESERVED_PREFIX}/{path}")
            else:
                self._error(404, f"no admin resource {RESERVED_PREFIX}/{path}")
            return
        try:
            status, payload = route(self, path)
        except _Refusal as exc:
            self._error(exc.status, exc.message)
            return
        self._send(status, payload)

    def get(self, path: str) -> None:
        self._handle("GET", path)

    def post(self, path: str) -> None:
        self._handle("POST", path)

    def _json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Refusal(400, f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise _Refusal(400, "the body must be a JSON object")
        return body

    # -- routes ------------------------------------------------------------------------------

    def _admin_health(self, path: str) -> tuple[int, Any]:
        mdm = self.mdm
        return 200, {
            "status": "ok",
            "profile": mdm.profile.name,
            "base_url": mdm.base_url,
            "public_base_url": mdm.public_base_url,
            "api_versions": list(mdm.profile.versions),
            "devices": len(self.state.inventory),
            "uptime_seconds": round(time.monotonic() - self.state.started, 3),
        }

    def _admin_stats(self, path: str) -> tuple[int, Any]:
        with self.state.lock:
            actions, errors = len(self.state.actions), len(self.state.errors)
        return 200, {
            **self.state.inventory.stats(),
            "requests": self.state.request_count,
            "actions": actions,
            "errors": errors,
            "basic_auth_enabled": self.state.basic_auth_enabled,
            "server_busy_wait_seconds": self.state.server_busy_wait_seconds,
            "defects": self.state.defects.specs(),
            **process_memory(),
        }

    def _admin_device(self, path: str) -> tuple[int, Any]:
        key = path.partition("/")[2]
        device = self.state.inventory.get(key) if key else None
        if device is None:
            raise _Refusal(404, f"no device {key!r}")
        return 200, {"device": device.to_dict()}

    def _admin_compliance(self, path: str) -> tuple[int, Any]:
        body = self._json_body()
        key, compliant = body.get("device"), body.get("compliant")
        if not isinstance(key, str) or not isinstance(compliant, bool):
            raise _Refusal(400, 'expected {"device": KEY, "compliant": true|false, ...}')
        texts = {name: body.get(name) for name in ("failure_reason", "remediation")}
        for name, value in texts.items():
            if value is not None and not isinstance(value, str):
                raise _Refusal(400, f"{name} must be a string")
        try:
            device = self.state.inventory.set_compliance(key, compliant, **texts)
        except KeyError as exc:
            raise _Refusal(404, str(exc.args[0])) from None
        return 200, {"device": device.to_dict()}

    def _admin_actions(self, path: str) -> tuple[int, Any]:
        key = self.get_query_argument("device", None)
        return 200, {"actions": [a.to_dict() for a in self.mdm.actions(key)]}

    def _admin_requests(self, path: str) -> tuple[int, Any]:
        records = self.mdm.requests
        limit = self.get_query_argument("limit", None)
        if limit is not None:
            if not limit.isdigit():
                raise _Refusal(400, f"limit={limit!r} is not a number")
            records = records[-int(limit) :] if int(limit) else []
        return 200, {"count": self.mdm.request_count, "requests": [r.to_dict() for r in records]}

    def _admin_settings(self, path: str) -> tuple[int, Any]:
        body = self._json_body()
        unknown = sorted(set(body) - {"basic_auth_enabled", "server_busy_wait_seconds", "defects"})
        if unknown:
            raise _Refusal(400, f"unknown setting(s) {', '.join(unknown)}")
        if "basic_auth_enabled" in body:
            if not isinstance(body["basic_auth_enabled"], bool):
                raise _Refusal(400, "basic_auth_enabled must be true or false")
            self.mdm.basic_auth_enabled = body["basic_auth_enabled"]
        if "server_busy_wait_seconds" in body:
            try:
                self.mdm.server_busy_wait_seconds = body["server_busy_wait_seconds"]
            except ValueError as exc:
                raise _Refusal(400, str(exc)) from None
        if "defects" in body:
            specs = body["defects"]
            if not isinstance(specs, list) or not all(isinstance(d, str) for d in specs):
                raise _Refusal(400, "defects must be a list of defect names")
            try:
                self.mdm.defects = specs
            except ValueError as exc:
                raise _Refusal(400, str(exc)) from None
        return 200, {
            "basic_auth_enabled": self.mdm.basic_auth_enabled,
            "server_busy_wait_seconds": self.mdm.server_busy_wait_seconds,
            "defects": self.mdm.defects.specs(),
        }

    def _admin_reset(self, path: str) -> tuple[int, Any]:
        self.mdm.reset_records()
        return 200, {"reset": True}


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


_ROUTES = {
    ("GET", "health"): AdminHandler._admin_health,
    ("GET", "stats"): AdminHandler._admin_stats,
    ("GET", "devices"): AdminHandler._admin_device,
    ("POST", "compliance"): AdminHandler._admin_compliance,
    ("GET", "actions"): AdminHandler._admin_actions,
    ("GET", "requests"): AdminHandler._admin_requests,
    ("POST", "settings"): AdminHandler._admin_settings,
    ("POST", "reset"): AdminHandler._admin_reset,
}


class AdminClient:
    """Talks to the admin surface of a running reference MDM on loopback.

    ``url`` is any URL of the server (its base URL is fine: only scheme, host and port count).
    The CA is given explicitly; ambient CA variables are never consulted.
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        ca_bundle: str | Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url={url!r} is not an http(s) URL")
        if not _util.is_loopback_host(parts.hostname):
            raise ValueError(f"url={url!r} is not on loopback (the harness talks to loopback only)")
        if parts.scheme == "https" and ca_bundle is None:
            raise ValueError("an https URL needs ca_bundle (the CA PEM the server printed)")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self._context = (
            ssl.create_default_context(cafile=str(ca_bundle)) if parts.scheme == "https" else None
        )
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        conn: http.client.HTTPConnection
        if self._context is not None:
            conn = http.client.HTTPSConnection(
                self.host, self.port, context=self._context, timeout=self.timeout
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = dict(self._headers)
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, f"{RESERVED_PREFIX}/{path}", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise AdminError(
                0, f"cannot reach {self.scheme}://{self.host}:{self.port}: {exc}"
            ) from exc
        finally:
            conn.close()
        try:
            decoded = json.loads(data)
        except ValueError:
            raise AdminError(response.status, f"not a JSON answer: {data[:200]!r}") from None
        if response.status >= 400:
            message = decoded.get("error") if isinstance(decoded, dict) else None
            raise AdminError(response.status, str(message or response.reason))
        return decoded

    def health(self) -> dict[str, Any]:
        """``GET /_harness/health``."""
        result: dict[str, Any] = self._call("GET", "health")
        return result

    def stats(self) -> dict[str, Any]:
        """``GET /_harness/stats``."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def device(self, key: str) -> dict[str, Any]:
        """One device as a mapping (``KEY``: GUID, any MAC, host name, UDID, serial, IMEI, MEID)."""
        result: dict[str, Any] = self._call("GET", f"devices/{quote(key, safe='')}")["device"]
        return result

    def set_compliance(
        self,
        key: str,
        compliant: bool,
        failure_reason: str | None = None,
        remediation: str | None = None,
    ) -> dict[str, Any]:
        """Flip a device's compliance; returns the device as it now is."""
        payload = {
            "device": key,
            "compliant": compliant,
            "failure_reason": failure_reason,
            "remediation": remediation,
        }
        result: dict[str, Any] = self._call("POST", "compliance", payload)["device"]
        return result

    def actions(self, device: str | None = None) -> list[dict[str, Any]]:
        """Executed actions, oldest first (only those of ``device`` if given)."""
        query = "?" + urlencode({"device": device}) if device else ""
        result: list[dict[str, Any]] = self._call("GET", "actions" + query)["actions"]
        return result

    def requests(self, limit: int | None = None) -> dict[str, Any]:
        """``{"count": N, "requests": [...]}``: the request log (last ``limit`` entries)."""
        result: dict[str, Any] = self._call(
            "GET", "requests" + (f"?limit={int(limit)}" if limit is not None else "")
        )
        return result

    def settings(self, **settings: Any) -> dict[str, Any]:
        """Change ``basic_auth_enabled``, ``server_busy_wait_seconds`` and/or ``defects`` (a list
        of names, :mod:`harness.mdm.defects`); returns all three."""
        result: dict[str, Any] = self._call("POST", "settings", settings)
        return result

    def reset(self) -> None:
        """Forget recorded actions and requests."""
        self._call("POST", "reset", {})
