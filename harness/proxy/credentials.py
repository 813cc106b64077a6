"""The proxy's secrets, taken without argv: the control API's token and the journal's HMAC key.

Anything on mitmdump's command line is visible to every local user (``ps``), so secrets come
from the file named by ``harness_secrets_file``: a JSON object ``{"control_token": ...,
"auth_key": ...}`` (either key optional). :class:`~harness.proxy.launcher.FaultProxy` passes
``/dev/fd/N``, the read end of a pipe the child inherits and this addon reads once and closes,
so nothing is left to find in ``/proc``; a user running plain ``mitmdump -s`` may give a file
of mode 0600 instead. Without one, both secrets are drawn at random per process, and the token
is written to ``harness_ready_file`` (mode 0600) so that whoever started the proxy can use it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from pathlib import Path

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader

#: The longest secrets file read (bytes).
MAX_SECRETS_BYTES = 4096

_FD_PATH = re.compile(r"^/(?:dev|proc/self)/fd/(\d+)$")


class Credentials:
    """Holds the control token and the credential-hash key of this proxy process."""

    def __init__(self) -> None:
        self.control_token = secrets.token_urlsafe(32)
        self.auth_key = secrets.token_bytes(32)
        #: Whether the token was drawn here (then the ready file carries it) or given.
        self.token_drawn = True
        self._taken: str | None = None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "harness_secrets_file",
            str,
            "",
            'JSON {"control_token": ..., "auth_key": ...} read once at start: a file of mode '
            "0600, or /dev/fd/N of an inherited pipe (closed after reading). Empty: both random.",
        )

    def configure(self, updated: set[str]) -> None:
        path = ctx.options.harness_secrets_file
        if "harness_secrets_file" not in updated or not path or path == self._taken:
            return  # mitmproxy may configure an option again with the same value: read it once
        try:
            self.take(path)
        except ValueError as e:
            raise exceptions.OptionsError(f"harness_secrets_file: {e}") from e
        self._taken = path

    def take(self, path: str) -> None:
        """Read the secrets from ``path`` (see the module docstring); ``ValueError`` if unusable."""
        fd_match = _FD_PATH.match(path)
        try:
            if fd_match:
                with os.fdopen(int(fd_match.group(1)), "rb") as pipe:  # closed once read
                    data = pipe.read(MAX_SECRETS_BYTES + 1)
            else:
                mode = os.stat(path).st_mode
                if stat.S_ISREG(mode) and mode & 0o077:
                    raise ValueError(
                        f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
                    )
                with open(path, "rb") as f:
                    data = f.read(MAX_SECRETS_BYTES + 1)
        except OSError as e:
            raise ValueError(f"{path}: {e.strerror or e}") from None
        if len(data) > MAX_SECRETS_BYTES:
            raise ValueError(f"{path}: larger than {MAX_SECRETS_BYTES} bytes")
        try:
            value = json.loads(data.decode("utf-8")) if data.strip() else None
        except (UnicodeDecodeError, ValueError):
            value = None
        if not isinstance(value, dict):
            raise ValueError(f'{path}: not a JSON object {{"control_token": ..., "auth_key": ...}}')
        token, key = value.get("control_token"), value.get("auth_key")
        for name, item, shortest in (("control_token", token, 16), ("auth_key", key, 1)):
            if item is not None and (not isinstance(item, str) or len(item) < shortest):
                raise ValueError(
                    f"{path}: {name} must be a string of at least {shortest} characters"
                )
        if token is not None:
            self.control_token, self.token_drawn = token, False
        if key is not None:
            self.auth_key = key.encode()


def write_private_json(path: Path, value: object) -> None:
    """Write ``value`` as JSON to ``path`` atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f)
    os.replace(tmp, path)
