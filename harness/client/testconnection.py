"""``mdm-harness test-connection``: what ISE's *Test Connection* button does, explained.

ISE's button opens TLS to the MDM, authenticates with Basic, asks discovery and parses the
answer; on success it logs the parsed fields (``apiPath``, ``redirectUrl``, ``queryMaxSize``,
``apiVersion``, ``vendor``, ``productName``, ``productVersion``, ``errorMsg``,
``errorOccurred``), on failure a terse message. :func:`check_connection` does the same with
the reference client's discovery (one attempt per version, the 401 fallback kept) and adds a
:class:`Diagnosis`: what failed and what to check, mapped to the seed TechNote's scenarios
(1: connection timeout, 2: 404 wrong instance, 3: 401 credentials / Basic auth).

Exit codes (:data:`EXIT_CODES`): 0 connected, 2 bad usage, and one per failure category -
3 timeout, 4 connection_error, 5 tls_error, 6 unauthorized, 7 not_found, 8 server_error,
9 parse_error, 10 protocol_error.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DIAGNOSES",
    "EXIT_CODES",
    "ConnectionReport",
    "Diagnosis",
    "check_connection",
    "system_trust_context",
]

#: Exit code per outcome of ``mdm-harness test-connection``.
EXIT_CODES: Mapping[str, int] = {
    "ok": 0,
    "timeout": 3,
    "connection_error": 4,
    "tls_error": 5,
    "unauthorized": 6,
    "not_found": 7,
    "server_error": 8,
    "parse_error": 9,
    "protocol_error": 10,
}

#: The fields ISE logs after a Test Connection, in its order.
ISE_FIELDS: tuple[tuple[str, str], ...] = (
    ("apiPath", "api_path"),
    ("redirectUrl", "redirect_url"),
    ("queryMaxSize", "query_max_size"),
    ("apiVersion", "api_version"),
    ("vendor", "vendor"),
    ("productName", "product_name"),
    ("productVersion", "product_version"),
)


@dataclass(frozen=True)
class Diagnosis:
    """What a failure category means and what an administrator should check."""

    category: str
    error_msg: str
    summary: str
    checks: tuple[str, ...]
    seed_scenario: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "summary": self.summary,
            "checks": list(self.checks),
            "seed_scenario": self.seed_scenario,
        }


DIAGNOSES: Mapping[str, Diagnosis] = {
    d.category: d
    for d in (
        Diagnosis(
            "timeout",
            "A connection timeout occurred. Check if the MDM server is reachable.",
            "The MDM server did not answer in time (in the seed's capture: SYNs retransmitted "
            "with no answer).",
            (
                "the host name resolves (DNS) to the MDM's address",
                "a route exists from here to the MDM (firewalls, NAT, security groups)",
                "the port (443 unless the URL says otherwise) is open on the MDM",
                "the proxy, if one is configured, is reachable and can reach the MDM",
                "the timeout is long enough for this link (--timeout-ms)",
            ),
            1,
        ),
        Diagnosis(
            "not_found",
            "Connection Failed: 404:Not Found: the MDM server is not reachable",
            "TLS and the server work, but discovery answered 404 Not Found: the URL does not "
            "name an MDM instance.",
            (
                "the instance name: the path after the host, e.g. "
                "/networkIntegrationEndpoint/<ID> from Jamf Pro's Network Integration settings",
                "that the instance still exists in the MDM",
            ),
            2,
        ),
        Diagnosis(
            "unauthorized",
            "Connection Failed: 401:Unauthorized",
            "The MDM rejected the credentials (401/403), also after retrying with a lower API "
            "version.",
            (
                "the user exists in the MDM and the password is current",
                "the user has the privileges the integration needs (e.g. Jamf Pro's "
                "Network Integration / Cisco ISE privileges)",
                "Basic authentication is enabled for the API: Jamf Pro 10.35 and later turn it "
                "off by default",
            ),
            3,
        ),
        Diagnosis(
            "tls_error",
            "Connection Failed: the MDM server certificate is not trusted",
            "The TLS handshake failed on the MDM's certificate.",
            (
                "the trust store holds the CA that issued the MDM's certificate (in ISE: "
                "Trusted Certificates; here: --ca)",
                "the certificate names the host in the URL and has not expired",
                "a TLS-inspecting proxy, if any, presents a certificate from a trusted CA",
            ),
        ),
        Diagnosis(
            "connection_error",
            "Connection Failed: the MDM server is not reachable",
            "The connection was refused, reset or closed before an answer (or the proxy refused "
            "the CONNECT).",
            (
                "the MDM service is running and listening on the port in the URL",
                "the proxy, if one is configured, allows CONNECT to the MDM's host and port",
                "no firewall resets the connection",
            ),
        ),
        Diagnosis(
            "server_error",
            "Connection Failed: the MDM server reported an internal error",
            "The MDM answered with a server error (5xx or 429).",
            (
                "the MDM's status page and logs",
                "try again later: the MDM may be overloaded or in maintenance",
            ),
        ),
        Diagnosis(
            "parse_error",
            "Connection Failed: the MDM server's answer could not be parsed",
            "Discovery answered, but not with a valid mdminfo document.",
            (
                "the URL points at the MDM's ISE integration endpoint, not a login page or "
                "another web server",
                "a proxy is not replacing the answer (captive portal, error page)",
            ),
        ),
        Diagnosis(
            "protocol_error",
            "Connection Failed: the MDM server's answer violates the MDM API",
            "Discovery answered with a document that breaks the protocol (e.g. a version "
            "higher than asked, v3 without vendor/product, or a redirect).",
            (
                "the MDM's version supports the Cisco ISE MDM API version asked",
                "the URL is the final one: redirects are not followed, credentials stay put",
                "report the answer to the MDM vendor",
            ),
        ),
    )
}


@dataclass(frozen=True)
class ConnectionReport:
    """The outcome of one Test Connection."""

    url: str
    category: str
    info: Mapping[str, Any] | None
    message: str | None
    trace: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.category == "ok"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.category]

    @property
    def diagnosis(self) -> Diagnosis | None:
        return DIAGNOSES.get(self.category)

    def ise_fields(self) -> dict[str, Any]:
        """The fields ISE logs, named as ISE names them (``null`` after a failure)."""
        fields: dict[str, Any] = {
            ise: (self.info[key] if self.info is not None else None) for ise, key in ISE_FIELDS
        }
        diagnosis = self.diagnosis
        fields["errorMsg"] = diagnosis.error_msg if diagnosis else None
        fields["errorOccurred"] = not self.ok
        return fields

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document (see docs/clients.md)."""
        diagnosis = self.diagnosis
        return {
            "url": self.url,
            "ok": self.ok,
            "category": self.category,
            "exit_code": self.exit_code,
            "fields": self.ise_fields(),
            "message": self.message,
            "diagnosis": diagnosis.to_json() if diagnosis else None,
            "trace": list(self.trace),
        }

    def render(self) -> str:
        """The human-readable report."""
        lines = [
            f"Test Connection to {self.url}: {'OK' if self.ok else 'FAILED (' + self.category + ')'}"
        ]
        lines += [f"  {line}" for line in self.trace]
        lines.append("")
        for name, value in self.ise_fields().items():
            lines.append(f"{name}: {_show(value)}")
        diagnosis = self.diagnosis
        if diagnosis is not None:
            scenario = (
                f" (seed scenario {diagnosis.seed_scenario})" if diagnosis.seed_scenario else ""
            )
            lines += ["", f"Diagnosis{scenario}: {diagnosis.summary}"]
            if self.message:
                lines.append(f"Detail: {self.message}")
            lines.append("Check:")
            lines += [f"  - {check}" for check in diagnosis.checks]
        return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def system_trust_context() -> ssl.SSLContext:
    """OpenSSL's compiled-in trust store, ignoring ``SSL_CERT_FILE``/``SSL_CERT_DIR``."""
    paths = ssl.get_default_verify_paths()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    cafile = paths.openssl_cafile if Path(paths.openssl_cafile).is_file() else None
    capath = paths.openssl_capath if Path(paths.openssl_capath).is_dir() else None
    if cafile or capath:
        context.load_verify_locations(cafile=cafile, capath=capath)
    return context


