"""Building scenarios (the schema of ``docs/scenarios.md``) for contract cases.

Contract cases are scenarios like any other: built here as plain dicts, loaded into the proxy
through its control API, and exported as YAML files when a case fails, so ``mdm-harness
replay`` reproduces the failure without the suite.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any


def rule(
    name: str,
    fault: Mapping[str, Any] | str | None = None,
    *,
    operation: str | Sequence[str] | None = None,
    phase: str | None = None,
    method: str | None = None,
    path: str | None = None,
    query: Mapping[str, str] | None = None,
    times: int | None = None,
    after: int | None = None,
    sequence: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """One rule: what it matches, the fault, and when it fires."""
    match: dict[str, Any] = {}
    if phase is not None:
        match["phase"] = phase
    if operation is not None:
        match["operation"] = operation if isinstance(operation, str) else list(operation)
    if method is not None:
        match["method"] = method
    if path is not None:
        match["path"] = path
    if query:
        match["query"] = dict(query)
    out: dict[str, Any] = {"name": name}
    if match:
        out["match"] = match
    schedule: dict[str, Any] = {}
    if sequence is not None:
        schedule["sequence"] = list(sequence)
    else:
        if fault is None:
            raise ValueError(f"rule {name!r} needs a fault or a sequence")
        out["fault"] = fault if isinstance(fault, str) else dict(fault)
    if times is not None:
        schedule["times"] = times
    if after is not None:
        schedule["after"] = after
    if schedule:
        out["schedule"] = schedule
    return out


def respond(
    status: int = 200,
    body: bytes | str = b"",
    *,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = "application/xml",
) -> dict[str, Any]:
    """A ``respond`` fault: the proxy answers itself, the upstream never sees the request."""
    fault: dict[str, Any] = {"kind": "respond", "status": status}
    all_headers = dict(headers or {})
    if content_type is not None and "Content-Type" not in all_headers:
        all_headers["Content-Type"] = content_type
    if all_headers:
        fault["headers"] = all_headers
    raw = body.encode() if isinstance(body, str) else body
    if raw:
        try:
            text = raw.decode("utf-8")
            if "\r" in text or any(ord(c) < 0x20 and c not in "\t\n" for c in text):
                raise UnicodeDecodeError("utf-8", raw, 0, 1, "control characters")
            fault["body"] = text
        except UnicodeDecodeError:
            fault["body_base64"] = base64.b64encode(raw).decode("ascii")
    return fault


def scenario(
    name: str,
    rules: Sequence[Mapping[str, Any]],
    *,
    description: str,
    expect: str | None = None,
    operation: str | None = None,
    faults: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """A whole scenario; ``expect`` is the outcome a correct client reports for ``operation``."""
    out: dict[str, Any] = {"name": name, "description": description, "rules": list(rules)}
    if expect:
        out["expect"] = {"outcome": expect, **({"operation": operation} if operation else {})}
    if faults:
        out["faults"] = {key: dict(value) for key, value in faults.items()}
    if seed is not None:
        out["seed"] = seed
    return out
