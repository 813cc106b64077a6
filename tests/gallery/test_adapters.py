"""Each gallery adapter speaks the adapter protocol: against the reference MDM (no faults) it
answers every operation exactly as the reference client does, trusts MDM_CA_BUNDLE and
nothing else, and never prints the password. A client whose tool is missing is skipped with
the reason (requests is installed by ``tox -e gallery`` only)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gallery.expected import CLIENTS, Expected

from harness.client import ClientEnv, ClientSpec, load_policy
from harness.mdm.server import ReferenceMDM
from harness.tls import CertificateAuthority

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "clients"
PASSWORD = 'gallery-pw-"quoted\\-never-shown'


def spec_of(client: Expected, monkeypatch: pytest.MonkeyPatch) -> ClientSpec:
    missing = [c for c in client.needs if shutil.which(c) is None]
    if missing:
        pytest.skip(f"{client.name}: {', '.join(missing)} not on PATH")
    if client.name == "requests":
        pytest.importorskip("requests", reason="requests is installed by tox -e gallery only")
    # The Python adapters and the shell adapters' helper run on this interpreter.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{shutil.os.environ.get('PATH', '')}")
    (adapter,) = sorted(GALLERY.joinpath(client.name).glob("adapter.*"))
    return ClientSpec("exec", argv=(str(adapter),))


@pytest.fixture(scope="module")
def mdm(ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=ca, devices=30, password=PASSWORD) as server:
        yield server


def env_for(mdm: ReferenceMDM, ca_bundle: Path, timeout_ms: int = 5000) -> ClientEnv:
    return ClientEnv(mdm.base_url, mdm.username, PASSWORD, ca_bundle, timeout_ms=timeout_ms)


@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.name)
def test_every_operation_answers_as_the_reference_client_does(
    client: Expected, mdm: ReferenceMDM, ca: CertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_of(client, monkeypatch)
    env = env_for(mdm, ca.bundle_path)
    # The reference client in-process: the same code as its command, without 5 more starts (the
    # adapter under test is what runs as a process here).
    reference = ClientSpec.reference(in_process=True)
    mac = next(iter(mdm.inventory)).macaddress
    colon_mac = ":".join(mac[i : i + 2] for i in range(0, 12, 2)).lower()
    for operation, args in [
        ("mdminfo", []),
        ("device", ["--mac", colon_mac]),
        ("device", ["--mac", "02DEADBEEF00"]),
        ("noncompliant", []),
        ("action", ["pin_lock", "--mac", mac]),
    ]:
        got = spec.run(operation, args, env, hard_limit_s=60)
        want = reference.run(operation, args, env, hard_limit_s=60)
        assert got.kind == "ok", (operation, args, got)
        assert got.result == want.result, (operation, args)
        assert PASSWORD not in got.stdout + got.stderr


@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.name)
def test_only_the_given_ca_is_trusted(
    client: Expected,
    mdm: ReferenceMDM,
    ca: CertificateAuthority,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = spec_of(client, monkeypatch)
    other = CertificateAuthority.load_or_create(tmp_path / "other")
    before = mdm.request_count
    outcome = spec.run("mdminfo", [], env_for(mdm, other.bundle_path), hard_limit_s=60)
    assert (outcome.kind, outcome.error) == ("error", "tls_error"), outcome
    assert mdm.request_count == before


@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.name)
def test_each_client_ships_its_policy_with_its_sources(client: Expected) -> None:
    folder = GALLERY / client.name
    (adapter,) = sorted(folder.glob("adapter.*"))
    assert adapter.stat().st_mode & 0o111, f"{adapter} is not executable"
    policy = load_policy(folder / "policy.yaml")
    assert policy.schema == 2
    lines = (folder / "policy.yaml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith(("#", " ", "schema:")):
            above = lines[max(0, i - 3) : i]
            assert any(a.lstrip().startswith("#") for a in above), (
                f"{client.name}/policy.yaml: {line!r} cites no source"
            )
    assert (folder / "README.md").is_file()
