"""Scenario files: which attempts get which fault, when, and what a correct client concludes.

A scenario is YAML (see ``docs/scenarios.md`` for the schema) parsed once into frozen
dataclasses. Every error is a :class:`ScenarioError` naming the file, the line and the field::

    scenarios/bad.yaml:12: rules[0].fault.delay_ms: expected an integer, got str 'soon'

Scenarios come from files, from the library (``scenarios/*.yaml``, installed as the
``harness.scenarios`` package), from YAML or JSON text, or from plain dicts; the contract
suite builds the dataclasses themselves, checks them with :func:`validated` where it builds
them, sends them to the proxy as :func:`to_spec` text and exports failing cases with
:func:`to_yaml` so they replay as files. Every source is read by the one hardened loader
(:mod:`harness._yaml`, through :class:`harness.fields.Fields`) within the scenario limits of
:data:`harness.fields.LIMITS`. Only a scenario *file* may name a ``body_file``, and only a
regular file inside its own directory.

Over 400 lines: the dataclasses, the one loader that checks them (each error naming its
field) and their serialisation (``to_dict``, ``to_spec``, ``to_yaml``) change together; the
library lookups at the end are small.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.resources
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path, PurePosixPath
from typing import Any

from harness._xml import error_document
from harness._yaml import show
from harness.attempt import REQUEST_OPERATIONS
from harness.client.protocol import ERROR_CATEGORIES
from harness.faults import KINDS, PHASES, Fault, Phase, SpecError, fault_from_spec
from harness.faults.respond import Respond
from harness.fields import LIMITS, FieldError, Fields, read_text

__all__ = [
    "OUTCOMES",
    "Expectation",
    "FaultSpec",
    "Match",
    "Rule",
    "Scenario",
    "ScenarioError",
    "Schedule",
    "fault_named",
    "library_names",
    "library_scenario",
    "library_summary",
    "library_text",
    "lint",
    "load_scenario",
    "parse_scenario",
    "scenario_from_dict",
    "to_spec",
    "to_yaml",
    "validated",
]


#: What a client may report (the adapter protocol, ``docs/clients.md``): ``ok`` or an error category.
OUTCOMES: tuple[str, ...] = ("ok", *ERROR_CATEGORIES)

PASS = "pass"
_STATUS_SHORTHAND = re.compile(r"status_([1-5]\d\d)\Z")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_CONNECTION_PHASES = ("connect", "tls")
_KNOWN = frozenset(s.value for s in HTTPStatus)


class ScenarioError(FieldError):
    """A bad scenario: a :class:`~harness.fields.FieldError` - ``file:line: field: problem``,
    with ``.path``, ``.line`` (1-based, ``None`` for dicts), ``.field`` and ``.problem``."""


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
        """``{"kind": ..., **params}`` (what ``fault:`` holds), self-contained: a body file's
        bytes are written out as ``body_base64`` (kept as a path only if it cannot be read)."""
        fault = self.fault
        if isinstance(fault, Respond) and fault.body_file is not None:
            with contextlib.suppress(OSError):
                fault = fault.inlined()
        return {"kind": self.kind, **fault.params()}

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
    #: Where the rule was written (for messages); not part of what the rule is.
    line: int | None = dataclasses.field(default=None, compare=False)

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

#: The most rules a scenario may have (each request is matched against them in order).
MAX_RULES = 10_000


class _Builder:
    """Turns a loaded document (lines kept) or plain data, read through Fields, into a Scenario.

    ``base_dir`` is the directory a ``body_file`` may name files in (``None``: none at all).
    """

    def __init__(self, base_dir: Path | None) -> None:
        self.base_dir = base_dir
        self.named: dict[str, FaultSpec] = {}

    # -- top level

    def scenario(self, top: Fields, default_name: str) -> Scenario:
        top.check_keys(("name", "description", "seed", "expect", "faults", "rules"))
        name = _name(top, "name", default_name)
        description = top.text("description", "", max_len=10_000)
        seed = top.integer("seed", None, low=0)
        faults = self.named_faults(top.mapping("faults", None))
        expect = self.expectation(top) if "expect" in top else None
        if "rules" not in top.node:
            raise top.missing("rules", "a list of rules; it may be empty")
        rules_node = top.sequence("rules", [], max_len=MAX_RULES)
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for i in rules_node.indexes():
            rule = self.rule(rules_node, i)
            if rule.name in seen:
                raise rules_node.mapping(i).fail(
                    "name" if "name" in rules_node.mapping(i) else None,
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

    def named_faults(self, node: Fields) -> tuple[tuple[str, FaultSpec], ...]:
        out = []
        for key in list(node.node):
            if not isinstance(key, str) or not _NAME.match(key):
                raise node.fail(str(key), "is not a plain name", value=False)
            if key == PASS or key in KINDS or _STATUS_SHORTHAND.match(key):
                raise node.fail(
                    key,
                    "is reserved (a fault kind, 'pass' or status_NNN); pick another name",
                    value=False,
                )
            built = dataclasses.replace(self.fault_mapping(node, key), name=key)
            self.named[key] = built
            out.append((key, built))
        return tuple(out)

    def expectation(self, top: Fields) -> Expectation:
        if isinstance(top.raw("expect"), str):
            outcome = top.choice("expect", OUTCOMES)
            return Expectation(outcome=outcome)
        m = top.mapping("expect")
        m.check_keys(("outcome", "operation", "note"), required=("outcome",))
        return Expectation(
            outcome=m.choice("outcome", OUTCOMES),
            operation=m.choice("operation", REQUEST_OPERATIONS, None),
            note=m.text("note", None, max_len=10_000),
        )

    # -- rules

    def rule(self, rules: Fields, index: int) -> Rule:
        m = rules.mapping(index)
        m.check_keys(("name", "match", "fault", "schedule"))
        name = _name(m, "name", f"rule-{index + 1}")
        fault = None
        if "fault" in m:
            fault = self.fault_ref(m, "fault", allow_pass=False)
        schedule, steps = self.schedule(m)
        if fault is None and schedule.sequence is None:
            raise m.missing("fault", "or give schedule.sequence")
        if fault is not None and schedule.sequence is not None:
            raise m.mapping("schedule").fail(
                "sequence", "names the faults itself; drop the rule's fault"
            )
        used = [fault] if fault is not None else [s for s in steps if s is not None]
        match_node = m.mapping("match", None)
        match = self.match(match_node, used)
        if fault is not None:
            self.check_phase(fault, match.phase, m, "fault")
        sequence = m.mapping("schedule").sequence("sequence") if schedule.sequence else None
        for i, step in enumerate(schedule.sequence or ()):
            if step is not None and sequence is not None:
                self.check_phase(step, match.phase, sequence, i)
        return Rule(name=name, match=match, fault=fault, schedule=schedule, line=m.line)

    def check_phase(self, spec: FaultSpec, phase: Phase, node: Fields, key: str | int) -> None:
        if phase not in spec.phases:
            raise node.fail(
                key,
                f"{spec.kind} cannot act at phase {phase!r} (it can at: {', '.join(spec.phases)})",
            )

    def match(self, m: Fields, faults: list[FaultSpec]) -> Match:
        m.check_keys(("phase", "method", "path", "query", "operation", "host"))
        if "phase" in m:
            phase: Phase = m.choice("phase", PHASES)
        else:
            defaults = {f.phases[0] for f in faults}
            if len(defaults) > 1:
                raise m.missing(
                    "phase",
                    f"the faults default to different phases: {', '.join(sorted(defaults))}",
                )
            phase = defaults.pop() if defaults else "request"
        if phase in _CONNECTION_PHASES:
            for key in ("method", "path", "query", "operation"):
                if key in m:
                    raise m.fail(
                        key,
                        f"cannot be matched at phase {phase!r} (no request yet; only host)",
                        value=False,
                    )
        methods = tuple(x.upper() for x in _strings(m, "method"))
        for method in methods:
            if not _TOKEN.match(method):
                raise m.fail("method", f"{method[:40]!r} is not an HTTP method")
        operations = _strings(m, "operation")
        for op in operations:
            if op not in REQUEST_OPERATIONS:
                raise m.fail(
                    "operation", f"{op[:40]!r} is not one of {', '.join(REQUEST_OPERATIONS)}"
                )
        path = m.text("path", None, max_len=4096)
        if path is not None and not path.startswith(("/", "*")):
            raise m.fail("path", f"must be a glob starting with '/' or '*', got {path[:40]!r}")
        host = m.text("host", None, non_empty=True, max_len=1024)
        query: list[tuple[str, str | None]] = []
        q = m.mapping("query", None)
        for key in list(q.node):
            if not isinstance(key, str) or not key:
                raise q.fail(str(key), "a query parameter's name must be text", value=False)
            value = q.node[key]
            if isinstance(value, bool) or not isinstance(value, str | int | type(None)):
                raise q.fail(key, f"expected a value, a glob or null (absent), got {show(value)}")
            if isinstance(value, str):
                value = q.text(key, max_len=4096)
            elif isinstance(value, int):
                value = q.integer(key)
            query.append((key, None if value is None else str(value)))
        return Match(
            phase=phase,
            methods=methods,
            path=path,
            query=tuple(query),
            operations=operations,
            host=host.lower() if host else None,
        )

    def schedule(self, rule: Fields) -> tuple[Schedule, list[FaultSpec | None]]:
        if "schedule" not in rule:
            rule.raw("schedule", None)
            return Schedule(), []
        m = rule.mapping("schedule")
        m.check_keys(("times", "after", "sequence", "probability"))
        times = m.integer("times", None, low=1)
        after = m.integer("after", 0, low=0)
        probability = m.number("probability", None, above=0.0, high=1.0)
        steps: list[FaultSpec | None] = []
        sequence = None
        if "sequence" in m:
            seq = m.sequence("sequence", min_len=1)
            for i in seq.indexes():
                steps.append(self.fault_ref(seq, i, allow_pass=True))
            if all(s is None for s in steps):
                raise m.fail("sequence", "only says 'pass'; a rule must be able to fire")
            if times is not None or probability is not None:
                which = "times" if times is not None else "probability"
                raise m.fail(
                    which,
                    "cannot be combined with sequence (the sequence says what each attempt gets)",
                    value=False,
                )
            sequence = tuple(steps)
        return Schedule(times=times, after=after, sequence=sequence, probability=probability), steps

    # -- faults

    def fault_ref(self, parent: Fields, key: str | int, *, allow_pass: bool) -> FaultSpec | None:
        """The fault at ``parent[key]``: a mapping, a kind, a name, status_NNN (or 'pass')."""
        node = parent.raw(key)
        if not isinstance(node, str):
            return self.fault_mapping(parent, key)
        if node == PASS:
            if allow_pass:
                return None
            raise parent.fail(key, "'pass' is only meaningful in a sequence")
        if node in self.named:
            return self.named[node]
        status = _STATUS_SHORTHAND.match(node)
        if status:
            code = int(status.group(1))
            body = error_document(code, HTTPStatus(code).phrase if code in _KNOWN else "error")
            spec = {"kind": "respond", "status": code, "body": body.decode()}
            fault = fault_from_spec(parent.child(key, spec))
            return FaultSpec("respond", fault, name=node)
        if node in KINDS:
            try:
                fault = fault_from_spec(parent.child(key, {"kind": node}))
            except FieldError as exc:
                raise parent.fail(
                    key,
                    f"{node} needs parameters ({exc.field.rsplit('.', 1)[-1]}: {exc.problem}); "
                    "define it under faults: or write it as a mapping",
                ) from None
            return FaultSpec(node, fault, name=node)
        raise parent.fail(
            key, f"{node[:40]!r} is not a fault kind, a name under faults:, status_NNN or 'pass'"
        )

    def fault_mapping(self, parent: Fields, key: str | int) -> FaultSpec:
        value = parent.raw(key)
        if not isinstance(value, Mapping):
            raise parent.fail(
                key, f"expected a fault (a mapping with kind) or a fault's name, got {show(value)}"
            )
        node = parent.mapping(key)
        try:
            fault = fault_from_spec(node)
        except SpecError as exc:
            # A fault module raised a bare SpecError of its own (field, problem).
            if exc.source:
                raise
            raise node.fail(exc.field.split(".", 1)[0] or None, exc.problem) from None
        if isinstance(fault, Respond) and fault.body_file is not None:
            fault = dataclasses.replace(fault, body_file=self.body_file(node, fault.body_file))
        return FaultSpec(fault.kind, fault)

    def body_file(self, node: Fields, name: str) -> str:
        """The real path of ``body_file`` ``name``, a regular file in the scenario's directory."""
        if self.base_dir is None:
            raise node.fail(
                "body_file",
                "only a scenario file can name a file, and only in its own directory; "
                "this scenario has none (use body or body_base64)",
            )
        if "\0" in name:
            raise node.fail("body_file", "must not contain a NUL character")
        parts = PurePosixPath(name).parts
        if os.path.isabs(name) or name.startswith("~"):
            raise node.fail("body_file", "must be a path relative to the scenario's directory")
        if ".." in parts:
            raise node.fail("body_file", "must not leave the scenario's directory ('..')")
        root = os.path.realpath(self.base_dir)
        real = os.path.realpath(os.path.join(root, name))
        if os.path.commonpath((root, real)) != root:
            raise node.fail("body_file", "is a symbolic link that leaves the scenario's directory")
        try:
            mode = os.stat(real).st_mode
        except OSError as exc:
            raise node.fail("body_file", f"cannot read {name[:80]!r}: {_reason(exc)}") from None
        if not stat.S_ISREG(mode):
            raise node.fail("body_file", f"{name[:80]!r} is not a regular file")
        return real


