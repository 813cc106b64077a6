"""The inventory: generation, indexes, mutations, files and their error messages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.mdm import ALICE, ALICE_MAC, small_inventory

from harness._util import scrubbed_env
from harness.mdm import Device, Inventory, InventoryError, QueryError, normalise_mac
from harness.mdm.generate import generate_devices, luhn_digit

NOW = 1_717_000_000_000


@pytest.fixture(scope="module")
def fleet() -> Inventory:
    return Inventory.generate(3000, seed=7, now_ms=NOW)


# -- generation ---------------------------------------------------------------------------------


def test_generation_is_deterministic_for_a_seed() -> None:
    a = list(generate_devices(300, seed=3, now_ms=NOW))
    assert a == list(generate_devices(300, seed=3, now_ms=NOW))
    assert a != list(generate_devices(300, seed=4, now_ms=NOW))


def test_generated_identifiers_have_real_shapes(fleet: Inventory) -> None:
    devices = list(fleet)
    assert len(devices) == 3000
    guid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    for d in devices:
        assert guid.fullmatch(d.guid)
        assert 1 <= len(d.macaddresses) <= 5 and d.macaddresses[0] == d.macaddress
        assert all(re.fullmatch(r"[0-9A-F]{12}", m) for m in d.macaddresses)
        assert int(d.macaddress[:2], 16) & 0x01 == 0  # unicast
        if d.imei is not None:
            assert re.fullmatch(r"[0-9]{15}", d.imei)
            assert luhn_digit(d.imei[:14]) == d.imei[14]
            assert d.meid == d.imei[:14]
        if d.manufacturer == "Apple Inc." and "Mac" not in (d.model or ""):
            assert re.fullmatch(r"0000[0-9A-F]{4}-[0-9A-F]{16}", d.udid or "")
        assert d.last_checkin_ms is not None and d.last_checkin_ms <= NOW
    assert len({d.guid for d in devices}) == len({d.hostname for d in devices}) == 3000
    assert len({m for d in devices for m in d.macaddresses}) == sum(
        len(d.macaddresses) for d in devices
    )


def test_generated_fleet_is_a_realistic_mix(fleet: Inventory) -> None:
    devices = list(fleet)
    makers = {d.manufacturer for d in devices}
    assert {"Apple Inc.", "samsung", "Google", "Microsoft Corporation", "Dell Inc."} <= makers
    assert any(d.os_version and d.os_version.startswith("iOS") for d in devices)
    assert any(d.os_version and d.os_version.startswith("Windows 11") for d in devices)
    share = sum(not d.compliant for d in devices) / len(devices)
    assert 0.17 < share < 0.23
    reasons = [d.failure_reason or "" for d in devices if not d.compliant]
    assert all(reasons) and any("&" in r for r in reasons) and any("<" in r for r in reasons)
    assert all(d.remediation for d in devices if not d.compliant)
    jailbroken = [d for d in devices if d.jail_broken]
    assert jailbroken and all(not d.compliant for d in jailbroken)
    private = [d for d in devices if int(d.macaddress[:2], 16) & 0x02]
    assert 0 < len(private) < len(devices)  # some private (locally administered) Wi-Fi MACs
    users = fleet.stats()["users"]
    assert users < len(devices)  # people own more than one device


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_noncompliant_ratio_bounds(ratio: float) -> None:
    devices = list(generate_devices(200, seed=1, noncompliant_ratio=ratio, now_ms=NOW))
    assert {d.compliant for d in devices} == {ratio == 0.0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n": -1}, "n=-1"), ({"noncompliant_ratio": 2.0}, "noncompliant_ratio")],
)
def test_generation_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    args = {"n": 5, "seed": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        list(generate_devices(**args))  # type: ignore[arg-type]


def test_luhn_check_digit() -> None:
    assert luhn_digit("49015420323751") == "8"  # the IMEI example of the GSMA
    assert luhn_digit("7992739871") == "3"


# -- lookups --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criterion", "value"),
    [
        ("macaddress", "00:26:B4:24:FE:B4"),
        ("macaddress", "0026.b424.feb6"),  # any of the device's MACs
        ("guid", ALICE.guid.upper()),
        ("guidhn", "alice-IPHONE"),
        ("udid", "00008110-001a2c3e0e91801e"),
        ("uid", "00008110-001A2C3E0E91801E"),
        ("imei", "35693803-5643809"),
        ("meid", "35693803564380"),
        ("serial", "F9GDX3RQQ1GC"),
        ("serialnumber", "f9gdx3rqq1gc"),
    ],
)
def test_find_by_every_criterion(criterion: str, value: str) -> None:
    inventory = small_inventory(20)
    [device] = inventory.find(criterion, value)
    assert device.guid == ALICE.guid.lower()


def test_identifiers_are_stored_normalised() -> None:
    device = small_inventory(0).get("0026B424FEB4")
    assert device is not None
    assert device.macaddress == "0026B424FEB4"
    assert device.macaddresses == ("0026B424FEB4", "0026B424FEB5", "0026B424FEB6")
    assert (device.guid, device.udid, device.serial_number) == (
        ALICE.guid.lower(),
        "00008110-001A2C3E0E91801E",
        "F9GDX3RQQ1GC",
    )


def test_username_and_compliance_listings_are_in_sequence_order() -> None:
    inventory = small_inventory(50)
    assert [d.guid for d in inventory.find("username", "ALICE.TESTER")] == [
        ALICE.guid.lower(),
        ALICE_MAC.guid,
    ]
    noncompliant = inventory.find("compliance", "FALSE")
    assert noncompliant == [d for d in inventory if not d.compliant]


@pytest.mark.parametrize(
    "key", ["0026b424feb5", ALICE.guid, "Alice-iPhone", "356938035643809", "F9GDX3RQQ1GC"]
)
def test_get_accepts_any_identifier(key: str) -> None:
    device = small_inventory(5).get(key)
    assert device is not None and device.guid == ALICE.guid.lower()


def test_get_of_nothing_is_none() -> None:
    assert small_inventory(5).get("does-not-exist") is None
    assert small_inventory(5).get("") is None


@pytest.mark.parametrize(
    ("criterion", "value", "message"),
    [
        ("macaddress", "0026B424FEB", "not a MAC"),
        ("macaddress", "0026B424FEBZ", "not a MAC"),
        ("compliance", "yes", "true or false"),
        ("guid", "x" * 129, "128 bytes"),
        ("username", "", "empty"),
        ("shoe", "1", "unknown criterion"),
    ],
)
def test_bad_query_values(criterion: str, value: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        small_inventory(0).find(criterion, value)


def test_normalise_mac() -> None:
    assert normalise_mac(" 00:26:b4:24:fe:b4 ") == "0026B424FEB4"
    with pytest.raises(ValueError, match="is not a MAC address"):
        normalise_mac("00:26:b4:24:fe")
    # a lookup by a bad MAC is the inventory's QueryError (the API answers it as a bad request)
    with pytest.raises(QueryError, match="is not a MAC address"):
        small_inventory(1).find("macaddress", "00:26:b4:24:fe")


def test_one_mac_normaliser_for_client_mdm_and_server_checks() -> None:
    from harness import _util
    from harness.client import protocol
    from harness.servercheck import documents

    assert protocol.normalise_mac is _util.normalise_mac is normalise_mac
    assert documents.mac_or_none("00-26-B4-24-FE-B4") == "0026B424FEB4"
    assert documents.mac_or_none("00-26-B4") is None


# -- mutations -----------------------------------------------------------------------------------


def test_set_compliance_moves_a_device_between_listings() -> None:
    inventory = small_inventory(10)
    before = len(inventory.find("compliance", "false"))
    device = inventory.set_compliance(
        ALICE_MAC.macaddress, False, "Disk < 10 % free & <full>", "Free space"
    )
    assert (device.compliant, device.failure_reason, device.remediation) == (
        False,
        "Disk < 10 % free & <full>",
        "Free space",
    )
    assert len(inventory.find("compliance", "false")) == before + 1
    assert inventory.find("compliance", "false") == [d for d in inventory if not d.compliant]
    healed = inventory.set_compliance(ALICE_MAC.guid, True)
    assert (healed.compliant, healed.failure_reason, healed.remediation) == (True, None, None)
    assert len(inventory.find("compliance", "false")) == before
    default = inventory.set_compliance(ALICE_MAC.guid, False)
    assert default.failure_reason == "Marked non-compliant by the harness"


def test_set_compliance_of_an_unknown_device_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no device"):
        small_inventory(1).set_compliance("AABBCCDDEEFF", False)
    with pytest.raises(TypeError, match="not a bool"):
        small_inventory(1).set_compliance(ALICE.guid, "false")  # type: ignore[arg-type]


def test_add_rejects_a_taken_identifier_and_remove_frees_it() -> None:
    inventory = small_inventory(5)
    twin = Device(macaddress="AA:BB:CC:00:00:01", macaddresses=("0026B424FEB6",), guid="twin")
    with pytest.raises(ValueError, match=r"0026B424FEB6.*already used"):
        inventory.add(twin)
    assert inventory.get("AABBCC000001") is None  # nothing half-added
    removed = inventory.remove("0026B424FEB4")
    assert removed.guid == ALICE.guid.lower()
    assert inventory.find("username", "alice.tester") == [inventory.get(ALICE_MAC.guid)]
    assert inventory.find("imei", ALICE.imei or "") == []
    assert inventory.add(twin).macaddresses == ("AABBCC000001", "0026B424FEB6")
    with pytest.raises(KeyError):
        inventory.remove(ALICE.guid)


def test_mutations_from_many_threads_keep_the_indexes_consistent() -> None:
    inventory = Inventory.generate(400, seed=9, now_ms=NOW)
    guids = [d.guid for d in inventory]

    def worker(offset: int) -> None:
        for i, guid in enumerate(guids[offset::8]):
            inventory.set_compliance(guid, i % 2 == 0)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    listed = inventory.find("compliance", "false") + inventory.find("compliance", "true")
    assert sorted(d.guid for d in listed) == sorted(guids)
    assert inventory.find("compliance", "false") == [d for d in inventory if not d.compliant]


# -- files ---------------------------------------------------------------------------------------

GOOD_YAML = """\
devices:
  - macaddress: "00:26:B4:24:FE:B4"
    username: alice
    compliant: false
    failure_reason: "Passcode not set & OS < 17"
    imei: 356938035643809
  - macaddress: 3C22FB000001
    macaddresses: "3C22FB000001,3C22FB000002"
    guid: 6A0F7B7E-0000-4000-8000-000000000002
    hostname: bob-mbp
    last_checkin_ms: 1717000000000
