"""The server zoo's defects: each one makes the reference MDM misbehave as it says - and only
while it is switched on (every test asks the same request with the defect off first, as the
control). That each defect then breaks exactly its server contract is tests/servercheck's job."""

from __future__ import annotations

import concurrent.futures
import re
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree
from support.mdm import ALICE, small_inventory

from harness.mdm import AdminClient, ReferenceMDM, schemas
from harness.mdm.defects import DEFECTS, Defects
from harness.tls import CertificateAuthority

DISCOVERY = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/"
V3 = "/7/ciscoise/v3/devices/"
V2 = "/7/ciscoise/v2/devices/"
UNKNOWN_MAC = "02DEADBEEF00"


@pytest.fixture(scope="module")
def mdm(mdm_ca: CertificateAuthority) -> Iterator[ReferenceMDM]:
    # query_max_size 5: the non-compliant listing has several pages
    with ReferenceMDM(ca=mdm_ca, inventory=small_inventory(60), query_max_size=5) as server:
        yield server


@pytest.fixture
def http(mdm: ReferenceMDM) -> Iterator[httpx.Client]:
    mdm.defects = []
    with httpx.Client(
        base_url=mdm.origin,
        verify=ssl.create_default_context(cafile=str(mdm.ca_bundle)),
        trust_env=False,
        auth=(mdm.username, mdm.password),
        timeout=20,
    ) as client:
        yield client
    mdm.defects = []
    mdm.check()


def _root(response: httpx.Response) -> etree._Element:
    return etree.fromstring(response.content)


def _attributes(response: httpx.Response) -> list[str]:
    found = _root(response).find("deviceList/device/attributes")
    assert found is not None
    return [el.tag for el in found]


def _both(
    mdm: ReferenceMDM, defect: str, ask: Callable[[], httpx.Response]
) -> tuple[httpx.Response, httpx.Response]:
    """The answer without the defect (the control), then with it."""
    mdm.defects = []
    control = ask()
    mdm.defects = [defect]
    broken = ask()
    mdm.defects = []
    return control, broken


