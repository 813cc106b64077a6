"""Scenario files: the schema, errors that name file, line and field, dicts, YAML export, library."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.scenario import (
    ScenarioError,
    library_names,
    library_summary,
    lint,
    load_scenario,
    parse_scenario,
    scenario_from_dict,
    to_spec,
    to_yaml,
)

GOOD = textwrap.dedent(
    """\
    # A comment on top.
    name: good
    description: all the features
    seed: 9
    expect: {outcome: unauthorized, operation: mdminfo}
    faults:
      busy: {kind: retry_after, status: 503, retry_after_s: 2}
    rules:
      - name: discovery
        match:
          operation: mdminfo
          method: [get, HEAD]
          path: "*/ciscoise/mdminfo*"
          query: {ise_api_version: "[23]", paging: null}
          host: "*.JamfCloud.test"
        fault: unauthorized
        schedule: {after: 1, times: 2}
      - name: devices
        match: {operation: devices}
        schedule: {sequence: [reset, busy, status_500, {kind: delay, delay_ms: 5}, pass]}
      - name: connects
        match: {phase: connect, host: "*"}
        fault: {kind: delay, delay_ms: 10}
        schedule: {probability: 0.25}
    """
)


def test_a_good_file_parses_into_frozen_values(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    s = load_scenario(path)
    assert (s.name, s.seed, s.source) == ("good", 9, str(path))
    assert s.expect is not None and (s.expect.outcome, s.expect.operation) == (
        "unauthorized",
        "mdminfo",
    )
    discovery, devices, connects = s.rules
    assert discovery.match.methods == ("GET", "HEAD") and discovery.match.host == "*.jamfcloud.test"
    assert discovery.match.query == (("ise_api_version", "[23]"), ("paging", None))
    assert discovery.phase == "request" and discovery.line == 9
    assert (discovery.schedule.after, discovery.schedule.times) == (1, 2)
    steps = devices.schedule.sequence
    assert steps is not None and [None if x is None else x.kind for x in steps] == [
        "reset",
        "retry_after",
        "respond",
        "delay",
        None,
    ]
    assert steps[1].name == "busy" and steps[2].fault.status == 500  # type: ignore[union-attr]
    assert connects.phase == "connect" and connects.schedule.probability == 0.25
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]
    assert s.kinds() == {"unauthorized", "reset", "retry_after", "respond", "delay"}


def test_yaml_export_replays_to_the_same_scenario() -> None:
    s = parse_scenario(GOOD)
    text = s.to_yaml(comment="exported from a failing case\nseed 9")
    assert text.startswith("# exported from a failing case\n# seed 9\n")
    again = parse_scenario(text)
    assert again.to_dict() == s.to_dict()
    assert scenario_from_dict(s.to_dict()).to_dict() == s.to_dict()


def test_dicts_and_json_text_are_accepted() -> None:
    data = {"name": "d", "rules": [{"match": {"operation": "action"}, "fault": {"kind": "close"}}]}
    assert scenario_from_dict(data).rules[0].name == "rule-1"
    import json

    assert parse_scenario(json.dumps(data)).to_dict() == scenario_from_dict(data).to_dict()
    assert to_yaml(data).startswith("name: d\n")


def test_the_default_phase_comes_from_the_fault() -> None:
    s = scenario_from_dict(
        {"rules": [{"fault": {"kind": "xml_truncate"}}, {"fault": "tls_bad_cert"}]}
    )
    assert [r.phase for r in s.rules] == ["response", "tls"]


BAD = [
    # (yaml, line, field, problem fragment)
    (
        "name: x\nrules:\n  - fault: {kind: delay, delay_ms: soon}\n",
        3,
        "rules[0].fault.delay_ms",
        "expected an integer, got str 'soon'",
    ),
    (
        "name: x\nrules:\n  - fault:\n      kind: delay\n      delay_ms: -5\n",
        5,
        "rules[0].fault.delay_ms",
        "-5 is not between 0 and 600000",
    ),
    (
        "name: x\nrules:\n  - fault: {kind: teleport}\n",
        3,
        "rules[0].fault.kind",
        "unknown fault kind",
    ),
    (
        "name: x\nrules:\n  - match: {operation: devicez}\n    fault: close\n",
        3,
        "rules[0].match.operation",
        "'devicez' is not one of mdminfo, devices,",
    ),
    (
        "name: x\nrules:\n  - match: {phase: later}\n    fault: close\n",
        3,
        "rules[0].match.phase",
        "'later' is not one of connect, tls, request, response",
    ),
    (
        "name: x\nrules:\n  - match: {phase: connect, path: /x}\n    fault: close\n",
        3,
        "rules[0].match.path",
        "cannot be matched at phase 'connect'",
    ),
    (
        "name: x\nrules:\n  - match: {phase: request}\n    fault: tls_bad_cert\n",
        4,
        "rules[0].fault",
        "cannot act at phase 'request'",
    ),
    (
        "name: x\nrules:\n  - match: {path: x*}\n    fault: close\n",
        3,
        "rules[0].match.path",
        "starting with '/'",
    ),
    (
        "name: x\nrules:\n  - match: {method: 'G T'}\n    fault: close\n",
        3,
        "rules[0].match.method",
        "is not an HTTP method",
    ),
    (
        "name: x\nrules:\n  - fault: close\n    schedule: {times: 0}\n",
        4,
        "rules[0].schedule.times",
        "0 is less than 1",
    ),
    (
        "name: x\nrules:\n  - fault: close\n    schedule: {probability: 1.5}\n",
        4,
        "rules[0].schedule.probability",
        "1.5 is more than 1",
    ),
    (
        "name: x\nrules:\n  - schedule: {sequence: [pass]}\n",
        3,
        "rules[0].schedule.sequence",
        "only says 'pass'",
    ),
    (
        "name: x\nrules:\n  - schedule:\n      sequence:\n        - reset\n        - teleport\n",
        6,
        "rules[0].schedule.sequence[1]",
        "is not a fault kind",
    ),
    (
        "name: x\nrules:\n  - schedule: {sequence: [delay]}\n",
        3,
        "rules[0].schedule.sequence[0]",
        "delay needs parameters",
    ),
    (
        "name: x\nrules:\n  - schedule: {sequence: [reset], times: 2}\n",
        3,
        "rules[0].schedule.times",
        "cannot be combined",
    ),
    (
        "name: x\nrules:\n  - fault: reset\n    schedule: {sequence: [reset]}\n",
        4,
        "rules[0].schedule.sequence",
        "drop the rule's fault",
    ),
    ("name: x\nrules:\n  - match: {operation: mdminfo}\n", 3, "rules[0].fault", "missing"),
    ("name: x\nrules:\n  - fault: pass\n", 3, "rules[0].fault", "only meaningful in a sequence"),
    (
        "name: x\nrules:\n  - {name: a, fault: close}\n  - {name: a, fault: reset}\n",
        4,
        "rules[1].name",
        "duplicates the name",
    ),
    ("name: x\nrules:\n  - fault: close\n    when: always\n", 4, "rules[0].when", "unknown field"),
    ("name: x\nrulez: []\n", 2, "rulez", "unknown field; expected one of name, description,"),
    ("name: x\n", 1, "rules", "missing (a list of rules; it may be empty)"),
    ("name: 'a b'\nrules: []\n", 1, "name", "must be a plain name"),
    ('name: "a\\n"\nrules: []\n', 1, "name", "must be a plain name"),  # no trailing newline
    (
        'name: x\nrules:\n  - match: {method: "GET\\r\\n"}\n    fault: close\n',
        3,
        "rules[0].match.method",
        "is not an HTTP method",
    ),
    (
        "name: x\nrules:\n  - fault: {kind: respond, status: 200, status: 500}\n",
        3,
        "",
        "not valid YAML: duplicate key 'status'",
    ),
    ("name: x\nrules: &r []\nmore: *r\n", 3, "", "aliases (*r) are not allowed"),
    ("name: x\nrules:\n  - fault: {kind: xml_truncate, fraction: .nan}\n", 3, "", "NaN"),
    ("name: x\nseed: -1\nrules: []\n", 2, "seed", "-1 is less than 0"),
    ("name: x\nexpect: fine\nrules: []\n", 2, "expect", "'fine' is not one of ok, timeout,"),
    ("name: x\nexpect: {operation: mdminfo}\nrules: []\n", 2, "expect.outcome", "missing"),
    ("name: x\nfaults:\n  reset: {kind: close}\nrules: []\n", 3, "faults.reset", "is reserved"),
    ("name: x\nfaults:\n  f: {kind: delay}\nrules: []\n", 3, "faults.f.delay_ms", "missing"),
    (
        "name: x\nrules:\n  - fault: {kind: respond, body_file: nope.xml}\n",
        3,
        "rules[0].fault.body_file",
        "no such file",
    ),
    ("name: x\nrules: [\n", 3, "", "not valid YAML: while parsing a flow node"),
    (
        "name: x\nname: y\nrules: []\n",
        2,
        "",
        "not valid YAML: duplicate key 'name' (first on line 1)",
    ),
    ("", None, "", "the scenario is empty"),
]


@pytest.mark.parametrize(("text", "line", "field", "problem"), BAD)
def test_errors_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, problem: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    err = exc.value
    assert (err.path, err.line, err.field) == (str(path), line, field), str(err)
    assert problem in err.problem
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(err) == ": ".join(p for p in (where, field, err.problem) if p)
    assert "\n" not in str(err)


def test_dict_errors_have_no_line() -> None:
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict({"rules": [{"fault": {"kind": "hang", "max_ms": 0}}]})
    assert (
        exc.value.line is None
        and str(exc.value) == "<dict>: rules[0].fault.max_ms: 0 is not between 1 and 3600000"
    )


def test_odd_sources_are_errors_not_tracebacks(tmp_path: Path) -> None:
    long = "x" * 5000  # too long for a file name: Path.exists() itself raises
    with pytest.raises(ScenarioError, match="no such scenario file or library scenario"):
        load_scenario(long)
    good, errors = lint([tmp_path / long, tmp_path / "a\0b.yaml"])
    assert good == [] and len(errors) == 2
    assert "file name too long" in errors[0].problem and "not a valid path" in errors[1].problem
    with pytest.raises(ScenarioError, match=r"rules\[0\].match.query.3: a query parameter's name"):
        scenario_from_dict({"rules": [{"fault": "reset", "match": {"query": {3: "x"}}}]})
    q = scenario_from_dict({"rules": [{"fault": "reset", "match": {"query": {"paging": 0}}}]})
    assert q.rules[0].match.query == (("paging", "0"),)


def test_a_missing_file_and_an_unknown_library_name(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read: no such file"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="no such scenario file or library scenario"):
        load_scenario("no-such-scenario")


def test_body_file_resolves_against_the_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "doc.xml").write_text("<x/>")
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nrules:\n  - fault: {kind: respond, body_file: doc.xml}\n")
    fault = load_scenario(path).rules[0].fault
    assert fault is not None and fault.fault.body_file == str((tmp_path / "doc.xml").resolve())  # type: ignore[attr-defined]


def test_the_library_starts_with_the_seed_scenarios_and_every_file_says_what_it_models() -> None:
    names = library_names()
    assert {"seed-1-connection-timeout", "seed-2-not-found", "seed-3-unauthorized"} <= set(names)
    for name in names:
        s = load_scenario(name)
        assert s.name == name
        assert library_summary(name), f"{name} has no opening comment"
        assert s.expect is not None, f"{name} has no expectation"
    seed1, seed3 = load_scenario("seed-1-connection-timeout"), load_scenario("seed-3-unauthorized")
    assert seed1.rules[0].phase == "connect" and seed1.rules[0].fault.kind == "hang"  # type: ignore[union-attr]
    assert (
        seed3.rules[0].match.operations == ("mdminfo",) and seed3.expect.outcome == "unauthorized"
    )  # type: ignore[union-attr]
    (seed2,) = load_scenario("seed-2-not-found").rules  # the MDM's own 404 (issue 13)
    assert seed2.match.operations == ("mdminfo",) and seed2.fault.kind == "wrong_instance"  # type: ignore[union-attr]


def _imports_mitmproxy(module: str) -> bool:
    """Whether importing ``module`` in a fresh interpreter loads any mitmproxy module."""
    import subprocess
    import sys

    probe = f"import sys, {module}; print(any(m.split('.')[0] == 'mitmproxy' for m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip() == "True"


def test_scenarios_and_faults_load_without_mitmproxy() -> None:
    """The fault records and the scenario loader stay below the proxy: validating a scenario
    (as the contract cases do where they build one) never imports mitmproxy."""
    assert not _imports_mitmproxy("harness.scenario")
    assert not _imports_mitmproxy("harness.contracts.cases")
    # the probe bites: the proxy's fault runtime does load it
    assert _imports_mitmproxy("harness.proxy.runtime")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_to_spec_carries_any_text_through_the_proxy_loader(text: str) -> None:
    """Whatever text a case puts in a description, a query glob or a body, the proxy's loader
    reads back from ``to_spec`` exactly (YAML folds a raw NEL, refuses C1 controls...)."""
    from harness.contracts import _scenarios as sc

    rule = sc.rule(
        "r", sc.respond(200, text), operation="devices", phase="request", query={"q": text}
    )
    built = sc.scenario("any-text", [rule], description=text.strip() or "x")
    assert parse_scenario(to_spec(built), path="<request>") == built


@pytest.mark.parametrize("char", ["\x85", "\x7f", "\x9f", "\ufffe", "\uffff"])
def test_to_spec_escapes_what_yaml_would_change(char: str) -> None:
    """The characters a YAML reader folds or refuses go as ``\\uXXXX`` escapes; without them
    the proxy would read another scenario than the one built (the check bites: the raw text
    does not read back)."""
    from harness.contracts import _scenarios as sc

    built = sc.scenario("c", [sc.rule("r", "reset", operation="devices")], description=f"a{char}b")
    spec = to_spec(built)
    assert char not in spec and f"\\u{ord(char):04x}" in spec
    assert parse_scenario(spec, path="<request>") == built
    raw = json.dumps(built.to_dict(), ensure_ascii=False)
    try:
        assert parse_scenario(raw, path="<request>") != built  # NEL: folded
    except ScenarioError as exc:
        assert "is not allowed" in str(exc)  # the others: refused
