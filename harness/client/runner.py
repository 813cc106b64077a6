"""Running a client under test: the exec runner and the in-process ``module:factory`` runner.

:class:`ClientSpec` is what a user names a client by: a command line (shell-split, e.g.
``mdm-harness reference-client`` or ``java -jar nac.jar``) or ``pkg.module:factory`` for a
Python client run in-process. :meth:`ClientSpec.run` runs one operation and always returns an
:class:`~harness.client.protocol.Outcome`; it never raises for anything the client does.

Exec runs happen in a new session with a scrubbed environment (no ambient CA-bundle or proxy
variables, only the protocol's), and the whole process group is killed at the hard limit; on
Linux the client also gets SIGKILL if the harness process dies first (no orphan runs on).
In-process runs happen in a daemon worker thread; a run that overruns the hard limit is a
crash and its thread is *abandoned* (Python cannot kill a thread): it keeps running in the
background until the client's own timeouts end it, so in-process clients should be trusted
code such as the reference client.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import json
import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from harness._util import parent_death_signal, python, scrubbed_env
from harness.client.protocol import ClientEnv, Outcome
from harness.client.results import Interpretation, interpret, interpret_object

__all__ = ["DEFAULT_HARD_LIMIT_S", "ClientSpec", "InProcessClient"]

#: The hard limit of one run unless the caller says otherwise.
DEFAULT_HARD_LIMIT_S = 30.0
#: How long to wait for pipes to drain after the process group was killed.
_DRAIN_S = 2.0
#: Output kept per stream (a client that floods stdout must not exhaust the harness).
_MAX_KEPT_CHARS = 1 << 20

_TARGET = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*")


class InProcessClient(Protocol):
    """What ``factory()`` returns for an in-process client."""

    def run(self, operation: str, args: list[str], env: Mapping[str, str]) -> dict[str, Any]:
        """Perform ``operation`` and return the protocol object the exec form would print."""
        ...


@dataclass(frozen=True)
class ClientSpec:
    """A client under test: ``kind`` ``exec`` with ``argv``, or ``inprocess`` with ``target``."""

    kind: Literal["exec", "inprocess"]
    argv: tuple[str, ...] = ()
    target: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "exec" and (not self.argv or self.target is not None):
            raise ValueError("an exec client needs a non-empty argv and no target")
        if self.kind == "inprocess" and (
            self.argv or not self.target or not _TARGET.fullmatch(self.target)
        ):
            raise ValueError(
                f"an in-process client needs target 'pkg.module:factory', got {self.target!r}"
            )
        if self.kind not in ("exec", "inprocess"):
            raise ValueError(f"kind={self.kind!r} is not 'exec' or 'inprocess'")

    @classmethod
    def parse(cls, text: str, *, base: str | Path | None = None) -> ClientSpec:
        """``pkg.module:factory`` (one token, no slash) is in-process; anything else is a command.

        A command runs in an empty directory of its own, so its words that name files relative
        to ``base`` (default: the current directory) are made absolute here: the program if it
        is a path (``./adapter.sh``), and any other word that names an existing file
        (``python3 adapter.py``). Raises :class:`ValueError` for an empty or unbalanced command
        line.
        """
        stripped = text.strip()
        if _TARGET.fullmatch(stripped):
            return cls("inprocess", target=stripped)
        try:
            argv = shlex.split(stripped)
        except ValueError as exc:
            raise ValueError(f"client command {text!r} cannot be split: {exc}") from None
        if not argv:
            raise ValueError("client command is empty")
        here = Path(base) if base is not None else Path.cwd()
        words = [_absolute(argv[0], here, program=True)]
        words += [_absolute(word, here, program=False) for word in argv[1:]]
        return cls("exec", argv=tuple(words))

    @classmethod
    def reference(cls, *, in_process: bool = False) -> ClientSpec:
        """The reference client, as a subprocess of this interpreter or in-process."""
        if in_process:
            return cls("inprocess", target="harness.client.reference:factory")
        return cls("exec", argv=tuple(python("-m", "harness.client.reference")))

    def __str__(self) -> str:
        return self.target if self.target is not None else shlex.join(self.argv)

    def run(
        self,
        operation: str,
        args: Sequence[str],
        env: ClientEnv,
        *,
        hard_limit_s: float = DEFAULT_HARD_LIMIT_S,
    ) -> Outcome:
        """Run ``operation`` with ``args`` once and judge what the client concluded."""
        if hard_limit_s <= 0:
            raise ValueError(f"hard_limit_s={hard_limit_s!r} must be positive")
        if self.kind == "exec":
            return _run_exec(self.argv, operation, list(args), env, hard_limit_s)
        if self.target is None:  # pragma: no cover - excluded by __post_init__
            raise ValueError("no target")
        return _run_inprocess(self.target, operation, list(args), env, hard_limit_s)


def _absolute(word: str, base: Path, *, program: bool) -> str:
    if not word or word.startswith("-") or os.path.isabs(word):
        return word
    if (program and os.sep in word) or (not program and (base / word).is_file()):
        return os.path.normpath(base / word)
    return word


def _outcome(
    operation: str,
    verdict: Interpretation,
    *,
    started: float,
    ended: float,
    exit_code: int | None,
    stdout: str,
    stderr: str,
    max_rss_kb: int | None = None,
) -> Outcome:
    if verdict.crash_reason is not None:
        kind: Literal["ok", "error", "crash"] = "crash"
    else:
        kind = "ok" if verdict.result is not None else "error"
    return Outcome(
        kind=kind,
        operation=operation,
        result=verdict.result,
        error=verdict.error,
        message=verdict.message,
        crash_reason=verdict.crash_reason,
        started=started,
        ended=ended,
        exit_code=exit_code,
        stdout=_ends(stdout),
        stderr=_ends(stderr),
        max_rss_kb=max_rss_kb,
    )


def _crash(reason: str) -> Interpretation:
    return Interpretation(crash_reason=reason)


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _ends(text: str) -> str:
    """At most about ``_MAX_KEPT_CHARS``: the first and the last half, and what was cut."""
    if len(text) <= _MAX_KEPT_CHARS + 64:
        return text
    half = _MAX_KEPT_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _run_exec(
    argv: tuple[str, ...], operation: str, args: list[str], env: ClientEnv, hard_limit_s: float
) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="mdm-client-") as workdir:
        return _run_exec_in(argv, operation, args, env, hard_limit_s, workdir)


def _run_exec_in(
    argv: tuple[str, ...],
    operation: str,
    args: list[str],
    env: ClientEnv,
    hard_limit_s: float,
    workdir: str,
) -> Outcome:
    command = [*argv, operation, *args]
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            command,
            env=scrubbed_env(env.as_environ()),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            # The client ends with the harness, however the harness ends.
            preexec_fn=parent_death_signal(),
            # An empty directory of its own, never the report directory it is judged in.
            cwd=workdir,
        )
    except OSError as exc:
        ended = time.monotonic()
        verdict = _crash(f"cannot execute {argv[0]!r}: {exc.strerror or exc}")
        return _outcome(
            operation,
            verdict,
            started=started,
            ended=ended,
            exit_code=None,
            stdout="",
            stderr=str(exc),
        )
    readers = [_PipeDrain(proc.stdout), _PipeDrain(proc.stderr)]
    code, max_rss_kb = _reap(proc, started + hard_limit_s)
    if code is None:
        _kill_group(proc)
        ended = time.monotonic()
        out, err = (r.collect(_DRAIN_S) for r in readers)
        _reap(proc, time.monotonic() + _DRAIN_S)
        verdict = _crash(f"overran the hard limit of {hard_limit_s:.1f} s")
        return _outcome(
            operation,
            verdict,
            started=started,
            ended=ended,
            exit_code=None,
            stdout=_decode(out),
            stderr=_decode(err),
        )
    ended = time.monotonic()
    # The client is done; anything it left behind in its process group goes too.
    _kill_group(proc)
    out, err = (r.collect(_DRAIN_S) for r in readers)
    stdout, stderr = _decode(out), _decode(err)
    verdict = _crash(_exit_reason(code)) if code != 0 else interpret(operation, stdout)
    return _outcome(
        operation,
        verdict,
        started=started,
        ended=ended,
        exit_code=code,
        stdout=stdout,
        stderr=stderr,
        max_rss_kb=max_rss_kb,
    )


class _PipeDrain:
    """Reads one pipe to its end in a thread (so a chatty client never blocks on a full pipe).

    It keeps the first and the last ``keep // 2`` bytes and says how much it dropped between
    them: the end of a flood of output (the error a client gave up with) is what a report
    shows, and the harness's memory stays bounded whatever the client prints."""

    def __init__(self, stream: Any, keep: int = _MAX_KEPT_CHARS) -> None:
        self._head = bytearray()
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_bytes = 0
        self._half = keep // 2
        self._dropped = 0
        self._stream = stream
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := self._stream.read1(65536):
                self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        room = self._half - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self._tail.append(chunk)
        self._tail_bytes += len(chunk)
        while self._tail_bytes - len(self._tail[0]) >= self._half:
            self._tail_bytes -= len(self._tail[0])
            self._dropped += len(self._tail.popleft())

    def _joined(self) -> bytes:
        tail = b"".join(self._tail)
        if len(tail) > self._half:
            self._dropped += len(tail) - self._half
            tail = tail[-self._half :]
        if not self._dropped:
            return bytes(self._head) + tail
        return bytes(self._head) + f"\n[... {self._dropped} bytes cut ...]\n".encode() + tail

    def collect(self, timeout: float) -> bytes:
        """What was read; after ``timeout`` a runaway grandchild holding the pipe is given up on."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            with contextlib.suppress(OSError):
                self._stream.close()
            self._thread.join(0.5)
        return self._joined()


def _reap(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int | None, int | None]:
    """Wait for ``proc`` until ``deadline``: ``(exit code, peak RSS in KiB)``, or ``(None, None)``.

    The peak is the kernel's own high-water mark of the client's program (``VmHWM``), read
    from ``/proc`` while it runs - every few milliseconds, so only a peak in its very last
    moments could be missed. (``ru_maxrss`` cannot serve: it counts the forking parent's
    memory too.) ``None`` where ``/proc`` cannot be read.
    """
    delay = 0.001
    peak: int | None = None
    while True:
        hwm = _high_water_kb(proc.pid)
        if hwm is not None:
            peak = max(peak or 0, hwm)
        try:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
        except ChildProcessError:  # already reaped
            return proc.poll(), peak
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, peak
        if time.monotonic() >= deadline:
            return None, None
        time.sleep(delay)
        delay = min(delay * 2, 0.005)


def _high_water_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None  # a zombie: its memory is already gone


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def load_factory(target: str) -> Callable[[], InProcessClient]:
    """Import ``pkg.module:factory`` and return the factory (raises what the import raises)."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    factory = getattr(module, attr)
    if not callable(factory):
        raise TypeError(f"{target} is not callable")
    return factory


