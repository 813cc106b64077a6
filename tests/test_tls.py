"""The harness CA: persisted once per state directory, trusted alone, and its bad leaves really fail."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from harness.tls import BAD_CERT_KINDS, CertificateAuthority


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str) -> str:
    """Run a real TLS handshake over loopback; return the client's verdict ('ok' or the error)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_ctx.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            tls.sendall(b"x")
        return "ok"
    except ssl.SSLCertVerificationError as exc:
        return exc.verify_message
    finally:
        t.join(5)
        listener.close()


def test_ca_is_created_once_and_reused(tmp_path: Path) -> None:
    first = CertificateAuthority.load_or_create(tmp_path)
    second = CertificateAuthority.load_or_create(tmp_path)
    assert first.cert_pem == second.cert_pem
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_leaf_verifies_against_the_bundle_alone(ca: CertificateAuthority) -> None:
    assert _handshake(ca.server_context(), ca.client_context(), "localhost") == "ok"


def test_default_trust_store_does_not_trust_the_harness_ca(ca: CertificateAuthority) -> None:
    # Negative control: without the bundle the handshake must fail.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_default_certs()
    assert "unable to get local issuer certificate" in _handshake(
        ca.server_context(), ctx, "localhost"
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("expired", "certificate has expired"),
        ("wrong-host", "Hostname mismatch"),
        ("untrusted-ca", "unable to get local issuer certificate"),
    ],
)
def test_bad_leaves_are_rejected(ca: CertificateAuthority, kind: str, message: str) -> None:
    bad = ca.bad_leaf(kind)  # type: ignore[arg-type]
    assert message in _handshake(bad.server_context(), ca.client_context(), "localhost")


def test_every_bad_kind_is_covered() -> None:
    assert set(BAD_CERT_KINDS) == {"expired", "wrong-host", "untrusted-ca"}


def test_unknown_bad_kind_is_refused(ca: CertificateAuthority) -> None:
    with pytest.raises(ValueError, match="kind='nope'"):
        ca.bad_leaf("nope")  # type: ignore[arg-type]


def test_mitmproxy_forges_certificates_that_chain_to_the_same_ca(ca: CertificateAuthority) -> None:
    from mitmproxy import certs

    store = certs.CertStore.from_store(ca.mitmproxy_confdir(), "mitmproxy", 2048)
    entry = store.get_cert("acme.jamfcloud.test", [])
    pem = entry.privatekey  # the key mitmproxy uses for forged leaves
    from cryptography.hazmat.primitives import serialization

    key_pem = pem.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    cert_file = ca.directory / "forged-test.pem"
    cert_file.write_bytes(key_pem + entry.cert.to_pem())
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file)
    assert _handshake(server, ca.client_context(), "acme.jamfcloud.test") == "ok"
