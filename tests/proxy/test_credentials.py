"""The proxy's secrets without argv: a 0600 file or an inherited pipe, read once; anything else
refused with a one-line reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.proxy.credentials import Credentials
from harness.proxy.launcher import write_secrets_pipe

TOKEN = "t" * 43


def _file(tmp_path: Path, content: str, mode: int = 0o600) -> Path:
    path = tmp_path / "secrets.json"
    path.write_text(content)
    path.chmod(mode)
    return path


def test_a_private_file_gives_both_secrets(tmp_path: Path) -> None:
    credentials = Credentials()
    credentials.take(str(_file(tmp_path, json.dumps({"control_token": TOKEN, "auth_key": "k"}))))
    assert (credentials.control_token, credentials.auth_key) == (TOKEN, b"k")
    assert credentials.token_drawn is False


def test_without_secrets_both_are_drawn_per_process() -> None:
    one, two = Credentials(), Credentials()
    assert one.token_drawn and len(one.control_token) >= 40 and len(one.auth_key) == 32
    assert one.control_token != two.control_token and one.auth_key != two.auth_key


def test_an_inherited_pipe_is_read_and_closed(tmp_path: Path) -> None:
    fd = write_secrets_pipe(TOKEN, "key")
    credentials = Credentials()
    credentials.take(f"/dev/fd/{fd}")
    assert (credentials.control_token, credentials.auth_key) == (TOKEN, b"key")
    with pytest.raises(OSError):
        os.fstat(fd)  # closed: nothing left to find in /proc


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (
            json.dumps({"control_token": TOKEN}),
            0o644,
            "is readable by others (mode 644); chmod 600 it",
        ),
        ("[1, 2]", 0o600, 'not a JSON object {"control_token": ..., "auth_key": ...}'),
        ("{not json", 0o600, "not a JSON object"),
        (
            json.dumps({"control_token": "short"}),
            0o600,
            "control_token must be a string of at least 16 characters",
        ),
        (json.dumps({"auth_key": 5}), 0o600, "auth_key must be a string of at least 1 characters"),
        ("x" * 5000, 0o600, "larger than 4096 bytes"),
    ],
)
def test_unusable_secrets_are_refused(
    tmp_path: Path, content: str, mode: int, message: str
) -> None:
    path = _file(tmp_path, content, mode)
    with pytest.raises(ValueError) as exc:
        Credentials().take(str(path))
    assert message in str(exc.value) and str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="No such file"):
        Credentials().take(str(tmp_path / "absent.json"))
