"""One worker's harness: a CA, the reference MDM, a long-lived fault proxy, and the client.

:class:`ContractHarness` works without pytest (``mdm-harness replay`` uses it); the plugin only
creates one per worker. For each case it swaps the proxy's scenario through the control API,
runs the client through the adapter protocol, waits until the proxy has closed every attempt,
and hands the checks what the proxy and the MDM saw.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness._util import redact
from harness.client.policy import Policy
from harness.client.protocol import ClientEnv, Outcome
from harness.client.runner import ClientSpec
from harness.errors import HarnessError
from harness.scenario import Scenario

from . import checks
from .cases import Site
from .lab import USERNAME, Lab
from .model import Case, Evidence, Verdict

#: The longest Retry-After any case sends (seconds): bounds a run's hard limit.
MAX_RETRY_AFTER_S = 2.0

#: The most of each of the client's streams (stdout, stderr) a verdict record keeps per case:
#: the first and the last half of it, the middle replaced by :func:`kept_output`'s marker. The
#: report shows the answer's first 3000 characters and the stderr's last 20 lines.
KEPT_OUTPUT_CHARS = 16 * 1024


class ContractAdvice(UserWarning):
    """A SHOULD contract the client does not keep: advice in the report, not a broken contract."""


class ClientUnusable(RuntimeError):
    """The client under test cannot be run at all (its command is missing, say)."""


@dataclass(frozen=True)
class Observation:
    """What one run of a case left behind."""

    case: Case
    outcome: Outcome
    journal: Evidence
    verdict: Verdict


class ContractHarness(Lab):
    """Everything one worker needs to run contract cases; a context manager."""

    def __init__(
        self,
        *,
        state_dir: Path,
        client: ClientSpec,
        policy: Policy,
        seed: int,
        inventory: Any = None,
        devices: int = 300,
        report_dir: Path | None = None,
        worker: str = "main",
    ) -> None:
        stock: dict[str, Any] = (
            {"inventory": inventory} if inventory is not None else {"devices": devices}
        )
        super().__init__(state_dir, seed=seed, **stock)
        self.client = client
        self.policy = policy
        self.seed = seed
        self.report_dir = report_dir
        self.worker = worker
        self._site: Site | None = None

    # ---- lifecycle

    def __enter__(self) -> ContractHarness:
        super().__enter__()
        if self.report_dir is not None:
            self.report_dir.mkdir(parents=True, exist_ok=True)
        return self

    # ---- what a case needs to know

    @property
    def public_host(self) -> str:
        return str(self.mdm.public_hostname)

    def env(self) -> ClientEnv:
        return self.client_env(self.policy.timeout_ms)

    def canary_url(self, token: str) -> str:
        return str(self.proxy.canary_url(token))

    def canary_files(self) -> tuple[str, str, str]:
        """S2's local canaries, new for each case: ``(token, text_url, dtd_url)``.

        ``text_url`` is a ``file://`` URL of a file holding ``token``; ``dtd_url`` one of a DTD
        defining the entity ``leak`` as ``token``. Both are readable by the client; the token
        appears in neither URL, so it reaches the client's answer only if its parser read a
        file through an external entity, parameter entity or DTD.
        """
        token = "mdmh-leak-" + secrets.token_hex(8)
        folder = self.state_dir / "canaries"
        folder.mkdir(mode=0o755, exist_ok=True)
        name = secrets.token_hex(6)
        text, dtd = folder / f"{name}.txt", folder / f"{name}.dtd"
        text.write_text(token, encoding="ascii")
        dtd.write_text(f'<!ENTITY leak "{token}">\n', encoding="ascii")
        for path in (text, dtd):
            path.chmod(0o644)
        return token, text.as_uri(), dtd.as_uri()

    @property
    def query_max_size(self) -> int:
        """The page size the reference MDM announces in discovery."""
        return int(self.mdm.profile.query_max_size)

    @property
    def site(self) -> Site:
        """The facts cases are built from: host name, a known and an unknown device, api_paths."""
        if self._site is None:
            inventory = self.mdm.inventory
            device = next(iter(inventory))
            unknown = next(
                mac
                for mac in (f"02DEADBEEF{i:02X}" for i in range(256))
                if inventory.get(mac) is None
            )
            self._site = Site(
                host=self.public_host,
                known_mac=device.macaddress,
                unknown_mac=unknown,
                api_paths={v: self.mdm.profile.api_path_for(v) for v in (1, 2, 3)},
            )
        return self._site

    def hard_limit(self, case: Case) -> float:
        """How long a run of ``case`` may take before it counts as a crash.

        Generous: every attempt the policy allows at the target request timing out, every
        retry waiting its longest, a fast discovery before it, pages, and 5 s to start up.
        """
        p = self.policy
        wait = p.longest_wait_s(retry_after_s=MAX_RETRY_AFTER_S)

        def one(op: str) -> float:
            attempts = p.max_attempts_for(op)
            return attempts * (p.timeout_s + checks.late_slack(p.timeout_s)) + (attempts - 1) * wait

        pages = len(case.cursors) if case.cursors else 1
        fallbacks = 1 + p.discovery.max_fallbacks
        return fallbacks * one("mdminfo") + pages * one(case.operation) + 5.0

    # ---- running

    def run(self, case: Case) -> Observation:
        """Load the case's scenario, run the client once, collect what the proxy and MDM saw.

        Raises :class:`HarnessError` when the harness itself fails (the proxy or the MDM is
        gone, the control API fails, the verdict record cannot be written): that is never the
        client's failure.
        """
        self.check_alive()
        control = self.proxy.control
        with self._own_failure("the fault proxy's control API"):
            control.reset()
            control.load_scenario(case.scenario)
            self.mdm.reset_records()
        env = self.env()
        outcome = self.client.run(
            case.operation, list(case.args), env, hard_limit_s=self.hard_limit(case)
        )
        # A proxy or MDM that died while the client ran explains whatever the client saw.
        self.check_alive()
        with self._own_failure("the fault proxy's control API"):
            records = control.journal(wait_idle=5.0)
            canary_hits = control.canary_hits()
            actions = [(a.action, a.key) for a in self.mdm.actions()]
        journal = Evidence.of_attempts(
            records,
            actions=actions,
            canary_hits=canary_hits,
            secrets=self.secrets,
        )
        verdict = checks.check(case, outcome, journal, self.policy)
        observation = Observation(case, outcome, journal, verdict)
        self._record(observation)
        return observation

    @property
    def secrets(self) -> tuple[str, ...]:
        """The password and the Basic credentials made from it: redacted from all the harness writes."""
        return checks.secrets_of(USERNAME, self.password)

    def check_alive(self) -> None:
        """Raise :class:`HarnessError` unless the fault proxy and the reference MDM are running."""
        process = getattr(self.proxy, "process", None)
        if self.proxy is None or process is None:
            raise HarnessError("the fault proxy is not running")
        code = process.poll()
        if code is not None:
            raise HarnessError(
                f"the fault proxy (mitmdump, pid {process.pid}) exited ({_exit_text(code)})"
            )
        if self.mdm is None or not self.mdm.running:
            raise HarnessError("the reference MDM is not running")

    @contextlib.contextmanager
    def _own_failure(self, what: str) -> Iterator[None]:
        """Turn a failure of the harness's own parts into :class:`HarnessError`, naming them."""
        try:
            yield
        except HarnessError:
            raise
        except Exception as exc:
            dead = ""
            try:
                self.check_alive()
            except HarnessError as gone:
                dead = f" ({gone})"
            raise HarnessError(f"{what} failed: {type(exc).__name__}: {exc}{dead}") from exc

    def preflight(self) -> Outcome:
        """Run ``mdminfo`` once with no fault; raise :class:`ClientUnusable` if the client cannot run.

        A client that cannot even be started would otherwise fail every case - slowly, since
        hypothesis shrinks each failure - for a reason that is not a verdict.
        """
        self.check_alive()
        with self._own_failure("the fault proxy's control API"):
            self.proxy.control.reset()
            self.proxy.control.clear_scenario()
        outcome = self.client.run(
            "mdminfo",
            [],
            self.env(),
            hard_limit_s=self.hard_limit(Case("T5", "preflight", "mdminfo")),
        )
        if outcome.kind == "crash" and (outcome.crash_reason or "").startswith("cannot execute"):
            raise ClientUnusable(f"the client under test cannot run: {outcome.crash_reason}")
        return outcome

    def certify(self, case: Case) -> Verdict:
        """Run ``case`` and fail the calling test (with the evidence) unless its contract holds.

        A failed ``SHOULD`` contract is advice: the test passes with a
        :class:`ContractAdvice` warning, and the verdict record says so.
        """
        observation = self.run(case)
        verdict = observation.verdict
        if verdict.advice:
            import warnings

            message = redact(f"{case.describe()}\n{verdict.report()}", self.secrets)
            warnings.warn(ContractAdvice(message), stacklevel=2)
        elif not verdict.passed:
            import pytest

            pytest.fail(
                redact(f"{case.describe()}\n{verdict.report()}", self.secrets), pytrace=False
            )
        return verdict

    # ---- the record a certification report is built from

    def _record(self, observation: Observation) -> None:
        if self.report_dir is None:
            return
        test = _test_id(os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0])
        line = {
            "time": time.time(),
            "test": test,
            "seed": self.seed,
            "client": str(self.client),
            "policy": self.policy.source,
            "worker": self.worker,
            "case": _case_json(observation.case),
            "outcome": self._kept(observation.outcome),
            "verdict": observation.verdict.to_json(),
            "journal": [a.to_json() for a in observation.journal.attempts],
        }
        # The client's output may hold the password (S5 judges that): nothing written keeps it.
        text = redact(json.dumps(line, default=str), self.secrets) + "\n"
        path = self.report_dir / f"verdicts-{self.worker}.jsonl"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with open(fd, "a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise HarnessError(
                f"cannot write the verdict record to {path}: {exc.strerror or exc}"
            ) from exc

    def _kept(self, outcome: Outcome) -> dict[str, Any]:
        """The outcome as a record keeps it: each stream redacted, then cut to its bound (so
        that no cut can leave a piece of the password behind)."""
        out = outcome.to_json()
        for stream in ("stdout", "stderr"):
            out[stream] = kept_output(redact(out.get(stream) or "", self.secrets))
        return out


