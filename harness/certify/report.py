"""The certification report: what was certified, each contract's verdict, and the evidence.

Built from what a run of the contract suite leaves in its report directory - pytest's
``junit.xml`` (which tests passed, failed, errored or were skipped, and which contract each
certifies) and the harness's ``verdicts-*.jsonl`` (each case run: the case, the client's
outcome, the verdict and the proxy's journal) - and written beside them:

* ``certification.md`` and ``certification.html`` (self-contained: no script, no external
  asset): client, policy, versions, seed, date; a contract x verdict matrix with each
  contract's level; for each failure the reason, what a correct client does, the case, the
  client's answer and the last lines of its stderr, and an attempt timeline (an inline SVG
  picture in HTML, text in Markdown); failed SHOULD contracts as advice; and, when the harness
  itself failed, what failed (an ERROR of the harness, never the client's verdict);
* ``journal.jsonl``: every attempt of every case, tagged with its test;
* ``failures/<contract>-<test>.yaml``: one replay file per failing test (its minimal case).

The builder takes the contract catalog as a parameter (default: the client contracts), so
another suite (the MDM-server certification) writes its report with the same code. Shard
reports merge (:func:`merge`) into the report a single run would have written.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from harness import __version__
from harness.errors import HARNESS_ERROR_EXIT

from . import timeline

#: Every status a contract can have in a report, worst first.
STATUS_ORDER = ("error", "broken", "advice", "holds", "not applicable", "not run")
#: The JUnit properties the contract plugin sets (see ``harness.contracts.plugin``).
HARNESS_ERROR_PROPERTY = "harness_error"
CLIENT_UNUSABLE_PROPERTY = "client_unusable"
#: How much of a client's stderr a failure shows (its last lines).
STDERR_LINES = 20
_STDERR_CHARS = 4000
_ANSWER_CHARS = 3000


class ReportError(ValueError):
    """A report directory's file that cannot be read: ``str()`` names the file and the problem."""


def _client_catalog() -> Mapping[str, Any]:
    from harness.contracts.catalog import CONTRACTS

    return CONTRACTS


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


class ContractRow(NamedTuple):
    id: str
    group: str
    level: str
    promise: str
    status: str
    tests: list[TestResult]


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
        problems = _as_list(self.meta.get("harness_errors"))
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
            run = _as_list(self.meta.get("harness_errors"))
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
            verdict = f"{'PASSED' if self.passed else 'FAILED'} (partial run, {scope}; certification needs the whole suite)"
        else:
            verdict = "CERTIFIED" if self.certified else "NOT CERTIFIED"
        return f"{verdict}: " + ", ".join(parts)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


# ------------------------------------------------------------------------------------ reading


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


# ------------------------------------------------------------------------------------ writing


def write(directory: Path, report: Report) -> None:
    """Write the journal, the replay files, ``certification.md`` and ``certification.html``."""
    from .replay import replay_text

    with open(directory / "journal.jsonl", "w", encoding="utf-8") as fh:
        for record in report.records:
            case = record["case"]
            for attempt in record.get("journal", []):
                tags = {
                    "test": record.get("test"),
                    "case": case["title"],
                    "contract": case["contract"],
                }
                fh.write(json.dumps({**tags, **attempt}) + "\n")
    failures_dir = directory / "failures"
    shutil.rmtree(failures_dir, ignore_errors=True)
    for failure in report.failures:
        if failure.record is None:
            continue
        failures_dir.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", failure.key.split("::")[-1]).strip("-")[:90]
        path = failures_dir / f"{failure.contract}-{name}.yaml"
        path.write_text(replay_text(failure.record, reason=failure.reason), encoding="utf-8")
        failure.replay = str(path.relative_to(directory))
    (directory / "certification.md").write_text(markdown(report), encoding="utf-8")
    (directory / "certification.html").write_text(to_html(report), encoding="utf-8")


