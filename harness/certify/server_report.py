"""The server certification report: what was certified, each contract's verdict, the evidence.

Read with the certification report's builder (:func:`harness.certify.results.build`, given
the server catalog) from what the suite leaves in the report directory - pytest's ``junit.xml``,
the verdict records ``verdicts-*.jsonl`` and the survey ``site-*.json`` - and written beside
them:

* ``certification.md`` and ``certification.html`` (self-contained): the server, its vendor and
  version, the harness, the options, the seed, the plan and the requests sent; a contract x
  verdict table; for each broken contract the request, the answer (status, type, size, time,
  an excerpt of the body), the rule it breaks and the rule's source; the advice of broken
  SHOULD contracts; what could not be judged and why;
* ``journal.jsonl``: the proxy's record of every request of the run - the preflight, each
  worker's survey, every case (a shared walk once) - tagged with its test;
* ``failures/<contract>-<test>.yaml``: one replay file per failing test, which
  ``mdm-harness certify-server --replay FILE`` runs again (that one case, nothing else).

This module decides the server's statuses and supplies its rows and failure details; the
pages are written by the renderer the client report uses too (:mod:`harness.certify.render`).

A contract's status: ``broken`` (a MUST verdict failed a test), ``error`` (the harness failed:
a test failed or errored without a verdict of the server behind it),
``advice`` (a SHOULD contract the server does not keep), ``holds``, ``inconclusive`` (it could
not be judged - the walk did not end within ``--max-pages``, say), ``not applicable`` or ``not
run``. The server is certified when every MUST contract holds or is not applicable.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.servercheck.catalog import CONTRACTS

from . import render
from .render import ContractRow
from .results import Failure, Report, build

__all__ = [
    "Row",
    "build_report",
    "certified",
    "markdown",
    "page",
    "rows",
    "summary",
    "to_html",
    "write",
]

REPLAY_FORMAT = 1
Row = ContractRow


def build_report(directory: Path, meta: Mapping[str, Any]) -> Report:
    """The report of the server run whose files are in ``directory``."""
    return build(directory, meta, catalog=CONTRACTS, title="MDM server certification")


def rows(report: Report) -> list[Row]:
    """``(id, group, level, promise, status, tests)`` per server contract, in catalog order.

    Computed here from the tests and the verdict records (not from ``Report.contracts()``), so
    the server report decides its own statuses: advice, inconclusive and the harness's errors.
    """
    advised = {
        r["verdict"]["contract"]
        for r in report.records
        if r["verdict"].get("status") == "broken" and r["verdict"].get("level") == "SHOULD"
    }
    # A failed test with no broken verdict behind it failed in the harness (a plan exceeded, a
    # proxy that died): that is an error of the harness, never the server's fault.
    judged = {f.key for f in report.failures if f.record is not None}
    out: list[Row] = []
    for cid, contract in CONTRACTS.items():
        tests = [t for t in report.tests if t.contract == cid]
        outcomes = {t.outcome for t in tests}
        failed = [t for t in tests if t.outcome == "failed"]
        if any(t.key in judged for t in failed):
            status = "broken"
        elif failed or "error" in outcomes:
            status = "error"
        elif "passed" in outcomes:
            status = "advice" if cid in advised else "holds"
        elif any(t.message.startswith("inconclusive") for t in tests):
            status = "inconclusive"
        elif tests:
            status = "not applicable"
        else:
            status = "not run"
        out.append(Row(cid, contract.group, contract.level, contract.promise, status, tests))
    return out


def _partial(report: Report) -> bool:
    return bool(report.meta.get("selection"))


def certified(report: Report) -> bool:
    """Every MUST contract holds or is not applicable (SHOULD advice never blocks). For a
    ``-k`` selection: nothing that ran is broken, in error or inconclusive."""
    table = rows(report)
    if not report.tests:
        return False
    bad = ("broken", "error", "inconclusive")
    if _partial(report):
        return not any(r.status in bad for r in table)
    return all(r.status in ("holds", "advice", "not applicable") for r in table)


def summary(report: Report) -> str:
    table = rows(report)
    counts = {s: sum(1 for r in table if r.status == s) for s in render.STATUS_ORDER}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if _partial(report):
        word = render.with_advice("PASSED", table) if certified(report) else "FAILED"
        return f"{word} (partial run, -k {report.meta.get('selection')!r}; certification needs the whole suite): {parts}"
    word = render.with_advice("CERTIFIED", table) if certified(report) else "NOT CERTIFIED"
    return f"{word}: {parts}"


# ------------------------------------------------------------------------------------ writing


def _journal(directory: Path, report: Report) -> list[dict[str, Any]]:
    """The preflight's, each worker survey's and every case's attempts, tagged with their test."""
    out: list[dict[str, Any]] = []
    preflight = directory / "preflight.json"
    if preflight.exists():
        for attempt in json.loads(preflight.read_text(encoding="utf-8")).get("journal", []):
            out.append({"test": "preflight", "case": "v3 discovery", "contract": None, **attempt})
    for survey in sorted(directory.glob("survey-*.jsonl")):
        for line in survey.read_text(encoding="utf-8").splitlines():
            if line.strip():
                tags = {"test": "survey", "case": survey.stem, "contract": None}
                out.append({**tags, **json.loads(line)})
    for record in report.records:
        case = record.get("case") or {}
        tags = {
            "test": record.get("test"),
            "case": case.get("title"),
            "contract": case.get("contract"),
        }
        out += [{**tags, **attempt} for attempt in record.get("journal", [])]
    return out


