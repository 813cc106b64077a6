"""The issue's "done when", with plain curl through the proxy in front of the reference MDM.

curl always gets ``--cacert`` (the harness CA, nothing else) and ``--proxy``, in an environment
scrubbed of CURL_CA_BUNDLE and friends.
"""

from __future__ import annotations

import threading
import urllib.request
import xml.sax
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from support.proxy import DEVICES, DISCOVERY, Lab, lab

from harness.mdm import ReferenceMDM
from harness.proxy import FaultProxy
from harness.tls import CertificateAuthority


@pytest.fixture(scope="module")
def curl_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(tmp_path_factory.mktemp("curl")) as the_lab:
        yield the_lab


def test_seed_2_reproduces_the_mdms_own_404_for_an_unknown_instance(curl_lab: Lab) -> None:
    # What the MDM answers for an instance it does not know, asked directly (no scenario).
    curl_lab.load(None)
    wrong = DISCOVERY.replace("/networkIntegrationEndpoint/7/", "/networkIntegrationEndpoint/999/")
    own = curl_lab.curl(wrong)
    assert own.status == 404
    # The scenario alone, with the client's URL right, gives that very answer.
    curl_lab.load("seed-2-not-found")
    result = curl_lab.curl(DISCOVERY)
    assert (result.rc, result.status) == (0, 404) and result.body == own.body
    assert etree.fromstring(result.body).findtext("error/status") == "404"
    (record,) = curl_lab.journal()
    assert (
        record.upstream is True and record.status == 404 and record.path == DISCOVERY.split("?")[0]
    )
    assert record.fault is not None and record.fault.kind == "wrong_instance"
    assert [(r.path, r.status) for r in curl_lab.mdm.requests] == [(wrong.split("?")[0], 404)]
    # Only discovery is sent astray: a device query on the same proxy works.
    assert curl_lab.curl(DEVICES).status == 200


def test_seed_3_every_discovery_attempt_gets_401(curl_lab: Lab) -> None:
    curl_lab.load("seed-3-unauthorized")
    results = [curl_lab.curl(DISCOVERY) for _ in range(2)]
    assert [(r.rc, r.status) for r in results] == [(0, 401), (0, 401)]
    records = curl_lab.journal()
    assert [(r.status, r.operation, r.fault.kind) for r in records] == [
        (401, "mdminfo", "unauthorized")
    ] * 2
    assert all(r.auth["scheme"] == "Basic" for r in records)
    assert records[0].auth["hash"] == curl_lab.proxy.auth_hash(
        curl_lab.mdm.username, curl_lab.mdm.password
    )
    assert curl_lab.mdm.password not in str(records)  # never the credentials themselves
    assert curl_lab.mdm.requests == []  # lazy upstream connections: the MDM saw nothing
    # The fault is on discovery only: a device query passes.
    assert curl_lab.curl(DEVICES).status == 200


def test_seed_1_curl_gives_up_with_its_timeout_code(curl_lab: Lab) -> None:
    curl_lab.load("seed-1-connection-timeout")
    result = curl_lab.curl(DISCOVERY, max_time=2)
    assert result.rc == 28 and result.status == 0
    (record,) = curl_lab.journal()
    assert record.phase == "connect" and record.client_end == "client_closed"
    assert record.host == "acme.jamfcloud.test" and record.fault.kind == "hang"
    assert 1.5 <= record.end - record.start <= 4.0


def test_an_xml_mutation_returns_a_body_lxml_rejects(curl_lab: Lab) -> None:
    curl_lab.load("xml-truncated")
    result = curl_lab.curl(DISCOVERY)
    assert (result.rc, result.status) == (0, 200)
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(result.body)
    curl_lab.load(None)
    etree.fromstring(curl_lab.curl(DISCOVERY).body)  # control: unmutated, it parses


class _CarelessResolver(etree.Resolver):
    """What a careless lxml client adds: libxml2 2.14 has no HTTP client of its own any more."""

    def resolve(self, url: str, pubid: str, context: Any) -> Any:
        if url.startswith("http://"):
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(url, timeout=10) as reply:
                return self.resolve_string(reply.read(), context)
        return None


def _careless_lxml(body: bytes) -> None:
    parser = etree.XMLParser(resolve_entities=True, no_network=False, load_dtd=True)
    parser.resolvers.add(_CarelessResolver())
    etree.fromstring(body, parser)


def _careless_sax(body: bytes) -> None:
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, True)
    parser.setContentHandler(xml.sax.ContentHandler())
    import io
    import os

    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.lower().endswith("_proxy")}
    try:
        parser.parse(io.BytesIO(body))
    finally:
        os.environ.update(saved)


@pytest.mark.parametrize(
    ("scenario", "careless"),
    [("xml-xxe", _careless_lxml), ("xml-xxe", _careless_sax), ("xml-xxe-dtd", _careless_lxml)],
)
def test_the_xxe_canary_is_recorded_when_a_careless_parser_fetches_it(
    curl_lab: Lab, scenario: str, careless: Any
) -> None:
    curl_lab.load(scenario)
    body = curl_lab.curl(DISCOVERY if scenario == "xml-xxe" else DEVICES).body
    (record,) = curl_lab.journal()
    token = record.fault.params["token"]
    # A hardened parser: no entities, no DTD, no network - no fetch.
    hardened = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    etree.fromstring(body, hardened)
    assert curl_lab.proxy.control.canary_hits() == []
    careless(body)
    hits = curl_lab.proxy.control.canary_hits()
    assert [(h["token"], h["seq"]) for h in hits] == [(token, record.seq)]
    assert hits[0]["peer"].startswith("127.0.0.1:")


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("tls-expired-certificate", "certificate has expired"),
        ("tls-wrong-host", "no alternative certificate subject name matches"),
        ("tls-untrusted-ca", "unable to get local issuer certificate"),
    ],
)
def test_bad_certificates_fail_curl_and_minus_k_is_the_evidence(
    curl_lab: Lab, scenario: str, message: str
) -> None:
    curl_lab.load(scenario)
    refused = curl_lab.curl(DISCOVERY)
    assert refused.rc == 60 and message in refused.stderr
    (record,) = curl_lab.journal()
    assert record.client_end == "tls_failed" and record.fault.kind == "tls_bad_cert"
    curl_lab.proxy.control.reset()
    careless = curl_lab.curl(DISCOVERY, insecure=True)
    assert careless.status == 200
    (record,) = curl_lab.journal()
    assert record.conn_fault.kind == "tls_bad_cert" and record.method == "GET"