def check_connection(
    url: str,
    username: str,
    password: str,
    *,
    proxy: str | None = None,
    ca: Path | None = None,
    timeout_ms: int = 10_000,
) -> ConnectionReport:
    """Test the connection to the MDM at ``url`` (the base URL with the instance prefix).

    ``ca`` is the only CA trusted when given; without it, the system trust store is used.
    Raises :class:`~harness.client.protocol.OperationError` for an unusable CA file or proxy.
    """
    from harness.client import REFERENCE_POLICY_PATH
    from harness.client.policy import load_policy
    from harness.client.protocol import ClientEnv
    from harness.client.reference import ClientFailure, ReferenceClient, ssl_context_for

    base = load_policy(REFERENCE_POLICY_PATH)
    attempts = dict(base.max_attempts, mdminfo=1)  # one request per version, like the button
    policy = base.replace(timeout_ms=timeout_ms, max_attempts=attempts)
    context = ssl_context_for(ca) if ca is not None else system_trust_context()
    env = ClientEnv(
        base_url=url,
        username=username,
        password=password,
        ca_bundle=ca if ca is not None else Path(ssl.get_default_verify_paths().openssl_cafile),
        proxy=proxy,
        timeout_ms=timeout_ms,
    )
    with ReferenceClient(env, policy, ssl_context=context) as client:
        try:
            info = client.discover()
        except ClientFailure as failure:
            return ConnectionReport(
                url, failure.category, None, client.redact(failure.message), tuple(client.trace)
            )
    return ConnectionReport(url, "ok", dict(info), None, tuple(client.trace))
