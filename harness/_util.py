"""Small shared helpers: readiness polling, scrubbed child environments, loopback checks,
children that die with their parent, and redaction of secrets."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import UsageError

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


#: Set (to ``1``) in the environment of a pytest run whose xdist workers must die with it
#: (``mdm-harness certify`` sets it; the contract plugin arms :func:`die_with_parent`).
DIE_WITH_PARENT_ENV = "MDM_HARNESS_DIE_WITH_PARENT"

#: ``prctl(2)`` option: the signal a process gets when the thread that created it exits.
_PR_SET_PDEATHSIG = 1


def parent_death_signal(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child gets ``sig`` when its parent dies.

    Linux's ``PR_SET_PDEATHSIG``: however the harness process ends (``kill -9`` included), the
    programs it started - mitmdump, pytest and its workers, clients under test - end with it
    instead of running on as orphans. (The signal follows the *thread* that started the child:
    start children from a thread that outlives them.) ``None`` where ``prctl`` is not there, so
    ``preexec_fn=parent_death_signal()`` is always a valid argument. The function is resolved
    here, in the parent: the child only makes the one call (and kills itself if its parent
    already died in between).
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Make the *calling* process get ``sig`` when its parent dies (see :func:`parent_death_signal`).

    For a process whose parent started it without the ``preexec_fn`` (an xdist worker). Returns
    whether the signal is armed.
    """
    prctl = _prctl()
    if prctl is None:
        return False
    parent = os.getppid()
    if prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent died before the call
        os.kill(os.getpid(), sig)
    return True


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function


#: What stands in for a secret in anything the harness writes.
REDACTED = "[REDACTED]"


_MAC_SEPARATORS = re.compile(r"[\s:.\-]")
_MAC12 = re.compile(r"[0-9A-F]{12}")


def normalise_mac(text: str) -> str:
    """``00:26:b4-24.fe b4`` -> ``0026B424FEB4``: the one MAC spelling the client, the MDM and
    the server checks compare; :class:`ValueError` unless 12 hex digits remain."""
    mac = _MAC_SEPARATORS.sub("", text).upper()
    if not _MAC12.fullmatch(mac):
        raise ValueError(f"{text!r} is not a MAC address (12 hex digits, separators allowed)")
    return mac


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every occurrence of each (non-empty) secret replaced by :data:`REDACTED`.

    Longer secrets go first, so a secret that contains another is replaced whole.
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


# ------------------------------------------------------------------ checks of command-line values

_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def check_port(value: int, option: str) -> int:
    """A TCP port (0 = pick a free one); :class:`UsageError` naming ``option`` otherwise."""
    if not 0 <= value <= 65535:
        raise UsageError(f"{option} {value}: a port is between 0 and 65535 (0: pick a free one)")
    return value


def check_range(value: int, option: str, low: int, high: int) -> int:
    """An integer option within ``low..high``; :class:`UsageError` naming ``option`` otherwise."""
    if not low <= value <= high:
        raise UsageError(f"{option} {value}: must be between {low} and {high}")
    return value


def check_hostname(value: str, option: str) -> str:
    """A DNS host name (RFC 1123 labels, at most 253 characters)."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253 or not all(_HOST_LABEL.fullmatch(p) for p in name.split(".")):
        raise UsageError(
            f"{option} {value!r}: not a host name (letters, digits and '-' in dot-separated labels)"
        )
    return value


def check_regular_file(path: Path, option: str, *, max_bytes: int = 1 << 20) -> Path:
    """An input file that is a regular file of at most ``max_bytes`` (not /dev/zero, a FIFO...)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{option}: {str(path)!r} is not a regular file")
    if info.st_size > max_bytes:
        raise UsageError(
            f"{option}: {str(path)!r} is {info.st_size} bytes, more than the {max_bytes} allowed"
        )
    return path


def check_writable_dir(path: Path, option: str) -> Path:
    """A directory the harness can create (if missing) and write in."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".mdm-harness-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"{option}: cannot write to {str(path)!r}: {exc.strerror or exc}"
        ) from None
    return path