def test_the_proxys_own_certificate_chains_to_the_harness_ca(curl_lab: Lab) -> None:
    curl_lab.load(None)
    assert curl_lab.curl(DISCOVERY).rc == 0  # the negative controls are the bad-certificate tests


def test_the_upstream_certificate_is_verified(tmp_path: Path) -> None:
    # An MDM whose certificate comes from another CA: the proxy must refuse to talk to it...
    harness_ca = CertificateAuthority.load_or_create(tmp_path / "ca")
    other_ca = CertificateAuthority.load_or_create(tmp_path / "other-ca")
    with (
        ReferenceMDM(ca=other_ca, devices=3) as mdm,
        FaultProxy(mdm.origin, harness_ca, state_dir=tmp_path / "p") as proxy,
    ):
        lab_ = Lab(harness_ca, mdm, proxy, tmp_path)
        result = lab_.curl(DISCOVERY)
        assert result.status == 502
        (record,) = proxy.control.journal(wait_idle=5)
        assert record.status == 502 and "Certificate verify failed" in record.error
        assert mdm.requests == []
    # ...unless told to trust that CA with --upstream-ca.
    with (
        ReferenceMDM(ca=other_ca, devices=3) as mdm,
        FaultProxy(
            mdm.origin, harness_ca, upstream_ca=other_ca.bundle_path, state_dir=tmp_path / "q"
        ) as proxy,
    ):
        assert Lab(harness_ca, mdm, proxy, tmp_path).curl(DISCOVERY).status == 200


def test_any_host_goes_to_the_upstream_without_dns(curl_lab: Lab) -> None:
    curl_lab.load(None)
    import subprocess

    from harness._util import scrubbed_env

    proc = subprocess.run(
        [
            "curl",
            "-sS",
            "--cacert",
            str(curl_lab.ca.bundle_path),
            "--proxy",
            curl_lab.proxy.url,
            "-u",
            f"{curl_lab.mdm.username}:{curl_lab.mdm.password}",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "https://no-such-host.invalid" + DISCOVERY,
        ],
        capture_output=True,
        text=True,
        env=scrubbed_env(),
        timeout=30,
    )
    assert proc.stdout == "200"
    (record,) = curl_lab.journal()
    assert record.host == "no-such-host.invalid" and record.upstream is True


def test_concurrent_curl_calls_do_not_block_each_other(curl_lab: Lab) -> None:
    # A hanging attempt must not hold up a healthy one (waits are asynchronous).
    curl_lab.load(
        {"name": "x", "rules": [{"match": {"operation": "devices"}, "fault": {"kind": "hang"}}]}
    )
    results: list[Any] = []
    hanging = threading.Thread(target=lambda: results.append(curl_lab.curl(DEVICES, max_time=3)))
    hanging.start()
    quick = curl_lab.curl(DISCOVERY)
    hanging.join()
    assert quick.status == 200 and quick.elapsed < 2.5
    assert results[0].rc == 28


def test_plain_http_through_the_proxy_is_recorded_as_http(curl_lab: Lab) -> None:
    # A client that sends its credentials without TLS: the journal must show it (scheme http).
    curl_lab.load(None)
    import subprocess

    from harness._util import scrubbed_env

    proc = subprocess.run(
        [
            "curl",
            "-sS",
            "--proxy",
            curl_lab.proxy.url,
            "-u",
            f"{curl_lab.mdm.username}:{curl_lab.mdm.password}",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://acme.jamfcloud.test" + DISCOVERY,
        ],
        capture_output=True,
        text=True,
        env=scrubbed_env(),
        timeout=30,
    )
    assert proc.stdout == "200"
    (record,) = curl_lab.journal()
    assert record.scheme == "http" and record.auth["scheme"] == "Basic" and record.upstream is True


def test_a_connection_fault_is_kept_apart_from_the_requests_own(curl_lab: Lab) -> None:
    curl_lab.load(
        {
            "name": "both",
            "rules": [
                {
                    "name": "slow-connect",
                    "match": {"phase": "connect"},
                    "fault": {"kind": "delay", "delay_ms": 200},
                },
                {
                    "name": "slow-answer",
                    "match": {"phase": "response"},
                    "fault": {"kind": "delay", "delay_ms": 100},
                },
            ],
        }
    )
    result = curl_lab.curl(DISCOVERY)
    assert result.status == 200 and result.elapsed >= 0.3
    (record,) = curl_lab.journal()
    assert record.conn_fault.rule == "slow-connect" and record.fault.rule == "slow-answer"
    assert record.start - record.connect_start >= 0.2  # the CONNECT's wait, before the request
    assert curl_lab.proxy.control.counters()["by_rule"] == {"slow-connect": 1, "slow-answer": 1}
