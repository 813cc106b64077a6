"""Paging: 2 500 non-compliant devices, query_max_size 1000, opaque cursors, flips mid-walk."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from support.mdm import Api, Reply

from harness.mdm import Inventory, ReferenceMDM
from harness.tls import CertificateAuthority

NONCOMPLIANT = 2500


def _inventory() -> Inventory:
    """3 000 devices; 2 500 made non-compliant in a shuffled order (listing order is by
    sequence number, not by when a device became non-compliant)."""
    inventory = Inventory.generate(3000, seed=5, noncompliant_ratio=0.0, now_ms=1_717_000_000_000)
    guids = [d.guid for d in inventory]
    chosen = random.Random(1).sample(guids, NONCOMPLIANT)
    for guid in chosen:
        inventory.set_compliance(guid, False, "Passcode not set")
    return inventory


@pytest.fixture
def mdm(mdm_ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    with ReferenceMDM(ca=mdm_ca, inventory=_inventory()) as server:
        yield server


@pytest.fixture
def client(mdm: ReferenceMDM) -> Iterator[Api]:
    with Api(mdm) as api:
        yield api


def _walk(client: Api, version: int = 3, on_page: object = None) -> tuple[list[str], list[Reply]]:
    keys: list[str] = []
    pages: list[Reply] = []
    cursor = "0"
    while True:
        if version == 1:
            page = client.request("GET", f"/7/ciscoise/v1/devices/{cursor}/compliance/false/all")
        else:
            page = client.devices(
                version,
                paging=cursor,
                querycriteria="compliance",
                value="false",
                deviceidentifier="guid" if version == 3 else "macaddress",
                filter="all",
            )
        assert page.status == 200
        pages.append(page)
        keys += [d.get("key.guid") or d["key.macaddress"] for d in page.devices]
        if callable(on_page):
            on_page(len(pages))
        cursor = page.text("paging_info") or "0"
        if cursor == "0":
            return keys, pages
        assert len(pages) < 10, "the walk does not end"


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_walk_returns_each_device_exactly_once(
    mdm: ReferenceMDM, client: Api, version: int
) -> None:
    keys, pages = _walk(client, version)
    assert [len(p.devices) for p in pages] == [1000, 1000, 500]
    assert len(keys) == len(set(keys)) == NONCOMPLIANT
    truth = {(d.guid if version == 3 else d.macaddress) for d in mdm.inventory if not d.compliant}
    assert set(keys) == truth


def test_cursors_are_opaque_signed_integers(client: Api) -> None:
    _, pages = _walk(client)
    cursors = [p.text("paging_info") or "" for p in pages[:-1]]
    assert all(c.isdigit() and int(c) < 2**63 for c in cursors)
    assert all(int(c) > 10**9 for c in cursors)  # not a bare offset or page number
    assert pages[-1].text("paging_info") == "0"


def test_a_compliance_flip_mid_walk_neither_repeats_nor_skips(
    mdm: ReferenceMDM, client: Api
) -> None:
    listed = [d.guid for d in mdm.inventory if not d.compliant]
    first_page = set(listed[:1000])
    healed_early = listed[:300]  # already returned: with offset paging, later devices would shift
    healed_late = listed[2000]  # not yet returned: it is compliant by the time its page comes
    order = [d.guid for d in mdm.inventory]  # sequence order
    compliant = [d.guid for d in mdm.inventory if d.compliant]
    newcomer_before = compliant[0]  # becomes non-compliant behind the cursor: not listed
    newcomer_after = compliant[-1]  # becomes non-compliant ahead of the cursor: listed once
    cursor_at = order.index(listed[999])
    assert order.index(newcomer_before) < cursor_at < order.index(newcomer_after)

    def flip(pages_so_far: int) -> None:
        if pages_so_far == 1:
            for guid in healed_early:
                mdm.set_compliance(guid, True)
            mdm.set_compliance(healed_late, True)
            mdm.set_compliance(newcomer_before, False, "New OS < minimum")
            mdm.set_compliance(newcomer_after, False, "New OS < minimum")

    keys, _ = _walk(client, on_page=flip)
    assert len(keys) == len(set(keys)), "a device came back twice"
    stayed = [g for g in listed if g not in healed_early and g != healed_late]
    assert set(stayed) <= set(keys), "a device that stayed non-compliant was skipped"
    assert healed_late not in keys
    assert first_page <= set(keys)
    # a newcomer shows up exactly when its sequence number lies beyond the cursor
    assert (keys.count(newcomer_before), keys.count(newcomer_after)) == (0, 1)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: str(int(c) + 1),  # a forged tag
        lambda c: str(int(c) ^ (1 << 40)),  # another sequence number under the old tag
        lambda c: "1000",  # an offset, as a naive client might guess
        lambda c: c + "0",
        lambda c: "-" + c,
        lambda c: "abc",
    ],
)
def test_a_cursor_that_does_not_verify_is_400(client: Api, tamper: object) -> None:
    first = client.devices(3, querycriteria="compliance", value="false")
    cursor = first.text("paging_info") or ""
    assert cursor != "0"
    forged = tamper(cursor)  # type: ignore[operator]
    reply = client.devices(3, paging=forged, querycriteria="compliance", value="false")
    assert reply.status == 400
    assert "paging" in (reply.error_message or "")


def test_a_cursor_is_bound_to_its_query_and_version(client: Api) -> None:
    cursor = client.devices(3, querycriteria="compliance", value="false").text("paging_info")
    assert client.devices(3, paging=cursor, querycriteria="compliance", value="false").status == 200
    assert client.devices(3, paging=cursor, querycriteria="compliance", value="true").status == 400
    assert client.devices(2, paging=cursor, querycriteria="compliance", value="false").status == 400


def test_a_cursor_from_another_server_is_400(mdm_ca: CertificateAuthority, client: Api) -> None:
    cursor = client.devices(3, querycriteria="compliance", value="false").text("paging_info")
    with ReferenceMDM(ca=mdm_ca, inventory=_inventory()) as other, Api(other) as other_client:
        assert (
            other_client.devices(3, paging=cursor, querycriteria="compliance", value="false").status
            == 400
        )


def test_batch_results_page_too(mdm_ca: CertificateAuthority) -> None:
    inventory = Inventory.generate(30, seed=2, now_ms=1)
    macs = [d.macaddress for d in inventory]
    body = ("<ise_api>" + "".join(f"<value>{m}</value>" for m in macs) + "</ise_api>").encode()
    with ReferenceMDM(ca=mdm_ca, inventory=inventory, query_max_size=12) as mdm, Api(mdm) as client:
        seen: list[str] = []
        cursor = "0"
        while True:
            page = client.request(
                "POST",
                "/7/ciscoise/v2/batchdevices/",
                params={"paging": cursor, "querycriteria": "macaddress"},
                content=body,
            )
            seen += [d["key.macaddress"] for d in page.devices]
            cursor = page.text("paging_info") or "0"
            if cursor == "0":
                break
        assert seen == macs
