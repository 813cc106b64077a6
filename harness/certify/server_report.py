"""The server certification report: what was certified, each contract's verdict, the evidence.

Built with the certification report's builder (:func:`harness.certify.report.build`, given the
server catalog) from what the suite leaves in the report directory - pytest's ``junit.xml``,
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

A contract's status: ``broken`` (a MUST verdict failed a test), ``error`` (the harness failed:
a test failed or errored without a verdict of the server behind it),
``advice`` (a SHOULD contract the server does not keep), ``holds``, ``inconclusive`` (it could
not be judged - the walk did not end within ``--max-pages``, say), ``not applicable`` or ``not
run``. The server is certified when every MUST contract holds or is not applicable.
"""

from __future__ import annotations

import datetime
import html
import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import __version__
from harness.servercheck.catalog import CONTRACTS

from .report import Failure, Report, TestResult, build

__all__ = ["Row", "build_report", "certified", "rows", "summary", "write"]

REPLAY_FORMAT = 1
_MARK = {
    "holds": "✅ holds",
    "broken": "❌ BROKEN",
    "error": "⚠️ error",
    "advice": "💡 advice",
    "inconclusive": "❔ inconclusive",
    "not applicable": "➖ not applicable",
    "not run": "· not run",
}
Row = tuple[str, str, str, str, str, list[TestResult]]


def build_report(directory: Path, meta: Mapping[str, Any]) -> Report:
    """The report of the server run whose files are in ``directory``."""
    return build(directory, meta, catalog=CONTRACTS)


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
        out.append((cid, contract.group, contract.level, contract.promise, status, tests))
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
        return not any(status in bad for *_, status, _ in table)
    return all(status in ("holds", "advice", "not applicable") for *_, status, _ in table)


def summary(report: Report) -> str:
    table = rows(report)
    order = ("broken", "error", "inconclusive", "advice", "holds", "not applicable", "not run")
    counts = {s: sum(1 for *_, status, _ in table if status == s) for s in order}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if _partial(report):
        word = "PASSED" if certified(report) else "FAILED"
        return f"{word} (partial run, -k {report.meta.get('selection')!r}; certification needs the whole suite): {parts}"
    return f"{'CERTIFIED' if certified(report) else 'NOT CERTIFIED'}: {parts}"


# ------------------------------------------------------------------------------------ writing


def write(directory: Path, report: Report) -> None:
    """Write the journal, the replay files, ``certification.md`` and ``certification.html``."""
    with open(directory / "journal.jsonl", "w", encoding="utf-8") as fh:
        preflight = directory / "preflight.json"
        if preflight.exists():
            for attempt in json.loads(preflight.read_text(encoding="utf-8")).get("journal", []):
                fh.write(
                    json.dumps(
                        {"test": "preflight", "case": "v3 discovery", "contract": None, **attempt}
                    )
                    + "\n"
                )
        for survey in sorted(directory.glob("survey-*.jsonl")):
            for line in survey.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    fh.write(
                        json.dumps(
                            {
                                "test": "survey",
                                "case": survey.stem,
                                "contract": None,
                                **json.loads(line),
                            }
                        )
                        + "\n"
                    )
        for record in report.records:
            case = record.get("case") or {}
            for attempt in record.get("journal", []):
                tags = {
                    "test": record.get("test"),
                    "case": case.get("title"),
                    "contract": case.get("contract"),
                }
                fh.write(json.dumps({**tags, **attempt}) + "\n")
    failures_dir = directory / "failures"
    shutil.rmtree(failures_dir, ignore_errors=True)
    for failure in report.failures:
        if failure.record is None or "probes" not in (failure.record.get("case") or {}):
            continue
        failures_dir.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", failure.key.split("::")[-1]).strip("-")[:90]
        path = failures_dir / f"{failure.contract}-{name}.yaml"
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


def _failure_parts(f: Failure) -> dict[str, Any]:
    contract = CONTRACTS.get(f.contract)
    case = f.case or {}
    return {
        "title": case.get("title"),
        "promise": contract.promise if contract else "",
        "rule": contract.correct if contract else "",
        "level": contract.level if contract else "MUST",
        "source": contract.source if contract else "",
        "anchor": contract.anchor if contract else "",
    }


def _advice(report: Report) -> list[Mapping[str, Any]]:
    seen: set[tuple[str, str]] = set()
    out: list[Mapping[str, Any]] = []
    for r in report.records:
        v = r["verdict"]
        if v.get("status") == "broken" and v.get("level") == "SHOULD":
            key = (v["contract"], v["reason"])
            if key not in seen:
                seen.add(key)
                out.append(r)
    return out


def _not_judged(report: Report) -> list[TestResult]:
    return [t for t in report.tests if t.outcome == "skipped"]