def kept_output(text: str, limit: int = KEPT_OUTPUT_CHARS) -> str:
    """``text`` if it has at most ``limit`` characters; else its first and last ``limit // 2``
    characters around a line that says how much was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[mdm-harness: {cut} characters cut here]\n{text[-half:]}"


def _test_id(nodeid: str) -> str:
    """A test's id as the package names it (``harness/contracts/test_x.py::test_y``).

    pytest's node id of a file outside its rootdir (the installed suite, run from a report
    directory) is a relative path full of ``..`` or an absolute path without its leading
    ``/``; neither means anything on another machine.
    """
    path, sep, name = nodeid.partition("::")
    path = path.replace(os.sep, "/")
    marker = "harness/contracts/"
    where = path.rfind(marker)
    if where >= 0:
        return f"{path[where:]}{sep}{name}"
    # with no ini file above it, pytest roots an installed suite at its own folder (or one
    # above): the node id then names the file without the package's path
    here = Path(__file__).parent
    tail = path.rpartition("contracts/")[2]
    if tail and (here / tail).is_file():
        return f"{marker}{tail}{sep}{name}"
    return nodeid


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _case_json(case: Case) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in case.__dataclass_fields__:
        value = getattr(case, name)
        if isinstance(value, Scenario):
            value = value.to_dict()
        elif isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out
