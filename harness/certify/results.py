"""What a run of a suite left in its report directory, read into a :class:`Report`.

pytest's ``junit.xml`` (:func:`read_junit`: which tests passed, failed, errored or were skipped,
and which contract each certifies), the harness's ``verdicts-*.jsonl`` (:func:`read_verdicts`)
and ``meta.json`` (:func:`read_meta`). A file that cannot be read raises :class:`ReportError`,
whose ``str()`` names the file (and the line) and the problem. :func:`build` makes them a
:class:`Report`: each contract's status, the failures and the advice, the verdict; it takes
the contract catalog as a parameter (default: the client contracts), so the MDM-server
certification reads its run with the same code.

(A little over 400 lines: the readers and the model they fill are one unit; the model's
statuses and verdict are what both reports and ``report diff`` agree on.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HARNESS_ERROR_EXIT

from . import render
from .render import STATUS_ORDER, ContractRow

__all__ = [
    "CLIENT_UNUSABLE_PROPERTY",
    "HARNESS_ERROR_PROPERTY",
    "STDERR_LINES",
    "Failure",
    "Report",
    "ReportError",
    "TestResult",
    "as_list",
    "build",
    "copy_private",
    "read_junit",
    "read_meta",
    "read_verdicts",
    "test_key",
]

#: The JUnit properties the contract plugin sets (see ``harness.contracts.plugin``).
HARNESS_ERROR_PROPERTY = "harness_error"
CLIENT_UNUSABLE_PROPERTY = "client_unusable"


class ReportError(ValueError):
    """A report directory's file that cannot be read: ``str()`` names the file and the problem."""


@dataclass
class TestResult:
    """One test of the suite as JUnit recorded it."""

    key: str
    contract: str | None
    outcome: str  # passed | failed | error | skipped
    message: str = ""
    seconds: float = 0.0
    #: What failed in the harness, for a test the harness could not judge (an error of ours).
    harness_error: str | None = None
    #: The client cannot be run at all (an error that is the client's).
    client_unusable: bool = False

    @property
    def verdict(self) -> str:
        """``passed``, ``failed`` (the client broke the contract), ``error`` (of the harness), ``skipped``."""
        if self.outcome == "error":
            return "failed" if self.client_unusable else "error"
        return self.outcome


def test_key(module: str, name: str) -> str:
    """The key a test is known by in both JUnit and the verdict records: ``test_file::test_name``."""
    stem = re.split(r"[./]", module.removesuffix(".py"))[-1]
    return f"{stem}::{name}"


def read_junit(path: Path) -> list[TestResult]:
    """The tests of a JUnit file; :class:`ReportError` (naming the file) when it is not one."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ReportError(f"{path}: not a JUnit XML file: {exc}") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(f"{path}: not a JUnit XML file (root element <{root.tag}>)")
    results = []
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or node.text or "").strip()
                break
        try:
            seconds = float(case.get("time") or 0)
        except ValueError:
            seconds = 0.0
        harness_error = props.get(HARNESS_ERROR_PROPERTY)
        if outcome == "error" and harness_error is None and "crashed while running" in message:
            harness_error = message.split("\n", 1)[0].removeprefix("failed on setup with ")
        results.append(
            TestResult(
                key=test_key(case.get("classname") or "", case.get("name") or ""),
                contract=props.get("contract"),
                outcome=outcome,
                message=message,
                seconds=seconds,
                harness_error=harness_error,
                client_unusable=CLIENT_UNUSABLE_PROPERTY in props,
            )
        )
    return results


def read_verdicts(directory: Path) -> list[dict[str, Any]]:
    """Every verdict record of ``directory``'s ``verdicts-*.jsonl``, oldest first."""
    records: list[dict[str, Any]] = []
    for path in sorted(directory.glob("verdicts-*.jsonl")):
        try:
            with open(path, encoding="utf-8") as fh:
                for number, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except ValueError as exc:
                        raise ReportError(f"{path}:{number}: not a JSON line: {exc}") from None
                    if not isinstance(record, dict) or not isinstance(record.get("verdict"), dict):
                        raise ReportError(f"{path}:{number}: not a verdict record")
                    records.append(record)
        except OSError as exc:
            raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    records.sort(key=lambda r: r.get("time", 0))
    return records


