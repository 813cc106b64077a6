"""Scenario files: which attempts get which fault, when, and what a correct client concludes.

A scenario is YAML (see ``docs/scenarios.md`` for the schema) parsed once into frozen
dataclasses. Every error is a :class:`ScenarioError` naming the file, the line and the field::

    scenarios/bad.yaml:12: rules[0].fault.delay_ms: must be an integer, got 'soon'

Scenarios come from files, from the library (``scenarios/*.yaml``, installed as the
``harness.scenarios`` package), from YAML or JSON text, or from plain dicts - the contract
suite builds them programmatically with :func:`scenario_from_dict` and exports failing cases
with :func:`to_yaml` so they replay as files.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from harness._xml import error_document
from harness._yaml import YAMLSyntaxError, line_of
from harness._yaml import load as load_yaml
from harness.attempt import REQUEST_OPERATIONS
from harness.client.protocol import ERROR_CATEGORIES
from harness.faults import KINDS, PHASES, Fault, Phase, SpecError, fault_from_spec

__all__ = [
    "OUTCOMES",
    "Expectation",
    "FaultSpec",
    "Match",
    "Rule",
    "Scenario",
    "ScenarioError",
    "Schedule",
    "library_names",
    "library_scenario",
    "library_summary",
    "library_text",
    "lint",
    "load_scenario",
    "parse_scenario",
    "scenario_from_dict",
    "to_yaml",
]


#: What a client may report (DESIGN.md's adapter protocol): ``ok`` or an error category.
OUTCOMES: tuple[str, ...] = ("ok", *ERROR_CATEGORIES)

PASS = "pass"
_STATUS_SHORTHAND = re.compile(r"^status_([1-5]\d\d)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CONNECTION_PHASES = ("connect", "tls")
_KNOWN = frozenset(s.value for s in HTTPStatus)


class ScenarioError(ValueError):
    """A bad scenario: ``path``, ``line`` (1-based, ``None`` for dicts), ``field`` and ``problem``."""

    def __init__(self, path: str, line: int | None, field: str, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {field}: {problem}")
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class FaultSpec:
    """A fault as a scenario names it: its kind, its parameters, and the name it was given."""

    kind: str
    fault: Fault
    name: str | None = None

    @property
    def phases(self) -> tuple[Phase, ...]:
        """Where this kind can act (the first is its default)."""
        return tuple(KINDS[self.kind].phases)

    def to_data(self) -> dict[str, Any]:
        """``{"kind": ..., **params}`` (what ``fault:`` holds)."""
        return {"kind": self.kind, **self.fault.params()}

    def describe(self) -> dict[str, Any]:
        """The journal's view: ``kind`` and ``params``."""
        return {"kind": self.kind, "params": self.fault.params()}


@dataclass(frozen=True)
class Match:
    """What an attempt must look like for a rule to own it (empty = anything)."""

    phase: Phase
    methods: tuple[str, ...] = ()
    path: str | None = None
    query: tuple[tuple[str, str | None], ...] = ()
    operations: tuple[str, ...] = ()
    host: str | None = None

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"phase": self.phase}
        if self.methods:
            out["method"] = self.methods[0] if len(self.methods) == 1 else list(self.methods)
        if self.path is not None:
            out["path"] = self.path
        if self.query:
            out["query"] = dict(self.query)
        if self.operations:
            out["operation"] = (
                self.operations[0] if len(self.operations) == 1 else list(self.operations)
            )
        if self.host is not None:
            out["host"] = self.host
        return out


@dataclass(frozen=True)
class Schedule:
    """When a rule's fault fires among the attempts it owns (see docs/scenarios.md)."""

    times: int | None = None
    after: int = 0
    sequence: tuple[FaultSpec | None, ...] | None = None
    probability: float | None = None

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.after:
            out["after"] = self.after
        if self.times is not None:
            out["times"] = self.times
        if self.sequence is not None:
            out["sequence"] = [
                PASS if s is None else (s.name if s.name is not None else s.to_data())
                for s in self.sequence
            ]
        if self.probability is not None:
            out["probability"] = self.probability
        return out


