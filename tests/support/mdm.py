"""Helpers for the reference MDM's tests.

:class:`Api` is an httpx client bound to one server that checks every XML reply it receives:
the content type, and validity against the XSD of its kind. So each test that talks to the
server also proves that whatever the server answered is schema-valid.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx
from lxml import etree

from harness.mdm import Device, Inventory, ReferenceMDM, schemas

#: Every kind of document the tests saw, so a test can prove each kind was covered.
SEEN_KINDS: set[str] = set()


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    kind: str | None
    root: Any = field(repr=False, default=None)

    def text(self, path: str) -> str | None:
        """Text of the first element at ``path`` (ElementPath from the root)."""
        return self.root.findtext(path)

    @property
    def devices(self) -> list[dict[str, Any]]:
        """The ``<device>`` elements of an attribute reply as flat dicts (key element included)."""
        found = []
        for device in self.root.iterfind("deviceList/device"):
            record: dict[str, Any] = {}
            for child in device:
                if child.tag == "attributes":
                    for attr in child:
                        if attr.tag == "compliance":
                            for c in attr:
                                record[f"compliance.{c.tag}"] = c.text
                        else:
                            record[attr.tag] = attr.text
                else:
                    record[f"key.{child.tag}"] = child.text
            found.append(record)
        return found

    @property
    def error_message(self) -> str | None:
        return self.text("error/message")


def validated(response: httpx.Response) -> Reply:
    """A :class:`Reply`, after checking content type and XSD validity of an XML body."""
    body = response.content
    kind = None
    root = None
    if response.headers.get("content-type", "").startswith("application/xml"):
        assert response.headers["content-type"] == "application/xml;charset=UTF-8"
        kind = schemas.validate(body)
        SEEN_KINDS.add(kind)
        root = etree.fromstring(body)
        if kind == "error":
            assert root.findtext("error/status") == str(response.status_code)
        else:
            assert response.status_code == 200
    return Reply(response.status_code, response.headers, body, kind, root)


class Api:
    """An httpx client for one server (its CA only, no ambient variables), validating replies."""

    def __init__(self, mdm: ReferenceMDM, *, auth: bool = True, **kwargs: Any) -> None:
        self.mdm = mdm
        ctx = ssl.create_default_context(cafile=str(mdm.ca_bundle)) if mdm.ca_bundle else None
        self.client = httpx.Client(
            base_url=mdm.origin,
            verify=ctx if ctx is not None else False,
            trust_env=False,
            auth=(mdm.username, mdm.password) if auth else None,
            timeout=20.0,
            **kwargs,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        return validated(self.client.request(method, path, **kwargs))

    def get(self, path: str, **params: Any) -> Reply:
        return self.request("GET", path, params=params or None)

    def devices(self, version: int, **params: Any) -> Reply:
        """``GET {api_path v<version>}/devices/`` with query parameters (paging defaults to 0)."""
        params.setdefault("paging", "0")
        return self.get(self.mdm.profile.api_path_for(version) + "/devices/", **params)

    def discover(self, version: int | None) -> Reply:
        query = "" if version is None else f"/?ise_api_version={version}"
        return self.request("GET", f"{self.mdm.profile.instance}/ciscoise/mdminfo{query}")

    def action(self, version: int, action: str, kind: str, value: str) -> Reply:
        body = f"<ise_api><identifier><{kind}>{value}</{kind}></identifier></ise_api>"
        path = self.mdm.profile.api_path_for(version) + f"/action/actionType={action}"
        return self.request("POST", path, content=body.encode())


# -- inventories ------------------------------------------------------------------------------

#: A device whose every identifier the tests know, with markup characters in its texts.
ALICE = Device(
    macaddress="00:26:b4:24:fe:b4",
    macaddresses=("00-26-B4-24-FE-B5", "0026.b424.feb6"),
    guid="1759C0FD-C8DA-49E8-B14F-19D85ACFACEA",
    hostname="Alice-iPhone",
    username="alice.tester",
    compliant=False,
    failure_reason="Passcode < 6 digits & <jailbreak> detected",
    remediation="Set a passcode & restore <now>",
    pin_lock_on=False,
    manufacturer="Apple Inc.",
    model="iPhone 14",
    os_version="iOS 17.5.1",
    serial_number="f9gdx3rqq1gc",
    udid="00008110-001a2c3e0e91801e",
    imei="356938035643809",
    meid="35693803564380",
    phone_number="+15550100001",
    last_checkin_ms=1_717_000_000_000,
)
#: Alice's second device (same user), compliant, no cellular identifiers.
ALICE_MAC = Device(
    macaddress="3C22FB000001",
    guid="6a0f7b7e-0000-4000-8000-000000000002",
    hostname="alice-mbp",
    username="Alice.Tester",
    manufacturer="Apple Inc.",
    model="MacBook Pro (14-inch, 2023)",
    os_version="macOS 14.5",
    serial_number="C02XL0GYJGH5",
    udid="6A0F7B7E-1111-4000-8000-000000000002",
    last_checkin_ms=1_717_000_000_001,
)
#: Known to the MDM but not enrolled: actions on it fail.
RETIRED = Device(
    macaddress="F01898000003",
    guid="6a0f7b7e-0000-4000-8000-000000000003",
    hostname="retired-ipad",
    username="former.employee",
    register_status=False,
    compliant=False,
    failure_reason="MDM profile removed by user",
    last_checkin_ms=1_600_000_000_000,
)


def small_inventory(generated: int = 200, seed: int = 11) -> Inventory:
    """``generated`` seeded devices plus :data:`ALICE`, :data:`ALICE_MAC` and :data:`RETIRED`."""
    inventory = Inventory.generate(generated, seed, now_ms=1_717_000_000_000)
    for device in (ALICE, ALICE_MAC, RETIRED):
        inventory.add(device)
    return inventory