def write(directory: Path, report: Report) -> None:
    """Write the journal, the replay files, ``certification.md`` and ``certification.html``."""
    render.write_journal(directory / "journal.jsonl", _journal(directory, report))
    failures_dir = directory / "failures"
    shutil.rmtree(failures_dir, ignore_errors=True)
    for failure in report.failures:
        if failure.record is None or "probes" not in (failure.record.get("case") or {}):
            continue
        failures_dir.mkdir(exist_ok=True)
        path = failures_dir / render.replay_name(failure.contract, failure.key)
        path.write_text(
            replay_text(failure.record, report.meta, reason=failure.reason), encoding="utf-8"
        )
        failure.replay = str(path.relative_to(directory))
    (directory / "certification.md").write_text(markdown(report), encoding="utf-8")
    (directory / "certification.html").write_text(to_html(report), encoding="utf-8")


def replay_text(record: Mapping[str, Any], meta: Mapping[str, Any], *, reason: str) -> str:
    """A replay file: YAML comments, then the case and where the server is, as JSON (which is
    YAML: any value a hostile case drew survives the round trip)."""
    case = record["case"]
    data = {
        "mdm_harness_server_replay": REPLAY_FORMAT,
        "server": meta.get("server"),
        "username": meta.get("username"),
        "ca": meta.get("ca"),
        "proxy": meta.get("proxy"),
        "budget_ms": meta.get("budget_ms"),
        "seed": record.get("seed"),
        "test": record.get("test"),
        "case": case,
    }
    head = (
        f"# mdm-harness server replay file - {case.get('contract')} broke: {reason}\n"
        "# mdm-harness certify-server --replay THIS_FILE   (the password from MDM_PASSWORD or --password)\n"
    )
    return head + json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _meta_rows(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    labels = [
        ("server", "Server"),
        ("product", "Product (discovery)"),
        ("username", "User"),
        ("ca", "Trusted CA"),
        ("proxy", "Through proxy"),
        ("harness_version", "mdm-harness"),
        ("mitmproxy_version", "mitmproxy"),
        ("python", "Python"),
        ("profile", "Profile"),
        ("seed", "Seed"),
        ("selection", "Selection (-k)"),
        ("workers", "Workers"),
        ("rate", "Rate cap (requests/s)"),
        ("budget_ms", "Budget (ms)"),
        ("plan", "Plan"),
        ("requests_sent", "Requests sent"),
        ("posts_sent", "POST requests sent"),
        ("started", "Started"),
        ("duration_s", "Wall time (s)"),
    ]
    return [(label, str(meta[key])) for key, label in labels if meta.get(key) not in (None, "")]


def _block(f: Failure, *, advice: bool) -> render.Block:
    contract = CONTRACTS.get(f.contract)
    title = (f.case or {}).get("title")
    parts: list[render.Part] = []
    if f.evidence:
        parts.append(render.Pre(f.evidence[:12] if advice else f.evidence, css="evidence"))
    if f.replay:
        parts.append(render.Text(f"Replay: `mdm-harness certify-server --replay {f.replay}`"))
    return render.Block(
        contract=f.contract,
        level=f.level,
        promise=contract.promise if contract else "",
        test=f.key,
        reason=f.reason,
        correct=contract.correct if contract else "",
        subject="server",
        source=contract.source if contract else "",
        anchor=contract.anchor if contract else "",
        case=str(title) if title else "",
        parts=parts,
        advice=advice,
    )


def page(report: Report) -> render.Page:
    """The server report as the renderer's page."""
    table = rows(report)
    state = "error" if any(r.status == "error" for r in table) else "ok"
    if state == "ok" and not certified(report):
        state = "broken"
    skipped = [t for t in report.tests if t.outcome == "skipped"]
    after = []
    if skipped:
        after.append(
            render.Section(
                "Not judged",
                "Tests that judged nothing, with the reason:",
                [
                    f"`{t.key}`: {t.message.splitlines()[0] if t.message else 'skipped'}"
                    for t in skipped
                ],
                ident="not-judged",
            )
        )
    seed = report.meta.get("seed")
    return render.Page(
        title=report.title,
        state=state,
        summary=summary(report),
        meta=_meta_rows(report.meta),
        rows=table,
        failures=[_block(f, advice=False) for f in report.failures],
        advice=[_block(f, advice=True) for f in report.advice],
        after=after,
        rerun=(
            f"Run again with the same draws: `mdm-harness certify-server URL ... --seed {seed}`."
            if seed is not None
            else ""
        ),
        subject="server",
    )


def markdown(report: Report) -> str:
    return render.markdown(page(report))


def to_html(report: Report) -> str:
    return render.html_page(page(report))
