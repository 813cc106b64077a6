"""The catalog, the checks, the shipped tests and the docs name the same contracts."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from harness.mdm.defects import DEFECTS
from harness.servercheck import checks
from harness.servercheck.cases import PARAMETERS
from harness.servercheck.catalog import CONTRACTS, GROUPS

ROOT = Path(__file__).parent.parent.parent
SERVERS = (ROOT / "docs" / "servers.md").read_text(encoding="utf-8")
MDM = (ROOT / "docs" / "mdm.md").read_text(encoding="utf-8")
SUITE = Path(__import__("harness.servercheck", fromlist=["x"]).__file__).parent


def _server_zoo() -> dict[str, tuple[str, dict[str, object]]]:
    """The zoo table of test_zoo.py beside this file (tests/zoo has a test_zoo.py of its own)."""
    spec = importlib.util.spec_from_file_location(
        "server_zoo", Path(__file__).with_name("test_zoo.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    zoo: dict[str, tuple[str, dict[str, object]]] = module.ZOO
    return zoo


def test_every_contract_has_a_check_a_level_a_source_and_a_group() -> None:
    assert set(checks.CHECKS) == set(CONTRACTS)
    for contract in CONTRACTS.values():
        assert contract.level in ("MUST", "SHOULD") and contract.group in GROUPS
        assert contract.source.split(" ")[0] in ("spec", "seed", "field", "http", "ours"), (
            contract.id
        )
        assert contract.correct.endswith(".") and contract.promise


def test_every_contract_has_a_shipped_test() -> None:
    source = "".join(p.read_text() for p in SUITE.glob("test_*.py"))
    marked = set(re.findall(r'server_contract\("([A-Z][0-9])"\)', source))
    assert marked == set(CONTRACTS)
    assert set(PARAMETERS) | {"X3", "K1"} == set(CONTRACTS)


def test_docs_servers_md_mirrors_the_catalog() -> None:
    rows = dict(re.findall(r"^\| ([A-Z][0-9]) \| (MUST|SHOULD) \|", SERVERS, re.M))
    assert rows == {c.id: c.level for c in CONTRACTS.values()}
    for contract in CONTRACTS.values():
        assert f'<a id="{contract.id.lower()}"></a>' in SERVERS, contract.anchor
        assert (
            f"({contract.level})"
            in SERVERS.split(f'<a id="{contract.id.lower()}"></a>', 1)[1][:400]
        )


def test_the_docs_list_every_defect_and_the_contract_it_breaks() -> None:
    for name in DEFECTS:
        assert f"`{name}" in MDM and f"`{name}" in SERVERS, name
    for defect, (contract, _) in _server_zoo().items():
        line = next(
            line
            for line in SERVERS.splitlines()
            if line.startswith("| `") and f"`{defect}`" in line
        )
        assert f"| {contract}" in line, line
