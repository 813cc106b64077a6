"""``tls_bad_cert``: present a certificate a careful client must reject.

Models an MDM with an expired certificate, a certificate for another host (a wrong URL, a
shared load balancer), or one signed by a CA the client was never told to trust (a private
PKI, a TLS-inspecting middlebox). The certificates come from the harness CA's
``bad_leaf()``. A client that completes the handshake anyway has accepted it - its requests
on that connection carry the fault in ``conn_fault``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.faults._spec import finish, params
from harness.faults._types import FaultBase, Phase

if TYPE_CHECKING:
    from harness.faults._types import FaultContext

CERT_KINDS = ("expired", "wrong-host", "untrusted-ca")


@dataclass(frozen=True)
class TlsBadCert(FaultBase):
    """``cert``: ``expired``, ``wrong-host`` or ``untrusted-ca`` (default ``untrusted-ca``)."""

    kind: ClassVar[str] = "tls_bad_cert"
    phases: ClassVar[tuple[Phase, ...]] = ("tls",)

    cert: str = "untrusted-ca"

    @classmethod
    def from_spec(cls, spec: Any) -> TlsBadCert:
        r = params(spec)
        fault = cls(cert=r.choice("cert", CERT_KINDS, "untrusted-ca"))
        finish(r, cls.kind)
        return fault

    async def apply(self, fx: FaultContext) -> None:
        fx.present_certificate(self.cert)


FAULT = TlsBadCert
