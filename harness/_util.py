"""Small shared helpers: readiness polling, scrubbed child environments, loopback checks."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Environment variables that silently change which CA or proxy a child process uses.
#: This machine (and many CI images) export several of them; the harness never lets them leak
#: into a client under test or a server it starts.
AMBIENT_TLS_AND_PROXY_VARS = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPLIB2_CA_CERTS",
    "NODE_EXTRA_CA_CERTS",
    "AWS_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)


def python(*args: str) -> list[str]:
    """A command line running this interpreter with ``args``, never importing from the cwd.

    ``-P`` (Python 3.11+) keeps the current directory off ``sys.path``: started from a
    checkout, ``python -m harness`` would otherwise import the checkout's ``harness/`` instead
    of the installed package (which alone carries the scenario library and the contract suite).
    """
    return [sys.executable, "-P", *args]


class DeadlineExceeded(TimeoutError):
    """Raised by :func:`wait_until` when the condition did not hold in time."""


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.01,
    what: str = "condition",
) -> T:
    """Poll ``condition`` until it returns a truthy value, and return that value.

    Readiness is always polled with a deadline, never waited for with a fixed sleep. The
    interval grows gently (x1.5, capped at 0.2 s) so a slow machine is not hammered.
    """
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise DeadlineExceeded(f"{what} did not hold within {timeout:.1f} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Stop a child the harness started: SIGTERM, then SIGKILL if it is still there after ``timeout``."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def free_loopback_port() -> int:
    """A port the OS just handed out on 127.0.0.1, for a program that must be told its port.

    Our own servers bind port 0 and report the port they got; nginx, WireMock or a bare
    mitmdump need a number up front. The port is released before they bind it, so in theory
    another program could take it in between; callers wait for the port with a deadline.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on ``host:port`` (a readiness check for :func:`wait_until`)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def scrubbed_env(
    extra: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A copy of the environment without ambient CA-bundle and proxy variables, plus ``extra``."""
    env = dict(os.environ if base is None else base)
    for name in AMBIENT_TLS_AND_PROXY_VARS:
        env.pop(name, None)
    if extra:
        env.update(extra)
    return env


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost`` - the only targets the harness may reach."""
    host = host.strip("[]")
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_state_dir() -> Path:
    """Where the CA and other per-user state live unless ``--state-dir`` says otherwise."""
    explicit = os.environ.get("MDM_HARNESS_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "mdm-harness"
