"""Building contract cases' scenarios: the dataclasses of :mod:`harness.scenario`, checked here.

Contract cases are scenarios like any other. They are built as :class:`~harness.scenario.Scenario`
values (rules of :mod:`harness.faults` records), checked by the scenario loader's own rules
where they are built (:func:`harness.scenario.validated`), sent to the proxy as
:func:`harness.scenario.to_spec` text, and exported as YAML files when a case fails, so
``mdm-harness replay`` reproduces the failure without the suite.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from harness.faults import Fault
from harness.faults.respond import Respond
from harness.scenario import (
    Expectation,
    FaultSpec,
    Match,
    Rule,
    Scenario,
    Schedule,
    fault_named,
    validated,
)

#: A fault as cases write it: a record, a name a scenario may use (``reset``, ``status_503``),
#: or a :class:`~harness.scenario.FaultSpec` already made.
FaultRef = FaultSpec | Fault | str

#: The step of a sequence in which the attempt gets through.
PASS = "pass"


def fault(ref: FaultRef) -> FaultSpec:
    """The :class:`~harness.scenario.FaultSpec` of ``ref``."""
    if isinstance(ref, FaultSpec):
        return ref
    if isinstance(ref, str):
        return fault_named(ref)
    return FaultSpec(ref.kind, ref)


def rule(
    name: str,
    fault_ref: FaultRef | None = None,
    *,
    operation: str | Sequence[str] | None = None,
    phase: str | None = None,
    method: str | None = None,
    path: str | None = None,
    query: Mapping[str, str] | None = None,
    times: int | None = None,
    after: int = 0,
    sequence: Sequence[FaultRef | None] | None = None,
) -> Rule:
    """One rule: what it matches, the fault (or a per-attempt ``sequence``, ``None`` or
    ``"pass"`` letting an attempt through), and when it fires. Without ``phase`` the rule acts
    at its faults' default phase, as in a scenario file."""
    spec = fault(fault_ref) if fault_ref is not None else None
    steps = (
        None
        if sequence is None
        else tuple(None if s is None or s == PASS else fault(s) for s in sequence)
    )
    if (spec is None) == (steps is None):
        raise ValueError(f"rule {name!r} needs a fault or a sequence (not both)")
    used = [spec] if spec is not None else [s for s in steps or () if s is not None]
    if phase is None:
        defaults = {s.phases[0] for s in used}
        if len(defaults) != 1:
            raise ValueError(f"rule {name!r}: name the phase (defaults: {sorted(defaults)})")
        phase = defaults.pop()
    operations = (operation,) if isinstance(operation, str) else tuple(operation or ())
    match = Match(
        phase=phase,  # type: ignore[arg-type]  # checked by validated()
        methods=(method.upper(),) if method else (),
        path=path,
        query=tuple((key, value) for key, value in (query or {}).items()),
        operations=operations,
    )
    return Rule(name, match, spec, Schedule(times=times, after=after, sequence=steps))


def respond(
    status: int = 200,
    body: bytes | str = b"",
    *,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = "application/xml",
    content_length: int | None = None,
    then: str | None = None,
) -> Respond:
    """A ``respond`` fault: the proxy answers itself, the upstream never sees the request.
    Text goes as ``body``; bytes that are not plain UTF-8 text, as ``body_base64``."""
    all_headers = dict(headers or {})
    if content_type is not None and "Content-Type" not in all_headers:
        all_headers["Content-Type"] = content_type
    raw = body.encode() if isinstance(body, str) else body
    text: str | None = None
    encoded: str | None = None
    if raw:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or "\r" in text or any(ord(c) < 0x20 and c not in "\t\n" for c in text):
            text, encoded = None, base64.b64encode(raw).decode("ascii")
    return Respond(
        status=status,
        headers=tuple(all_headers.items()),
        body=text,
        body_base64=encoded,
        content_length=content_length,
        then=then,  # type: ignore[arg-type]  # checked by validated()
    )


def scenario(
    name: str,
    rules: Sequence[Rule],
    *,
    description: str,
    expect: str | None = None,
    operation: str | None = None,
    seed: int | None = None,
) -> Scenario:
    """A whole scenario, checked; ``expect`` is the outcome a correct client reports for
    ``operation``. A :class:`~harness.scenario.ScenarioError` if the loader would refuse it."""
    return validated(
        Scenario(
            name=name,
            description=description,
            seed=seed,
            rules=tuple(rules),
            expect=Expectation(expect, operation) if expect else None,
        )
    )
