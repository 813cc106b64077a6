"""Load generator for the "503 twice, then 200" exchange of ``mdm-harness bench``.

Run as its own process (``python -m harness._retry_loadgen``): it reads one JSON job on stdin,
and for each exchange first resets the server's scenario (untimed, on a connection of its own),
then sends the same GET on one persistent HTTPS connection - through an explicit proxy with
CONNECT when ``proxy`` is given - until a 200 arrives. The time from the first request to the
end of the 200's body is the exchange's time to success::

    {"target": ["127.0.0.1", 8443], "proxy": null, "ca": "/path/ca.pem",
     "path": "/...", "headers": {...}, "reset": {"method": "POST", "url": "http://...", "headers": {...}},
     "warmup": 20, "exchanges": 200}
    -> {"latencies_ns": [...], "total_s": 0.9, "statuses": [503, 503, 200], "errors": 0}

With ``proxy``, ``target`` is the host and port asked for in CONNECT (and the TLS name).
An exchange whose statuses are not ``503, 503, 200`` counts as an error (``statuses`` shows
the first exchange). ``http.client`` is used on both sides of a comparison, so its overhead
cancels out; the CA comes from the job, never from the environment.
"""

from __future__ import annotations

import http.client
import json
import ssl
import sys
import time
from typing import Any
from urllib.parse import urlsplit

EXPECTED = [503, 503, 200]


def _connection(
    host: str, port: int, context: ssl.SSLContext, tls: bool = True
) -> http.client.HTTPConnection:
    if tls:
        return http.client.HTTPSConnection(host, port, context=context, timeout=30)
    return http.client.HTTPConnection(host, port, timeout=30)


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Run ``warmup`` + ``exchanges`` exchanges; the times of the last ``exchanges``."""
    context = ssl.create_default_context(cafile=job["ca"])
    host, port = job["target"]
    if job.get("proxy"):
        conn = _connection(job["proxy"][0], job["proxy"][1], context)
        conn.set_tunnel(host, port)
    else:
        conn = _connection(host, port, context)
    reset_url = urlsplit(job["reset"]["url"])
    reset = _connection(
        reset_url.hostname or "127.0.0.1",
        reset_url.port or 443,
        context,
        reset_url.scheme == "https",
    )
    headers = job.get("headers", {})
    latencies: list[int] = []
    first: list[int] = []
    errors = 0
    clock = time.perf_counter_ns
    for i in range(int(job.get("warmup", 0)) + int(job["exchanges"])):
        reset.request(
            job["reset"].get("method", "POST"),
            reset_url.path or "/",
            body=b"",
            headers=job["reset"].get("headers", {}),
        )
        reply = reset.getresponse()
        reply.read()
        if reply.status >= 300:
            raise RuntimeError(f"scenario reset answered {reply.status}")
        statuses: list[int] = []
        started = clock()
        while len(statuses) < len(EXPECTED):
            conn.request("GET", job["path"], headers=headers)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            if response.status == 200:
                break
        elapsed = clock() - started
        if not first:
            first = statuses
        if statuses != EXPECTED:
            errors += 1
        if i >= int(job.get("warmup", 0)):
            latencies.append(elapsed)
    conn.close()
    reset.close()
    total = sum(latencies) / 1e9  # time spent in exchanges, resets excluded
    return {"latencies_ns": latencies, "total_s": total, "statuses": first, "errors": errors}


def main() -> int:
    """Read the job from stdin, print the result on stdout."""
    print(json.dumps(run(json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
