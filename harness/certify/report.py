"""The certification report: what was certified, each contract's verdict, and the evidence.

Built from what a run of the contract suite leaves in its report directory - pytest's
``junit.xml`` (which tests passed, failed or were skipped, and which contract each certifies)
and the harness's ``verdicts-*.jsonl`` (each case run: the case, the client's outcome, the
verdict and the proxy's journal) - and written beside them:

* ``certification.md`` and ``certification.html`` (self-contained): client, policy, versions,
  seed, date; a contract x verdict matrix; for each broken contract the failing case, the reason
  and an attempt timeline from the journal;
* ``journal.jsonl``: every attempt of every case, tagged with its test;
* ``failures/<contract>-<test>.yaml``: one replay file per failing test (its minimal case).

Shard reports merge (:func:`merge`) into the report a single run would have written.
"""

from __future__ import annotations

import datetime
import html
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__

STATUS_ORDER = ("broken", "error", "holds", "not applicable", "not run")


@dataclass
class TestResult:
    """One test of the suite as JUnit recorded it."""

    key: str
    contract: str | None
    outcome: str  # passed | failed | error | skipped
    message: str = ""
    seconds: float = 0.0


@dataclass
class Failure:
    """A failing test: its contract, the verdict's reason and evidence, the case, its replay file."""

    key: str
    contract: str
    reason: str
    evidence: list[str]
    #: The verdict record of the (minimal) failing case; None when the test failed without one.
    record: Mapping[str, Any] | None = None
    replay: str | None = None

    @property
    def case(self) -> Mapping[str, Any] | None:
        return None if self.record is None else self.record["case"]


@dataclass
class Report:
    meta: dict[str, Any]
    tests: list[TestResult]
    failures: list[Failure] = field(default_factory=list)
    #: Every case run's verdict record, oldest first (the journal is written from them).
    records: list[dict[str, Any]] = field(default_factory=list)
    #: The contract catalog the run certifies against (id -> contract with ``group`` and
    #: ``promise``); ``None``: the client suite's (``harness.contracts.catalog.CONTRACTS``).
    catalog: Mapping[str, Any] | None = None

    def contracts(self) -> list[tuple[str, str, str, str, list[TestResult]]]:
        """``(id, group, promise, status, tests)`` for every contract, in the contract table's order."""
        catalog: Mapping[str, Any]
        if self.catalog is not None:
            catalog = self.catalog
        else:
            from harness.contracts.catalog import CONTRACTS as catalog

        rows = []
        for cid, contract in catalog.items():
            group, promise = contract.group, contract.promise
            tests = [t for t in self.tests if t.contract == cid]
            outcomes = {t.outcome for t in tests}
            if "failed" in outcomes:
                status = "broken"
            elif "error" in outcomes:
                status = "error"
            elif "passed" in outcomes:
                status = "holds"
            elif tests:
                status = "not applicable"
            else:
                status = "not run"
            rows.append((cid, group, promise, status, tests))
        return rows

    @property
    def certified(self) -> bool:
        """Every contract ran and holds (or had nothing to judge): the client is certified."""
        rows = self.contracts()
        return bool(self.tests) and all(
            status in ("holds", "not applicable") for *_, status, _ in rows
        )

    @property
    def partial(self) -> bool:
        """Only a shard or a -k selection of the suite ran: it cannot certify on its own."""
        return bool(self.meta.get("shard") or self.meta.get("selection"))

    @property
    def passed(self) -> bool:
        """Nothing that ran broke: what a shard's CI job needs (the merged report certifies)."""
        rows = self.contracts()
        return bool(self.tests) and not any(status in ("broken", "error") for *_, status, _ in rows)

    @property
    def ok(self) -> bool:
        """Exit 0: certified, or - for a shard or selection - nothing broken in what ran."""
        return self.passed if self.partial else self.certified

    def summary(self) -> str:
        rows = self.contracts()
        counts = {s: sum(1 for *_, status, _ in rows if status == s) for s in STATUS_ORDER}
        parts = [f"{n} {s}" for s, n in counts.items() if n]
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


# ------------------------------------------------------------------------------------ reading


def test_key(module: str, name: str) -> str:
    """The key a test is known by in both JUnit and the verdict records: ``test_file::test_name``."""
    stem = re.split(r"[./]", module.removesuffix(".py"))[-1]
    return f"{stem}::{name}"


