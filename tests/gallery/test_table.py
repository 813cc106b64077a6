"""The README's table of what the harness finds in well-known clients is the one
``tests/gallery/expected.py`` prints (the sets ``tox -e gallery`` asserts)."""

from __future__ import annotations

from pathlib import Path

from gallery.expected import CLIENTS, Expected, table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_asserted_one() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- gallery-table -->\n") + len("<!-- gallery-table -->\n")
    end = text.index("<!-- /gallery-table -->")
    assert text[start:end] == table()


def test_the_table_shows_every_failure_and_no_harness_alarm() -> None:
    """Every broken and advised contract has a row; a harness false alarm has none."""
    rows = table().splitlines()[2:]
    for client in CLIENTS:
        mine = [r for r in rows if r.startswith(f"| {client.label} |")]
        assert len(mine) == max(1, len(client.broken) + len(client.advice)), client.name
        for cid in client.harness:
            assert not any(f"| {cid} |" in r for r in mine), (client.name, cid)
    quiet = Expected("quiet", "a client", "1.0")
    assert table((quiet,)).splitlines()[2] == "| a client | 1.0 | nothing | certified |"
