"""The one rendering layer of both certification reports (a client's and an MDM server's).

A report supplies a :class:`Page` - its title, banner state and summary, the meta rows, one
:class:`ContractRow` per contract, and one :class:`Block` per failure or piece of advice made of
a few :data:`Part` values (:class:`Text`, :class:`Pre`, :class:`Picture`) - and this module writes
it as Markdown (:func:`markdown`) and as one self-contained HTML page (:func:`html_page`: no
script, no font, no external asset). Statuses are a word with a colour and a drawn SVG glyph
(:func:`glyph`), never an emoji: emoji render as empty boxes where no emoji font is installed
(a headless Chromium, a CI runner).

:func:`write_journal` and :func:`replay_name` are the report directory's shared file helpers.

(A little over 400 lines: a third of it is data - the page's styles, the status glyphs - kept
beside the two writers that use it.)
"""

from __future__ import annotations

import datetime
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from harness import __version__

__all__ = [
    "STATUS_ORDER",
    "WORDS",
    "Block",
    "ContractRow",
    "Page",
    "Part",
    "Picture",
    "Pre",
    "Section",
    "Text",
    "glyph",
    "html_page",
    "markdown",
    "md_status",
    "replay_name",
    "with_advice",
    "write_journal",
]

#: Every status a contract can have in a report, worst first.
STATUS_ORDER = (
    "error",
    "broken",
    "inconclusive",
    "advice",
    "holds",
    "not applicable",
    "not run",
)
#: Each status as a word (the word is always written: colour and glyph only add to it).
WORDS = {
    "holds": "holds",
    "broken": "BROKEN",
    "error": "ERROR (harness)",
    "advice": "advice",
    "inconclusive": "inconclusive",
    "not applicable": "not applicable",
    "not run": "not run",
}
_COLOURS = {
    "holds": "#135c1f",
    "broken": "#b3261e",
    "error": "#8a5a00",
    "advice": "#1d5fa8",
    "inconclusive": "#6b4fa0",
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
    "inconclusive": "<circle cx='8' cy='8' r='7' fill='{c}'/><path d='M5.8 6.2a2.2 2.2 0 1 1 "
    "3.2 2c-.7.4-1 .8-1 1.6' stroke='#fff' stroke-width='1.8' fill='none'/>"
    "<circle cx='8' cy='12.3' r='1' fill='#fff'/>",
    "not applicable": "<circle cx='8' cy='8' r='7' fill='{c}'/><path d='M4.5 8h7' "
    "stroke='#fff' stroke-width='2'/>",
    "not run": "<circle cx='8' cy='8' r='6' fill='none' stroke='{c}' stroke-width='2'/>",
}


class ContractRow(NamedTuple):
    """One contract of a report's table, with its status and its tests."""

    id: str
    group: str
    level: str
    promise: str
    status: str
    tests: Sequence[Any]

    @property
    def passed(self) -> int:
        return sum(1 for t in self.tests if t.verdict == "passed")


@dataclass(frozen=True)
class Text:
    """A paragraph. Markdown-style ``code`` and **bold** spans are kept in both formats."""

    text: str


@dataclass(frozen=True)
class Pre:
    """Preformatted lines; ``label`` introduces them; ``folded``: behind a ``<details>`` in HTML."""

    lines: Sequence[str]
    label: str = ""
    css: str = ""
    folded: bool = False


@dataclass(frozen=True)
class Picture:
    """An inline SVG picture with its caption (HTML only: the Markdown has the text twin)."""

    svg: str
    caption: str


Part = Text | Pre | Picture


@dataclass(frozen=True)
class Block:
    """One failure (or piece of advice): a contract, a test, the reason and what correct is."""

    contract: str
    level: str
    promise: str
    test: str
    reason: str
    #: "What a correct client does" / "What a correct server does": the sentence, its source
    #: and the section of the docs that explains the contract.
    correct: str = ""
    subject: str = "client"
    source: str = ""
    anchor: str = ""
    #: The case in one line (title and command), when there is one.
    case: str = ""
    parts: Sequence[Part] = ()
    advice: bool = False


@dataclass(frozen=True)
class Section:
    """A heading with a paragraph and a list (the harness's errors, what was not judged)."""

    heading: str
    intro: str
    items: Sequence[str]
    css: str = "notice"
    ident: str = ""


@dataclass(frozen=True)
class Page:
    title: str
    #: ``ok``, ``broken`` or ``error`` (the harness failed): the banner's colour.
    state: str
    summary: str
    meta: Sequence[tuple[str, str]]
    rows: Sequence[ContractRow]
    failures: Sequence[Block] = ()
    advice: Sequence[Block] = ()
    #: What the reader must see before the table (the harness failed), and after the blocks.
    before: Sequence[Section] = ()
    after: Sequence[Section] = ()
    #: The closing line (how to run again with the same draws), Markdown-style.
    rerun: str = ""
    subject: str = "client"