def read_junit(path: Path) -> list[TestResult]:
    results = []
    for case in ET.parse(path).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or node.text or "").strip()
                break
        results.append(
            TestResult(
                key=test_key(case.get("classname") or "", case.get("name") or ""),
                contract=props.get("contract"),
                outcome=outcome,
                message=message,
                seconds=float(case.get("time") or 0),
            )
        )
    return results


def read_verdicts(directory: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(directory.glob("verdicts-*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            records.extend(json.loads(line) for line in fh if line.strip())
    records.sort(key=lambda r: r.get("time", 0))
    return records


def _record_key(record: Mapping[str, Any]) -> str:
    test = str(record.get("test") or "")
    module, _, name = test.partition("::")
    return test_key(module, name) if name else test


def build(
    directory: Path, meta: Mapping[str, Any], catalog: Mapping[str, Any] | None = None
) -> Report:
    """The report of the run whose JUnit and verdict records are in ``directory``, judged
    against ``catalog`` (default: the client suite's contracts; the server suite passes its own)."""
    junit = directory / "junit.xml"
    tests = read_junit(junit) if junit.exists() else []
    records = read_verdicts(directory)
    last_failure: dict[str, Mapping[str, Any]] = {}
    for record in records:
        if not record["verdict"]["passed"]:
            last_failure[_record_key(record)] = record  # hypothesis replays the minimal case last
    report = Report(meta=dict(meta), tests=tests, records=records, catalog=catalog)
    for test in tests:
        if test.outcome not in ("failed", "error"):
            continue
        found = last_failure.get(test.key)
        if found is None:
            lines = test.message.splitlines()
            report.failures.append(
                Failure(
                    test.key, test.contract or "?", lines[0] if lines else test.outcome, lines[1:40]
                )
            )
            continue
        verdict = found["verdict"]
        report.failures.append(
            Failure(
                test.key,
                verdict["contract"],
                verdict["reason"],
                list(verdict.get("evidence", [])),
                found,
            )
        )
    return report


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


_MARK = {
    "holds": "✅ holds",
    "broken": "❌ BROKEN",
    "error": "⚠️ error",
    "not applicable": "➖ not applicable",
    "not run": "· not run",
}


def markdown(report: Report) -> str:
    out = ["# MDM client certification", "", f"**{report.summary()}**", ""]
    out += [
        "| | |",
        "|---|---|",
        *(f"| {k} | {v.replace('|', '/')} |" for k, v in _meta_rows(report.meta)),
        "",
    ]
    out += [
        "## Contracts",
        "",
        "| id | group | promise | verdict | tests |",
        "|---|---|---|---|---|",
    ]
    for cid, group, promise, status, tests in report.contracts():
        passed = sum(1 for t in tests if t.outcome == "passed")
        out.append(
            f"| {cid} | {group} | {promise} | {_MARK[status]} | {passed}/{len(tests)} passed |"
        )
    if report.failures:
        out += ["", "## Failures"]
        for f in report.failures:
            out += ["", f"### {f.contract}: `{f.key}`", "", f"**{f.reason}**", ""]
            if f.case:
                args = " ".join(f.case.get("args") or [])
                out.append(
                    f"Case: {f.case.get('title')} - `{f.case.get('operation')}{' ' + args if args else ''}`; a correct client reports {' or '.join(f.case.get('expect') or [])}."
                )
                out.append("")
            if f.replay:
                out += [f"Replay: `mdm-harness replay {f.replay}`", ""]
            if f.evidence:
                out += ["```", *f.evidence, "```"]
    replay = (
        f"mdm-harness certify --seed {report.meta.get('seed')}"
        if report.meta.get("seed") is not None
        else None
    )
    if replay:
        out += ["", f"Run again with the same draws: `{replay}` (plus the same client and policy)."]
    return "\n".join(out) + "\n"


_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .verdict{font-size:1.2rem;font-weight:600;padding:.4rem .8rem;border-radius:.3rem;display:inline-block}
.ok{background:#e3f6e5;color:#135c1f} .bad{background:#fde4e1;color:#8a1c10}
table{border-collapse:collapse;margin:1rem 0;width:100%} th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.holds{color:#135c1f} td.broken,td.error{color:#8a1c10;font-weight:600} td.na{color:#777}
pre{background:#f7f7f7;border:1px solid #e5e5e5;padding:.6rem;overflow-x:auto;font-size:12.5px}
code{background:#f2f2f2;padding:0 .2rem} details{margin:.4rem 0}
"""


def to_html(report: Report) -> str:
    e = html.escape
    ok = report.ok
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>MDM client certification</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>MDM client certification</h1>",
        f"<p class='verdict {'ok' if ok else 'bad'}'>{e(report.summary())}</p>",
        "<table>",
        *(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _meta_rows(report.meta)),
        "</table><h2>Contracts</h2><table><tr><th>id</th><th>group</th><th>promise</th><th>verdict</th><th>tests</th></tr>",
    ]
    for cid, group, promise, status, tests in report.contracts():
        css = {"holds": "holds", "broken": "broken", "error": "error"}.get(status, "na")
        passed = sum(1 for t in tests if t.outcome == "passed")
        anchor = f"<a href='#{cid}'>{cid}</a>" if status in ("broken", "error") else cid
        parts.append(
            f"<tr><td>{anchor}</td><td>{e(group)}</td><td>{e(promise)}</td><td class='{css}'>{e(_MARK[status])}</td><td>{passed}/{len(tests)} passed</td></tr>"
        )
    parts.append("</table>")
    if report.failures:
        parts.append("<h2>Failures</h2>")
        seen: set[str] = set()
        for f in report.failures:
            anchor = "" if f.contract in seen else f" id='{e(f.contract)}'"
            seen.add(f.contract)
            parts.append(
                f"<h3{anchor}>{e(f.contract)}: <code>{e(f.key)}</code></h3><p><b>{e(f.reason)}</b></p>"
            )
            if f.case:
                args = " ".join(f.case.get("args") or [])
                parts.append(
                    f"<p>Case: {e(str(f.case.get('title')))} - <code>{e(str(f.case.get('operation')))} {e(args)}</code>; a correct client reports {e(' or '.join(f.case.get('expect') or []))}.</p>"
                )
            if f.replay:
                parts.append(f"<p>Replay: <code>mdm-harness replay {e(f.replay)}</code></p>")
            if f.evidence:
                parts.append("<pre>" + e("\n".join(f.evidence)) + "</pre>")
            if f.case and f.case.get("scenario"):
                scenario = json.dumps(f.case["scenario"], indent=2, ensure_ascii=False)
                parts.append(
                    f"<details><summary>scenario served</summary><pre>{e(scenario)}</pre></details>"
                )
    parts.append(
        f"<p><small>mdm-harness {e(__version__)} - generated {e(datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds'))}</small></p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------------------------ merging


def merge(sources: Sequence[Path], target: Path) -> Report:
    """Merge the report directories of shards into ``target`` and write the merged report."""
    target.mkdir(parents=True, exist_ok=True)
    metas = []
    suites = ET.Element("testsuites")
    for index, source in enumerate(sources, start=1):
        meta_path = source / "meta.json"
        if not meta_path.exists() or not (source / "junit.xml").exists():
            raise ValueError(f"{source}: not a certification report (no meta.json or junit.xml)")
        metas.append(json.loads(meta_path.read_text(encoding="utf-8")))
        tree = ET.parse(source / "junit.xml").getroot()
        for suite in tree.iter("testsuite"):
            suites.append(suite)
        for path in sorted(source.glob("verdicts-*.jsonl")):
            shutil.copyfile(
                path, target / f"verdicts-shard{index}-{path.name.removeprefix('verdicts-')}"
            )
    ET.ElementTree(suites).write(target / "junit.xml", encoding="utf-8", xml_declaration=True)
    meta = _merged_meta(metas)
    (target / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    report = build(target, meta)
    write(target, report)
    return report


def _merged_meta(metas: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    metas = list(metas)
    merged = dict(metas[0])
    for key in ("client", "policy", "seed", "profile", "selection"):
        values = {str(m.get(key)) for m in metas}
        if len(values) > 1:
            raise ValueError(f"the shards disagree on {key}: {', '.join(sorted(values))}")
    merged["shards"] = ", ".join(str(m.get("shard") or "all") for m in metas)
    merged["duration_s"] = round(max(float(m.get("duration_s") or 0) for m in metas), 1)
    merged.pop("shard", None)
    return merged
