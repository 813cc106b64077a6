"""The contract catalog: every contract's id, group, level, promise, and what correct looks like.

One table that the checks, the report, the docs and the CLI all read (``docs/contracts.md``
mirrors it, and a test keeps the two in step). A contract's **level** decides what its failure
means for a certificate:

* ``MUST`` - Cisco's API description, the meaning of the answer, or safety: a failure breaks
  certification;
* ``SHOULD`` - the harness's advice: shown in the report as advice, never failing it.

``source`` says where the rule comes from: ``spec`` (Cisco's Swagger in the shared reference),
``seed`` (the ISE/Jamf TechNote), ``field`` (what real servers send), ``policy`` (what the
client itself declares), ``http`` (the HTTP RFCs) or ``ours`` (a decision of this project,
documented where it is made).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["CONTRACTS", "GROUPS", "LEVELS", "Contract", "Level"]

Level = Literal["MUST", "SHOULD"]
LEVELS: tuple[Level, ...] = ("MUST", "SHOULD")
GROUPS: tuple[str, ...] = ("transport", "parsing", "protocol", "security")


@dataclass(frozen=True)
class Contract:
    """One contract of the client suite."""

    id: str
    group: str
    level: Level
    #: The promise, one line.
    promise: str
    #: What a correct client does in the contract's cases, one sentence (shown with a failure).
    correct: str
    #: Where the rule comes from (see the module docstring), with a pointer when there is one.
    source: str

    @property
    def anchor(self) -> str:
        """The section of ``docs/contracts.md`` that explains the contract."""
        return f"docs/contracts.md#{self.id.lower()}"


def _c(cid: str, group: str, level: Level, promise: str, correct: str, source: str) -> Contract:
    return Contract(cid, group, level, promise, correct, source)


_ALL = (
    _c(
        "T1",
        "transport",
        "MUST",
        "a hang ends at the declared timeout (not much later, not far sooner), reported as timeout",
        "It gives up on a silent MDM once its declared timeout has passed - not far sooner, and not much later than that plus the wait its policy allows before the next attempt - and reports timeout.",
        "policy timeout_ms; seed (ISE's device compliance timeout)",
    ),
    _c(
        "T2",
        "transport",
        "MUST",
        "never more attempts than declared",
        "It stops after the number of attempts its policy declares for the operation.",
        "policy max_attempts",
    ),
    _c(
        "T3",
        "transport",
        "MUST",
        "only declared failures are retried (400/401/403/404 never, but a declared discovery fallback)",
        "It retries only the failures its policy lists, and never a 400, 401, 403 or 404 (a declared discovery fallback and an answered authentication challenge are not retries).",
        "policy retry; http (RFC 9110 11.6.1, 15.5); seed (scenario 3 fallback)",
    ),
    _c(
        "T4",
        "transport",
        "SHOULD",
        "each declared retry happens, after the declared backoff (or an honoured Retry-After)",
        "It retries what its policy says it retries, waiting as long as its declared backoff (or an honoured Retry-After) says - not less, and not much more; a client that declares no retries reports the failure at once.",
        "policy backoff, retry_after; http (RFC 9110 10.2.3)",
    ),
    _c(
        "T5",
        "transport",
        "SHOULD",
        "after its declared retries, the request succeeds and is sent no more",
        "Once a request has been answered, it sends that request no more, and it reports the answer it got after its declared retries.",
        "policy retry; ours",
    ),
    _c(
        "T6",
        "transport",
        "MUST",
        "CONNECT- and TLS-phase failures are reported as connection_error, timeout or tls_error",
        "A refused or silent CONNECT, or a TLS handshake that fails, is reported as connection_error, timeout or tls_error - never as an answer of the MDM.",
        "seed (scenario 1); ours",
    ),
    _c(
        "T7",
        "transport",
        "MUST",
        "a reset or close mid-body is never reported as success",
        "A body cut short of its announced length is a failure (connection_error), never an answer.",
        "http (RFC 9112 6.3)",
    ),
    _c(
        "T8",
        "transport",
        "MUST",
        "a non-idempotent action is executed at most once on the server, whatever the faults",
        "It never sends a wipe again once the request may have reached the MDM; only a request that provably never arrived may be re-sent.",
        "http (RFC 9110 9.2.2); ours (docs/protocol.md 5)",
    ),
    _c(
        "P1",
        "parsing",
        "MUST",
        "valid variants parse to exactly the expected values",
        "It reads every valid answer, in the forms real servers send, to exactly the values it holds.",
        "spec; field (docs/protocol.md 4)",
    ),
    _c(
        "P2",
        "parsing",
        "MUST",
        "malformed bodies give parse_error, never ok, never a crash",
        "A body that is not well-formed XML is reported as parse_error.",
        "spec (application/xml)",
    ),
    _c(
        "P3",
        "parsing",
        "MUST",
        "a missing element the meaning needs, or a wrong type, gives parse_error or protocol_error",
        "An answer that lacks an element its meaning needs (api_version, api_path, deviceList, a device's key, action_status), or carries one of the wrong type, is refused as parse_error or protocol_error, never filled in with defaults; what the meaning does not need (name, a device's attributes) may be absent.",
        "spec (types; no element of the device and action replies is marked required); ours (what the meaning needs)",
    ),
    _c(
        "P4",
        "parsing",
        "MUST",
        "unknown elements and element order do not matter",
        "It ignores elements it does not know and reads elements in any order.",
        "field (docs/protocol.md 4)",
    ),
    _c(
        "P5",
        "parsing",
        "SHOULD",
        "a full query_max_size page parses within a bound",
        "It reads a full page of query_max_size devices within 2 s of its last byte.",
        "spec (query_max_size); ours (the bound)",
    ),
    _c(
        "R1",
        "protocol",
        "MUST",
        "discovery asks with ise_api_version and the client then uses the api_path it was given",
        "It asks discovery with ise_api_version and sends every later request under the api_path the answer gave.",
        "spec (mdminfo); seed",
    ),
    _c(
        "R2",
        "protocol",
        "MUST",
        "a lower api_version answer is honoured; a v3 answer without vendor fields is not accepted",
        "It speaks the version the server answered (v1 path form, v2/v3 query form) and refuses a v3 answer without vendor, product name and version.",
        "spec (api_version, v3 required fields)",
    ),
    _c(
        "R3",
        "protocol",
        "MUST",
        "MAC addresses are sent as 12 upper-case hex digits",
        "It sends a MAC address as 12 upper-case hex digits, whatever form it was given in.",
        "spec (macaddress); field (ISE sends upper case)",
    ),
    _c(
        "R4",
        "protocol",
        "MUST",
        "paging cursors are passed back verbatim until the end",
        "It sends each paging cursor back exactly as received, URL-encoded, until the server says 0 or sends none.",
        "spec (paging_info)",
    ),
    _c(
        "R5",
        "protocol",
        "SHOULD",
        "a paging cursor loop is detected",
        "A cursor that repeats ends the walk as protocol_error instead of polling forever.",
        "ours",
    ),
    _c(
        "R6",
        "protocol",
        "MUST",
        "an empty deviceList means unregistered, not an error",
        "An empty deviceList is reported as ok with no devices: the device is not registered.",
        "spec (200 with an empty deviceList)",
    ),
    _c(
        "S1",
        "security",
        "MUST",
        "certificates are verified: a bad one gives tls_error and no request reaches the server",
        "It refuses an expired, wrong-host or untrusted certificate with tls_error and sends nothing over that connection.",
        "http (RFC 9110 4.3.4); seed (trust store)",
    ),
    _c(
        "S2",
        "security",
        "MUST",
        "no external entity is resolved, remote (a fetch) or local (a file read)",
        "It never resolves an external entity, parameter entity or DTD: no fetch of the canary URL, and no local canary file's content in its answer.",
        "ours (OWASP XXE: SSRF and local file disclosure)",
    ),
    _c(
        "S3",
        "security",
        "MUST",
        "an entity-expansion bomb ends as parse_error within time and memory bounds",
        "It refuses an entity-expansion bomb as parse_error quickly, without expanding it.",
        "ours (OWASP XML bombs)",
    ),
    _c(
        "S4",
        "security",
        "MUST",
        "credentials never go to another host on a redirect, nor over plain HTTP",
        "It never sends the MDM's credentials to another host or over plain http, redirect or not.",
        "http (RFC 9110 11.6.2, 15.4)",
    ),
    _c(
        "S5",
        "security",
        "MUST",
        "the password never appears in the client's output",
        "It never prints the password, or the Basic credentials made from it, on stdout or stderr.",
        "ours",
    ),
)

#: Every contract of the client suite by id, in the order the report and the docs list them.
CONTRACTS: Mapping[str, Contract] = {c.id: c for c in _ALL}