def _name(node: Fields, key: str, default: str) -> str:
    value = node.text(key, default, max_len=200)
    if not _NAME.match(value):
        raise node.fail(key, f"must be a plain name (letters, digits, _ . -), got {value[:40]!r}")
    return value


def _strings(node: Fields, key: str) -> tuple[str, ...]:
    """A string or a non-empty list of strings at ``key`` (none when absent)."""
    value = node.raw(key, None)
    if value is None:
        return ()
    if isinstance(value, str):
        return (node.text(key, non_empty=True, max_len=256),)
    if not isinstance(value, list) or not value:
        raise node.fail(key, f"expected a string or a non-empty list of strings, got {show(value)}")
    items = node.sequence(key, max_len=100)
    return tuple(items.text(i, non_empty=True, max_len=256) for i in items.indexes())


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _load(text: str, source: str) -> Fields:
    limits = LIMITS["scenario"]
    return Fields.load(
        text,
        source=source,
        max_bytes=limits.max_bytes,
        max_depth=limits.max_depth,
        max_nodes=limits.max_nodes,
        kind="scenario",
        error=ScenarioError,
    )


def parse_scenario(
    text: str,
    *,
    path: str = "<string>",
    name: str = "inline",
    base_dir: str | os.PathLike[str] | None = None,
) -> Scenario:
    """Parse scenario YAML (or JSON) ``text``; ``path`` and ``name`` are for messages and
    defaults. Only with ``base_dir`` may a ``body_file`` name a file (one in that directory)."""
    top = _load(text, path)
    base = Path(base_dir) if base_dir is not None else None
    scenario = _Builder(base).scenario(top, name)
    return dataclasses.replace(scenario, source=None if path.startswith("<") else path)


