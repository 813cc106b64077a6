"""Fixtures of the server suite's tests: a reference MDM to certify and a proxy in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.mdm import Inventory, ReferenceMDM
from harness.proxy import FaultProxy
from harness.servercheck.prober import start_proxy
from harness.servercheck.target import Target
from harness.tls import CertificateAuthority

#: A non-compliant reason with markup in it: the unescaped-ampersand defect must show.
MARKUP_REASON = "Passcode < 6 digits & OS older than 17"


def zoo_inventory() -> Inventory:
    """60 devices, about a fifth non-compliant: with query_max_size 5 the non-compliant listing
    has several pages; its first device carries markup in its failure reason."""
    inventory = Inventory.generate(60, 3, now_ms=1_717_000_000_000)
    inventory.set_compliance(next(iter(inventory)).guid, False, MARKUP_REASON)
    return inventory


@pytest.fixture(scope="session")
def zoo_mdm(ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    """The reference MDM the server zoo switches defects on (one per worker, shared by
    test_zoo.py and test_plan.py: each test resets what it reads and switches its defect off)."""
    with ReferenceMDM(ca=ca, inventory=zoo_inventory(), query_max_size=5) as mdm:
        yield mdm


@pytest.fixture(scope="session")
def zoo_target(zoo_mdm: ReferenceMDM, ca: CertificateAuthority) -> Target:
    return Target.checked(zoo_mdm.base_url, zoo_mdm.username, zoo_mdm.password, ca=ca.bundle_path)


@pytest.fixture(scope="session")
def zoo_proxy(
    zoo_target: Target, ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultProxy]:
    """One pass-through proxy in front of the zoo's MDM, shared by the runs of every test."""
    proxy = start_proxy(zoo_target, ca, Path(tmp_path_factory.mktemp("zoo-proxy")))
    try:
        yield proxy
    finally:
        proxy.stop()
