"""The "503 twice, then 200" exchange of ``mdm-harness bench`` (section ``retry``): ours beside
WireMock's.

Ours is the fault proxy with the sequence ``[status_503, status_503, pass]`` in front of the
reference MDM; WireMock's (:class:`harness.bench.peers.WireMock`, a jar the user gives, Java on
``PATH``) is a three-state scenario answering the same status lines, headers and bytes. Both
answer the same request; the figure is the client's time to success over the three-request
exchange (first request written to the end of the 200's body, after an untimed scenario
reset), measured in alternating rounds by the one load generator (:mod:`harness.bench.loadgen`,
a job with ``until: 200``). Our side is always measured; WireMock's is marked absent without a
jar.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from harness.bench.loadgen import spawn, summary
from harness.bench.peers import PUBLIC, WireMock, wiremock_mappings

if TYPE_CHECKING:
    from harness.tls import CertificateAuthority

__all__ = ["RETRY_KEYS", "RETRY_SCENARIO", "retry_exchange"]

Progress = Callable[[str], None]

_DISCOVERY = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version=3"

#: Figures of the "503 twice, then 200" exchange (times to success in ms).
RETRY_KEYS: dict[str, str] = {
    "retry_exchanges": "measured exchanges per server (after warm-up), in alternating rounds",
    "retry_ours_p50_ms": "ours (fault proxy, sequence [status_503, status_503, pass], reference MDM): time to success, median",
    "retry_ours_p99_ms": "ours: time to success, 99th percentile",
    "retry_wiremock_status": "'measured', or 'absent: <why>' (no jar given, no java)",
    "retry_wiremock_version": "the WireMock jar's file name (None when absent)",
    "retry_wiremock_p50_ms": "WireMock standalone scenario (503, 503, 200): time to success, median",
    "retry_wiremock_p99_ms": "WireMock: time to success, 99th percentile",
    "retry_ours_over_wiremock_p50": "ratio of medians, ours / WireMock",
    "retry_errors": "exchanges that did not go 503, 503, 200 (should be 0)",
}

#: Our side of the exchange, as a scenario.
RETRY_SCENARIO: dict[str, Any] = {
    "name": "503-twice-then-200",
    "rules": [
        {
            "name": "flaky-discovery",
            "match": {"operation": "mdminfo"},
            "schedule": {"sequence": ["status_503", "status_503", "pass"]},
        }
    ],
}


# -- the "503 twice, then 200" exchange -------------------------------------------------------


class _RetrySizes(NamedTuple):
    warmup: int  # exchanges per server before the rounds (JIT and caches), not measured
    rounds: int  # alternating rounds, ours then WireMock's
    per_round: int  # measured exchanges per server and round


_RETRY_SIZES = {
    "full": _RetrySizes(200, 5, 100),
    "quick": _RetrySizes(30, 2, 30),
    "tiny": _RetrySizes(1, 1, 5),
}


def _exchange(job: dict[str, Any], warmup: int, exchanges: int) -> tuple[list[int], int]:
    """``warmup`` then ``exchanges`` exchanges of ``job``: the measured times to success (ns)
    and how many exchanges of either kind did not go 503, 503, 200."""
    paths = [_DISCOVERY] * (warmup + exchanges)
    (result,) = spawn(
        {**job, "paths": paths, "until": 200, "attempts": 3, "expect": [503, 503, 200]},
        strict=False,
    )
    errors = sum(e is not None for e in result["errors"])
    return result["latencies_ns"][warmup:], errors


def _answers(proxy_port: int, ca_bundle: Path, authorization: str) -> list[tuple[int, str, bytes]]:
    """Our three answers (status, Content-Type, body), for WireMock to send the same bytes."""
    import http.client
    import ssl

    context = ssl.create_default_context(cafile=str(ca_bundle))
    conn = http.client.HTTPSConnection("127.0.0.1", proxy_port, context=context, timeout=30)
    conn.set_tunnel(PUBLIC, 443)
    answers = []
    try:
        for _ in range(3):
            conn.request("GET", _DISCOVERY, headers={"Authorization": authorization})
            response = conn.getresponse()
            answers.append(
                (response.status, response.getheader("Content-Type", ""), response.read())
            )
    finally:
        conn.close()
    return answers


def retry_exchange(
    size: str = "full", wiremock_jar: Path | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Time to success of "503 twice, then 200": ours, and WireMock's when ``wiremock_jar`` is
    given. ``size`` is ``full``, ``quick`` or ``tiny``. See :data:`RETRY_KEYS`."""
    from harness.mdm import ReferenceMDM
    from harness.proxy.launcher import FaultProxy
    from harness.tls import CertificateAuthority

    say = progress or (lambda message: None)
    sizes = _RETRY_SIZES[size]
    out: dict[str, Any] = {key: None for key in RETRY_KEYS}
    if wiremock_jar is None:
        out["retry_wiremock_status"] = "absent: no --peer-wiremock JAR given"
    elif shutil.which("java") is None:
        out["retry_wiremock_status"] = "absent: java is not on PATH"
    with tempfile.TemporaryDirectory(prefix="mdm-bench-retry-") as tmp:
        ca = CertificateAuthority.load_or_create(Path(tmp) / "ca")
        with (
            ReferenceMDM(ca=ca, devices=300, seed=1) as mdm,
            FaultProxy(mdm.origin, ca, state_dir=Path(tmp) / "proxy") as proxy,
        ):
            proxy.control.load_scenario(RETRY_SCENARIO)
            proxy.control.reset()
            answers = _answers(proxy.port, ca.bundle_path, mdm.authorization)
            if [status for status, _, _ in answers] != [503, 503, 200]:
                raise RuntimeError(
                    f"our scenario answered {[a[0] for a in answers]}, not 503, 503, 200"
                )
            base = {
                "ca": str(ca.bundle_path),
                "headers": {"Authorization": mdm.authorization},
            }
            ours = {
                **base,
                "target": [PUBLIC, 443],
                "host": PUBLIC,
                "proxy": ["127.0.0.1", proxy.port],
                "reset": {
                    "method": "POST",
                    "url": f"{proxy.control.url}/reset",
                    "headers": {"Authorization": f"Bearer {proxy.control.token}"},
                },
            }
            jobs: dict[str, dict[str, Any]] = {"ours": ours}
            with _maybe_wiremock(
                out, wiremock_jar, ca, answers, mdm.authorization, say
            ) as wiremock:
                if wiremock is not None:
                    jobs["wiremock"] = {
                        **base,
                        "target": ["127.0.0.1", wiremock.port],
                        "proxy": None,
                        "reset": {"method": "POST", "url": wiremock.reset_url},
                    }
                samples: dict[str, list[int]] = {name: [] for name in jobs}
                errors = 0
                for name, job in jobs.items():
                    say(f"503 twice then 200: warm-up, {name}")
                    errors += _exchange(job, sizes.warmup, 0)[1]
                for r in range(sizes.rounds):
                    for name, job in jobs.items():
                        say(f"503 twice then 200: round {r + 1}/{sizes.rounds}, {name}")
                        latencies, failed = _exchange(job, 2, sizes.per_round)
                        samples[name] += latencies
                        errors += failed
    for name, values in samples.items():
        p50, p99, _ = summary({"latencies_ns": values, "total_ns": 1})
        out[f"retry_{name}_p50_ms"], out[f"retry_{name}_p99_ms"] = p50, p99
    if "wiremock" in samples:
        out["retry_wiremock_status"] = "measured"
        out["retry_wiremock_version"] = wiremock_jar.name if wiremock_jar else None
        out["retry_ours_over_wiremock_p50"] = round(
            out["retry_ours_p50_ms"] / out["retry_wiremock_p50_ms"], 2
        )
    out["retry_exchanges"] = sizes.rounds * sizes.per_round
    out["retry_errors"] = errors
    return out


@contextmanager
def _maybe_wiremock(
    out: dict[str, Any],
    jar: Path | None,
    ca: CertificateAuthority,
    answers: list[tuple[int, str, bytes]],
    authorization: str,
    say: Progress,
) -> Iterator[WireMock | None]:
    if jar is None or out["retry_wiremock_status"] is not None:
        yield None
        return
    say(f"starting WireMock ({jar.name})")
    mappings = wiremock_mappings(answers[0], answers[2], authorization)
    with WireMock(jar, ca.leaf().pem, ca.bundle_path, mappings) as wiremock:
        yield wiremock
