"""The catalog, the docs and the README say the same thing; the checks judge from wire facts only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from harness.contracts import checks
from harness.contracts.catalog import CONTRACTS, LEVELS

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_MD = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_contract_has_a_level_a_correct_sentence_and_a_source() -> None:
    for c in CONTRACTS.values():
        assert c.level in LEVELS
        assert c.correct.endswith(".") and c.source and c.promise
        assert c.anchor == f"docs/contracts.md#{c.id.lower()}"
    # safety and meaning stay MUST (issue 10): T8 and S1-S5
    assert {
        c for c in ("T8", "S1", "S2", "S3", "S4", "S5") if CONTRACTS[c].level != "MUST"
    } == set()


def test_the_docs_table_agrees_with_the_catalog() -> None:
    rows = re.findall(r"^\| \[(\w+)\]\(#(\w+)\) \| (MUST|SHOULD) \| (.+) \|$", CONTRACTS_MD, re.M)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (c.id, c.id.lower(), c.level, c.promise) for c in CONTRACTS.values()
    ]


@pytest.mark.parametrize("cid", list(CONTRACTS))
def test_each_contract_has_its_section_with_level_and_what_correct_looks_like(cid: str) -> None:
    c = CONTRACTS[cid]
    anchor = f'<a id="{c.anchor.split("#")[1]}"></a>'
    assert CONTRACTS_MD.count(anchor) == 1
    section = CONTRACTS_MD.split(anchor, 1)[1].split('<a id="', 1)[0]
    assert section.lstrip().startswith(f"### {c.id}: {c.promise}\n")
    assert f"**Level:** {c.level}." in section
    assert f"**What a correct client does:** {c.correct}" in section
    assert "**A failure means:**" in section


def test_the_readme_table_agrees_with_the_catalog() -> None:
    rows = re.findall(r"^\| \*\*(\w+)\*\* \| (MUST|SHOULD) \| (.+) \|$", README, re.M)
    assert rows == [(c.id, c.level, c.promise) for c in CONTRACTS.values()]


#: What a check must never read: which fault the harness used, or its parameters.
FORBIDDEN = ("fault", "conn_fault", "fault_error", "rule", "draw", "seed")


def test_no_check_reads_a_fault_kind_or_a_fault_parameter() -> None:
    """Checks judge from the wire facts of the attempt record (``sent``, ``certificate``,
    ``client_end``, ``upstream`` ...), never from ``fault``, ``fault.kind`` or fault
    parameters: a client is judged on what happened to it, not on how the harness did it."""
    source = Path(checks.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    reads = sorted(
        {
            f"line {node.lineno}: .{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN
        }
    )
    assert reads == []
    # and no string lookup of them either (record["fault"], getattr(a, "fault")); fault
    # parameters are reachable only through .fault (an attempt's own .params is its query)
    assert not re.search(r"""["'](fault|conn_fault|kind)["']""", source)


def test_the_grep_would_bite() -> None:
    bad = "def t(a):\n    return a.fault.kind == 'reset'\n"
    tree = ast.parse(bad)
    assert any(isinstance(n, ast.Attribute) and n.attr in FORBIDDEN for n in ast.walk(tree))
