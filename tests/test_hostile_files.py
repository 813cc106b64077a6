"""Hostile files: issue 12 finding 3, reproduced one by one, then fuzzed.

Every file the harness reads - a scenario (file or control-API text), a client policy, an MDM
inventory - goes through the one loader. Whatever the bytes, each loader either returns a value
or raises its own one-line :class:`~harness.fields.FieldError` (never another exception, never
a traceback), within a bounded time and memory.

The findings, as the audit reported them:

1. an alias bomb (ten anchors, each ten aliases of the previous) hung with memory growing;
2. a 552-byte body through the control API froze the proxy 14 s at 3 GiB;
3. integers of more than 4 300 digits raised ValueError;
4. deep nesting raised RecursionError;
5. a deeply nested inventory crashed ``serve`` with SIGSEGV (in ``tests/mdm/test_inventory.py``
   and ``tests/test_fields.py``: those need a subprocess);
6. ``xml_truncate fraction: .nan`` linted clean, then every attempt failed;
7. and the journal then emitted bare ``NaN``, which is not JSON.

Bounds are generous (a loaded 2-core machine): CPU seconds, not wall time, and tracemalloc's
peak of Python allocations. Hypothesis prints a ``@reproduce_failure`` blob for any failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from harness.client.policy import PolicyError, load_policy, parse_policy
from harness.fields import FieldError
from harness.mdm.inventory import Inventory, InventoryError
from harness.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

#: The most CPU time one hostile input may cost one loader (refusals take milliseconds).
CPU_BOUND_S = 5.0
#: The most memory (tracemalloc peak) one input may cost, beyond the text itself.
MEMORY_BOUND = 64 << 20

POLICY = (Path(__file__).parents[1] / "harness" / "client" / "reference-policy.yaml").read_text()
SCENARIO = """\
name: fuzzed
description: every feature
seed: 7
expect: {outcome: timeout, operation: devices}
faults:
  busy: {kind: retry_after, status: 503, retry_after_s: 2, headers: {X-Why: maintenance}}
rules:
  - name: slow
    match: {operation: [devices, noncompliant], method: GET, path: "*/devices/*", query: {paging: "0"}}
    fault: {kind: delay, distribution: lognormal, median_ms: 800, sigma: 0.6, max_ms: 5000}
    schedule: {after: 1, times: 3, probability: 0.5}
  - name: flaky
    match: {operation: mdminfo, host: "*.test"}
    schedule: {sequence: [busy, reset, pass, {kind: hang, max_ms: 100}]}
  - name: cut
    match: {phase: response}
    fault: {kind: xml_truncate, fraction: 0.4}
"""
INVENTORY = """\
devices:
  - macaddress: "00:26:B4:24:FE:B4"
    macaddresses: ["0026B424FEB5"]
    username: alice
    compliant: false
    failure_reason: "Passcode not set & OS < 17"
    imei: 356938035643809
    last_checkin_ms: 1717000000000
  - macaddress: 3C22FB000001
    guid: 6A0F7B7E-0000-4000-8000-000000000002
    hostname: bob-mbp
