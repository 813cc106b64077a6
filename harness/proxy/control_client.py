"""A client of the fault proxy's control API (plain HTTP on loopback, stdlib only).

``FaultProxy.control`` is one, holding the proxy's control token; every call sends it as
``Authorization: Bearer`` (see ``docs/proxy.md``, "Control API").
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from harness.attempt import Attempt

__all__ = ["ControlClient", "ControlError", "ScenarioRejected"]


class ControlError(RuntimeError):
    """The control API answered with an error (``status`` and the server's message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"control API: {status}: {message}")
        self.status = status
        self.message = message


class ScenarioRejected(ControlError, ValueError):
    """``PUT /scenario`` refused the scenario; ``message`` is ``file:line: field: problem``."""


class ControlClient:
    """A small client of the control API (plain HTTP on loopback, stdlib only); ``token`` is
    the proxy's control token, sent with every call (without it every call is refused: 401)."""

    def __init__(
        self, host: str, port: int, *, token: str | None = None, timeout: float = 30.0
    ) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ControlClient({self.url})"  # never the token

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        try:
            headers = {"Content-Type": content_type} if body is not None else {}
            if self.token is not None:
                headers["Authorization"] = f"Bearer {self.token}"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            conn.close()

    def _json(self, method: str, path: str, body: bytes | None = None, **kw: Any) -> Any:
        status, _, data = self._call(method, path, body, **kw)
        try:
            value = json.loads(data) if data else None
        except ValueError:
            raise ControlError(status, data.decode("utf-8", "replace")[:500]) from None
        if status >= 400:
            message = (
                value.get("error", "")
                if isinstance(value, dict)
                else data.decode("utf-8", "replace")
            )
            if path == "/scenario":
                raise ScenarioRejected(status, message)
            raise ControlError(status, message)
        return value

    def health(self) -> dict[str, Any]:
        """``GET /health``."""
        result: dict[str, Any] = self._json("GET", "/health")
        return result

    def load_scenario(self, scenario: Any) -> dict[str, Any]:
        """Load a scenario: a library name, YAML/JSON text, a dict, or a parsed ``Scenario``.

        Raises :class:`ScenarioRejected` (the old scenario stays active) on a bad one.
        """
        from harness.scenario import Scenario, to_spec, to_yaml

        if isinstance(scenario, Scenario):
            text = to_spec(scenario)
        elif isinstance(scenario, Mapping):
            text = to_yaml(scenario)
        elif (
            isinstance(scenario, str)
            and "\n" not in scenario
            and ":" not in scenario
            and "{" not in scenario
        ):
            text = json.dumps({"name": scenario})
        else:
            text = str(scenario)
        result: dict[str, Any] = self._json(
            "PUT", "/scenario", text.encode("utf-8"), content_type="application/yaml"
        )
        return result

    def clear_scenario(self) -> None:
        """No scenario: every attempt passes."""
        self._json("DELETE", "/scenario")

    def scenario(self) -> dict[str, Any]:
        """``GET /scenario``: the active scenario's name and YAML."""
        result: dict[str, Any] = self._json("GET", "/scenario")
        return result

    def reset(self) -> None:
        """Clear journal, counters, canary hits and schedule state."""
        self._json("POST", "/reset")

    def journal(self, wait_idle: float | None = None) -> list[Attempt]:
        """The journal's records, after waiting up to ``wait_idle`` s for in-flight attempts to end."""
        path = "/journal" if wait_idle is None else f"/journal?wait_idle={quote(str(wait_idle))}"
        timeout = self.timeout + (wait_idle or 0)
        status, _, data = self._call("GET", path, timeout=timeout)
        if status >= 400:
            raise ControlError(status, data.decode("utf-8", "replace"))
        return [
            Attempt.from_json(json.loads(line))
            for line in data.decode("utf-8").splitlines()
            if line
        ]

    def counters(self) -> dict[str, Any]:
        """``GET /counters``."""
        result: dict[str, Any] = self._json("GET", "/counters")
        return result

    def canary_hits(self) -> list[dict[str, Any]]:
        """``GET /canary``: every recorded canary fetch."""
        result: list[dict[str, Any]] = self._json("GET", "/canary")
        return result