@dataclass(frozen=True)
class Rule:
    """One rule: a name, a match, a fault (``None`` when the schedule is a sequence), a schedule."""

    name: str
    match: Match
    fault: FaultSpec | None
    schedule: Schedule = Schedule()
    line: int | None = None

    @property
    def phase(self) -> Phase:
        return self.match.phase

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "match": self.match.to_data()}
        if self.fault is not None:
            out["fault"] = self.fault.name if self.fault.name is not None else self.fault.to_data()
        schedule = self.schedule.to_data()
        if schedule:
            out["schedule"] = schedule
        return out


@dataclass(frozen=True)
class Expectation:
    """The outcome a correct client reports (``ok`` or an error category), for ``operation``."""

    outcome: str
    operation: str | None = None
    note: str | None = None

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome}
        if self.operation is not None:
            out["operation"] = self.operation
        if self.note is not None:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario. ``source`` is the file it came from, if any."""

    name: str
    description: str = ""
    seed: int | None = None
    rules: tuple[Rule, ...] = ()
    faults: tuple[tuple[str, FaultSpec], ...] = ()
    expect: Expectation | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data in the file schema (``scenario_from_dict`` reads it back)."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.seed is not None:
            out["seed"] = self.seed
        if self.expect is not None:
            out["expect"] = self.expect.to_data()
        if self.faults:
            out["faults"] = {name: spec.to_data() for name, spec in self.faults}
        out["rules"] = [rule.to_data() for rule in self.rules]
        return out

    def to_yaml(self, comment: str | None = None) -> str:
        """The scenario as a YAML file (with ``comment`` lines on top)."""
        return to_yaml(self.to_dict(), comment=comment)

    def kinds(self) -> set[str]:
        """Every fault kind the scenario can fire."""
        out = {spec.kind for _, spec in self.faults}
        for rule in self.rules:
            if rule.fault is not None:
                out.add(rule.fault.kind)
            for step in rule.schedule.sequence or ():
                if step is not None:
                    out.add(step.kind)
        return out


# -- parsing ---------------------------------------------------------------------------------


class _Builder:
    """Turns loaded YAML (round-trip nodes with line numbers) or plain data into a Scenario."""

    def __init__(self, path: str, base_dir: Path | None) -> None:
        self.path = path
        self.base_dir = base_dir
        self.named: dict[str, FaultSpec] = {}

    def fail(self, field: str, line: int | None, problem: str) -> ScenarioError:
        return ScenarioError(self.path, line, field, problem)

    def mapping(
        self, node: Any, field: str, line: int | None, allowed: Iterable[str]
    ) -> Mapping[str, Any]:
        if not isinstance(node, Mapping):
            raise self.fail(field, line, f"must be a mapping, got {_show(node)}")
        allowed = tuple(allowed)
        for key in node:
            if key not in allowed:
                raise self.fail(
                    f"{field}.{key}" if field else str(key),
                    line_of(node, key),
                    f"unknown key (expected one of {', '.join(allowed)})",
                )
        return node

    # -- top level

    def scenario(self, data: Any, default_name: str) -> Scenario:
        if data is None:
            raise self.fail("(document)", 1, "is empty")
        top = self.mapping(
            data, "", line_of(data), ("name", "description", "seed", "expect", "faults", "rules")
        )
        name = top.get("name", default_name)
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(
                "name", line_of(top, "name", value=True), f"must be a plain name, got {_show(name)}"
            )
        description = top.get("description") or ""
        if not isinstance(description, str):
            raise self.fail("description", line_of(top, "description", value=True), "must be text")
        seed = top.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise self.fail(
                "seed",
                line_of(top, "seed", value=True),
                f"must be an integer >= 0, got {_show(seed)}",
            )
        faults = self.named_faults(top.get("faults"), line_of(top, "faults", value=True))
        expect = (
            self.expectation(top["expect"], line_of(top, "expect", value=True))
            if top.get("expect") is not None
            else None
        )
        if "rules" not in top:
            raise self.fail("rules", line_of(top), "is required (a list of rules, may be empty)")
        rules_node = top["rules"] if top["rules"] is not None else []
        if not isinstance(rules_node, Sequence) or isinstance(rules_node, str):
            raise self.fail("rules", line_of(top, "rules", value=True), "must be a list of rules")
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(rules_node):
            rule = self.rule(item, f"rules[{i}]", line_of(rules_node, i), i)
            if rule.name in seen:
                raise self.fail(
                    f"rules[{i}].name",
                    rule.line,
                    f"duplicates the name of rules[{seen[rule.name]}]",
                )
            seen[rule.name] = i
            rules.append(rule)
        return Scenario(
            name=name,
            description=description.strip(),
            seed=seed,
            rules=tuple(rules),
            faults=faults,
            expect=expect,
        )

    def named_faults(self, node: Any, line: int | None) -> tuple[tuple[str, FaultSpec], ...]:
        if node is None:
            return ()
        if not isinstance(node, Mapping):
            raise self.fail("faults", line, "must be a mapping of names to faults")
        out = []
        for key, spec in node.items():
            field = f"faults.{key}"
            key_line = line_of(node, key)
            if not isinstance(key, str) or not _NAME.match(key):
                raise self.fail(field, key_line, "is not a plain name")
            if key == PASS or key in KINDS or _STATUS_SHORTHAND.match(key):
                raise self.fail(
                    field,
                    key_line,
                    "is reserved (a fault kind, 'pass' or status_NNN); pick another name",
                )
            built = dataclasses.replace(
                self.fault_mapping(spec, field, line_of(node, key, value=True)), name=key
            )
            self.named[key] = built
            out.append((key, built))
        return tuple(out)

    def expectation(self, node: Any, line: int | None) -> Expectation:
        if isinstance(node, str):
            node = {"outcome": node}
        m = self.mapping(node, "expect", line, ("outcome", "operation", "note"))
        outcome = m.get("outcome")
        if outcome not in OUTCOMES:
            raise self.fail(
                "expect.outcome",
                line_of(m, "outcome", value=True) or line,
                f"must be one of {', '.join(OUTCOMES)}, got {_show(outcome)}",
            )
        operation = m.get("operation")
        if operation is not None and operation not in REQUEST_OPERATIONS:
            raise self.fail(
                "expect.operation",
                line_of(m, "operation", value=True),
                f"must be one of {', '.join(REQUEST_OPERATIONS)}, got {_show(operation)}",
            )
        note = m.get("note")
        if note is not None and not isinstance(note, str):
            raise self.fail("expect.note", line_of(m, "note", value=True), "must be text")
        return Expectation(outcome=outcome, operation=operation, note=note)

    # -- rules

    def rule(self, node: Any, field: str, line: int | None, index: int) -> Rule:
        m = self.mapping(node, field, line, ("name", "match", "fault", "schedule"))
        line = line_of(m) or line
        name = m.get("name", f"rule-{index + 1}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(
                f"{field}.name",
                line_of(m, "name", value=True),
                f"must be a plain name, got {_show(name)}",
            )
        fault = None
        if m.get("fault") is not None:
            fault = self.fault_ref(
                m["fault"], f"{field}.fault", line_of(m, "fault", value=True), allow_pass=False
            )
        schedule, steps = self.schedule(
            m.get("schedule"), f"{field}.schedule", line_of(m, "schedule", value=True)
        )
        if fault is None and schedule.sequence is None:
            raise self.fail(f"{field}.fault", line, "is required (or give schedule.sequence)")
        if fault is not None and schedule.sequence is not None:
            raise self.fail(
                f"{field}.schedule.sequence",
                line_of(m, "schedule", value=True),
                "names the faults itself; drop the rule's fault",
            )
        match_node = m.get("match") if m.get("match") is not None else {}
        match_line = line_of(m, "match", value=True) or line
        used = [fault] if fault is not None else [s for s in steps if s is not None]
        match = self.match(match_node, f"{field}.match", match_line, used)
        if fault is not None:
            self.check_phase(fault, match.phase, f"{field}.fault", line_of(m, "fault", value=True))
        for i, step in enumerate(schedule.sequence or ()):
            if step is not None:
                self.check_phase(step, match.phase, f"{field}.schedule.sequence[{i}]", match_line)
        return Rule(name=name, match=match, fault=fault, schedule=schedule, line=line)

    def check_phase(self, spec: FaultSpec, phase: Phase, field: str, line: int | None) -> None:
        if phase not in spec.phases:
            raise self.fail(
                field,
                line,
                f"{spec.kind} cannot act at phase {phase!r} (it can at: {', '.join(spec.phases)})",
            )

    def match(self, node: Any, field: str, line: int | None, faults: list[FaultSpec]) -> Match:
        m = self.mapping(
            node, field, line, ("phase", "method", "path", "query", "operation", "host")
        )
        if m.get("phase") is not None:
            phase = m["phase"]
            if phase not in PHASES:
                raise self.fail(
                    f"{field}.phase",
                    line_of(m, "phase", value=True),
                    f"must be one of {', '.join(PHASES)}, got {_show(phase)}",
                )
        else:
            defaults = {f.phases[0] for f in faults}
            if len(defaults) > 1:
                raise self.fail(
                    f"{field}.phase",
                    line,
                    f"is required: the faults default to different phases ({', '.join(sorted(defaults))})",
                )
            phase = defaults.pop() if defaults else "request"
        if phase in _CONNECTION_PHASES:
            for key in ("method", "path", "query", "operation"):
                if m.get(key) is not None:
                    raise self.fail(
                        f"{field}.{key}",
                        line_of(m, key),
                        f"cannot be matched at phase {phase!r} (no request yet; only host)",
                    )
        methods = self.strings(
            m.get("method"), f"{field}.method", line_of(m, "method", value=True), upper=True
        )
        for method in methods:
            if not _TOKEN.match(method):
                raise self.fail(
                    f"{field}.method",
                    line_of(m, "method", value=True),
                    f"{method!r} is not an HTTP method",
                )
        operations = self.strings(
            m.get("operation"), f"{field}.operation", line_of(m, "operation", value=True)
        )
        for op in operations:
            if op not in REQUEST_OPERATIONS:
                raise self.fail(
                    f"{field}.operation",
                    line_of(m, "operation", value=True),
                    f"must be one of {', '.join(REQUEST_OPERATIONS)}, got {op!r}",
                )
        path = m.get("path")
        if path is not None and (not isinstance(path, str) or not path.startswith(("/", "*"))):
            raise self.fail(
                f"{field}.path",
                line_of(m, "path", value=True),
                f"must be a glob starting with '/' or '*', got {_show(path)}",
            )
        host = m.get("host")
        if host is not None and (not isinstance(host, str) or not host):
            raise self.fail(
                f"{field}.host",
                line_of(m, "host", value=True),
                f"must be a host name glob, got {_show(host)}",
            )
        query: list[tuple[str, str | None]] = []
        if m.get("query") is not None:
            q = m["query"]
            if not isinstance(q, Mapping):
                raise self.fail(
                    f"{field}.query",
                    line_of(m, "query", value=True),
                    "must map parameter names to values or globs",
                )
            for key, value in q.items():
                if isinstance(value, bool) or not isinstance(value, str | int | type(None)):
                    raise self.fail(
                        f"{field}.query.{key}",
                        line_of(q, key, value=True),
                        f"must be a value, a glob or null (absent), got {_show(value)}",
                    )
                query.append((str(key), None if value is None else str(value)))
        return Match(
            phase=phase,
            methods=methods,
            path=path,
            query=tuple(query),
            operations=operations,
            host=host.lower() if host else None,
        )

    def strings(
        self, node: Any, field: str, line: int | None, *, upper: bool = False
    ) -> tuple[str, ...]:
        if node is None:
            return ()
        items = [node] if isinstance(node, str) else node
        if (
            not isinstance(items, Sequence)
            or not items
            or not all(isinstance(x, str) and x for x in items)
        ):
            raise self.fail(
                field, line, f"must be a string or a non-empty list of strings, got {_show(node)}"
            )
        return tuple(x.upper() if upper else x for x in items)

    def schedule(
        self, node: Any, field: str, line: int | None
    ) -> tuple[Schedule, list[FaultSpec | None]]:
        if node is None:
            return Schedule(), []
        m = self.mapping(node, field, line, ("times", "after", "sequence", "probability"))
        times = m.get("times")
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise self.fail(
                f"{field}.times",
                line_of(m, "times", value=True),
                f"must be an integer >= 1, got {_show(times)}",
            )
        after = m.get("after", 0)
        if after is None:
            after = 0
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise self.fail(
                f"{field}.after",
                line_of(m, "after", value=True),
                f"must be an integer >= 0, got {_show(after)}",
            )
        probability = m.get("probability")
        if probability is not None:
            if (
                isinstance(probability, bool)
                or not isinstance(probability, int | float)
                or not 0 < probability <= 1
            ):
                raise self.fail(
                    f"{field}.probability",
                    line_of(m, "probability", value=True),
                    f"must be a number in (0, 1], got {_show(probability)}",
                )
            probability = float(probability)
        steps: list[FaultSpec | None] = []
        sequence = None
        if m.get("sequence") is not None:
            seq = m["sequence"]
            seq_line = line_of(m, "sequence", value=True)
            if not isinstance(seq, Sequence) or isinstance(seq, str) or not seq:
                raise self.fail(
                    f"{field}.sequence", seq_line, "must be a non-empty list of faults and 'pass'"
                )
            for i, item in enumerate(seq):
                steps.append(
                    self.fault_ref(
                        item, f"{field}.sequence[{i}]", line_of(seq, i) or seq_line, allow_pass=True
                    )
                )
            if all(s is None for s in steps):
                raise self.fail(
                    f"{field}.sequence", seq_line, "only says 'pass'; a rule must be able to fire"
                )
            if times is not None or probability is not None:
                which = "times" if times is not None else "probability"
                raise self.fail(
                    f"{field}.{which}",
                    line_of(m, which),
                    "cannot be combined with sequence (the sequence says what each attempt gets)",
                )
            sequence = tuple(steps)
        return Schedule(times=times, after=after, sequence=sequence, probability=probability), steps

    # -- faults

    def fault_ref(
        self, node: Any, field: str, line: int | None, *, allow_pass: bool
    ) -> FaultSpec | None:
        if isinstance(node, str):
            if node == PASS:
                if allow_pass:
                    return None
                raise self.fail(field, line, "'pass' is only meaningful in a sequence")
            if node in self.named:
                return self.named[node]
            m = _STATUS_SHORTHAND.match(node)
            if m:
                status = int(m.group(1))
                body = error_document(
                    status, HTTPStatus(status).phrase if status in _KNOWN else "error"
                )
                spec = self.build_fault(
                    {"kind": "respond", "status": status, "body": body.decode()}, field, line
                )
                return dataclasses.replace(spec, name=node)
            if node in KINDS:
                try:
                    return FaultSpec(node, fault_from_spec({"kind": node}), name=node)
                except SpecError as exc:
                    raise self.fail(
                        field,
                        line,
                        f"{node} needs parameters ({exc}); define it under faults: or write it as a mapping",
                    ) from None
            raise self.fail(
                field,
                line,
                f"{node!r} is not a fault kind, a name under faults:, status_NNN or 'pass'",
            )
        return self.fault_mapping(node, field, line)

    def fault_mapping(self, node: Any, field: str, line: int | None) -> FaultSpec:
        if not isinstance(node, Mapping):
            raise self.fail(
                field,
                line,
                f"must be a fault (a mapping with kind) or a fault's name, got {_show(node)}",
            )
        return self.build_fault(node, field, line_of(node) or line)

    def build_fault(self, node: Mapping[str, Any], field: str, line: int | None) -> FaultSpec:
        try:
            fault = fault_from_spec(dict(node))
        except SpecError as exc:
            head = exc.field.split(".", 1)[0]
            where = line_of(node, head, value=True) if head in node else line
            raise self.fail(f"{field}.{exc.field}", where, exc.problem) from None
        body_file = getattr(fault, "body_file", None)
        if body_file is not None:
            resolved = Path(body_file)
            if not resolved.is_absolute() and self.base_dir is not None:
                resolved = self.base_dir / resolved
            if not resolved.is_file():
                raise self.fail(
                    f"{field}.body_file",
                    line_of(node, "body_file", value=True) or line,
                    f"no such file: {resolved}",
                )
            fault = dataclasses.replace(fault, body_file=str(resolved.resolve()))  # type: ignore[type-var]
        return FaultSpec(str(node["kind"]), fault)


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:55] + "...'"


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def _load_yaml(text: str, path: str) -> Any:
    try:
        return load_yaml(text)
    except YAMLSyntaxError as exc:
        raise ScenarioError(path, exc.line, "(yaml)", exc.problem) from None


def parse_scenario(text: str, *, path: str = "<string>", name: str = "inline") -> Scenario:
    """Parse scenario YAML (or JSON) ``text``; ``path`` and ``name`` are for messages and defaults."""
    base = Path(path).parent if not path.startswith("<") else None
    data = _load_yaml(text, path)
    scenario = _Builder(path, base).scenario(data, name)
    return dataclasses.replace(scenario, source=None if path.startswith("<") else path)


def scenario_from_dict(data: Mapping[str, Any], *, path: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data (same schema as the files)."""
    return _Builder(path, None).scenario(data, "inline")