def read_meta(directory: Path) -> dict[str, Any]:
    """``meta.json`` of a report directory; :class:`ReportError` unless it is a JSON object."""
    path = directory / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReportError(f"{path}: not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ReportError(f"{path}: must hold a JSON object, not {type(meta).__name__}")
    return meta


def copy_private(source: Path, target: Path) -> None:
    """Copy a verdict file; the copy is readable by its owner only (0600), like the original."""
    target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as out, open(source, "rb") as src:
        shutil.copyfileobj(src, out)


# ------------------------------------------------------------------------------------ the model


#: How much of a client's stderr a failure shows (its last lines).
STDERR_LINES = 20
_STDERR_CHARS = 4000
_ANSWER_CHARS = 3000


def _client_catalog() -> Mapping[str, Any]:
    from harness.contracts.catalog import CONTRACTS

    return CONTRACTS


@dataclass
class Failure:
    """A failing test (or a piece of advice): its contract, the verdict's reason and evidence."""

    key: str
    contract: str
    reason: str
    evidence: list[str]
    #: The verdict record of the (minimal) failing case; None when the test failed without one.
    record: Mapping[str, Any] | None = None
    replay: str | None = None
    level: str = "MUST"

    @property
    def case(self) -> Mapping[str, Any] | None:
        return None if self.record is None else self.record["case"]

    @property
    def outcome(self) -> Mapping[str, Any]:
        return {} if self.record is None else (self.record.get("outcome") or {})

    def stderr_tail(self, lines: int = STDERR_LINES) -> list[str]:
        """The last ``lines`` lines of the client's stderr (redacted of the password when recorded)."""
        text = str(self.outcome.get("stderr") or "")[-_STDERR_CHARS:]
        return text.rstrip("\n").splitlines()[-lines:] if text.strip() else []

    def answer(self) -> str:
        """The client's JSON answer (pretty-printed), or what the harness made of its output."""
        out = self.outcome
        raw = str(out.get("stdout") or "").strip()
        if raw:
            try:
                return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)[:_ANSWER_CHARS]
            except ValueError:
                return raw[:_ANSWER_CHARS]
        if out.get("kind") == "crash":
            return f"(no answer: {out.get('crash_reason')})"
        return "(no answer recorded)" if not out else "(nothing on stdout)"


@dataclass
class Report:
    meta: dict[str, Any]
    tests: list[TestResult]
    failures: list[Failure] = field(default_factory=list)
    #: Every case run's verdict record, oldest first (the journal is written from them).
    records: list[dict[str, Any]] = field(default_factory=list)
    #: Failed SHOULD contracts: shown as advice, never failing the certificate.
    advice: list[Failure] = field(default_factory=list)
    #: The contract catalog the report is about (id -> Contract).
    catalog: Mapping[str, Any] = field(default_factory=_client_catalog)
    #: What the suite is called in the report's title.
    title: str = "MDM client certification"

    def contracts(self) -> list[ContractRow]:
        """Every contract of the catalog with its status, in the catalog's order."""
        advised = {a.contract for a in self.advice}
        rows = []
        for cid, contract in self.catalog.items():
            tests = [t for t in self.tests if t.contract == cid]
            verdicts = {t.verdict for t in tests}
            if "failed" in verdicts:
                status = "broken"
            elif "error" in verdicts:
                status = "error"
            elif "passed" in verdicts:
                status = "advice" if cid in advised else "holds"
            elif tests:
                status = "not applicable"
            else:
                status = "not run"
            rows.append(
                ContractRow(cid, contract.group, contract.level, contract.promise, status, tests)
            )
        return rows

    @property
    def harness_errors(self) -> list[str]:
        """What failed in the harness (the run's own problems first, then each test's)."""
        problems = as_list(self.meta.get("harness_errors"))
        for t in self.tests:
            if t.verdict == "error":
                problems.append(f"{t.key}: {t.harness_error or t.message.splitlines()[0]}")
        return problems

    @property
    def certified(self) -> bool:
        """Every contract ran and holds (or had nothing to judge, or only advice): certified."""
        return (
            bool(self.tests)
            and not self.harness_errors
            and all(r.status in ("holds", "not applicable", "advice") for r in self.contracts())
        )

    @property
    def partial(self) -> bool:
        """Only a shard or a -k selection of the suite ran: it cannot certify on its own."""
        return bool(self.meta.get("shard") or self.meta.get("selection"))

    @property
    def passed(self) -> bool:
        """Nothing that ran broke: what a shard's CI job needs (the merged report certifies)."""
        return (
            bool(self.tests)
            and not self.harness_errors
            and not any(r.status in ("broken", "error") for r in self.contracts())
        )

    @property
    def ok(self) -> bool:
        """Exit 0: certified, or - for a shard or selection - nothing broken in what ran."""
        return self.passed if self.partial else self.certified

    @property
    def state(self) -> str:
        """``error`` (the harness failed), ``ok`` or ``broken``: the banner's colour."""
        if self.harness_errors:
            return "error"
        return "ok" if self.ok else "broken"

    @property
    def exit_code(self) -> int:
        """0 certified (or a clean shard), 1 broken, 3 the harness failed (no verdict)."""
        return {"error": HARNESS_ERROR_EXIT, "ok": 0, "broken": 1}[self.state]

    def summary(self) -> str:
        rows = self.contracts()
        counts = {s: sum(1 for r in rows if r.status == s) for s in STATUS_ORDER}
        labels = {"error": "with a harness error"}
        parts = [f"{n} {labels.get(s, s)}" for s, n in counts.items() if n]
        if self.harness_errors:
            run = as_list(self.meta.get("harness_errors"))
            unjudged = [t for t in self.tests if t.verdict == "error"]
            cause = run[0] if run else (unjudged[0].harness_error or unjudged[0].message)
            verdict = f"ERROR (harness): {cause.splitlines()[0] if cause else 'unknown'}"
            if unjudged:
                verdict += f"; {len(unjudged)} test(s) could not be judged"
            return verdict + (" - no verdict; so far: " + ", ".join(parts) if parts else "")
        if self.partial:
            scope = (
                f"shard {self.meta['shard']}"
                if self.meta.get("shard")
                else f"-k {self.meta.get('selection')!r}"
            )
            word = render.with_advice("PASSED", rows) if self.passed else "FAILED"
            verdict = f"{word} (partial run, {scope}; certification needs the whole suite)"
        else:
            verdict = render.with_advice("CERTIFIED", rows) if self.certified else "NOT CERTIFIED"
        return f"{verdict}: " + ", ".join(parts)


