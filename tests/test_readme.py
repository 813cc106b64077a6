"""The README stays true: its example adapter runs through the fault proxy, its set-up block
holds exactly the two commands, and the commands and options it names exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli import build_parser

README = Path(__file__).parent.parent / "README.md"


def _text() -> str:
    if not README.exists():
        pytest.fail("README.md is not beside tests/ (run the tests from a checkout)")
    return README.read_text(encoding="utf-8")


def example_adapter() -> str:
    after = _text().split("<!-- example-adapter -->", 1)[1]
    match = re.search(r"```sh\n(.*?)```", after, re.S)
    assert match, "the example adapter's code block"
    return match.group(1)


def test_the_set_up_section_has_exactly_the_two_commands() -> None:
    section = _text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    assert "mdm-harness certify" in blocks[0] and "pip install ." in blocks[0]
    assert "tox" in blocks[1]
    assert "tox" in Path(__file__).parent.parent.joinpath(".ci", "run").read_text()


def test_every_subcommand_the_readme_names_exists() -> None:
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    named = set(re.findall(r"`mdm-harness ([a-z-]+)", _text()))
    assert named <= commands, named - commands


def test_the_example_adapter_speaks_the_protocol_through_the_proxy(tmp_path: Path) -> None:
    from harness.client import ClientEnv, ClientSpec
    from harness.mdm import ReferenceMDM
    from harness.proxy import FaultProxy
    from harness.tls import CertificateAuthority

    script = tmp_path / "adapter.sh"
    script.write_text(example_adapter())
    script.chmod(0o755)
    ca = CertificateAuthority.load_or_create(tmp_path / "ca")
    with (
        ReferenceMDM(state_dir=tmp_path, ca=ca, devices=5, seed=1) as mdm,
        FaultProxy(upstream=mdm.origin, ca=ca) as proxy,
    ):
        env = ClientEnv(
            base_url=mdm.public_base_url,
            username=mdm.username,
            password=mdm.password,
            proxy=proxy.url,
            ca_bundle=ca.bundle_path,
            timeout_ms=2000,
        )
        spec = ClientSpec("exec", argv=("/bin/sh", str(script)))
        ok = spec.run("mdminfo", [], env, hard_limit_s=30)
        assert ok.kind == "ok", ok
        assert (
            ok.result is not None
            and ok.result["api_path"] == "/7/ciscoise/v3"
            and ok.result["vendor"] == "JAMF Software"
        )
        proxy.control.load_scenario("seed-3-unauthorized")
        denied = spec.run("mdminfo", [], env, hard_limit_s=30)
        assert (denied.kind, denied.error) == ("error", "unauthorized")
        proxy.control.load_scenario("tls-untrusted-ca")
        untrusted = spec.run("mdminfo", [], env, hard_limit_s=30)
        assert (untrusted.kind, untrusted.error) == ("error", "tls_error")
        assert mdm.password not in ok.stdout + denied.stdout + untrusted.stdout + ok.stderr


def test_the_adapter_is_posix_shell() -> None:
    import shutil
    import subprocess

    assert example_adapter().startswith("#!/bin/sh\n")
    dash = shutil.which("dash") or shutil.which("sh")
    assert dash is not None
    check = subprocess.run([dash, "-n"], input=example_adapter(), capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