def markdown(report: Report) -> str:
    out = ["# MDM server certification", "", f"**{summary(report)}**", ""]
    out += [
        "| | |",
        "|---|---|",
        *(f"| {k} | {v.replace('|', '/')} |" for k, v in _meta_rows(report.meta)),
        "",
    ]
    out += [
        "## Contracts",
        "",
        "| id | group | level | promise | verdict | tests |",
        "|---|---|---|---|---|---|",
    ]
    for cid, group, level, promise, status, tests in rows(report):
        passed = sum(1 for t in tests if t.outcome == "passed")
        out.append(
            f"| {cid} | {group} | {level} | {promise} | {_MARK[status]} | {passed}/{len(tests)} passed |"
        )
    if report.failures:
        out += ["", "## Failures"]
        for f in report.failures:
            p = _failure_parts(f)
            out += [
                "",
                f"### {f.contract}: {p['promise']}",
                "",
                f"Test `{f.key}`" + (f" - {p['title']}" if p["title"] else ""),
                "",
            ]
            out += [f"**{f.reason}**", ""]
            out += [
                f"- the rule ({p['level']}): {p['rule']}",
                f"- source: {p['source']} ({p['anchor']})",
                "",
            ]
            if f.evidence:
                out += ["```", *f.evidence, "```", ""]
            if f.replay:
                out += [f"Replay: `mdm-harness certify-server --replay {f.replay}`", ""]
    advice = _advice(report)
    if advice:
        out += ["", "## Advice (SHOULD contracts: not a failure)"]
        for r in advice:
            v = r["verdict"]
            contract = CONTRACTS[v["contract"]]
            out += ["", f"### {v['contract']}: {contract.promise}", "", f"**{v['reason']}**", ""]
            out += [f"- the rule (SHOULD): {contract.correct}", f"- source: {contract.source}", ""]
            if v.get("evidence"):
                out += ["```", *v["evidence"][:12], "```"]
    skipped = _not_judged(report)
    if skipped:
        out += ["", "## Not judged", ""]
        out += [
            f"- `{t.key}`: {t.message.splitlines()[0] if t.message else 'skipped'}" for t in skipped
        ]
    seed = report.meta.get("seed")
    if seed is not None:
        out += [
            "",
            f"Run again with the same draws: `mdm-harness certify-server URL ... --seed {seed}`.",
        ]
    return "\n".join(out) + "\n"


_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
.verdict{font-size:1.2rem;font-weight:600;padding:.4rem .8rem;border-radius:.3rem;display:inline-block}
.ok{background:#e3f6e5;color:#135c1f} .bad{background:#fde4e1;color:#8a1c10}
table{border-collapse:collapse;margin:1rem 0;width:100%} th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.holds{color:#135c1f} td.broken,td.error{color:#8a1c10;font-weight:600} td.advice{color:#8a5a00} td.na{color:#777}
pre{background:#f7f7f7;border:1px solid #e5e5e5;padding:.6rem;overflow-x:auto;font-size:12.5px;white-space:pre-wrap}
code{background:#f2f2f2;padding:0 .2rem} .rule{border-left:3px solid #bbb;padding-left:.6rem;color:#444}
"""


def to_html(report: Report) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>MDM server certification</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>MDM server certification</h1>",
        f"<p class='verdict {'ok' if certified(report) else 'bad'}'>{e(summary(report))}</p>",
        "<table>",
        *(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _meta_rows(report.meta)),
        "</table><h2>Contracts</h2><table><tr><th>id</th><th>group</th><th>level</th><th>promise</th><th>verdict</th><th>tests</th></tr>",
    ]
    for cid, group, level, promise, status, tests in rows(report):
        css = {"holds": "holds", "broken": "broken", "error": "error", "advice": "advice"}.get(
            status, "na"
        )
        passed = sum(1 for t in tests if t.outcome == "passed")
        anchor = f"<a href='#{cid}'>{cid}</a>" if status in ("broken", "error", "advice") else cid
        parts.append(
            f"<tr><td>{anchor}</td><td>{e(group)}</td><td>{level}</td><td>{e(promise)}</td>"
            f"<td class='{css}'>{e(_MARK[status])}</td><td>{passed}/{len(tests)} passed</td></tr>"
        )
    parts.append("</table>")
    seen: set[str] = set()
    if report.failures:
        parts.append("<h2>Failures</h2>")
        for f in report.failures:
            p = _failure_parts(f)
            anchor = "" if f.contract in seen else f" id='{e(f.contract)}'"
            seen.add(f.contract)
            parts.append(f"<h3{anchor}>{e(f.contract)}: {e(p['promise'])}</h3>")
            parts.append(
                f"<p>Test <code>{e(f.key)}</code>{' - ' + e(str(p['title'])) if p['title'] else ''}</p>"
            )
            parts.append(f"<p><b>{e(f.reason)}</b></p>")
            parts.append(
                f"<p class='rule'>The rule ({p['level']}): {e(p['rule'])}<br>Source: {e(p['source'])}</p>"
            )
            if f.evidence:
                parts.append("<pre>" + e("\n".join(f.evidence)) + "</pre>")
            if f.replay:
                parts.append(
                    f"<p>Replay: <code>mdm-harness certify-server --replay {e(f.replay)}</code></p>"
                )
    advice = _advice(report)
    if advice:
        parts.append("<h2>Advice (SHOULD contracts: not a failure)</h2>")
        for r in advice:
            v = r["verdict"]
            contract = CONTRACTS[v["contract"]]
            anchor = "" if v["contract"] in seen else f" id='{e(v['contract'])}'"
            seen.add(v["contract"])
            parts.append(
                f"<h3{anchor}>{e(v['contract'])}: {e(contract.promise)}</h3><p><b>{e(v['reason'])}</b></p>"
            )
            parts.append(
                f"<p class='rule'>The rule (SHOULD): {e(contract.correct)}<br>Source: {e(contract.source)}</p>"
            )
            if v.get("evidence"):
                parts.append("<pre>" + e("\n".join(v["evidence"][:12])) + "</pre>")
    skipped = _not_judged(report)
    if skipped:
        parts.append("<h2>Not judged</h2><ul>")
        parts += [
            f"<li><code>{e(t.key)}</code>: {e(t.message.splitlines()[0] if t.message else 'skipped')}</li>"
            for t in skipped
        ]
        parts.append("</ul>")
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    parts.append(
        f"<p><small>mdm-harness {e(__version__)} - generated {e(stamp)}</small></p></body></html>"
    )
    return "\n".join(parts) + "\n"