"""


# -- running a loader under bounds ---------------------------------------------------------------


def _scenario(text: str, tmp: Path) -> object:
    return parse_scenario(text, path="<fuzz>")


def _scenario_file(text: str, tmp: Path) -> object:
    path = tmp / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return load_scenario(path)


def _policy(text: str, tmp: Path) -> object:
    return parse_policy(text, source="<fuzz>")


def _inventory_yaml(text: str, tmp: Path) -> object:
    path = tmp / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return Inventory.load(path)


def _inventory_json(text: str, tmp: Path) -> object:
    path = tmp / "fuzz.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return Inventory.load(path)


LOADERS: dict[str, tuple[Callable[[str, Path], object], type[FieldError]]] = {
    "scenario": (_scenario, ScenarioError),
    "scenario-file": (_scenario_file, ScenarioError),
    "policy": (_policy, PolicyError),
    "inventory-yaml": (_inventory_yaml, InventoryError),
    "inventory-json": (_inventory_json, InventoryError),
}
#: The loaders whose readers are this project's Fields (the policy parser is converted to it
#: on the verdicts line of work; until then it is fuzzed on its own, below).
FIELDS_LOADERS = ("scenario", "scenario-file", "inventory-yaml", "inventory-json")


def bounded(loader: str, text: str, tmp: Path) -> FieldError | None:
    """Run ``loader`` on ``text``: ``None`` if it accepts it, else its error. Fails the test on
    any other exception, a message that is not one line, or a bound exceeded."""
    run, error = LOADERS[loader]
    tracemalloc.start()
    started = time.process_time()
    try:
        loaded = run(text, tmp)
        outcome = None
    except error as exc:
        outcome = exc
    finally:
        cpu = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert cpu < CPU_BOUND_S, f"{loader}: {cpu:.2f} s of CPU for {len(text)} characters"
    assert peak < MEMORY_BOUND + 8 * len(text), f"{loader}: peak {peak >> 20} MiB"
    if outcome is not None:
        message = str(outcome)
        assert len(message.splitlines()) == 1, message[:300]
        assert len(message) < 1000, message[:300]
    elif isinstance(loaded, Scenario):
        # What the journal and the control API send of it is JSON: no NaN can get there.
        json.dumps(loaded.to_dict(), allow_nan=False)
        for spec in [s for _, s in loaded.faults] + [r.fault for r in loaded.rules if r.fault]:
            json.dumps(spec.describe(), allow_nan=False)
    return outcome


@pytest.fixture
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("hostile")


# -- the findings, one by one --------------------------------------------------------------------


def _alias_bomb(levels: int = 10, fanout: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * fanout) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", sorted(set(LOADERS) - {"inventory-json"}))  # JSON: no aliases
def test_1_an_alias_bomb_is_refused_at_its_first_alias(loader: str, tmp: Path) -> None:
    bomb = _alias_bomb()  # 10**10 strings once expanded
    error = bounded(loader, bomb, tmp)
    assert error is not None and error.line == 2
    assert "aliases (*a0) are not allowed" in error.problem
    # The control: a plain YAML loader does share (and would expand) the values.
    small = YAML(typ="safe", pure=True).load(_alias_bomb(levels=3, fanout=3))
    assert small["a2"][0] is small["a1"]


def test_2_the_552_byte_body_that_froze_the_proxy(tmp: Path) -> None:
    # The audit's PUT body was 552 bytes: ten anchors of ten aliases each, written compactly.
    body = _alias_bomb().replace(", ", ",")
    assert 500 <= len(body.encode()) <= 560
    started = time.process_time()
    error = bounded("scenario", body, tmp)  # what the control API does with a PUT body
    assert str(error) == (
        "<fuzz>:2: not valid YAML: aliases (*a0) are not allowed: write each value where it is used"
    )
    assert time.process_time() - started < 1.0  # not 14 s


@pytest.mark.parametrize(
    ("loader", "text", "line"),
    [
        ("scenario", "name: x\nseed: " + "9" * 5000 + "\nrules: []\n", 2),
        ("policy", "timeout_ms: " + "1" * 5000 + "\n", 1),
        (
            "inventory-yaml",
            "devices:\n  - macaddress: '001122334455'\n    last_checkin_ms: " + "7" * 5000 + "\n",
            3,
        ),
        (
            "inventory-json",
            '[{"macaddress": "001122334455",\n "last_checkin_ms": ' + "7" * 5000 + "}]",
            2,
        ),
    ],
)
def test_3_a_5000_digit_integer_is_refused_not_a_value_error(
    loader: str, text: str, line: int, tmp: Path
) -> None:
    with pytest.raises(ValueError, match="Exceeds the limit"):
        int("9" * 5000)  # the control: what the audit saw
    error = bounded(loader, text, tmp)
    assert error is not None and error.line == line
    assert "an integer of 5000 digits is too long (at most 30)" in error.problem


@pytest.mark.parametrize("loader", ["scenario", "policy", "inventory-yaml", "inventory-json"])
def test_4_deep_nesting_is_refused_not_a_recursion_error(loader: str, tmp: Path) -> None:
    text = "rules: " + "[" * 100_000 + "]" * 100_000 + "\n"
    if loader.startswith("inventory"):
        text = '{"devices": ' + "[" * 100_000 + "]" * 100_000 + "}"
    error = bounded(loader, text, tmp)
    assert error is not None
    assert "nested more than" in error.problem or "nested too deeply" in error.problem


def test_4_the_control_a_round_trip_loader_recurses(tmp: Path) -> None:
    with pytest.raises(RecursionError):
        YAML(typ="rt", pure=True).load("- " * 1200 + "x")  # 1 200 nested block lists


def test_6_and_7_nan_never_reaches_a_fault_or_the_journal(tmp: Path) -> None:
    nan = "name: x\nrules:\n  - match: {operation: mdminfo}\n    fault: {kind: xml_truncate, fraction: .nan}\n"
    error = bounded("scenario", nan, tmp)
    assert str(error) == "<fuzz>:4: not valid YAML: NaN and infinity are not numbers here"
    from harness.scenario import scenario_from_dict

    with pytest.raises(ScenarioError, match=r"rules\[0\].fault.fraction: expected a finite number"):
        scenario_from_dict(
            {"rules": [{"fault": {"kind": "xml_truncate", "fraction": float("nan")}}]}
        )
    with pytest.raises(ScenarioError, match=r"rules\[0\].schedule.probability: expected a finite"):
        scenario_from_dict(
            {"rules": [{"fault": "reset", "schedule": {"probability": float("inf")}}]}
        )


# -- fuzzing ---------------------------------------------------------------------------------------

#: YAML that has hurt YAML loaders: aliases, merges, tags, special numbers, odd keys.
FRAGMENTS = [
    "*a",
    "&a x",
    "&a [1, 2]",
    "{<<: *a}",
    "!!python/object/apply:os.system [ls]",
    "!!binary aGk=",
    "!!set {a, b}",
    "!!timestamp 2001-12-14",
    "!custom x",
    "!!int ten",
    ".nan",
    "-.inf",
    "NaN",
    "Infinity",
    "1e999",
    "0x" + "f" * 40,
    "9" * 5000,
    "-" + "9" * 31,
    "~",
    "''",
    '"\\udc80"',
    '"\\x01\\x02"',
    '"\\0"',
    "[" * 200 + "]" * 200,
    "{a: {b: {c: {d: {e: {f: {g: {h: {i: {j: {k: {l: 1}}}}}}}}}}}}",
    "? [a, b]\n: c",
    "'" + "x" * 20_000 + "'",
    "[" + ",".join(["{}"] * 2000) + "]",
    "|\n  a\n  b",
    "2001-12-14",
    "yes",
    "0o777",
    "---\n--- x",
]


class Raw(str):
    """A fragment of YAML text, inserted as it is."""


def _render(value: Any) -> str:
    """``value`` as flow YAML (JSON for plain values); :class:`Raw` text as it is."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_render(k)}: {_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return json.dumps(value, allow_nan=True)


