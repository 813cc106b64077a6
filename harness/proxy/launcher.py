"""Run the fault proxy as a real mitmproxy subprocess, and talk to its control API.

>>> with FaultProxy(upstream=mdm.origin, ca=ca) as proxy:          # doctest: +SKIP
...     proxy.url                         # what a client uses as its proxy
...     proxy.control.load_scenario("seed-3-unauthorized")
...     proxy.control.journal(wait_idle=2.0)

The child is mitmproxy's own master with only the addons a fault proxy uses
(:mod:`harness.proxy.master`: mitmdump's command line, no PATH lookup), the addon loaded by
``-s``, mitmproxy's confdir pointing at the harness CA, ``listen_port=0`` and
``harness_control_port=0`` unless given: the addon writes the ports it really got to a ready
file, which the wrapper polls with a deadline. The child's environment is scrubbed of ambient CA and proxy variables.
If it dies during startup, the exception carries its stderr.

The control API's token and the journal's HMAC key are drawn here and handed over through an
inherited pipe (``harness_secrets_file=/dev/fd/N``), never on the command line or in the
environment, where any local process - a client under test included - could read them.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from harness import _util
from harness.proxy.control_client import ControlClient, ControlError, ScenarioRejected
from harness.proxy.journal import DEFAULT_MAX_RECORDS, credential_hash
from harness.tls import CertificateAuthority

__all__ = [
    "ADDON_PATH",
    "PROXY_PROGRAM",
    "ControlClient",
    "ControlError",
    "FaultProxy",
    "ProxyStartError",
    "ScenarioRejected",
]

#: The addon file to give ``mitmdump -s``.
ADDON_PATH = Path(__file__).with_name("addon.py")

#: The child's program: mitmproxy's master with only the addons a fault proxy uses, and
#: mitmdump's command line (:mod:`harness.proxy.master`).
PROXY_PROGRAM = ("-m", "harness.proxy.master")

Mode = Literal["regular", "reverse"]


def write_secrets_pipe(control_token: str, auth_key: str) -> int:
    """A pipe holding the secrets as JSON (what ``harness_secrets_file`` reads); returns its
    read end for the child to inherit - the caller closes it once the child has started. The
    write end is closed here, so the child reads the secrets and then end of file."""
    data = json.dumps({"control_token": control_token, "auth_key": auth_key}).encode()
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)  # far below a pipe's buffer: never blocks
    finally:
        os.close(write_end)
    return read_end


class ProxyStartError(RuntimeError):
    """mitmdump did not come up; the message includes its stderr."""


class FaultProxy:
    """The fault proxy as a context manager around a real mitmdump process.

    ``upstream`` is the origin every request goes to (``mdm.origin``); ``ca`` the harness CA
    (a :class:`CertificateAuthority` or its directory) whose confdir mitmproxy signs with;
    ``mode`` ``regular`` (explicit proxy, CONNECT) or ``reverse``; ``scenario`` a file path or
    library name loaded at start; ports 0 mean "pick a free one".
    """

    def __init__(
        self,
        upstream: str | None,
        ca: CertificateAuthority | str | os.PathLike[str] | None = None,
        *,
        mode: Mode = "regular",
        scenario: str | os.PathLike[str] | None = None,
        listen_port: int = 0,
        control_port: int = 0,
        upstream_ca: str | os.PathLike[str] | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        journal_max: int = DEFAULT_MAX_RECORDS,
        journal_file: str | os.PathLike[str] | None = None,
        auth_key: str | None = None,
        seed: int = 0,
        max_hang_s: int | None = None,
        quiet: bool = True,
        extra_options: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        if mode not in ("regular", "reverse"):
            raise ValueError(f"mode={mode!r} must be 'regular' or 'reverse'")
        if mode == "reverse" and not upstream:
            raise ValueError("mode='reverse' needs an upstream")
        if isinstance(ca, CertificateAuthority):
            self.ca = ca
        else:
            base = Path(ca) if ca is not None else _util.default_state_dir()
            self.ca = CertificateAuthority.load_or_create(base)
        self.upstream = upstream
        self.mode = mode
        self.scenario = scenario
        self.listen_port = listen_port
        self.control_port = control_port
        self.upstream_ca = upstream_ca
        self.journal_max = journal_max
        self.journal_file = Path(journal_file) if journal_file is not None else None
        self.auth_key = auth_key if auth_key is not None else secrets.token_hex(16)
        self.control_token = secrets.token_urlsafe(32)
        self.seed = seed
        self.max_hang_s = max_hang_s
        self.quiet = quiet
        self.extra_options = tuple(extra_options)
        self.startup_timeout = startup_timeout
        self._state_dir_arg = state_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.state_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._secrets_fd: int | None = None
        self.ready: dict[str, Any] = {}
        self._control: ControlClient | None = None

    # -- lifecycle

    def command(self, ready_file: Path) -> list[str]:
        """The mitmdump command line (without the interpreter prefix's environment). During
        :meth:`start` it names the inherited pipe the secrets come through."""
        opts = {
            "confdir": str(self.ca.mitmproxy_confdir()),
            "listen_host": "127.0.0.1",
            "listen_port": str(self.listen_port),
            "connection_strategy": "lazy",
            "http2": "false",
            "keep_host_header": "true",
            "harness_upstream": self.upstream or "",
            "harness_ready_file": str(ready_file),
            "harness_control_port": str(self.control_port),
            "harness_journal_max": str(self.journal_max),
            "harness_seed": str(self.seed),
            "harness_scenario": str(self.scenario or ""),
        }
        if self._secrets_fd is not None:
            opts["harness_secrets_file"] = f"/dev/fd/{self._secrets_fd}"
        if self.journal_file is not None:
            opts["harness_journal_file"] = str(self.journal_file)
        if self.upstream_ca is not None:
            opts["harness_upstream_ca"] = str(self.upstream_ca)
        if self.max_hang_s is not None:
            opts["harness_max_hang"] = str(int(self.max_hang_s))
        cmd = [*_util.python(*PROXY_PROGRAM), "-s", str(ADDON_PATH)]
        if self.quiet:
            cmd.append("-q")
        if self.mode == "reverse":
            cmd += ["--mode", f"reverse:{self.upstream}"]
        for key, value in opts.items():
            cmd += ["--set", f"{key}={value}"]
        for item in self.extra_options:
            cmd += ["--set", item]
        return cmd

    def start(self) -> FaultProxy:
        """Start mitmdump and wait until both the proxy and the control API listen."""
        if self.process is not None:
            raise RuntimeError("the proxy is already started")
        if self._state_dir_arg is not None:
            self.state_dir = Path(self._state_dir_arg)
            self.state_dir.mkdir(parents=True, exist_ok=True)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="mdm-harness-proxy-")
            self.state_dir = Path(self._tmp.name)
        ready_file = self.state_dir / f"ready-{os.getpid()}-{id(self):x}.json"
        ready_file.unlink(missing_ok=True)
        log_path = self.state_dir / f"mitmdump-{os.getpid()}-{id(self):x}.log"
        self._log_path = log_path
        secrets_fd = self._secrets_fd = write_secrets_pipe(self.control_token, self.auth_key)
        try:
            with open(log_path, "wb") as log:
                self.process = subprocess.Popen(
                    self.command(ready_file),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=_util.scrubbed_env({"PYTHONUNBUFFERED": "1"}),
                    cwd=str(self.state_dir),
                    start_new_session=True,
                    pass_fds=(secrets_fd,),
                    preexec_fn=_util.parent_death_signal(),  # mitmdump ends with its parent
                )
        finally:
            self._secrets_fd = None
            os.close(secrets_fd)

        def ready() -> dict[str, Any] | None:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ProxyStartError(
                    f"mitmdump exited with {self.process.returncode} during startup:\n{self.output()}"
                )
            try:
                value: dict[str, Any] = json.loads(ready_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            return value

        try:
            self.ready = _util.wait_until(
                ready, timeout=self.startup_timeout, what="mitmdump readiness"
            )
        except _util.DeadlineExceeded as exc:
            self.stop()
            raise ProxyStartError(f"{exc}; mitmdump said:\n{self.output()}") from None
        except BaseException:
            self.stop()
            raise
        self._control = ControlClient(
            "127.0.0.1", int(self.ready["control"]["port"]), token=self.control_token
        )
        return self

    def output(self) -> str:
        """What mitmdump printed so far (stdout and stderr)."""
        try:
            return self._log_path.read_text(encoding="utf-8", errors="replace")
        except (OSError, AttributeError):
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop mitmdump (SIGTERM, then SIGKILL after ``timeout``) and clean up."""
        process, self.process = self.process, None
        if process is not None:
            _util.stop_process(process, timeout)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.ready else "not started"
        return f"FaultProxy({self.mode}, {where}, upstream={self.upstream!r})"

    # -- what a client needs

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        return int(self._ready("proxy")["port"])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the explicit proxy a client uses (regular mode)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def reverse_url(self) -> str:
        """``https://127.0.0.1:PORT``: where a client connects in reverse mode."""
        return f"{self._ready('proxy')['scheme']}://127.0.0.1:{self.port}"

    @property
    def control(self) -> ControlClient:
        """The control API client."""
        if self._control is None:
            raise RuntimeError("the proxy is not started")
        return self._control

    @property
    def control_url(self) -> str:
        return self.control.url

    @property
    def ca_bundle(self) -> Path:
        """The only CA a client must trust (proxy and upstream certificates chain to it)."""
        return self.ca.bundle_path

    def canary_url(self, token: str) -> str:
        """The canary URL for ``token`` (an XXE document points a careless parser at it): on
        a listener of its own, so it tells nothing about the control API."""
        return f"http://127.0.0.1:{int(self._ready('canary')['port'])}/canary/{token}"

    def auth_hash(self, username: str, password: str) -> str:
        """The journal's ``auth.hash`` for Basic credentials ``username:password``."""
        return credential_hash(self.auth_key.encode(), f"{username}:{password}".encode())

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _ready(self, key: str) -> dict[str, Any]:
        if not self.ready:
            raise RuntimeError("the proxy is not started")
        value: dict[str, Any] = self.ready[key]
        return value