def _meta_rows(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    labels = [
        ("client", "Client"),
        ("client_version", "Client version"),
        ("policy", "Policy"),
        ("policy_repr", "Policy (as read)"),
        ("harness_version", "mdm-harness"),
        ("mitmproxy_version", "mitmproxy"),
        ("python", "Python"),
        ("profile", "Profile"),
        ("seed", "Seed"),
        ("shards", "Shards"),
        ("selection", "Selection (-k)"),
        ("workers", "Workers"),
        ("started", "Started"),
        ("duration_s", "Wall time (s)"),
    ]
    return [(label, str(meta[key])) for key, label in labels if meta.get(key) not in (None, "")]


#: Each status as a word (no emoji: they render as empty boxes without an emoji font).
WORDS = {
    "holds": "holds",
    "broken": "BROKEN",
    "error": "ERROR (harness)",
    "advice": "advice",
    "not applicable": "not applicable",
    "not run": "not run",
}
_COLOURS = {
    "holds": "#135c1f",
    "broken": "#b3261e",
    "error": "#8a5a00",
    "advice": "#1d5fa8",
    "not applicable": "#666",
    "not run": "#888",
}
#: Each status's glyph as inline SVG (drawn, not a font character: it renders everywhere).
_GLYPHS = {
    "holds": "<circle cx='8' cy='8' r='7' fill='{c}'/><path d='M4 8.5l2.6 2.6L12 5.6' "
    "stroke='#fff' stroke-width='2' fill='none'/>",
    "broken": "<circle cx='8' cy='8' r='7' fill='{c}'/><path d='M5 5l6 6M11 5l-6 6' "
    "stroke='#fff' stroke-width='2'/>",
    "error": "<path d='M8 1L15 14H1z' fill='{c}'/><path d='M8 5.5v4.5' stroke='#fff' "
    "stroke-width='2'/><circle cx='8' cy='12' r='1.1' fill='#fff'/>",
    "advice": "<circle cx='8' cy='8' r='7' fill='{c}'/><circle cx='8' cy='4.6' r='1.2' "
    "fill='#fff'/><path d='M8 7v5' stroke='#fff' stroke-width='2'/>",
    "not applicable": "<circle cx='8' cy='8' r='7' fill='{c}'/><path d='M4.5 8h7' "
    "stroke='#fff' stroke-width='2'/>",
    "not run": "<circle cx='8' cy='8' r='6' fill='none' stroke='{c}' stroke-width='2'/>",
}


def glyph(status: str, *, word: bool = True) -> str:
    """A status as an inline SVG glyph, in its colour, followed by its word (HTML)."""
    colour = _COLOURS.get(status, "#666")
    shape = _GLYPHS.get(status, _GLYPHS["not run"]).format(c=colour)
    return (
        f"<span class='status {status.replace(' ', '-')}' style='color:{colour}'>"
        f"<svg class='glyph' width='16' height='16' viewBox='0 0 16 16' aria-hidden='true'>"
        f"{shape}</svg>{' ' + html.escape(WORDS.get(status, status)) if word else ''}</span>"
    )


def _md_status(status: str) -> str:
    word = WORDS.get(status, status)
    return f"**{word}**" if status in ("broken", "error") else word


def _case_line(case: Mapping[str, Any]) -> tuple[str, str, str]:
    args = " ".join(case.get("args") or [])
    command = f"{case.get('operation')}{' ' + args if args else ''}"
    return str(case.get("title")), command, " or ".join(case.get("expect") or [])


def markdown(report: Report) -> str:
    out = [f"# {report.title}", "", f"**{report.summary()}**", ""]
    out += [
        "| | |",
        "|---|---|",
        *(f"| {k} | {v.replace('|', '/')} |" for k, v in _meta_rows(report.meta)),
        "",
    ]
    errors = report.harness_errors
    if errors:
        out += [
            "## ERROR (harness)",
            "",
            "The harness itself failed, so this run gives no verdict on the client (what is "
            "below was judged before the failure). What failed:",
            "",
            *(f"- {e}" for e in errors[:50]),
            *([f"- ... and {len(errors) - 50} more"] if len(errors) > 50 else []),
            "",
        ]
    out += [
        "## Contracts",
        "",
        "| id | level | group | promise | verdict | tests |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.contracts():
        passed = sum(1 for t in row.tests if t.verdict == "passed")
        out.append(
            f"| {row.id} | {row.level} | {row.group} | {row.promise} | "
            f"{_md_status(row.status)} | {passed}/{len(row.tests)} passed |"
        )
    if report.failures:
        out += ["", "## Failures"]
        for f in report.failures:
            out += _md_failure(report, f)
    if report.advice:
        out += [
            "",
            "## Advice",
            "",
            "SHOULD contracts the client does not keep: worth fixing, never failing the certificate.",
        ]
        for f in report.advice:
            out += _md_failure(report, f)
    replay = (
        f"mdm-harness certify --seed {report.meta.get('seed')}"
        if report.meta.get("seed") is not None
        else None
    )
    if replay:
        out += ["", f"Run again with the same draws: `{replay}` (plus the same client and policy)."]
    return "\n".join(out) + "\n"


def _md_failure(report: Report, f: Failure) -> list[str]:
    contract = report.catalog.get(f.contract)
    out = ["", f"### {f.contract} ({f.level}): `{f.key}`", "", f"**{f.reason}**", ""]
    if contract is not None:
        out += [
            f"What a correct client does: {contract.correct} (see `{contract.anchor}`)",
            "",
        ]
    if f.case:
        title, command, expect = _case_line(f.case)
        out += [f"Case: {title} - `{command}`; a correct client reports {expect}.", ""]
    if f.replay:
        out += [f"Replay: `mdm-harness replay {f.replay}`", ""]
    if f.record is not None:
        out += ["Timeline (per attempt: whether the request reached the MDM):", "", "```"]
        out += timeline.text(f.record)
        out += ["```", ""]
        extra = [line for line in f.evidence if not line.lstrip().startswith("+")]
        if extra:
            out += ["Evidence:", "", "```", *extra, "```", ""]
        out += ["The client's answer:", "", "```", f.answer(), "```", ""]
        tail = f.stderr_tail()
        out += (
            [f"The client's stderr (last {len(tail)} lines):", "", "```", *tail, "```"]
            if tail
            else ["The client wrote nothing to stderr."]
        )
    elif f.evidence:
        out += ["```", *f.evidence, "```"]
    return out


_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .verdict{font-size:1.2rem;font-weight:600;padding:.4rem .8rem;border-radius:.3rem;display:inline-block}
.verdict.ok{background:#e3f6e5;color:#135c1f} .verdict.broken{background:#fde4e1;color:#8a1c10} .verdict.error{background:#fff1cc;color:#6b4500;border:2px solid #b7791f}
table{border-collapse:collapse;margin:1rem 0;width:100%} th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.status-cell{white-space:nowrap;font-weight:600}
.glyph{vertical-align:-3px}
pre{background:#f7f7f7;border:1px solid #e5e5e5;padding:.6rem;overflow-x:auto;font-size:12.5px}
code{background:#f2f2f2;padding:0 .2rem} details{margin:.4rem 0}
.failure{border-left:4px solid #b3261e;padding-left:1rem;margin:1.5rem 0}
.failure.advice{border-left-color:#1d5fa8}
.correct{background:#eef6ee;border:1px solid #cfe6cf;padding:.4rem .6rem;border-radius:.3rem}
figure{margin:.6rem 0;overflow-x:auto} figcaption{font-size:12.5px;color:#555}
.harness-errors{background:#fff8e1;border:1px solid #e0c068;padding:.5rem 1rem;border-radius:.3rem}
"""


def to_html(report: Report) -> str:
    e = html.escape
    state = report.state
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(report.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
        f"<p class='verdict {state}' id='verdict'>"
        f"{glyph({'ok': 'holds', 'broken': 'broken', 'error': 'error'}[state], word=False)} "
        f"{e(report.summary())}</p>",
        "<table class='meta'>",
        *(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _meta_rows(report.meta)),
        "</table>",
    ]
    errors = report.harness_errors
    if errors:
        parts.append(
            "<section class='harness-errors' id='harness-errors'><h2>ERROR (harness)</h2>"
            "<p>The harness itself failed, so this run gives no verdict on the client (what is "
            "below was judged before the failure). What failed:</p><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in errors[:50])
            + (f"<li>... and {len(errors) - 50} more</li>" if len(errors) > 50 else "")
            + "</ul></section>"
        )
    parts.append(
        "<h2>Contracts</h2><table class='contracts' id='contracts'><tr><th>id</th><th>level</th>"
        "<th>group</th><th>promise</th><th>verdict</th><th>tests</th></tr>"
    )
    explained = {f.contract for f in (*report.failures, *report.advice)}
    for row in report.contracts():
        passed = sum(1 for t in row.tests if t.verdict == "passed")
        anchor = (
            f"<a href='#contract-{e(row.id.lower())}'>{e(row.id)}</a>"
            if row.id in explained
            else e(row.id)
        )
        parts.append(
            f"<tr class='row-{row.status.replace(' ', '-')}'><td>{anchor}</td><td>{e(row.level)}</td>"
            f"<td>{e(row.group)}</td><td>{e(row.promise)}</td><td class='status-cell'>"
            f"{glyph(row.status)}</td><td>{passed}/{len(row.tests)} passed</td></tr>"
        )
    parts.append("</table>")
    seen: set[str] = set()
    if report.failures:
        parts.append("<h2>Failures</h2>")
        for i, f in enumerate(report.failures):
            parts += _html_failure(report, f, seen, "failure", i)
    if report.advice:
        parts.append(
            "<h2>Advice</h2><p>SHOULD contracts the client does not keep: worth fixing, never "
            "failing the certificate.</p>"
        )
        for i, f in enumerate(report.advice):
            parts += _html_failure(report, f, seen, "failure advice", i)
    parts.append(
        f"<p><small>mdm-harness {e(__version__)} - generated {e(datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds'))}</small></p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_failure(report: Report, f: Failure, seen: set[str], css: str, index: int) -> list[str]:
    e = html.escape
    anchor = "" if f.contract in seen else f" id='contract-{e(f.contract.lower())}'"
    seen.add(f.contract)
    word = "advice" if "advice" in css else "broken"
    parts = [
        f"<section class='{css}'><h3{anchor}>{glyph(word)} {e(f.contract)} ({e(f.level)}): "
        f"<code>{e(f.key)}</code></h3><p><b>{e(f.reason)}</b></p>"
    ]
    contract = report.catalog.get(f.contract)
    if contract is not None:
        parts.append(
            f"<p class='correct'><b>What a correct client does:</b> {e(contract.correct)} "
            f"<small>(contract {e(f.contract)}: {e(contract.promise)}; source: "
            f"{e(contract.source)}; see <code>{e(contract.anchor)}</code>)</small></p>"
        )
    if f.case:
        title, command, expect = _case_line(f.case)
        parts.append(
            f"<p>Case: {e(title)} - <code>{e(command)}</code>; a correct client reports {e(expect)}.</p>"
        )
    if f.replay:
        parts.append(f"<p>Replay: <code>mdm-harness replay {e(f.replay)}</code></p>")
    if f.record is not None:
        caption = f"{f.contract}: {f.reason}"
        parts.append(
            f"<figure class='timeline-figure'>"
            f"{timeline.svg(f.record, title=caption, ident=f'{word[0]}{index}')}"
            "<figcaption>One lane per attempt, as the fault proxy saw it; shaded: the windows "
            "the policy allows.</figcaption></figure>"
        )
        parts.append(
            "<details><summary>timeline as text</summary><pre>"
            + e("\n".join(timeline.text(f.record)))
            + "</pre></details>"
        )
        extra = [line for line in f.evidence if not line.lstrip().startswith("+")]
        if extra:
            parts.append("<pre class='evidence'>" + e("\n".join(extra)) + "</pre>")
        answer = f.answer()
        first = " ".join(answer.split())
        parts.append(
            f"<details class='answer'><summary>The client's answer: <code>"
            f"{e(first[:110] + (' ...' if len(first) > 110 else ''))}</code></summary>"
            f"<pre class='answer'>{e(answer)}</pre></details>"
        )
        tail = f.stderr_tail()
        parts.append(
            f"<p>The client's stderr (last {len(tail)} lines):</p><pre class='stderr'>"
            + e("\n".join(tail))
            + "</pre>"
            if tail
            else "<p>The client wrote nothing to stderr.</p>"
        )
    elif f.evidence:
        parts.append("<pre>" + e("\n".join(f.evidence)) + "</pre>")
    if f.case and f.case.get("scenario"):
        scenario = json.dumps(f.case["scenario"], indent=2, ensure_ascii=False)
        parts.append(
            f"<details><summary>scenario served</summary><pre>{e(scenario)}</pre></details>"
        )
    parts.append("</section>")
    return parts


# ------------------------------------------------------------------------------------ merging


def merge(
    sources: Sequence[Path], target: Path, catalog: Mapping[str, Any] | None = None
) -> Report:
    """Merge the report directories of shards into ``target`` and write the merged report.

    Raises :class:`ReportError` (naming the file) for a source that is not a report.
    """
    metas = []
    suites = ET.Element("testsuites")
    for source in sources:
        if not (source / "meta.json").exists() or not (source / "junit.xml").exists():
            raise ReportError(f"{source}: not a certification report (no meta.json or junit.xml)")
        metas.append(read_meta(source))
        read_junit(source / "junit.xml")  # refuse a malformed one before writing anything
        read_verdicts(source)
    _merged_meta(metas)
    target.mkdir(parents=True, exist_ok=True)
    for index, source in enumerate(sources, start=1):
        for suite in ET.parse(source / "junit.xml").getroot().iter("testsuite"):
            suites.append(suite)
        for path in sorted(source.glob("verdicts-*.jsonl")):
            copy_private(
                path, target / f"verdicts-shard{index}-{path.name.removeprefix('verdicts-')}"
            )
    ET.ElementTree(suites).write(target / "junit.xml", encoding="utf-8", xml_declaration=True)
    meta = _merged_meta(metas)
    (target / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    report = build(target, meta, catalog)
    write(target, report)
    return report


def copy_private(source: Path, target: Path) -> None:
    """Copy a verdict file; the copy is readable by its owner only (0600), like the original."""
    target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as out, open(source, "rb") as src:
        shutil.copyfileobj(src, out)


def _merged_meta(metas: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    metas = list(metas)
    merged = dict(metas[0])
    for key in ("client", "policy", "seed", "profile", "selection"):
        values = {str(m.get(key)) for m in metas}
        if len(values) > 1:
            raise ReportError(f"the shards disagree on {key}: {', '.join(sorted(values))}")
    merged["shards"] = ", ".join(str(m.get("shard") or "all") for m in metas)
    try:
        merged["duration_s"] = round(max(float(m.get("duration_s") or 0) for m in metas), 1)
    except (TypeError, ValueError):
        merged["duration_s"] = None
    errors = [e for m in metas for e in _as_list(m.get("harness_errors"))]
    merged["harness_errors"] = errors
    merged.pop("shard", None)
    return merged