def scenario_from_dict(data: Mapping[str, Any], *, path: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data (same schema as the files; no ``body_file``)."""
    if not isinstance(data, Mapping):
        raise ScenarioError(path, None, "", f"expected a mapping, got {show(data)}")
    return _Builder(None).scenario(Fields(data, source=path, error=ScenarioError), "inline")


def scenario_from_fields(node: Fields) -> Scenario:
    """Validate a scenario held inside another file (a replay file's ``case.scenario``): the
    errors are the outer file's error type, with its name, line and field path."""
    return _Builder(None).scenario(node, "inline")


def fault_named(name: str) -> FaultSpec:
    """The fault a scenario means by ``name``: a kind that needs no parameters (``reset``) or
    an answer shorthand (``status_503``); a :class:`ScenarioError` for anything else."""
    node = Fields({"fault": name}, source="<fault>", error=ScenarioError)
    spec = _Builder(None).fault_ref(node, "fault", allow_pass=False)
    if spec is None:  # unreachable: without allow_pass, 'pass' is refused
        raise node.fail("fault", "names no fault")
    return spec


def validated(scenario: Scenario) -> Scenario:
    """``scenario`` itself once the scenario loader has read it back unchanged from its plain
    data (:meth:`Scenario.to_dict`); a :class:`ScenarioError` naming the field otherwise.

    Scenarios built in code (the contract cases) are checked by the same rules as files, where
    they are built - not after they have been sent to the proxy.
    """
    where = f"<scenario {scenario.name[:80]}>"
    again = scenario_from_dict(scenario.to_dict(), path=where)
    if again == dataclasses.replace(scenario, source=None):
        return scenario
    field = next(
        (
            f"rules[{i}]"
            for i, (mine, read) in enumerate(zip(scenario.rules, again.rules, strict=False))
            if mine != read
        ),
        next(
            (
                f.name
                for f in dataclasses.fields(Scenario)
                if f.name != "source" and getattr(scenario, f.name) != getattr(again, f.name)
            ),
            "",
        ),
    )
    raise ScenarioError(where, None, field, "does not read back as itself from its plain data")


def to_spec(scenario: Scenario) -> str:
    """The text the proxy's control API takes (``PUT /scenario``): the scenario's plain data
    as JSON, which :func:`parse_scenario` (the proxy's loader) reads back as ``scenario``."""
    text = json.dumps(scenario.to_dict(), ensure_ascii=False, separators=(",", ":"))
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


#: Characters the YAML reader would not keep as they are inside a quoted string: NEL (a line
#: break to YAML 1.1, folded into a space), DEL and the other C1 controls and the two
#: non-characters (refused). ``to_spec`` escapes them as ``\uXXXX``, which reads back as the
#: character; JSON already escapes the C0 controls.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\ufffe\uffff]")


def load_scenario(source: str | Path) -> Scenario:
    """A scenario from a file path or, when ``source`` is a bare name, from the library.

    A file's ``body_file`` may name regular files in the file's own directory, and nothing else.
    """
    text_source = str(source)
    path = Path(source)
    if (
        isinstance(source, Path)
        or path.suffix in (".yaml", ".yml")
        or "/" in text_source
        or _exists(path)
    ):
        text = read_text(path, max_bytes=LIMITS["scenario"].max_bytes, error=ScenarioError)
        return parse_scenario(
            text, path=text_source, name=_default_name(path.stem), base_dir=path.parent
        )
    return library_scenario(text_source)


def _exists(path: Path) -> bool:
    """Whether there is a file or directory at ``path`` (a name too long to be one is not)."""
    try:
        return path.exists()
    except OSError:
        return False


def _default_name(stem: str) -> str:
    """The name a file gets when it gives none: its stem, made a plain name."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", stem)[:200].lstrip("_.-")
    return name or "scenario"


def library_scenario(name: str) -> Scenario:
    """Library scenario ``name`` (never a file path; it can name no files)."""
    return parse_scenario(library_text(name), path=f"scenarios/{name}.yaml", name=name)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


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
    if not isinstance(name, str) or not _NAME.match(name) or name not in library_names():
        known = ", ".join(library_names())
        shown = name[:80] if isinstance(name, str) else show(name)
        raise ScenarioError(
            shown, None, "", f"no such scenario file or library scenario (library: {known})"
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
        try:
            files = (
                sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
                if path.is_dir()
                else [path]
            )
        except OSError as exc:
            errors.append(ScenarioError(str(path), None, "", f"cannot read: {_reason(exc)}"))
            continue
        for file in files:
            try:
                good.append(load_scenario(file))
            except ScenarioError as exc:
                errors.append(exc)
    return good, errors