def with_advice(verdict: str, rows: Sequence[ContractRow]) -> str:
    """``CERTIFIED`` -> ``CERTIFIED with advice on T4, T5`` when SHOULD contracts are not kept."""
    advised = [r.id for r in rows if r.status == "advice"]
    return f"{verdict} with advice on {', '.join(advised)}" if advised else verdict


def advice_intro(subject: str) -> str:
    return (
        f"SHOULD contracts the {subject} does not keep: worth fixing, never failing the "
        "certificate. Each test passed (pytest shows the advice as a ContractAdvice warning)."
    )


# ------------------------------------------------------------------------------------ Markdown


def md_status(status: str) -> str:
    word = WORDS.get(status, status)
    return f"**{word}**" if status in ("broken", "error") else word


def _md_cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def markdown(page: Page) -> str:
    out = [f"# {page.title}", "", f"**{page.summary}**", ""]
    out += ["| | |", "|---|---|", *(f"| {k} | {_md_cell(v)} |" for k, v in page.meta), ""]
    for section in page.before:
        out += _md_section(section)
    out += [
        "## Contracts",
        "",
        "| id | level | group | promise | verdict | tests |",
        "|---|---|---|---|---|---|",
    ]
    out += [
        f"| {r.id} | {r.level} | {r.group} | {_md_cell(r.promise)} | {md_status(r.status)} | "
        f"{r.passed}/{len(r.tests)} passed |"
        for r in page.rows
    ]
    if page.failures:
        out += ["", "## Failures"]
        for block in page.failures:
            out += _md_block(block)
    if page.advice:
        out += ["", "## Advice", "", advice_intro(page.subject)]
        for block in page.advice:
            out += _md_block(block)
    for section in page.after:
        out += ["", *_md_section(section)]
    if page.rerun:
        out += ["", page.rerun]
    return "\n".join(out) + "\n"


def _md_section(section: Section) -> list[str]:
    return [f"## {section.heading}", "", section.intro, "", *(f"- {i}" for i in section.items), ""]


def _md_block(b: Block) -> list[str]:
    kind = " - advice" if b.advice else ""
    out = ["", f"### {b.contract} ({b.level}{kind}): {b.promise}", "", f"Test `{b.test}`", ""]
    out += [f"**{b.reason}**", ""]
    if b.correct:
        out.append(f"- what a correct {b.subject} does: {b.correct}")
    if b.source or b.anchor:
        out.append(
            f"- source: {b.source}" + (f" (see `{b.anchor}`)" if b.anchor else "")
            if b.source
            else f"- see `{b.anchor}`"
        )
    if b.correct or b.source or b.anchor:
        out.append("")
    if b.case:
        out += [f"Case: {b.case}", ""]
    for part in b.parts:
        if isinstance(part, Text):
            out += [part.text, ""]
        elif isinstance(part, Pre):
            out += [*([part.label, ""] if part.label else []), "```", *part.lines, "```", ""]
    return out[:-1] if out[-1] == "" else out


# ------------------------------------------------------------------------------------ HTML


def glyph(status: str, *, word: bool = True) -> str:
    """A status as an inline SVG glyph, in its colour, followed by its word (HTML)."""
    colour = _COLOURS.get(status, "#666")
    shape = _GLYPHS.get(status, _GLYPHS["not run"]).format(c=colour)
    return (
        f"<span class='status {status.replace(' ', '-')}' style='color:{colour}'>"
        f"<svg class='glyph' width='16' height='16' viewBox='0 0 16 16' aria-hidden='true'>"
        f"{shape}</svg>{' ' + html.escape(WORDS.get(status, status)) if word else ''}</span>"
    )


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")


