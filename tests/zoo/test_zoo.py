"""Every contract bites: the suite fails each zoo client on exactly the contracts its defect
breaks, and the bundled reference client on none.

Each test runs the whole contract suite in a child pytest (the way a vendor runs it), against
one client, and reads the broken contracts from its JUnit report. The seed is fixed so CI is
deterministic; set ``MDM_HARNESS_ZOO_SEED`` to try another (the failure message names it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ZOO_DIR = Path(__file__).parent
sys.path.insert(0, str(ZOO_DIR))
from zoo_clients import ZOO  # noqa: E402

SEED = os.environ.get("MDM_HARNESS_ZOO_SEED", "1729")


def _run_suite(tmp_path: Path, client: str, policy: Path, *extra: str) -> tuple[set[str], int, str]:
    junit = tmp_path / "junit.xml"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ZOO_DIR), os.environ.get("PYTHONPATH")])),
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [
        sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts",
        "-p", "no:cacheprovider", "-q", "-n", "0",
        "--mdm-profile", "quick", "--mdm-seed", SEED,
        "--mdm-client", client, "--mdm-policy", str(policy),
        "--junitxml", str(junit), *extra,
    ]  # fmt: skip
    proc = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    broken: set[str] = set()
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                props = {p.get("name"): p.get("value") for p in case.iter("property")}
                broken.add(props.get("contract") or f"(no contract: {case.get('name')})")
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
    return broken, proc.returncode, tail


@pytest.mark.parametrize("name", sorted(ZOO))
def test_the_suite_fails_a_broken_client_exactly_on_its_contracts(
    tmp_path: Path, name: str
) -> None:
    zoo = ZOO[name]
    client = (
        f"{sys.executable} {ZOO_DIR / 'run_zoo.py'} {name}"
        if zoo.exec_form
        else f"zoo_clients:{name}"
    )
    broken, code, tail = _run_suite(tmp_path, client, ZOO_DIR / "zoo-policy.yaml")
    assert code == 1, f"the suite should fail {name} (exit {code}, seed {SEED}):\n{tail}"
    assert broken == set(zoo.breaks), (
        f"{name} should break exactly {sorted(zoo.breaks)}, broke {sorted(broken)} (seed {SEED}):\n{tail}"
    )


def test_the_reference_client_keeps_every_contract(tmp_path: Path) -> None:
    from harness.client import REFERENCE_POLICY_PATH

    client = f"{sys.executable} -P -m harness.client.reference --quiet"
    broken, code, tail = _run_suite(tmp_path, client, Path(REFERENCE_POLICY_PATH))
    assert (code, broken) == (0, set()), f"seed {SEED}:\n{tail}"
    assert " passed" in tail and "skipped" not in tail, tail


def test_every_contract_has_a_zoo_client_that_breaks_it() -> None:
    from harness.contracts.model import CONTRACTS

    covered = set().union(*(z.breaks for z in ZOO.values()))
    assert covered == set(CONTRACTS)


def test_a_failing_case_is_shrunk_to_a_minimal_document_and_prints_how_to_replay_it(
    tmp_path: Path,
) -> None:
    """The standard profile shrinks: a client that cannot read capitalised Attributes is shown
    the smallest document that breaks it, with the seed and hypothesis's reproduction blob."""
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--pyargs", "harness.contracts", "-p", "no:cacheprovider", "-n", "0",
         "--mdm-profile", "standard", "--mdm-seed", SEED, "--mdm-client", "zoo_clients:strict_spelling",
         "--mdm-policy", str(ZOO_DIR / "zoo-policy.yaml"), "-k", "p1_device and capitalised"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ZOO_DIR)),
    )  # fmt: skip
    text = proc.stdout
    assert proc.returncode == 1, text
    assert "Draw 1 (document): Document(" in text and "@reproduce_failure(" in text
    assert f"--mdm-seed {SEED}" in text
    drawn = text.split("Draw 1 (document):", 1)[1].split("\n", 1)[0]
    # minimal: one device, its attributes element capitalised, and none of the optional fields
    assert drawn.count("<device>") == 1 and "<Attributes" in drawn
    assert "<model>" not in drawn and "<udid>" not in drawn and "<macaddresses>" not in drawn, drawn
