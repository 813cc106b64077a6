"""``mdm-harness report diff OLD NEW``: what changed between two certification reports.

Two report directories (say, two releases of one client) are compared contract by contract and
test by test: what **broke** (held before, broken now), what was **fixed** (broken before,
holds now), what changed in the **advice** (a SHOULD contract the client stopped or started
keeping, or whose advice changed: shown with its level, never failing the diff) and what
otherwise **changed** (a harness error, a contract that ran in one report only, a broken
contract whose reason changed). A contract broken now and not before (whatever it was:
holding, not run, a harness error) broke. Exit code 1 when something broke, so a CI job fails
on a regression; plain text by default, Markdown (``--format markdown``) for a CI comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .report import Report, ReportError, build, read_meta

__all__ = ["Change", "Diff", "diff", "load"]

_GOOD = ("holds", "not applicable", "advice")


@dataclass(frozen=True)
class Change:
    """One contract or test whose verdict differs: ``what`` is ``T4`` or a test key."""

    what: str
    old: str
    new: str
    note: str = ""
    #: The contract's level (``MUST``/``SHOULD``), when ``what`` is a contract.
    level: str = ""

    @property
    def name(self) -> str:
        """``T4 (SHOULD)`` for a SHOULD contract (its change is advice), else ``what``."""
        return f"{self.what} (SHOULD)" if self.level == "SHOULD" else self.what


@dataclass
class Diff:
    old: Report
    new: Report
    broke: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    #: SHOULD contracts whose advice came, went or changed: never a failure of the diff.
    advice: list[Change] = field(default_factory=list)
    tests_broke: list[Change] = field(default_factory=list)
    tests_fixed: list[Change] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.broke or self.tests_broke else 0

    def _label(self, report: Report) -> str:
        meta = report.meta
        version = meta.get("client_version")
        label = str(meta.get("client") or "?")
        if version and version != "not stated":
            label += f" {version}"
        return label

    def text(self) -> str:
        out = [
            f"old: {self._label(self.old)} - {self.old.summary()}",
            f"new: {self._label(self.new)} - {self.new.summary()}",
        ]
        for title, changes in (
            ("broke", self.broke),
            ("fixed", self.fixed),
            ("changed", self.changed),
            ("advice (SHOULD contracts: never failing the certificate)", self.advice),
        ):
            if changes:
                out.append(f"{title}:")
                out += [
                    f"  {c.name}: {c.old} -> {c.new}{' - ' + c.note if c.note else ''}"
                    for c in changes
                ]
        for title, changes in (
            ("tests that broke", self.tests_broke),
            ("tests fixed", self.tests_fixed),
        ):
            if changes:
                out.append(f"{title}:")
                out += [f"  {c.what}{' - ' + c.note if c.note else ''}" for c in changes]
        if not (self.broke or self.fixed or self.changed or self.advice) and not (
            self.tests_broke or self.tests_fixed
        ):
            out.append("no change")
        return "\n".join(out) + "\n"

    def markdown(self) -> str:
        out = [
            "### mdm-harness certification: what changed",
            "",
            f"- old: {_md(self._label(self.old))} - {_md(self.old.summary())}",
            f"- new: {_md(self._label(self.new))} - {_md(self.new.summary())}",
        ]
        rows = [("broke", c) for c in self.broke]
        rows += [("fixed", c) for c in self.fixed]
        rows += [("changed", c) for c in self.changed]
        rows += [("advice", c) for c in self.advice]
        if rows:
            out += ["", "| | contract | old | new | note |", "|---|---|---|---|---|"]
            for kind, c in rows:
                word = {"broke": "**broke**", "fixed": "fixed", "changed": "changed"}
                word["advice"] = "advice (SHOULD)"
                out.append(f"| {word[kind]} | {c.what} | {c.old} | {c.new} | {_md(c.note)} |")
        if self.tests_broke or self.tests_fixed:
            out += ["", "<details><summary>tests</summary>", ""]
            out += [f"- **broke** `{c.what}` {_md(c.note)}" for c in self.tests_broke]
            out += [f"- fixed `{c.what}`" for c in self.tests_fixed]
            out += ["", "</details>"]
        if not rows and not (self.tests_broke or self.tests_fixed):
            out += ["", "No change."]
        return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def load(directory: Path, catalog: Mapping[str, Any] | None = None) -> Report:
    """The report in ``directory`` (its ``meta.json``, ``junit.xml`` and verdict records)."""
    if not directory.is_dir():
        raise ReportError(f"{directory}: not a directory")
    if not (directory / "junit.xml").exists():
        raise ReportError(f"{directory}: not a certification report (no junit.xml)")
    meta = read_meta(directory) if (directory / "meta.json").exists() else {}
    return build(directory, meta, catalog)


def _reasons(report: Report) -> dict[str, str]:
    """Each broken or advised contract's (first) reason."""
    out: dict[str, str] = {}
    for f in (*report.failures, *report.advice):
        out.setdefault(f.contract, f.reason)
    return out


def diff(old: Report, new: Report) -> Diff:
    """Compare two reports: contracts first, then each test both ran."""
    result = Diff(old, new)
    old_rows = {r.id: r for r in old.contracts()}
    reasons_old = _reasons(old)
    reasons_new = _reasons(new)
    for row in new.contracts():
        before = old_rows.get(row.id)
        was = before.status if before is not None else "not run"
        now = row.status
        note = reasons_new.get(row.id, "")
        if was == now:
            if now in ("broken", "advice") and reasons_old.get(row.id) != note:
                where = result.advice if now == "advice" else result.changed
                where.append(Change(row.id, was, now, f"now: {note}", row.level))
            continue
        if now == "broken":
            result.broke.append(Change(row.id, was, now, note, row.level))
        elif was == "broken" and now in _GOOD:
            result.fixed.append(Change(row.id, was, now, note, row.level))
        elif "advice" in (was, now) and {was, now} <= {*_GOOD, "not run"}:
            note = note or ("the advice is resolved" if now == "holds" else "")
            result.advice.append(Change(row.id, was, now, note, row.level))
        else:
            result.changed.append(Change(row.id, was, now, note, row.level))
    old_tests = {t.key: t for t in old.tests}
    failing_new = {f.key: f.reason for f in new.failures}
    for test in new.tests:
        before_test = old_tests.get(test.key)
        if before_test is None:
            continue
        if test.verdict == "failed" and before_test.verdict == "passed":
            result.tests_broke.append(
                Change(test.key, "passed", "failed", failing_new.get(test.key, ""))
            )
        elif test.verdict == "passed" and before_test.verdict == "failed":
            result.tests_fixed.append(Change(test.key, "failed", "passed"))
    return result