def load_scenario(source: str | Path) -> Scenario:
    """A scenario from a file path or, when ``source`` is a bare name, from the library."""
    text_source = str(source)
    path = Path(source)
    if (
        isinstance(source, Path)
        or path.suffix in (".yaml", ".yml")
        or "/" in text_source
        or path.exists()
    ):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(text_source, None, "(file)", exc.strerror or str(exc)) from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(text_source, None, "(file)", f"not UTF-8 ({exc.reason})") from None
        return parse_scenario(text, path=text_source, name=path.stem)
    return library_scenario(text_source)


def library_scenario(name: str) -> Scenario:
    """Library scenario ``name`` (never a file path)."""
    return parse_scenario(library_text(name), path=f"scenarios/{name}.yaml", name=name)


def to_yaml(scenario: Scenario | Mapping[str, Any], *, comment: str | None = None) -> str:
    """YAML text for a scenario (or its dict form); ``comment`` lines go on top, as ``# ...``."""
    data = scenario.to_dict() if isinstance(scenario, Scenario) else _plain(scenario)
    yaml = _yaml()
    yaml.default_flow_style = False
    yaml.width = 100
    out = io.StringIO()
    if comment:
        for line in comment.strip().splitlines():
            out.write(f"# {line}".rstrip() + "\n")
    yaml.dump(data, out)
    return out.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# -- the library -----------------------------------------------------------------------------