def _run_inprocess(
    target: str, operation: str, args: list[str], env: ClientEnv, hard_limit_s: float
) -> Outcome:
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            client = load_factory(target)()
            box["value"] = client.run(operation, list(args), env.as_environ())
        except BaseException as exc:  # a client's bug of any kind is its crash, not ours
            box["exc"] = exc
            box["traceback"] = traceback.format_exc()

    started = time.monotonic()
    thread = threading.Thread(target=work, name=f"client {target} {operation}", daemon=True)
    thread.start()
    thread.join(hard_limit_s)
    ended = time.monotonic()
    stdout = stderr = ""
    if thread.is_alive():
        verdict = _crash(f"overran the hard limit of {hard_limit_s:.1f} s")
    elif "exc" in box:
        exc = box["exc"]
        verdict = _crash(f"raised {type(exc).__name__}: {exc}")
        stderr = box["traceback"]
    else:
        try:
            stdout = json.dumps(box["value"])
        except (TypeError, ValueError) as exc:
            verdict = _crash(f"returned a value that is not JSON: {exc}")
        else:
            verdict = interpret_object(operation, json.loads(stdout))
    return _outcome(
        operation,
        verdict,
        started=started,
        ended=ended,
        exit_code=None,
        stdout=stdout,
        stderr=stderr,
    )
