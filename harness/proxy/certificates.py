"""The certificates a ``tls_bad_cert`` fault presents: pyOpenSSL server contexts on the
harness CA's bad leaves, built once per process, kind and host."""

from __future__ import annotations

from pathlib import Path

from OpenSSL import SSL

_SSL_CONTEXTS: dict[tuple[str, str, str | None], SSL.Context] = {}


def bad_certificate_context(confdir: str, kind: str, host: str | None) -> SSL.Context:
    """A server context presenting the harness CA's bad leaf of ``kind`` for ``host`` (for the
    loopback names when the client named no host), built once per process and (kind, host).

    The first build loads the CAs' RSA keys (a fraction of a second): :class:`Injector` builds
    it in a worker thread when it decides the fault, never in the handshake on the event loop.
    The harness CA is the one beside mitmproxy's ``confdir``.
    """
    from harness.tls import CertificateAuthority

    ca_dir = Path(confdir).expanduser().resolve().parent
    key = (str(ca_dir), kind, host)
    context = _SSL_CONTEXTS.get(key)
    if context is not None:
        return context
    if not (ca_dir / "ca.pem").is_file() or not (ca_dir / "ca-key.pem").is_file():
        raise RuntimeError(
            f"tls_bad_cert needs the harness CA beside confdir (no {ca_dir / 'ca.pem'})"
        )
    names = (host,) if host else ()
    leaf = CertificateAuthority.load_or_create(ca_dir).bad_leaf(kind, *names)  # type: ignore[arg-type]
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.use_certificate_chain_file(str(leaf.pem))
    context.use_privatekey_file(str(leaf.pem))
    _SSL_CONTEXTS[key] = context
    return context


def bad_certificate_connection(confdir: str, kind: str, host: str | None) -> SSL.Connection:
    """A server-side pyOpenSSL connection (accept state) on :func:`bad_certificate_context`."""
    connection = SSL.Connection(bad_certificate_context(confdir, kind, host))
    connection.set_accept_state()
    return connection