def as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


def _record_key(record: Mapping[str, Any]) -> str:
    test = str(record.get("test") or "")
    module, _, name = test.partition("::")
    return test_key(module, name) if name else test


def _is_advice(verdict: Mapping[str, Any]) -> bool:
    return not verdict.get("passed") and verdict.get("level") == "SHOULD"


def build(
    directory: Path,
    meta: Mapping[str, Any],
    catalog: Mapping[str, Any] | None = None,
    *,
    title: str = "MDM client certification",
) -> Report:
    """The report of the run whose JUnit and verdict records are in ``directory``.

    ``catalog`` is the contract catalog (id -> contract with ``group``, ``level``, ``promise``,
    ``correct``, ``anchor``); default: the client contracts.
    """
    junit = directory / "junit.xml"
    tests = read_junit(junit) if junit.exists() else []
    records = read_verdicts(directory)
    last_failure: dict[str, Mapping[str, Any]] = {}
    last_advice: dict[str, Mapping[str, Any]] = {}
    for record in records:
        verdict = record["verdict"]
        if _is_advice(verdict):
            last_advice[_record_key(record)] = record
        elif not verdict.get("passed"):
            last_failure[_record_key(record)] = record  # hypothesis replays the minimal case last
    report = Report(
        meta=dict(meta),
        tests=tests,
        records=records,
        catalog=catalog if catalog is not None else _client_catalog(),
        title=title,
    )
    for test in tests:
        if test.verdict == "passed" and test.key in last_advice:
            report.advice.append(_failure(test, last_advice[test.key], report.catalog))
        if test.verdict != "failed":
            continue
        found = last_failure.get(test.key)
        if found is None:
            lines = test.message.splitlines()
            contract = test.contract or "?"
            report.failures.append(
                Failure(
                    test.key,
                    contract,
                    lines[0] if lines else test.outcome,
                    lines[1:40],
                    level=_level(report.catalog, contract),
                )
            )
            continue
        report.failures.append(_failure(test, found, report.catalog))
    return report


def _level(catalog: Mapping[str, Any], cid: str) -> str:
    contract = catalog.get(cid)
    return str(contract.level) if contract is not None else "MUST"


def _failure(test: TestResult, record: Mapping[str, Any], catalog: Mapping[str, Any]) -> Failure:
    verdict = record["verdict"]
    cid = str(verdict.get("contract") or test.contract or "?")
    return Failure(
        test.key,
        cid,
        str(verdict.get("reason") or ""),
        [str(line) for line in verdict.get("evidence") or ()],
        record,
        level=str(verdict.get("level") or _level(catalog, cid)),
    )
