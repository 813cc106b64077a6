"""One certificate authority for everything the harness serves.

A trustme CA is created once per *state directory* and reused: the reference MDM's
certificate, the certificates mitmproxy forges for the hosts a client asks for, and the canary
server all chain to it, so a client under test trusts exactly one PEM file
(:attr:`CertificateAuthority.bundle_path`). Nothing here is committed: every key and
certificate is generated at run time.

Also here: the deliberately *bad* certificates that the TLS faults present (expired, wrong
host, signed by a CA the client does not trust), all from trustme.

Layout of a state directory::

    ca.pem                 the CA certificate (the bundle a client trusts)
    ca-key.pem             the CA private key (mode 0600)
    leaf/<name>.pem        issued leaves: private key + certificate chain
    untrusted/ca.pem ...   a second CA that nobody trusts, for the "untrusted CA" fault
    mitmproxy/             a mitmproxy confdir whose mitmproxy-ca.pem is this CA
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import trustme

__all__ = [
    "DEFAULT_IDENTITIES",
    "BadCertKind",
    "CertificateAuthority",
    "LeafFiles",
]

#: Names every server certificate covers: the loopback forms a client may dial.
DEFAULT_IDENTITIES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")

BadCertKind = Literal["expired", "wrong-host", "untrusted-ca"]
BAD_CERT_KINDS: tuple[BadCertKind, ...] = ("expired", "wrong-host", "untrusted-ca")

_ORG = "mdm-harness test CA"


@dataclass(frozen=True)
class LeafFiles:
    """A leaf certificate on disk: ``pem`` holds the private key then the chain."""

    pem: Path
    identities: tuple[str, ...]

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.pem)
        return ctx


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory`` (several xdist workers may share one state dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _identity(path: Path) -> tuple[int, int, int]:
    """What tells one version of a file from another: inode, size, modification time."""
    st = path.stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


#: CAs loaded in this process, by directory and the files' identity: loading an RSA key costs
#: ~0.2 s (cryptography validates it), which a proxy presenting a bad certificate per handshake
#: must not pay each time.
_LOADED: dict[tuple[Path, tuple[int, int, int], tuple[int, int, int]], trustme.CA] = {}


def _load_or_create_ca(directory: Path) -> trustme.CA:
    cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    with _locked(directory):
        if cert_path.exists() and key_path.exists():
            key = (directory, _identity(cert_path), _identity(key_path))
            loaded = _LOADED.get(key)
            if loaded is None:
                loaded = trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
                _LOADED[key] = loaded
            return loaded
        # RSA because mitmproxy signs the certificates it forges with this key and types it so.
        ca = trustme.CA(organization_name=_ORG, key_type=trustme.KeyType.RSA)
        _write_atomically(key_path, ca.private_key_pem.bytes(), mode=0o600)
        _write_atomically(cert_path, ca.cert_pem.bytes())
        _LOADED[(directory, _identity(cert_path), _identity(key_path))] = ca
        return ca


class CertificateAuthority:
    """The harness's CA, persisted in ``directory``; create it with :meth:`load_or_create`."""

    def __init__(self, directory: Path, ca: trustme.CA) -> None:
        self.directory = directory
        self._ca = ca

    @classmethod
    def load_or_create(cls, directory: str | os.PathLike[str]) -> CertificateAuthority:
        """Load the CA kept in ``directory``, creating it (once, under a lock) if absent."""
        path = Path(directory).resolve()
        return cls(path, _load_or_create_ca(path))

    def __repr__(self) -> str:
        return f"CertificateAuthority({str(self.directory)!r})"

    @property
    def bundle_path(self) -> Path:
        """The PEM file a client must trust - and the only one."""
        return self.directory / "ca.pem"

    @property
    def cert_pem(self) -> bytes:
        return self._ca.cert_pem.bytes()

    def leaf(self, *identities: str, name: str | None = None) -> LeafFiles:
        """A server certificate for ``identities`` (default: the loopback names), cached on disk."""
        idents = tuple(identities) or DEFAULT_IDENTITIES
        return self._issue(self._ca, idents, name or _leaf_name(idents), self.directory / "leaf")

    def server_context(self, *identities: str) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` for a server presenting :meth:`leaf` for ``identities``."""
        return self.leaf(*identities).server_context()

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` that trusts this CA and nothing else (ambient variables ignored)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=str(self.bundle_path))
        return ctx

    def bad_leaf(self, kind: BadCertKind, *identities: str) -> LeafFiles:
        """A certificate a careful client must reject: ``expired``, ``wrong-host`` or ``untrusted-ca``.

        ``identities`` are the names the client expects (default: the loopback names); the
        expired and untrusted leaves cover them, the wrong-host leaf deliberately does not.
        """
        idents = tuple(identities) or DEFAULT_IDENTITIES
        if kind == "expired":
            now = datetime.datetime.now(datetime.UTC)
            return self._issue(
                self._ca,
                idents,
                "expired-" + _leaf_name(idents),
                self.directory / "leaf",
                not_before=now - datetime.timedelta(days=60),
                not_after=now - datetime.timedelta(days=1),
            )
        if kind == "wrong-host":
            wrong = ("wrong-host.mdm-harness.invalid",)
            return self._issue(self._ca, wrong, "wrong-host", self.directory / "leaf")
        if kind == "untrusted-ca":
            untrusted = _load_or_create_ca(self.directory / "untrusted")
            return self._issue(
                untrusted, idents, "untrusted-" + _leaf_name(idents), self.directory / "leaf"
            )
        raise ValueError(f"kind={kind!r} is not one of {', '.join(BAD_CERT_KINDS)}")

    def mitmproxy_confdir(self) -> Path:
        """A mitmproxy ``confdir`` whose CA is this CA, so forged certificates chain to it."""
        confdir = self.directory / "mitmproxy"
        target = confdir / "mitmproxy-ca.pem"
        with _locked(self.directory):
            if not target.exists():
                key = (self.directory / "ca-key.pem").read_bytes()
                _write_atomically(confdir / "mitmproxy-ca-cert.pem", self.cert_pem)
                _write_atomically(target, key + self.cert_pem, mode=0o600)
        return confdir

    def _issue(
        self,
        ca: trustme.CA,
        identities: tuple[str, ...],
        name: str,
        directory: Path,
        **kwargs: datetime.datetime,
    ) -> LeafFiles:
        path = directory / f"{name}.pem"
        with _locked(directory):
            if not path.exists():
                leaf = ca.issue_cert(*identities, organization_name=_ORG, **kwargs)  # type: ignore[arg-type]
                _write_atomically(path, leaf.private_key_and_cert_chain_pem.bytes(), mode=0o600)
        return LeafFiles(pem=path, identities=identities)


def _leaf_name(identities: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\0".join(identities).encode()).hexdigest()[:16]
    return f"leaf-{digest}"
