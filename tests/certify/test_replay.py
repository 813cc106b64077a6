"""Replay files are read like every other file the harness reads (issue 12, G): through
``harness.fields.Fields``, within limits, every error ``file:line: field: problem`` on one line,
and ``mdm-harness replay`` answers a bad file - or a policy it names that cannot be read - with
that line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.certify.replay import ReplayError, load_replay, replay_text
from harness.contracts.model import Case
from harness.fields import FieldError
from harness.scenario import Scenario, scenario_from_dict

from .runs import refuse

GOOD = """\
mdm_harness_replay: 1
seed: 11
client: my-client
policy: my-policy.yaml
test: harness/contracts/test_transport.py::test_t3
case:
  contract: T3
  title: never retried
  operation: device
  args: [--mac, 0A1B2C3D4E5F]
  expect: [not_found]
  api_version: 3
  bound_s: 2.5
  scenario: {name: t3, rules: [{name: r, fault: {kind: respond, status: 404}}]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_replay_file_gives_its_case(tmp_path: Path) -> None:
    data = load_replay(write(tmp_path, GOOD))
    case = data["case"]
    assert (data["seed"], data["client"], data["policy"]) == (11, "my-client", "my-policy.yaml")
    assert case.contract == "T3" and case.args == ("--mac", "0A1B2C3D4E5F")
    assert case.expect == frozenset({"not_found"}) and case.api_version == 3
    assert case.bound_s == 2.5 and case.cursors is None and case.expected_result is None
    assert isinstance(case.scenario, Scenario)  # read by the loader the proxy uses
    assert case.scenario.name == "t3" and case.scenario.rules[0].fault.kind == "respond"


def test_a_written_replay_file_reads_back_as_the_same_case(tmp_path: Path) -> None:
    case = Case(
        "R4",
        "paging",
        "noncompliant",
        ("--all",),
        scenario_from_dict({"name": "s", "rules": []}),
        frozenset({"ok"}),
        target="noncompliant",
        expected_result={"devices": [{"mac": "0A1B2C3D4E5F"}]},
        cursors=("a", "b"),
        bound_s=1.0,
    )
    record = {"case": case.__dict__, "seed": 7, "client": "c", "policy": "p.yaml", "test": "t"}
    record["case"] = {
        k: sorted(v) if isinstance(v, frozenset) else list(v) if isinstance(v, tuple) else v
        for k, v in case.__dict__.items()
    }
    record["case"]["scenario"] = case.scenario.to_dict()
    path = write(tmp_path, replay_text(record, reason="x"))
    assert load_replay(path)["case"] == case


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("contract: T3", "contract: T9"), ":7: case.contract: 'T9' is not a contract id"),
        ("just: yaml\n", ": not an mdm-harness replay file"),
        (GOOD.replace("seed: 11", "seed: x"), ":2: seed: expected an integer, got str 'x'"),
        (GOOD.replace("  title:", "  nonsense: 1\n  title:"), ":8: case.nonsense: unknown field"),
        (GOOD.replace("bound_s: 2.5", "bound_s: .nan"), ":13: not valid YAML: NaN and infinity are not numbers"),
        (GOOD.replace("args: [--mac, 0A1B2C3D4E5F]", "args: --mac"), ":10: case.args: expected a list, got str '--mac'"),
        (GOOD.replace("api_version: 3", "api_version: 1" + "0" * 40), ":12: not valid YAML: an integer of 41 digits is too long"),
        (GOOD.replace("client: my-client", "client: [a]"), ":3: client: expected text, got a list"),
        (GOOD.replace("seed: 11", "seed: 11\nextra: 1"), ":3: extra: unknown field"),
        (GOOD + "case2: &a [*a]\n", ": not valid YAML"),
        ("[unclosed\n", ":2: not valid YAML"),
        ("mdm_harness_replay: 1\nseed: 1\n", ": case: missing"),
    ],
)  # fmt: skip
def test_bad_replay_files_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ReplayError) as caught:
        load_replay(path)
    error = str(caught.value)
    assert isinstance(caught.value, FieldError)
    assert error.startswith(str(path)) and message in error, error
    assert "\n" not in error and len(error) < 600


def test_a_replay_file_is_read_within_bounds(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:
        f.write(GOOD.encode())
        f.truncate(100 << 20)  # sparse: 100 MB, never written
    with pytest.raises(ReplayError, match=r"huge\.yaml: larger than 4194304 bytes"):
        load_replay(huge)
    with pytest.raises(ReplayError, match="/dev/zero: larger than"):
        load_replay("/dev/zero")
    with pytest.raises(ReplayError, match=r"absent\.yaml: cannot read: no such file"):
        load_replay(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("seed: 11", "seed: x"), "case.yaml:2: seed: expected an integer, got str 'x'"),
        (("policy: my-policy.yaml", "policy: /dev/zero"), "/dev/zero: larger than 1048576 bytes"),
    ],
)
def test_the_replay_command_answers_a_bad_file_with_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    edit: tuple[str, str],
    message: str,
) -> None:
    """In-process (``runs.refuse``): the bad file is refused before anything starts."""
    path = write(tmp_path, GOOD.replace(*edit).replace("client: my-client", "client: 'true'"))
    done = refuse(["replay", str(path)], cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
