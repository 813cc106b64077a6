"""One worker's server check: the harness CA, the pass-through proxy, the prober, the survey.

:class:`ServerCheck` works without pytest (the CLI's preflight, ``--replay``, the server zoo's
tests use it directly); the plugin creates one per worker. For each case it clears the proxy's
journal, sends the case's requests (paced, within the case's budget), reads back the journal's
record of each, and judges them with :func:`harness.servercheck.checks.check`. Cases that share
an observation (the walk: G1-G5) send their requests once.

Safety: only GET is sent unless ``options.allow_actions``; an action goes only to the devices
named with ``--action-device`` (the case builder makes them, and only them, into K1 cases);
every request takes its turn from the run's :class:`~harness.servercheck.pace.Pacer`.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from harness.attempt import Attempt
from harness.tls import CertificateAuthority

from . import checks, documents
from .model import Exchange, NotApplicable, Probe, ServerCase, ServerVerdict
from .pace import Budget, Pacer
from .prober import Prober, SafetyError, start_proxy
from .site import CURSOR, Site, discovery_target, survey, survey_budget
from .target import Options, Target

__all__ = ["ServerAdvice", "ServerCheck", "ServerUnusable"]


class ServerAdvice(UserWarning):
    """A SHOULD contract the server does not keep: advice in the report, not a failure."""


class ServerUnusable(RuntimeError):
    """The server cannot be certified at all (unreachable, credentials refused, wrong URL)."""


class ServerCheck:
    """Everything one worker needs to run server cases; a context manager.

    ``pacer`` is the run's shared rate cap and plan (default: no limit but ``options.rate``);
    ``proxy`` a started fault proxy in front of the server to use and leave running (default:
    one of its own, stopped on exit); ``site`` a survey already made; ``report_dir`` where the
    verdict records go.
    """

    def __init__(
        self,
        target: Target,
        options: Options,
        *,
        state_dir: Path,
        pacer: Pacer | None = None,
        report_dir: Path | None = None,
        worker: str = "main",
        site: Site | None = None,
        proxy: Any = None,
    ) -> None:
        self.target = target
        self.options = options
        self.state_dir = Path(state_dir)
        self.pacer = pacer or Pacer(self.state_dir / "pacer.json", rate=options.rate, limit=10**9)
        self.report_dir = report_dir
        self.worker = worker
        #: A started fault proxy to use (and leave running); ``None``: start one of our own.
        self.proxy: Any = proxy
        self._own_proxy = proxy is None
        self.prober: Prober | None = None
        self._site = site
        self._shared: dict[str, list[Exchange]] = {}
        self._journaled: set[str] = set()

    # ---- lifecycle

    def __enter__(self) -> ServerCheck:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._own_proxy:
            ca = CertificateAuthority.load_or_create(self.state_dir / "ca")
            self.proxy = start_proxy(self.target, ca, self.state_dir / "proxy")
        try:
            self.prober = Prober(
                self.target,
                proxy_url=self.proxy.url,
                proxy_ca=self.proxy.ca_bundle,
                pacer=self.pacer,
                wait_s=self.options.wait_s,
                allow_actions=self.options.allow_actions,
                max_connections=max(8, self.options.concurrency),
            )
        except BaseException:
            if self._own_proxy:
                self.proxy.stop()
            raise
        if self.report_dir is not None:
            self.report_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.prober is not None:
                self.prober.close()
        finally:
            if self.proxy is not None and self._own_proxy:
                self.proxy.stop()

    # ---- before the cases

    def preflight(self) -> Exchange:
        """One v3 discovery request; :class:`ServerUnusable` when nothing could be judged:
        no answer (unreachable, TLS refused), 401 (credentials) or 404 (wrong instance)."""
        probe = Probe(discovery_target(self.target.instance, 3), "v3 discovery (preflight)")
        (exchange,) = self._observe_probes(
            [probe], Budget(1, "the preflight"), record_as="preflight"
        )
        if exchange.status is None:
            raise ServerUnusable(f"the server cannot be reached: {exchange.error}")
        if exchange.status == 401:
            raise ServerUnusable(
                f"discovery answered 401 to {self.target.username!r}: check --username and --password "
                "(or Basic authentication is disabled on the server: seed scenario 3)"
            )
        if exchange.status == 404:
            raise ServerUnusable(
                f"discovery answered 404 at {self.target.url}/ciscoise/mdminfo/: check the instance "
                "prefix in the URL (seed scenario 2)"
            )
        return exchange

    @property
    def site(self) -> Site:
        """The survey of the server (done once, on first use)."""
        if self._site is None:
            budget = Budget(survey_budget(self.options), "the survey")
            self.proxy.control.reset()
            self._site = survey(lambda p: self._send(p, budget), self.target, self.options)
            if self.report_dir is not None:
                path = self.report_dir / f"site-{self.worker}.json"
                path.write_text(json.dumps(self._site.to_json(), indent=2), encoding="utf-8")
                with open(
                    self.report_dir / f"survey-{self.worker}.jsonl", "w", encoding="utf-8"
                ) as fh:
                    for attempt in self.proxy.control.journal(wait_idle=5.0):
                        fh.write(json.dumps(attempt.to_json()) + "\n")
        return self._site

    def _send(self, probe: Probe, budget: Budget) -> Exchange:
        assert self.prober is not None
        return self._fix(self.prober.send(probe, budget), None)

    # ---- observing a case

    def observe(self, case: ServerCase) -> list[Exchange]:
        """Send the case's requests (once per ``shared`` key) and return the exchanges, each
        with the proxy's record of it."""
        if case.shared and case.shared in self._shared:
            return self._shared[case.shared]
        for probe in case.probes:
            if probe.method != "GET" and not (case.contract == "K1" and self.options.allow_actions):
                raise SafetyError(
                    f"{case.describe()}: {probe.method} is sent only for K1 with --allow-actions"
                )
        budget = Budget(case.budget, case.describe())
        if case.kind == "walk":
            exchanges = self._walk(case, budget)
        else:
            exchanges = self._observe_probes(list(case.probes), budget, burst=case.kind == "burst")
        if case.shared:
            self._shared[case.shared] = exchanges
        return exchanges

    def _observe_probes(
        self,
        probes: Sequence[Probe],
        budget: Budget,
        *,
        burst: bool = False,
        record_as: str | None = None,
    ) -> list[Exchange]:
        assert self.prober is not None
        self.proxy.control.reset()
        if burst:
            sent = self.prober.burst(probes, budget)
        else:
            sent = [self.prober.send(p, budget) for p in probes]
        return self._attach(sent)

    def _walk(self, case: ServerCase, budget: Budget) -> list[Exchange]:
        assert self.prober is not None
        self.proxy.control.reset()
        (probe,) = case.probes
        cap = float(case.params.get("busy_wait_cap_s", self.options.busy_wait_cap_s))
        cursor, seen, sent = "0", {"0"}, []
        for _ in range(case.budget):
            target = probe.target.replace(CURSOR, quote(cursor, safe=""))
            exchange = self.prober.send(probe, budget, target=target)
            sent.append(exchange)
            if exchange.status != 200:
                break
            parsed = documents.read(exchange.body)
            following = documents.text(parsed.root, "paging_info") if parsed.ok else None
            if following in (None, "0") or following in seen:
                break
            seen.add(following)
            cursor = following
            busy = documents.text(parsed.root, "server_busy_wait_seconds") or ""
            if busy.isdigit() and int(busy) > 0:
                time.sleep(min(float(busy), cap))  # a polite poller waits the hint (capped)
        return self._attach(sent)

    def _attach(self, exchanges: list[Exchange]) -> list[Exchange]:
        """Each exchange with the journal's record of its request (matched by method and target)."""
        journal = [a for a in self.proxy.control.journal(wait_idle=5.0) if a.method]
        used: set[int] = set()
        out = []
        for exchange in exchanges:
            match = _match(exchange, journal, used)
            out.append(self._fix(exchange, match))
        return out

    @staticmethod
    def _fix(exchange: Exchange, attempt: Attempt | None) -> Exchange:
        """A 502 the proxy made itself (the server could not be reached) is no answer at all."""
        if (
            attempt is not None
            and attempt.error
            and exchange.status == 502
            and not attempt.upstream
        ):
            return replace(
                exchange,
                status=None,
                headers=(),
                body=b"",
                error=f"connection: {attempt.error}",
                attempt=attempt,
            )
        return replace(exchange, attempt=attempt)

    # ---- judging

    def run(self, built: ServerCase | NotApplicable) -> tuple[ServerVerdict, list[Exchange]]:
        """Observe and judge one case (a :class:`NotApplicable` is judged as such), and record it."""
        if isinstance(built, NotApplicable):
            verdict = checks.not_applicable(built.contract, built.reason)
            self._record(None, verdict, [])
            return verdict, []
        exchanges = self.observe(built)
        verdict = checks.check(built, exchanges)
        self._record(built, verdict, exchanges)
        return verdict, exchanges

    def certify(self, built: ServerCase | NotApplicable) -> ServerVerdict:
        """Run one case inside a pytest test: fail it on a broken MUST, warn on a broken SHOULD,
        skip it when it is not applicable or inconclusive."""
        import pytest

        verdict, _ = self.run(built)
        title = built.describe() if isinstance(built, ServerCase) else built.contract
        if verdict.advice:
            warnings.warn(ServerAdvice(f"{title}\n{verdict.report()}"), stacklevel=2)
        elif verdict.status == "broken":
            pytest.fail(f"{title}\n{verdict.report()}", pytrace=False)
        elif verdict.status in ("inconclusive", "not applicable"):
            pytest.skip(f"{verdict.status}: {verdict.reason}")
        return verdict

    def certify_all(self, cases: Iterable[ServerCase | NotApplicable]) -> list[ServerVerdict]:
        """Run every case (X3's values, K1's devices); fail on the first broken MUST afterwards."""
        import pytest

        verdicts = [self.run(c)[0] for c in cases]
        broken = [v for v in verdicts if v.status == "broken" and not v.advice]
        for v in verdicts:
            if v.advice:
                warnings.warn(ServerAdvice(v.report()), stacklevel=2)
        if broken:
            more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
            pytest.fail(f"{broken[0].report()}{more}", pytrace=False)
        if verdicts and all(v.status in ("inconclusive", "not applicable") for v in verdicts):
            pytest.skip(f"{verdicts[0].status}: {verdicts[0].reason}")
        return verdicts

    def suite(self) -> list[tuple[ServerCase | NotApplicable, ServerVerdict]]:
        """Every case of the suite, judged (the library's whole run, without pytest)."""
        from .cases import all_cases

        return [(case, self.run(case)[0]) for case in all_cases(self.site, self.options)]

    # ---- the record a report is built from

    def _record(
        self, case: ServerCase | None, verdict: ServerVerdict, exchanges: list[Exchange]
    ) -> None:
        if self.report_dir is None:
            return
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        case_json = (
            case.to_json()
            if case is not None
            else {"contract": verdict.contract, "title": verdict.reason}
        )
        line = {
            "time": time.time(),
            "test": test,
            "seed": self.options.seed,
            "server": self.target.url,
            "worker": self.worker,
            "case": case_json,
            "verdict": verdict.to_json(),
            "exchanges": [e.to_json() for e in exchanges],
            "journal": [e.attempt.to_json() for e in exchanges if e.attempt is not None],
        }
        if case is not None and case.shared:
            # a shared observation's exchanges go into the journal once (the first case's)
            if case.shared in self._journaled:
                line["journal"] = []
            self._journaled.add(case.shared)
        with open(self.report_dir / f"verdicts-{self.worker}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, default=str) + "\n")


def _match(exchange: Exchange, journal: list[Attempt], used: set[int]) -> Attempt | None:
    path, _, query = exchange.target.partition("?")
    for strict in (True, False):
        for index, attempt in enumerate(journal):
            if index in used or attempt.method != exchange.probe.method:
                continue
            if attempt.path == path and (not strict or attempt.query == query):
                used.add(index)
                return attempt
    return None