def _library() -> Any:
    return importlib.resources.files("harness.scenarios")


def library_names() -> list[str]:
    """The names of the scenarios shipped in the library, sorted."""
    return sorted(p.name[: -len(".yaml")] for p in _library().iterdir() if p.name.endswith(".yaml"))


def library_text(name: str) -> str:
    """The YAML text of library scenario ``name``; ``ScenarioError`` if there is none."""
    if not _NAME.match(name) or name not in library_names():
        known = ", ".join(library_names())
        raise ScenarioError(
            name, None, "(library)", f"no such scenario file or library scenario (library: {known})"
        )
    text: str = (_library() / f"{name}.yaml").read_text(encoding="utf-8")
    return text


def library_summary(name: str) -> str:
    """The first line of the comment that opens library scenario ``name``."""
    for line in library_text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""


def lint(paths: Iterable[str | Path]) -> tuple[list[Scenario], list[ScenarioError]]:
    """Parse every file (directories: their ``*.yaml``); return the good ones and every error."""
    good: list[Scenario] = []
    errors: list[ScenarioError] = []
    for raw in paths:
        path = Path(raw)
        files = (
            sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
        )
        for file in files:
            try:
                good.append(load_scenario(file))
            except ScenarioError as exc:
                errors.append(exc)
    return good, errors
