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

The run's files are read into a :class:`Report` by :mod:`harness.certify.results` (whose builder
takes the contract catalog as a parameter, so the MDM-server certification reads its run with
the same code); this module supplies the client report's rows and failure details to the one
renderer both reports share (:mod:`harness.certify.render`). Shard reports merge
(:func:`merge`) into the report a single run would have written.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import render, timeline
from .render import STATUS_ORDER, ContractRow
from .results import (
    CLIENT_UNUSABLE_PROPERTY,
    HARNESS_ERROR_PROPERTY,
    STDERR_LINES,
    Failure,
    Report,
    ReportError,
    TestResult,
    as_list,
    build,
    copy_private,
    read_junit,
    read_meta,
    read_verdicts,
    test_key,
)

__all__ = [
    "CLIENT_UNUSABLE_PROPERTY",
    "HARNESS_ERROR_PROPERTY",
    "STATUS_ORDER",
    "STDERR_LINES",
    "ContractRow",
    "Failure",
    "Report",
    "ReportError",
    "TestResult",
    "build",
    "copy_private",
    "markdown",
    "merge",
    "page",
    "read_junit",
    "read_meta",
    "read_verdicts",
    "test_key",
    "to_html",
    "write",
]

# ------------------------------------------------------------------------------------ writing


def write(directory: Path, report: Report) -> None:
    """Write the journal, the replay files, ``certification.md`` and ``certification.html``."""
    from .replay import replay_text

    render.write_journal(
        directory / "journal.jsonl",
        (
            {
                "test": record.get("test"),
                "case": record["case"]["title"],
                "contract": record["case"]["contract"],
                **attempt,
            }
            for record in report.records
            for attempt in record.get("journal", [])
        ),
    )
    failures_dir = directory / "failures"
    shutil.rmtree(failures_dir, ignore_errors=True)
    for failure in report.failures:
        if failure.record is None:
            continue
        failures_dir.mkdir(exist_ok=True)
        path = failures_dir / render.replay_name(failure.contract, failure.key)
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


def page(report: Report) -> render.Page:
    """The report as the renderer's page: its rows, and one block per failure and advice."""
    errors = report.harness_errors
    before = []
    if errors:
        items = errors[:50] + ([f"... and {len(errors) - 50} more"] if len(errors) > 50 else [])
        before.append(
            render.Section(
                "ERROR (harness)",
                "The harness itself failed, so this run gives no verdict on the client (what "
                "is below was judged before the failure). What failed:",
                items,
                css="harness-errors",
                ident="harness-errors",
            )
        )
    seed = report.meta.get("seed")
    return render.Page(
        title=report.title,
        state=report.state,
        summary=report.summary(),
        meta=_meta_rows(report.meta),
        rows=report.contracts(),
        failures=[_block(report, f, i, advice=False) for i, f in enumerate(report.failures)],
        advice=[_block(report, f, i, advice=True) for i, f in enumerate(report.advice)],
        before=before,
        rerun=(
            f"Run again with the same draws: `mdm-harness certify --seed {seed}` (plus the "
            "same client and policy)."
            if seed is not None
            else ""
        ),
    )


def markdown(report: Report) -> str:
    return render.markdown(page(report))


def to_html(report: Report) -> str:
    return render.html_page(page(report))


def _block(report: Report, f: Failure, index: int, *, advice: bool) -> render.Block:
    contract = report.catalog.get(f.contract)
    parts: list[render.Part] = []
    case = ""
    if f.case:
        args = " ".join(f.case.get("args") or [])
        command = f"{f.case.get('operation')}{' ' + args if args else ''}"
        expect = " or ".join(f.case.get("expect") or [])
        case = f"{f.case.get('title')} - `{command}`; a correct client reports {expect}."
    if f.replay:
        parts.append(render.Text(f"Replay: `mdm-harness replay {f.replay}`"))
    if f.record is not None:
        ident = f"{'a' if advice else 'b'}{index}"
        parts.append(
            render.Picture(
                timeline.svg(f.record, title=f"{f.contract}: {f.reason}", ident=ident),
                "One lane per attempt, as the fault proxy saw it; shaded: the windows the "
                "policy allows; a red line: an attempt or report outside its window.",
            )
        )
        parts.append(
            render.Pre(
                timeline.text(f.record),
                "Timeline (per attempt: whether the request reached the MDM):",
                css="timeline-text",
                folded=True,
            )
        )
        extra = [line for line in f.evidence if not line.lstrip().startswith("+")]
        if extra:
            parts.append(render.Pre(extra, "Evidence:", css="evidence"))
        answer = f.answer()
        first = " ".join(answer.split()).replace("`", "'")
        short = first[:80] + (" ..." if len(first) > 80 else "")
        parts.append(
            render.Pre(
                answer.splitlines(), f"The client's answer: `{short}`", css="answer", folded=True
            )
        )
        tail = f.stderr_tail()
        parts.append(
            render.Pre(tail, f"The client's stderr (last {len(tail)} lines):", css="stderr")
            if tail
            else render.Text("The client wrote nothing to stderr.")
        )
    elif f.evidence:
        parts.append(render.Pre(f.evidence))
    if f.case and f.case.get("scenario"):
        scenario = json.dumps(f.case["scenario"], indent=2, ensure_ascii=False)
        parts.append(render.Pre(scenario.splitlines(), "The scenario served:", folded=True))
    return render.Block(
        contract=f.contract,
        level=f.level,
        promise=contract.promise if contract is not None else "",
        test=f.key,
        reason=f.reason,
        correct=contract.correct if contract is not None else "",
        source=contract.source if contract is not None else "",
        anchor=contract.anchor if contract is not None else "",
        case=case,
        parts=parts,
        advice=advice,
    )


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
    errors = [e for m in metas for e in as_list(m.get("harness_errors"))]
    merged["harness_errors"] = errors
    merged.pop("shard", None)
    return merged
