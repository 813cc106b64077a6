"""The one loader (harness._yaml) and the one field reader (harness.fields): what YAML means
here, what it refuses and where, and how a field error reads.

Each refusal is paired with the plain library call it guards against, so the check is seen to
bite: ruamel's own loaders accept (or expand, or crash on) what ours refuses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from harness._yaml import (
    MAX_INT_DIGITS,
    Map,
    Seq,
    YAMLSyntaxError,
    line_at,
    line_of,
    load,
    load_json,
    show,
)
from harness.fields import LIMITS, FieldError, Fields, located, read_text

# -- what the YAML means: the 1.2 core schema, and nothing else ---------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("~", None),
        ("null", None),
        ("NULL", None),
        ("", None),
        ("true", True),
        ("False", False),
        ("yes", "yes"),  # YAML 1.1's booleans are words here
        ("on", "on"),
        ("12", 12),
        ("-0", 0),
        ("+7", 7),
        ("012", 12),  # decimal, not octal
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", "1_000"),  # no underscores in 1.2 numbers
        ("0b101", "0b101"),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2001-12-14", "2001-12-14"),  # no timestamps: a date is text
        ("1:20", "1:20"),
        ('"12"', "12"),
        ("'true'", "true"),
        ("!!str 12", "12"),
        ("!!int '12'", 12),
        ("!!float 3", 3.0),
        ("!!bool 'true'", True),
        ("!!null ''", None),
        ("! 12", "12"),
        ("NaN", "NaN"),  # JSON's words are text in YAML (.nan is the YAML NaN)
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, value: Any) -> None:
    loaded = load(f"a: {text}\n")["a"]
    assert loaded == value and type(loaded) is type(value)


def test_mappings_and_lists_remember_their_lines() -> None:
    doc = load("# top\nname: x\nrules:\n  - a: 1\n    b: {c: [1,\n      2]}\n  - 3\n")
    assert isinstance(doc, Map) and isinstance(doc["rules"], Seq)
    assert doc == {"name": "x", "rules": [{"a": 1, "b": {"c": [1, 2]}}, 3]}
    assert type(doc) is Map and json.loads(json.dumps(doc)) == doc  # plain data underneath
    assert (line_of(doc), line_of(doc, "rules"), line_of(doc, "rules", value=True)) == (2, 3, 4)
    rules = doc["rules"]
    assert (line_of(rules, 0), line_of(rules, 1), line_of(rules[0], "b", value=True)) == (4, 7, 5)
    assert line_of(rules[0]["b"]["c"], 1) == 6
    assert line_of(doc, "nope") == 2 and line_of(rules, 7) == 4  # unknown: the node's own
    assert line_of({"plain": "dict"}, "plain") is None
    plain = load("a: [1, {b: 2}]\n", positions=False)
    assert type(plain) is dict and type(plain["a"]) is list and type(plain["a"][1]) is dict


def test_line_at_reads_only_as_far_as_the_path() -> None:
    text = "devices:\n  - macaddress: '00'\n    imei: x\n  - macaddress: '01'\n    model: m\n"
    assert line_at(text, ["devices", 1, "model"]) == 5
    assert line_at(text, ["devices", 0, "imei"], key=True) == 3
    assert line_at(text, ["devices", 1, "absent"]) == 4  # the deepest part that exists
    assert line_at(text, ["devices", 9]) == 2
    assert line_at(text, []) == 1
    assert line_at(text + "  - [\n", ["devices", 1, "model"]) == 5  # broken later: found first
    # It stops at the path: a text that breaks after it still gives the line.
    assert line_at("a: 1\nb: [\n", ["a"]) == 1


# -- what it refuses, and where ------------------------------------------------------------------

REFUSED = [
    # (text, line, problem fragment)
    ("a: &x [1]\nb: *x\n", 2, "aliases (*x) are not allowed"),
    ("base: &b {x: 1}\nother:\n  <<: *b\n", 3, "aliases (*b) are not allowed"),
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first on line 1)"),
    ("? [a, b]\n: 1\n", 1, "a key must be a plain value"),
    ("--- 1\n--- 2\n", 2, "one document, not several"),
    ("a: .nan\n", 1, "NaN and infinity are not numbers here"),
    ("a: -.Inf\n", 1, "NaN and infinity"),
    ("a: 1e999\n", 1, "too large for a number"),
    ("a: " + "9" * (MAX_INT_DIGITS + 1) + "\n", 1, f"{MAX_INT_DIGITS + 1} digits is too long"),
    ("a: 0x" + "f" * (MAX_INT_DIGITS + 1) + "\n", 1, "digits is too long"),
    ("a: !!python/object:os.system ls\n", 1, "the tag !!python/object:os.system is not allowed"),
    ("a: !!binary aGk=\n", 1, "!!binary is not allowed"),
    ("a: !!timestamp 2001-12-14\n", 1, "!!timestamp is not allowed"),
    ("a: !custom x\n", 1, "the tag !custom is not allowed"),
    ("a: !!set {x}\n", 1, "is not allowed"),
    ("a: !!int ten\n", 1, "str 'ten' is not a valid !!int"),
    ("a:\n  - x\n  - \x01\n", 3, "U+0001 is not allowed"),
    ("a: [1\n", 2, "expected ',' or ']'"),
]


@pytest.mark.parametrize(("text", "line", "problem"), REFUSED)
@pytest.mark.parametrize("pure", [False, True], ids=["libyaml", "pure-python"])
def test_refusals_say_where(text: str, line: int, problem: str, pure: bool) -> None:
    with pytest.raises(YAMLSyntaxError) as exc:
        load(text, pure=pure)
    assert exc.value.line == line and problem in exc.value.problem, exc.value.problem
    assert "\n" not in exc.value.problem and len(exc.value.problem) <= 200


def test_the_refused_documents_are_what_plain_ruamel_accepts() -> None:
    # The control: ruamel's safe loader takes the aliases, the duplicates' twin, the NaN and the
    # long integer - ours is what refuses them.
    plain = YAML(typ="safe", pure=True)
    assert plain.load("a: &x [1]\nb: *x\n") == {"a": [1], "b": [1]}
    assert plain.load("a: .nan\n")["a"] != plain.load("a: .nan\n")["a"]  # NaN
    assert plain.load("a: !!binary aGk=\n") == {"a": b"hi"}
    bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    assert len(plain.load(bomb)["b"]) == 10  # shared: expanding it costs 10 x 10


def test_limits_on_size_depth_and_count() -> None:
    with pytest.raises(YAMLSyntaxError, match="the document is 11 bytes, more than 10"):
        load("a: 12345678", max_bytes=10)
    assert load("a: 1234567", max_bytes=10) == {"a": 1234567}
    nested = "a:\n" + "".join("  " * i + "- \n" for i in range(1, 5))
    assert load(nested, max_depth=5)
    with pytest.raises(YAMLSyntaxError, match="nested more than 4 levels deep") as exc:
        load(nested, max_depth=4)
    assert exc.value.line == 5
    with pytest.raises(YAMLSyntaxError, match="more than 5 values"):
        load("[1, 2, 3, 4, 5]", max_nodes=5)
    assert load("[1, 2, 3, 4]", max_nodes=5) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "text",
    ["[" * 4_000_000, "{" * 4_000_000, "- " * 2_000_000, "[a, " * 1_000_000],
    ids=["flow-lists", "flow-maps", "block-lists", "items-then-nesting"],
)
def test_four_megabytes_of_nesting_is_refused_at_once(text: str) -> None:
    # libyaml's scanner is quadratic in flow depth (40 000 '[' already take it ~20 s); stopping at
    # the depth limit stops the scan there too. A generous bound: CPU seconds, not wall time.
    started = time.process_time()
    with pytest.raises(YAMLSyntaxError):
        load(text, max_bytes=8 << 20)
    assert time.process_time() - started < 5.0


def test_the_c_composer_crashes_where_this_loader_refuses(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("devices:\n" + "- " * 100_000 + "x\n")  # block lists, 100 000 deep
    crash = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from ruamel.yaml import YAML; YAML(typ='safe', pure=False).load(open({str(deep)!r}))",
        ],
        capture_output=True,
        timeout=300,
    )
    assert crash.returncode < 0, crash  # killed by a signal (SIGSEGV): the hazard is real
    with pytest.raises(YAMLSyntaxError, match="nested more than 64 levels deep"):
        load(deep.read_text())


# -- JSON, the fast path for large files ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('{"a": 1,\n "b": NaN}', 2, "NaN and infinity are not numbers here"),
        ('{"a": "NaN",\n "b": [1,\n -Infinity]}', 3, "NaN and infinity"),
        ('{"a":\n 1e400}', 2, "too large for a number"),
        (
            '{"a": "12345678901234567890123456789012",\n "b": 12345678901234567890123456789012}',
            2,
            "32 digits is too long",
        ),
        ('{"a": 1,\n "a": 2}', 2, "duplicate key 'a'"),
        ('{"a": 1,\n "b": }', 2, "Expecting value"),
        ("[" * 100_000, None, "nested too deeply"),
    ],
)
def test_json_refusals(text: str, line: int | None, problem: str) -> None:
    with pytest.raises(YAMLSyntaxError) as exc:
        load_json(text)
    assert exc.value.line == line and problem in exc.value.problem, exc.value.problem


def test_json_loads_what_the_standard_library_loads() -> None:
    data = {"devices": [{"a": [1, 2.5, None, True, "x\u00e9"], "b": {}}], "n": -3}
    assert load_json(json.dumps(data)) == data
    assert json.loads("NaN") != json.loads("NaN")  # the control: the stdlib takes NaN


# -- messages ------------------------------------------------------------------------------------


def test_show_cuts_a_value_short_and_never_reprs_it_whole() -> None:
    huge = "x" * 5_000_000
    assert show(huge) == "str '" + "x" * 55 + "...'"
    assert len(show(huge, limit=20)) <= 24
    assert show(b"\x00" * 10_000).startswith("bytes b'\\x00") and len(show(b"\x00" * 10_000)) < 70
    assert (show(None), show(True), show({"a": 1}), show([1])) == (
        "nothing",
        "boolean true",
        "a mapping",
        "a list",
    )
    assert show(10**5000) == "a very long integer"  # str() of it would raise ValueError
    assert show(1.5) == "float 1.5"


def test_a_field_error_reads_file_line_field_problem() -> None:
    doc = Fields.load("a:\n  b: soon\n", source="f.yaml")
    with pytest.raises(FieldError) as exc:
        doc.mapping("a").integer("b")
    err = exc.value
    assert str(err) == "f.yaml:2: a.b: expected an integer, got str 'soon'"
    assert (err.source, err.path, err.line, err.field, err.parts) == (
        "f.yaml",
        "f.yaml",
        2,
        "a.b",
        ("a", "b"),
    )
    assert str(FieldError("f.yaml", None, "", "the file is empty")) == "f.yaml: the file is empty"
    assert str(FieldError("", None, "delay_ms", "missing")) == "delay_ms: missing"


class _Special(FieldError):
    pass


def test_errors_come_as_the_class_the_reader_was_given() -> None:
    doc = Fields.load("a: {b: x}\n", source="s.yaml", error=_Special)
    with pytest.raises(_Special, match=r"s.yaml:1: a.b: expected true or false"):
        doc.mapping("a").boolean("b")
    with pytest.raises(_Special, match="not valid YAML"):
        Fields.load("a: [", source="s.yaml", error=_Special)


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda f: f.integer("n", low=1, high=600_000), "3000000 is not between 1 and 600000"),
        (lambda f: f.integer("big"), "an integer of more than 30 digits is too long"),
        (lambda f: f.number("big"), "a number of more than 30 digits is too long"),
        (lambda f: f.number("nan"), "expected a finite number"),
        (lambda f: f.number("half", above=0.5), "0.5 must be greater than 0.5"),
        (lambda f: f.number("n", high=1e6), "3000000 is more than 1000000"),
        (lambda f: f.integer("yes"), "expected an integer, got boolean true"),
        (lambda f: f.choice("float_one", (1, 2)), "1.0 is not one of 1, 2"),
        (lambda f: f.choice("yes", (0, 1)), "boolean true is not one of 0, 1"),
        (lambda f: f.choice("word", ("a", "b")), "'c' is not one of a, b"),
        (lambda f: f.text("surrogate"), "is not valid Unicode text (a lone surrogate)"),
        (lambda f: f.text("word", max_len=0), "is 1 characters long, more than 0"),
        (lambda f: f.text("blank", non_empty=True), "must not be empty"),
        (lambda f: f.sequence("word"), "expected a list, got str 'c'"),
        (lambda f: f.mapping("n"), "expected a mapping, got int 3000000"),
        (lambda f: f.raw("absent"), "missing"),
        (lambda f: f.missing("absent", "a reason"), "missing (a reason)"),
    ],
)
def test_typed_readers(call: Any, problem: str) -> None:
    data = {
        "n": 3_000_000,
        "big": 10**40,
        "nan": float("nan"),
        "half": 0.5,
        "yes": True,
        "float_one": 1.0,
        "word": "c",
        "surrogate": "a\udc80",
        "blank": "  ",
        "nothing": None,
    }
    fields = Fields(data, source="<dict>")
    try:
        result = call(fields)
    except FieldError as exc:
        assert exc.problem == problem
        return
    assert isinstance(result, FieldError) and result.problem == problem


def test_null_is_absent_and_defaults_apply() -> None:
    fields = Fields({"a": None, "b": 0}, source="<dict>")
    assert fields.integer("a", 5) == 5 and fields.integer("b", 5) == 0
    assert "a" not in fields and "b" in fields and fields.keys() == ["a", "b"]
    assert fields.mapping("a", None).node == {} and fields.sequence("a", None).node == []


def test_check_keys_and_done_refuse_what_nobody_reads() -> None:
    doc = Fields.load("a: 1\nb: 2\nc: 3\n", source="k.yaml")
    with pytest.raises(FieldError, match=r"k.yaml:3: c: unknown field; expected one of a, b"):
        doc.check_keys(("a", "b"))
    doc.integer("a")
    doc.integer("b")
    assert doc.unread() == ["c"] and doc.asked() == ["a", "b"]
    with pytest.raises(
        FieldError, match=r"k.yaml:3: c: unknown field; expected one of a, b"
    ) as exc:
        doc.done()
    assert exc.value.at_key


def test_located_finds_the_line_of_an_error_from_a_document_without_positions() -> None:
    text = "devices:\n  - a: 1\n  - a: 2\n    b: x\n"
    doc = Fields.load(text, source="inv.yaml", positions=False)
    device = doc.sequence("devices").mapping(1)
    with pytest.raises(FieldError) as exc:
        device.integer("b")
    assert exc.value.line is None and exc.value.parts == ("devices", 1, "b")
    assert (
        str(located(exc.value, text))
        == "inv.yaml:4: devices[1].b: expected an integer, got str 'x'"
    )
    with pytest.raises(FieldError) as exc:
        device.check_keys(("a",))
    assert located(exc.value, text).line == 4  # the key's line


# -- reading files -------------------------------------------------------------------------------


def test_read_text_is_bounded_and_never_blocks(tmp_path: Path) -> None:
    started = time.process_time()
    with pytest.raises(FieldError, match="/dev/zero: larger than 1048576 bytes"):
        read_text("/dev/zero", max_bytes=1 << 20)
    assert time.process_time() - started < 5.0
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(_read_or_error(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "read_text blocked on a FIFO nobody writes to"
    assert result == [""]
    with pytest.raises(FieldError, match="cannot read: is a directory"):
        read_text(tmp_path, max_bytes=100)
    with pytest.raises(FieldError, match="cannot read: no such file or directory"):
        read_text(tmp_path / "absent.yaml", max_bytes=100)
    with pytest.raises(FieldError, match="cannot read: not a valid path"):
        read_text(str(tmp_path / "a\0b"), max_bytes=100)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(
        FieldError, match=r"latin1.yaml:2: not UTF-8 text \(invalid continuation byte at byte 11\)"
    ):
        read_text(bad, max_bytes=100)


def _read_or_error(path: Path) -> object:
    try:
        return read_text(path, max_bytes=100)
    except FieldError as exc:
        return exc


def test_fields_read_applies_the_limits_of_a_kind(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("a: " + "[" * 40 + "]" * 40 + "\n")
    with pytest.raises(
        FieldError, match=r"p.yaml:1: not valid YAML: nested more than 32 levels deep"
    ):
        Fields.read(path, limits=LIMITS["policy"])
    path.write_text("[1]\n")
    with pytest.raises(FieldError, match=r"p.yaml:1: expected a mapping, got a list"):
        Fields.read(path, limits=LIMITS["policy"])
    assert Fields.read(path, limits=LIMITS["policy"], top=(list,)).node == [1]


def test_paths_stay_on_one_line_whatever_the_keys() -> None:
    doc = Fields.load(
        '"a\\nb": 1\n3: x\nrules: [{name: r}]\n' + "k" * 100 + ": 1\n", source="p.yaml"
    )
    with pytest.raises(FieldError) as exc:
        doc.check_keys(("rules",))
    assert str(exc.value) == "p.yaml:1: 'a\\nb': unknown field; expected one of rules"
    assert doc.path(3) == "3" and doc.sequence("rules").path(0) == "rules[0]"
    assert doc.path("k" * 100) == "'" + "k" * 37 + "...'"
    assert doc.mapping("headers", None).path("Content-Type") == "headers.Content-Type"


def test_text_may_take_a_number_as_its_digits() -> None:
    fields = Fields({"imei": 356938035643809, "flag": True, "huge": 10**40}, source="<d>")
    assert fields.text("imei", numbers=True) == "356938035643809"
    with pytest.raises(FieldError, match="expected text, got int"):
        fields.text("imei")
    with pytest.raises(FieldError, match="expected text, got boolean true"):
        fields.text("flag", numbers=True)
    with pytest.raises(FieldError, match="more than 30 digits"):
        fields.text("huge", numbers=True)
