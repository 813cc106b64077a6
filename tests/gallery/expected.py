"""What the harness finds in each gallery client: its exact failing contracts, and why.

Every entry is a behaviour the client's documentation or source confirms (cited), measured by
``tox -e gallery`` (``tests/gallery/test_gallery.py`` asserts these sets, exactly, against a
certification of each client with the policy its documentation promises, quick profile,
seed :data:`SEED`). ``broken`` are MUST contracts (certification fails); ``advice`` are
SHOULD contracts (shown in the report, never failing it). ``harness`` lists failures that
come from the harness, not the client - false alarms, reported to the contracts' owners and
kept here, visible, until the rule is fixed.

``python tests/gallery/expected.py`` prints the README's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["CLIENTS", "SEED", "Expected", "table"]

#: The seed of every gallery certification (the cases drawn are then the same on every run).
SEED = 1729


@dataclass(frozen=True)
class Expected:
    """One gallery client and what its certificate shows."""

    #: The folder under examples/clients/.
    name: str
    #: What the README calls it, and the version measured.
    label: str
    version: str
    broken: Mapping[str, str] = field(default_factory=dict)
    advice: Mapping[str, str] = field(default_factory=dict)
    #: Harness false alarms: contract -> the wrong rule (reported; not the client's).
    harness: Mapping[str, str] = field(default_factory=dict)
    #: Needs these commands on PATH (else the test is skipped, saying so).
    needs: tuple[str, ...] = ()


CLIENTS: tuple[Expected, ...] = (
    Expected(
        "curl",
        "curl `--retry 3`",
        "7.88.1",
        broken={
            "T8": "re-sends the wipe after a 503 and after a timeout, so the MDM runs it 4 times: "
            "`--retry` retries every 'transient error' (a timeout, 408, 429, 500, 502, 503, "
            "504) and the manual makes no exception for a POST",
        },
        needs=("curl",),
    ),
    Expected(
        "requests",
        "requests + urllib3 `Retry(total=3, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504])`",
        "requests 2.34, urllib3 2.8",
        broken={
            "T8": "re-sends the wipe whose connection closed before the answer, so the MDM runs it "
            "4 times: through a CONNECT proxy the error surfaces as a ProxyError (http.client's "
            "close resets `_has_connected_to_proxy`), which `Retry` counts as an 'other' error, "
            "retried for any method - not as a read error, which it would not retry for a POST",
        },
    ),
    Expected(
        "httpx",
        "httpx `HTTPTransport(retries=3)`",
        "httpx 0.28, httpcore 1.0",
        advice={
            "T4": "never retries a refused or closed CONNECT although `retries` promises retries "
            "'when trying to establish a connection': through a proxy httpcore's "
            "TunnelHTTPConnection opens its connection to the proxy without `retries`, and the "
            "CONNECT and the handshake are outside the retry loop",
        },
    ),
    Expected(
        "wget",
        "GNU wget `--tries=3`",
        "1.21.3",
        broken={
            "T8": "re-sends the wipe whose answer was cut short, so the MDM runs it 3 times: a "
            "read error is retried for any method ('with the exception of fatal errors like "
            "connection refused or not found', man wget; src/http.c http_loop)",
        },
        needs=("wget",),
    ),
    Expected(
        "jdk",
        "JDK `java.net.http.HttpClient`",
        "17",
        broken={
            "T1": "a body that stalls after the response headers hangs until the server closes: "
            "`HttpRequest.timeout()` only runs until the response headers are received "
            "(JDK-8208693, extended to the body only in JDK 26)",
        },
        needs=("java", "javac"),
    ),
)


def table(clients: tuple[Expected, ...] = CLIENTS) -> str:
    """The README's table: client, version, the contracts it breaks, one line why."""
    rows = [
        "| client | version | breaks | why |",
        "|---|---|---|---|",
    ]
    for c in clients:
        found = [(cid, why, "") for cid, why in c.broken.items()]
        found += [(cid, why, " (advice)") for cid, why in c.advice.items()]
        if not found:
            rows.append(f"| {c.label} | {c.version} | nothing | certified |")
        for cid, why, kind in found:
            first = why.split(":")[0]
            rows.append(f"| {c.label} | {c.version} | {cid}{kind} | {first} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(table(), end="")