#: The names the loaders look for, so generated documents reach deep into each schema.
VOCABULARY = [
    "name", "description", "seed", "expect", "outcome", "operation", "faults", "rules", "match",
    "phase", "method", "path", "query", "host", "fault", "kind", "schedule", "times", "after",
    "sequence", "probability", "delay_ms", "distribution", "min_ms", "max_ms", "median_ms",
    "sigma", "status", "headers", "body", "body_base64", "body_file", "fraction", "then",
    "bytes", "timeout_ms", "max_attempts", "mdminfo", "device", "noncompliant", "action",
    "retry", "categories", "statuses", "backoff", "initial_ms", "multiplier", "cap_ms",
    "jitter", "retry_after", "honour", "discovery", "versions", "fallback_on", "paging",
    "max_pages", "devices", "macaddress", "macaddresses", "guid", "compliant", "imei", "meid",
    "udid", "last_checkin_ms", "delay", "respond", "reset", "hang", "pass", "status_503",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(VOCABULARY),
    st.sampled_from(FRAGMENTS).map(Raw),
)
keys = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=20), st.integers(-3, 3))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(keys, children, max_size=6),
    ),
    max_leaves=40,
).map(_render)


@st.composite
def mutants(draw: st.DrawFn) -> str:
    """A valid file of some kind with one line's value replaced by something hostile."""
    template = draw(st.sampled_from([SCENARIO, POLICY, INVENTORY]))
    lines = template.splitlines()
    candidates = [
        i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("#")
    ]
    i = draw(st.sampled_from(candidates))
    head = lines[i].split(": ", 1)[0]
    value = draw(st.one_of(st.sampled_from(FRAGMENTS), scalars.map(_render)))
    lines[i] = f"{head}: {value}"
    return "\n".join(lines) + "\n"


