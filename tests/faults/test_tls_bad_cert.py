"""Fault ``tls_bad_cert``: its spec table; the addon hands mitmproxy a handshake on a bad leaf."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from mitmproxy import tls
from mitmproxy.options import Options
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.tls import parse_client_hello
from mitmproxy.test import tflow
from OpenSSL import SSL
from support.proxy import addon, bad_spec_message, one_rule, run

from harness.tls import CertificateAuthority


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"cert": "self-signed"},
            "cert: 'self-signed' is not one of expired, wrong-host, untrusted-ca",
        ),
        ({"cert": 1}, "cert: 1 is not one of expired, wrong-host, untrusted-ca"),
        ({"host": "x"}, "host: is not a parameter"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], message: str) -> None:
    assert bad_spec_message("tls_bad_cert", spec).startswith(message)


def _client_hello(sni: str) -> bytes:
    """The bytes of a real ClientHello (from Python's ssl over memory BIOs)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def _present(
    tmp_path: Path, cert: str
) -> tuple[SSL.Connection, CertificateAuthority, dict[str, object]]:
    ca = CertificateAuthority.load_or_create(tmp_path / "ca")
    scenario = one_rule({"kind": "tls_bad_cert", "cert": cert}, phase="tls")
    with addon(scenario, confdir=str(ca.mitmproxy_confdir())) as harness:
        client = tflow.tclient_conn()
        harness.client_connected(client)
        context = Context(client, Options())
        hello = parse_client_hello(_client_hello("acme.jamfcloud.test"))
        assert hello is not None
        run(harness.tls_clienthello(tls.ClientHelloData(context, hello)))
        data = tls.TlsData(client, context)
        harness.tls_start_client(data)
        record = harness.journal.records()[0]
    assert isinstance(data.ssl_conn, SSL.Connection)
    return data.ssl_conn, ca, record


def _leaf(conn: SSL.Connection) -> x509.Certificate:
    cert = conn.get_certificate()
    assert cert is not None
    return cert.to_cryptography()


def test_expired(tmp_path: Path) -> None:
    conn, _, record = _present(tmp_path, "expired")
    leaf = _leaf(conn)
    assert leaf.not_valid_after_utc < datetime.datetime.now(datetime.UTC)
    assert record.fault.kind == "tls_bad_cert" and record.phase == "tls"


def test_wrong_host(tmp_path: Path) -> None:
    conn, _, _ = _present(tmp_path, "wrong-host")
    names = _leaf(conn).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "acme.jamfcloud.test" not in names.get_values_for_type(x509.DNSName)


def test_untrusted_ca(tmp_path: Path) -> None:
    conn, ca, _ = _present(tmp_path, "untrusted-ca")
    harness_ca = x509.load_pem_x509_certificate(ca.cert_pem)
    leaf = _leaf(conn)
    assert leaf.issuer != harness_ca.subject
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "acme.jamfcloud.test" in names.get_values_for_type(x509.DNSName)


def test_no_rule_leaves_mitmproxy_its_own_certificate(tmp_path: Path) -> None:
    # Negative control: without the fault the addon does not touch the handshake.
    with addon(None) as harness:
        client = tflow.tclient_conn()
        harness.client_connected(client)
        data = tls.TlsData(client, Context(client, Options()))
        harness.tls_start_client(data)
    assert data.ssl_conn is None