def inline(text: str) -> str:
    """Escape ``text`` for HTML, keeping its ``code`` and **bold** spans."""
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[last : m.start()]))
        code, bold = m.groups()
        out.append(f"<code>{html.escape(code)}</code>" if code else f"<b>{html.escape(bold)}</b>")
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .verdict{font-size:1.2rem;font-weight:600;padding:.4rem .8rem;border-radius:.3rem;display:inline-block}
.verdict.ok{background:#e3f6e5;color:#135c1f} .verdict.broken{background:#fde4e1;color:#8a1c10} .verdict.error{background:#fff1cc;color:#6b4500;border:2px solid #b7791f}
table{border-collapse:collapse;margin:1rem 0;width:100%} th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.status-cell{white-space:nowrap;font-weight:600} .contracts td:last-child{white-space:nowrap}
.glyph{vertical-align:-3px}
pre{background:#f7f7f7;border:1px solid #e5e5e5;padding:.6rem;overflow-x:auto;font-size:12.5px;white-space:pre-wrap}
code{background:#f2f2f2;padding:0 .2rem} details{margin:.4rem 0}
.failure{border-left:4px solid #b3261e;padding-left:1rem;margin:1.5rem 0}
.failure.advice{border-left-color:#1d5fa8}
.correct{background:#eef6ee;border:1px solid #cfe6cf;padding:.4rem .6rem;border-radius:.3rem}
figure{margin:.6rem 0;overflow-x:auto} figcaption{font-size:12.5px;color:#555}
.notice{background:#f7f7f7;border:1px solid #ddd;padding:.5rem 1rem;border-radius:.3rem}
.harness-errors{background:#fff8e1;border:1px solid #e0c068;padding:.5rem 1rem;border-radius:.3rem}
"""


def html_page(page: Page) -> str:
    e = html.escape
    state_glyph = {"ok": "holds", "broken": "broken", "error": "error"}[page.state]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(page.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(page.title)}</h1>",
        f"<p class='verdict {page.state}' id='verdict'>{glyph(state_glyph, word=False)} "
        f"{e(page.summary)}</p>",
        "<table class='meta'>",
        *(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in page.meta),
        "</table>",
    ]
    parts += [_html_section(s) for s in page.before]
    parts.append(
        "<h2>Contracts</h2><table class='contracts' id='contracts'><tr><th>id</th><th>level</th>"
        "<th>group</th><th>promise</th><th>verdict</th><th>tests</th></tr>"
    )
    explained = {b.contract for b in (*page.failures, *page.advice)}
    for r in page.rows:
        ident = e(r.id)
        cell = f"<a href='#contract-{e(r.id.lower())}'>{ident}</a>" if r.id in explained else ident
        parts.append(
            f"<tr class='row-{r.status.replace(' ', '-')}'><td>{cell}</td><td>{e(r.level)}</td>"
            f"<td>{e(r.group)}</td><td>{e(r.promise)}</td><td class='status-cell'>"
            f"{glyph(r.status)}</td><td>{r.passed}/{len(r.tests)} passed</td></tr>"
        )
    parts.append("</table>")
    seen: set[str] = set()
    if page.failures:
        parts.append("<h2>Failures</h2>")
        parts += [_html_block(b, seen) for b in page.failures]
    if page.advice:
        parts.append(f"<h2 id='advice'>Advice</h2><p>{e(advice_intro(page.subject))}</p>")
        parts += [_html_block(b, seen) for b in page.advice]
    parts += [_html_section(s) for s in page.after]
    if page.rerun:
        parts.append(f"<p>{inline(page.rerun)}</p>")
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    parts.append(f"<p><small>mdm-harness {e(__version__)} - generated {e(stamp)}</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_section(s: Section) -> str:
    ident = f" id='{html.escape(s.ident)}'" if s.ident else ""
    return (
        f"<section class='{s.css}'{ident}><h2>{html.escape(s.heading)}</h2>"
        f"<p>{inline(s.intro)}</p><ul>"
        + "".join(f"<li>{inline(i)}</li>" for i in s.items)
        + "</ul></section>"
    )


def _html_block(b: Block, seen: set[str]) -> str:
    e = html.escape
    anchor = "" if b.contract in seen else f" id='contract-{e(b.contract.lower())}'"
    seen.add(b.contract)
    status = "advice" if b.advice else "broken"
    parts = [
        f"<section class='failure{' advice' if b.advice else ''}'><h3{anchor}>{glyph(status)} "
        f"{e(b.contract)} ({e(b.level)}): {e(b.promise)}</h3>",
        f"<p>Test <code>{e(b.test)}</code></p><p><b>{e(b.reason)}</b></p>",
    ]
    if b.correct or b.source:
        about = "; ".join(
            x
            for x in (
                f"source: {e(b.source)}" if b.source else "",
                f"see <code>{e(b.anchor)}</code>" if b.anchor else "",
            )
            if x
        )
        parts.append(
            f"<p class='correct'><b>What a correct {e(b.subject)} does:</b> {e(b.correct)} "
            f"<small>({about})</small></p>"
        )
    if b.case:
        parts.append(f"<p>Case: {inline(b.case)}</p>")
    for part in b.parts:
        if isinstance(part, Text):
            parts.append(f"<p>{inline(part.text)}</p>")
        elif isinstance(part, Picture):
            parts.append(
                f"<figure class='timeline-figure'>{part.svg}"
                f"<figcaption>{e(part.caption)}</figcaption></figure>"
            )
        elif part.folded:
            parts.append(
                f"<details class='{e(part.css)}'><summary>{inline(part.label)}</summary>"
                f"<pre class='{e(part.css)}'>{e(chr(10).join(part.lines))}</pre></details>"
            )
        else:
            label = f"<p>{inline(part.label)}</p>" if part.label else ""
            css = f" class='{e(part.css)}'" if part.css else ""
            parts.append(f"{label}<pre{css}>{e(chr(10).join(part.lines))}</pre>")
    parts.append("</section>")
    return "\n".join(parts)


# ------------------------------------------------------------------------------------ files


def write_journal(path: Path, entries: Iterable[Mapping[str, Any]]) -> None:
    """``journal.jsonl``: one JSON line per attempt, each tagged with its test and case."""
    with open(path, "w", encoding="utf-8") as fh:
        for entry in entries:
            fh.write(json.dumps(entry) + "\n")


def replay_name(contract: str, key: str) -> str:
    """The file name of a failure's replay file: ``<contract>-<test name>.yaml``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", key.split("::")[-1]).strip("-")[:90]
    return f"{contract}-{name}.yaml"