def test_every_defect_is_named_and_parsed() -> None:
    assert len(DEFECTS) >= 20
    parsed = Defects.parse(DEFECTS)
    assert parsed.active == frozenset(DEFECTS) and parsed.slow_ms == 1000
    assert Defects.parse(["slow=150"]).slow_ms == 150
    assert Defects.parse(["slow=150", "lowercase-macs"]).specs() == ["lowercase-macs", "slow=150"]
    assert not Defects() and "slow" not in Defects()


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["no-such-defect"], "'no-such-defect' is unknown; known: accepts-bad-credentials"),
        (["lowercase-macs=1"], "takes no value"),
        (["slow=fast"], "slow=MS needs 1..600000 milliseconds"),
        (["slow=0"], "slow=MS needs"),
    ],
)
def test_bad_defect_names_are_refused(specs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Defects.parse(specs)


def test_a_bad_defect_is_refused_by_the_constructor_and_the_admin_api(
    mdm: ReferenceMDM, http: httpx.Client
) -> None:
    with pytest.raises(ValueError, match="unknown"):
        ReferenceMDM(devices=1, defects=["nope"], plain_http=True)
    admin = AdminClient(mdm.base_url, mdm.username, mdm.password, ca_bundle=mdm.ca_bundle)
    assert admin.settings(defects=["lowercase-macs"])["defects"] == ["lowercase-macs"]
    assert admin.stats()["defects"] == ["lowercase-macs"]
    assert "lowercase-macs" in mdm.defects
    with pytest.raises(Exception, match="unknown"):
        admin.settings(defects=["nope"])
    assert admin.settings(defects=[])["defects"] == []


# -- discovery -----------------------------------------------------------------------------------


def test_version_above_ask(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "version-above-ask", lambda: http.get(DISCOVERY, params={"ise_api_version": 2})
    )
    assert _root(control).findtext("api_version") == "2"
    assert _root(broken).findtext("api_version") == "3"


def test_v3_without_vendor(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "v3-without-vendor", lambda: http.get(DISCOVERY, params={"ise_api_version": 3})
    )
    assert _root(control).findtext("vendor") == "JAMF Software"
    assert _root(broken).find("vendor") is None and _root(broken).find("product_version") is None
    with pytest.raises(schemas.SchemaError):
        schemas.validate(broken.content)


def test_api_path_not_served(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "api-path-not-served", lambda: http.get(DISCOVERY, params={"ise_api_version": 3})
    )
    good, bad = _root(control).findtext("api_path"), _root(broken).findtext("api_path")
    assert good == "/7/ciscoise/v3" and bad == "/ciscoise/v3"
    assert http.get(f"{good}/devices/", params={"paging": "0"}).status_code == 200
    assert http.get(f"{bad}/devices/", params={"paging": "0"}).status_code == 404


def test_discovery_slash_redirect(mdm: ReferenceMDM, http: httpx.Client) -> None:
    bare = DISCOVERY.rstrip("/")
    control, broken = _both(mdm, "discovery-slash-redirect", lambda: http.get(bare))
    assert control.status_code == 200
    assert broken.status_code == 301 and broken.headers["location"] == DISCOVERY
    mdm.defects = ["discovery-slash-redirect"]
    assert http.get(DISCOVERY).status_code == 200  # the slash form still answers


# -- lookups -------------------------------------------------------------------------------------


def _lookup(http: httpx.Client, criterion: str, value: str, **extra: str) -> httpx.Response:
    return http.get(V3, params={"paging": "0", "querycriteria": criterion, "value": value, **extra})


def test_udid_lookup_unsupported(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "udid-lookup-unsupported", lambda: _lookup(http, "udid", ALICE.udid or "")
    )
    assert control.status_code == 200 and len(_root(control).findall("deviceList/device")) == 1
    assert broken.status_code == 400
    mdm.defects = ["udid-lookup-unsupported"]
    assert _lookup(http, "macaddress", ALICE.macaddress).status_code == 200


@pytest.mark.parametrize("criterion", ["macaddress", "guid"])
def test_unknown_device_404(mdm: ReferenceMDM, http: httpx.Client, criterion: str) -> None:
    value = UNKNOWN_MAC if criterion == "macaddress" else "0d1f7a0e-0000-4000-8000-00000000dead"
    control, broken = _both(mdm, "unknown-device-404", lambda: _lookup(http, criterion, value))
    assert control.status_code == 200 and _root(control).findall("deviceList/device") == []
    assert broken.status_code == 404


def test_unknown_returns_devices(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "unknown-returns-devices", lambda: _lookup(http, "macaddress", UNKNOWN_MAC)
    )
    assert _root(control).findall("deviceList/device") == []
    assert len(_root(broken).findall("deviceList/device")) == 5  # a page of other devices


def test_guid_lookup_wrong_device(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "guid-lookup-wrong-device", lambda: _lookup(http, "guid", ALICE.guid)
    )
    assert _root(control).findtext("deviceList/device/guid") == ALICE.guid.lower()
    other = _root(broken).findtext("deviceList/device/guid")
    assert other and other != ALICE.guid.lower()


def test_filter_drops_asked_and_ignores_filter(mdm: ReferenceMDM, http: httpx.Client) -> None:
    def ask() -> httpx.Response:
        return _lookup(http, "macaddress", ALICE.macaddress, filter="register_status+jail_broken")

    control, dropped = _both(mdm, "filter-drops-asked", ask)
    assert _attributes(control) == ["register_status", "jail_broken"]
    assert _attributes(dropped) == []
    _, ignored = _both(mdm, "ignores-filter", ask)
    assert len(_attributes(ignored)) > 10


def test_lowercase_macs(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm,
        "lowercase-macs",
        lambda: _lookup(http, "guid", ALICE.guid, deviceidentifier="macaddress"),
    )
    assert _root(control).findtext("deviceList/device/macaddress") == "0026B424FEB4"
    assert _root(broken).findtext("deviceList/device/macaddress") == "0026b424feb4"
    assert (_root(broken).findtext("deviceList/device/attributes/macaddresses") or "").islower()


def test_attributes_api_version_2(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "attributes-api-version-2", lambda: _lookup(http, "guid", ALICE.guid)
    )
    assert _root(control).findtext("api_version") == "3"
    assert _root(broken).findtext("api_version") == "2"


# -- paging --------------------------------------------------------------------------------------


def _walk(http: httpx.Client, limit: int = 40) -> tuple[list[str], list[int], list[int]]:
    """Every key, page sizes and statuses of a v3 non-compliant walk."""
    keys: list[str] = []
    sizes: list[int] = []
    statuses: list[int] = []
    cursor = "0"
    for _ in range(limit):
        response = http.get(
            V3,
            params={"paging": cursor, "querycriteria": "compliance", "value": "false"},
        )
        statuses.append(response.status_code)
        if response.status_code != 200:
            break
        root = _root(response)
        page = [d.findtext("guid") or "" for d in root.findall("deviceList/device")]
        keys += page
        sizes.append(len(page))
        cursor = root.findtext("paging_info") or "0"
        if cursor == "0":
            break
    return keys, sizes, statuses


def test_repeats_device_across_pages(mdm: ReferenceMDM, http: httpx.Client) -> None:
    keys, sizes, _ = _walk(http)
    assert len(sizes) >= 3 and len(keys) == len(set(keys))
    mdm.defects = ["repeats-device-across-pages"]
    broken, _, _ = _walk(http)
    assert len(broken) > len(set(broken)) and set(broken) == set(keys)


def test_exceeds_page_size(mdm: ReferenceMDM, http: httpx.Client) -> None:
    assert max(_walk(http)[1]) == 5
    mdm.defects = ["exceeds-page-size"]
    assert max(_walk(http)[1]) == 6


def test_rejects_own_cursor(mdm: ReferenceMDM, http: httpx.Client) -> None:
    assert set(_walk(http)[2]) == {200}
    mdm.defects = ["rejects-own-cursor"]
    assert _walk(http)[2] == [200, 400]


@pytest.mark.parametrize(
    ("defect", "value"), [("busy-wait-negative", "-5"), ("busy-wait-huge", "86400")]
)
def test_busy_wait(mdm: ReferenceMDM, http: httpx.Client, defect: str, value: str) -> None:
    control, broken = _both(mdm, defect, lambda: _lookup(http, "guid", ALICE.guid))
    assert _root(control).findtext("server_busy_wait_seconds") == "0"
    assert _root(broken).findtext("server_busy_wait_seconds") == value


# -- authentication, XML, timing ------------------------------------------------------------------


def test_accepts_bad_credentials(mdm: ReferenceMDM, http: httpx.Client) -> None:
    def ask() -> httpx.Response:
        return http.get(DISCOVERY, params={"ise_api_version": 3}, auth=("intruder", "guess"))

    control, broken = _both(mdm, "accepts-bad-credentials", ask)
    assert control.status_code == 401 and broken.status_code == 200
    mdm.defects = ["accepts-bad-credentials"]
    no_auth = httpx.get(
        mdm.origin + DISCOVERY,
        verify=ssl.create_default_context(cafile=str(mdm.ca_bundle)),
        trust_env=False,
        timeout=20,
    )
    assert no_auth.status_code == 200


def test_challenge_missing(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "challenge-missing", lambda: http.get(DISCOVERY, auth=("intruder", "guess"))
    )
    assert control.headers["www-authenticate"].startswith("Basic ")
    assert broken.status_code == 401 and "www-authenticate" not in broken.headers


def test_unescaped_ampersand(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(
        mdm, "unescaped-ampersand", lambda: _lookup(http, "macaddress", ALICE.macaddress)
    )
    assert b"&amp;" in control.content
    etree.fromstring(control.content)
    assert b"digits & <jailbreak>" in broken.content
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(broken.content)


def test_html_content_type(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(mdm, "html-content-type", lambda: http.get(DISCOVERY))
    assert control.headers["content-type"].startswith("application/xml")
    assert broken.headers["content-type"].startswith("text/html")
    mdm.defects = ["html-content-type"]
    refused = http.get(DISCOVERY, auth=("intruder", "guess"))
    assert refused.headers["content-type"].startswith("application/xml")  # errors keep theirs


def test_bad_boolean(mdm: ReferenceMDM, http: httpx.Client) -> None:
    control, broken = _both(mdm, "bad-boolean", lambda: _lookup(http, "guid", ALICE.guid))
    assert _root(control).findtext("deviceList/device/attributes/register_status") == "true"
    assert _root(broken).findtext("deviceList/device/attributes/register_status") == "yes"


@pytest.mark.parametrize("value", ["o'brien", "a&b", "<x>", 'say "hi"'])
def test_markup_500(mdm: ReferenceMDM, http: httpx.Client, value: str) -> None:
    control, broken = _both(mdm, "markup-500", lambda: _lookup(http, "username", value))
    assert control.status_code == 200 and broken.status_code == 500
    mdm.defects = ["markup-500"]
    assert _lookup(http, "username", "plain").status_code == 200
    mdm.check()  # a deliberate 500 is not an unexpected error of the server


def test_slow(mdm: ReferenceMDM, http: httpx.Client) -> None:
    mdm.defects = ["slow=300"]
    started = time.monotonic()
    assert _lookup(http, "macaddress", ALICE.macaddress).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()  # discovery is not a lookup: not delayed
    assert http.get(DISCOVERY).status_code == 200
    assert time.monotonic() - started < 0.3


def test_race_under_concurrency(mdm: ReferenceMDM, http: httpx.Client) -> None:
    macs = [d.macaddress for d in list(mdm.inventory)[:6]]

    def answers() -> list[str | None]:
        with concurrent.futures.ThreadPoolExecutor(len(macs)) as pool:
            replies = list(pool.map(lambda m: _lookup(http, "macaddress", m), macs))
        return [_root(r).findtext("deviceList/device/macaddress") for r in replies]

    assert answers() == macs
    mdm.defects = ["race-under-concurrency"]
    assert answers() != macs


def test_action_reply_broken(mdm: ReferenceMDM, http: httpx.Client) -> None:
    body = f"<ise_api><identifier><guid>{ALICE.guid}</guid></identifier></ise_api>"

    def ask() -> httpx.Response:
        return http.post("/7/ciscoise/v3/action/actionType=pin_lock", content=body)

    control, broken = _both(mdm, "action-reply-broken", ask)
    assert _root(control).findtext("deviceList/device/result/action_status") == "true"
    assert _root(broken).find("deviceList/device/result") is None
    assert len(mdm.actions(ALICE.guid)) == 2  # the action still ran: only the reply is broken


def test_every_defect_has_a_test_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    untested = [name for name in DEFECTS if f'"{name}' not in source]
    assert untested == []