junk = st.one_of(
    st.binary(max_size=2000).map(lambda b: b.decode("latin-1")),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=500),
    st.text(alphabet="[]{}:,-?&*!|>'\"#% \n\t.~01", max_size=2000),
)

HOSTILE = st.one_of(documents, mutants(), junk)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(text=HOSTILE)
@example(text=SCENARIO)
@example(text=POLICY)
@example(text=INVENTORY)
@example(text=_alias_bomb())
@example(text="a: " + "[" * 4_000_000)
def test_no_input_makes_a_loader_raise_anything_but_its_field_error(text: str, tmp: Path) -> None:
    for loader in FIELDS_LOADERS:
        bounded(loader, text, tmp)


#: A policy whose bad jitter is 20 000 characters long: its error must not show it whole.
LONG_JITTER = POLICY.replace("jitter: equal", "jitter: '" + "x" * 20_000 + "'")


@FUZZ
@given(text=HOSTILE)
@example(text=LONG_JITTER)
@example(text=POLICY)
@example(text=_alias_bomb())
@example(text="a: " + "[" * 4_000_000)
def test_no_input_makes_the_policy_loader_raise_anything_but_its_field_error(
    text: str, tmp: Path
) -> None:
    bounded("policy", text, tmp)


def test_the_valid_templates_are_accepted(tmp: Path) -> None:
    # The control for the fuzzing: each template is what its loader accepts, so a mutant fails
    # for the mutation, not for the template.
    assert bounded("scenario", SCENARIO, tmp) is None
    assert bounded("policy", POLICY, tmp) is None
    assert bounded("inventory-yaml", INVENTORY, tmp) is None


# -- a policy file is read within its bound (issue 12 finding 6: ``--policy /dev/zero``) ----------


def test_the_policy_loader_reads_no_more_than_its_bound(tmp_path: Path) -> None:
    """``load_policy`` - behind ``policy check``, ``replay`` and ``reference-client`` - reads at
    most 1 MiB and a byte: an endless or huge file is refused at once, never read whole."""
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:
        f.write(POLICY.encode())
        f.truncate(100 << 20)  # sparse: 100 MB, never written
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # nobody writes to it
    for path, message in [
        ("/dev/zero", "/dev/zero: larger than 1048576 bytes"),
        (str(huge), f"{huge}: larger than 1048576 bytes"),
        (str(fifo), f"{fifo}: the file is empty"),
        (str(tmp_path), f"{tmp_path}: cannot read: is a directory"),
    ]:
        started = time.process_time()
        with pytest.raises(PolicyError) as caught:
            load_policy(path)
        assert str(caught.value) == message
        assert time.process_time() - started < CPU_BOUND_S


def test_a_policy_over_its_bound_is_refused_even_as_text() -> None:
    text = POLICY + "# " + "x" * (1 << 20) + "\n"
    with pytest.raises(PolicyError, match=r"<policy>: \d+ bytes is more than the 1048576 allowed"):
        parse_policy(text)


@pytest.mark.parametrize("command", [["policy", "check"], ["certify", "--policy"]])
def test_the_cli_answers_an_endless_policy_with_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    done = subprocess.run(
        [sys.executable, "-P", "-m", "harness", *command, "/dev/zero"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "/dev/zero" in done.stderr
    # certify refuses a bad value with exit 2; policy check reports each bad file, exit 1
    assert done.returncode == (2 if command[0] == "certify" else 1)