"""


def test_a_yaml_inventory_loads(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(GOOD_YAML)
    inventory = Inventory.load(path)
    alice, bob = list(inventory)
    assert (alice.failure_reason, alice.imei, alice.compliant) == (
        "Passcode not set & OS < 17",
        "356938035643809",
        False,
    )
    assert alice.guid == Inventory.load(path).get("0026B424FEB4").guid  # type: ignore[union-attr]
    assert bob.macaddresses == ("3C22FB000001", "3C22FB000002")
    assert bob.guid == "6a0f7b7e-0000-4000-8000-000000000002"
    assert inventory.find("guidhn", "BOB-MBP") == [bob]


def test_a_json_inventory_loads_as_a_bare_list(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps([d.to_dict() for d in small_inventory(30)]))
    loaded = Inventory.load(path)
    assert list(loaded) == list(small_inventory(30))


BAD_FILES = [
    # name, text, expected message (regex) with file:line: field
    (
        "no-devices.yaml",
        "hosts: []\n",
        r"no-devices.yaml:1: hosts: unknown field; expected one of devices",
    ),
    ("bad-syntax.yaml", "devices:\n  - macaddress: [\n", r"bad-syntax.yaml:3: not valid YAML"),
    (
        "bad-syntax.json",
        '{"devices": [\n  {"macaddress": }\n]}',
        r"bad-syntax.json:2: not valid JSON",
    ),
    ("not-a-list.yaml", "devices: 3\n", r"not-a-list.yaml:1: devices: expected a list"),
    (
        "bad-mac.yaml",
        "devices:\n  - macaddress: '00:26:B4'\n",
        r"bad-mac.yaml:2: devices\[0\].macaddress: '00:26:B4' is not a MAC",
    ),
    (
        "numeric-mac.yaml",
        "devices:\n  - macaddress: 112233445566\n",
        r"numeric-mac.yaml:2: devices\[0\].macaddress: .*quote it",
    ),
    (
        "unknown-field.yaml",
        "devices:\n  - macaddress: '001122334455'\n  - macaddress: '001122334466'\n    complaint: false\n",
        r"unknown-field.yaml:4: devices\[1\].complaint: unknown field",
    ),
    (
        "bad-bool.json",
        '{"devices": [\n  {"macaddress": "001122334455",\n   "compliant": "no"}\n]}',
        r"bad-bool.json:3: devices\[0\].compliant: expected true or false, got str 'no'",
    ),
    (
        "duplicate.yaml",
        "devices:\n  - macaddress: '001122334455'\n  - macaddress: '00-11-22-33-44-55'\n",
        r"duplicate.yaml:3: devices\[1\]: macaddress '001122334455' is already used",
    ),
    (
        "no-mac.yaml",
        "devices:\n  - username: alice\n",
        r"no-mac.yaml:2: devices\[0\].macaddress: missing \(a device needs a macaddress\)",
    ),
    (
        "bad-imei.yaml",
        "devices:\n  - macaddress: '001122334455'\n    imei: '12ab'\n",
        r"bad-imei.yaml:3: devices\[0\].imei: '12ab' is not an IMEI",
    ),
    (
        "six-macs.yaml",
        "devices:\n  - macaddress: '001122334450'\n    macaddresses: "
        "['001122334451', '001122334452', '001122334453', '001122334454', '001122334455']\n",
        r"six-macs.yaml:3: devices\[0\].macaddresses: 6 MACs; a device has at most 5",
    ),
    (
        "numeric-macs.yaml",
        "devices:\n  - macaddress: '001122334450'\n    macaddresses: [001122334451]\n",
        r"numeric-macs.yaml:3: devices\[0\].macaddresses: a list of MAC strings",
    ),
    (
        "record-not-mapping.yaml",
        "devices:\n  - just a string\n",
        r"record-not-mapping.yaml:2: devices\[0\]: expected a device \(a mapping of field: value\)",
    ),
    ("fleet.csv", "mac\n", r"fleet.csv: unknown format '.csv'"),
    # What the one loader refuses, in an inventory too (issue 12 finding 3).
    (
        "alias-bomb.yaml",
        "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\ndevices: [*a, *a]\n",
        r"alias-bomb.yaml:2: not valid YAML: aliases \(\*a\) are not allowed",
    ),
    (
        "deep.yaml",
        "devices: " + "[" * 1000 + "]" * 1000 + "\n",
        r"deep.yaml:1: not valid YAML: nested more than 16 levels deep",
    ),
    (
        "nan.json",
        '{"devices": [\n  {"macaddress": "001122334455",\n   "last_checkin_ms": NaN}]}',
        r"nan.json:3: not valid JSON: NaN and infinity are not numbers here",
    ),
    (
        "long-int.json",
        '[{"macaddress": "001122334455",\n  "last_checkin_ms": ' + "9" * 5000 + "}]",
        r"long-int.json:2: not valid JSON: an integer of 5000 digits is too long \(at most 30\)",
    ),
    (
        "duplicate-key.json",
        '[{"macaddress": "001122334455",\n  "compliant": true,\n  "compliant": false}]',
        r"duplicate-key.json:3: not valid JSON: duplicate key 'compliant'",
    ),
    (
        "control-char.json",
        '[{"macaddress": "001122334455",\n  "model": "a\\u0001b"}]',
        r"control-char.json:2: devices\[0\].model: contains U\+0001, a character XML cannot carry",
    ),
    (
        "surrogate.json",
        '[{"macaddress": "001122334455",\n  "model": "a\\udc80b"}]',
        # libyaml cannot read that escape, so the line found is the device's, not the field's.
        r"surrogate.json:1: devices\[0\].model: is not valid Unicode text \(a lone surrogate\)",
    ),
    (
        "bare-list.json",
        '[{"macaddress": "001122334455"},\n {"macaddress": "001122334466",\n  "imei": "12ab"}]',
        r"bare-list.json:3: devices\[1\].imei: '12ab' is not an IMEI",
    ),
    (
        "float-mac.yaml",
        "devices:\n  - macaddress: 001E10000000\n",
        r"float-mac.yaml:2: not valid YAML: str '001E10000000' is too large for a number \(quote it",
    ),
    ("empty.yaml", "", r"empty.yaml: the inventory is empty"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_inventory_file_names_file_line_and_field(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InventoryError) as exc:
        Inventory.load(path)
    assert re.search(message, str(exc.value)), str(exc.value)
    assert str(exc.value).startswith(str(path))


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read"):
        Inventory.load(tmp_path / "absent.yaml")


def test_blank_identifiers_are_kept_blank_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "blank.yaml"
    path.write_text("devices:\n  - macaddress: '001122334455'\n    udid: '  '\n    hostname: ''\n")
    (device,) = Inventory.load(path)
    assert (device.udid, device.hostname) == ("", "")


def test_an_inventory_that_is_not_a_regular_file_is_read_within_the_limit(tmp_path: Path) -> None:
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    with pytest.raises(InventoryError, match=r"zero.yaml: larger than 268435456 bytes"):
        Inventory.load(zero)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        # Issue 12: libyaml's C composer (the inventory's loader then) died of SIGSEGV on this;
        # tests/test_fields.py shows that loader still does.
        (
            "deep.yaml",
            "devices:\n" + "- " * 100_000 + "x\n",
            "2: not valid YAML: nested more than 16 levels deep",
        ),
        (
            "bomb.yaml",
            "a: &a [x, x]\nb: &b [*a, *a]\ndevices: [*b]\n",
            "2: not valid YAML: aliases (*a) are not allowed",
        ),
        (
            "nan.json",
            '{"devices": [{"macaddress": "001122334455", "last_checkin_ms": NaN}]}',
            "1: not valid JSON: NaN and infinity",
        ),
    ],
)
def test_serve_refuses_a_hostile_inventory_in_one_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    result = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "harness",
            "serve",
            "--state-dir",
            str(tmp_path / "state"),
            "--inventory",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=scrubbed_env({}),
    )
    assert result.returncode == 2, result
    (line,) = result.stderr.splitlines()
    assert f"{path}:{message}" in line, line
