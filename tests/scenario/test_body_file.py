"""``body_file`` is confined to the scenario file's own directory, as WireMock confines
``__files``: only a scenario *file* may name a file, only a regular file inside its directory
(no absolute path, no ``..``, no symbolic link out of it), and a scenario without a directory -
a library scenario, text sent to the control API, a dict - cannot name files at all.

Issue 12 found the hole this closes: ``respond`` with ``body_file: <absolute path>`` through the
control API served the harness CA's 0600 private key to anyone who could reach the port.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.proxy import DISCOVERY, Lab, lab

from harness.faults.respond import Respond
from harness.proxy.launcher import ScenarioRejected
from harness.scenario import (
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_from_dict,
    to_yaml,
)


def _scenario(directory: Path, body_file: str) -> Path:
    path = directory / "scenario.yaml"
    path.write_text(
        "name: s\nrules:\n  - match: {operation: mdminfo}\n"
        f"    fault: {{kind: respond, body_file: {body_file!r}}}\n"
    )
    return path


def _body_file(path: Path) -> str | None:
    fault = load_scenario(path).rules[0].fault
    assert fault is not None and isinstance(fault.fault, Respond)
    return fault.fault.body_file


@pytest.fixture
def room(tmp_path: Path) -> Path:
    """A scenario directory with a document in it, beside a secret outside it."""
    (tmp_path / "secret.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    room = tmp_path / "scenarios"
    (room / "docs").mkdir(parents=True)
    (room / "docs" / "reply.xml").write_bytes(b"<ise_api/>")
    return room


def test_a_file_in_the_scenario_directory_is_named_by_its_real_path(room: Path) -> None:
    assert _body_file(_scenario(room, "docs/reply.xml")) == os.path.realpath(
        room / "docs" / "reply.xml"
    )
    # A link that stays inside the directory is followed; what is kept is the real path.
    (room / "alias.xml").symlink_to(room / "docs" / "reply.xml")
    assert _body_file(_scenario(room, "alias.xml")) == os.path.realpath(room / "docs" / "reply.xml")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("ABSOLUTE", "must be a path relative to the scenario's directory"),
        ("../secret.key", "must not leave the scenario's directory ('..')"),
        ("docs/../../secret.key", "must not leave the scenario's directory ('..')"),
        ("~/secret.key", "must be a path relative to the scenario's directory"),
        ("escape.key", "is a symbolic link that leaves the scenario's directory"),
        ("escape-dir/secret.key", "is a symbolic link that leaves the scenario's directory"),
        ("docs", "'docs' is not a regular file"),
        ("fifo", "'fifo' is not a regular file"),
        ("absent.xml", "cannot read 'absent.xml': no such file or directory"),
    ],
)
def test_anything_else_is_refused_at_the_line_of_body_file(
    room: Path, name: str, problem: str
) -> None:
    (room / "escape.key").symlink_to(room.parent / "secret.key")
    (room / "escape-dir").symlink_to(room.parent)
    os.mkfifo(room / "fifo")
    if name == "ABSOLUTE":
        name = str(room.parent / "secret.key")
    path = _scenario(room, name)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert str(exc.value) == f"{path}:4: rules[0].fault.body_file: {problem}"


def test_a_scenario_without_a_directory_cannot_name_files(room: Path) -> None:
    text = _scenario(room, "docs/reply.xml").read_text()
    assert load_scenario(room / "scenario.yaml")  # the control: as a file it loads
    problem = "only a scenario file can name a file, and only in its own directory"
    for source in ("<request>", "<string>", str(room / "scenario.yaml")):
        with pytest.raises(ScenarioError, match=problem) as exc:
            parse_scenario(text, path=source)  # text: no directory, even with a file's name
        assert exc.value.line == 4
    rule = {"match": {"operation": "mdminfo"}, "fault": {"kind": "respond", "body_file": "x"}}
    with pytest.raises(ScenarioError, match=problem):
        scenario_from_dict({"name": "d", "rules": [rule]})
    assert parse_scenario(text, path="x.yaml", base_dir=room).rules  # given a directory: fine


def test_a_loaded_body_file_travels_as_its_bytes(room: Path) -> None:
    scenario = load_scenario(_scenario(room, "docs/reply.xml"))
    fault = scenario.to_dict()["rules"][0]["fault"]
    assert fault == {
        "kind": "respond",
        "status": 200,
        "body_base64": base64.b64encode(b"<ise_api/>").decode(),
    }
    # So the scenario replays anywhere: as a dict, and as YAML with no directory at all.
    again = scenario_from_dict(scenario.to_dict())
    assert again.rules[0].fault.fault.payload() == b"<ise_api/>"  # type: ignore[union-attr]
    assert parse_scenario(to_yaml(scenario), path="<request>").to_dict() == scenario.to_dict()


@pytest.fixture(scope="module")
def proxy_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(tmp_path_factory.mktemp("body-file")) as the_lab:
        yield the_lab


def test_the_control_api_cannot_be_made_to_serve_the_ca_key(proxy_lab: Lab) -> None:
    key = proxy_lab.ca.directory / "ca-key.pem"
    assert key.is_file() and key.stat().st_mode & 0o077 == 0  # the 0600 key of issue 12
    stolen = (
        "name: steal\nrules:\n  - match: {operation: mdminfo}\n"
        f"    fault: {{kind: respond, body_file: {str(key)!r}}}\n"
    )
    proxy_lab.load(None)
    with pytest.raises(ScenarioRejected) as exc:
        proxy_lab.proxy.control.load_scenario(stolen)
    assert exc.value.status == 400
    assert exc.value.message.startswith(
        "<request>:4: rules[0].fault.body_file: only a scenario file"
    )
    reply = proxy_lab.curl(DISCOVERY)
    assert reply.status == 200 and b"PRIVATE KEY" not in reply.body  # no fault: the MDM answers
    assert proxy_lab.proxy.control.health()["scenario"] is None


def test_a_scenario_file_with_a_body_file_reaches_the_proxy_as_its_bytes(
    proxy_lab: Lab, room: Path
) -> None:
    (room / "docs" / "reply.xml").write_bytes(b"<ise_api><name>from a file</name></ise_api>")
    proxy_lab.load(load_scenario(_scenario(room, "docs/reply.xml")))
    reply = proxy_lab.curl(DISCOVERY)
    assert reply.status == 200 and reply.body == b"<ise_api><name>from a file</name></ise_api>"
