"""A minimal load generator for :mod:`harness.mdm.bench`, run as its own process.

It reads one JSON job on stdin, sends the job's requests one after another over a single
persistent HTTPS connection (``http.client``: the lowest client overhead Python offers),
and prints one JSON object with the latency of every measured request in nanoseconds::

    {"host": "127.0.0.1", "port": 4433, "ca": "/path/ca.pem", "headers": {...},
     "warmup": ["/path", ...], "measure": ["/path", ...]}
    -> {"warmup_ns": [...], "latencies_ns": [...], "total_s": 1.23, "bytes": 850,
        "errors": 0}

A response that is not 200 counts as an error. The CA comes from the job, never from the
environment.
"""

from __future__ import annotations

import http.client
import json
import ssl
import sys
import time
from typing import Any


def _run(job: dict[str, Any]) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=job["ca"])
    conn = http.client.HTTPSConnection(job["host"], job["port"], context=context, timeout=60)
    headers = job.get("headers", {})
    errors = 0
    size = 0

    def send(paths: list[str]) -> list[int]:
        nonlocal errors, size
        clock = time.perf_counter_ns
        latencies = []
        for path in paths:
            started = clock()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            latencies.append(clock() - started)
            if response.status != 200:
                errors += 1
            size = len(body)
        return latencies

    warmup = send(job.get("warmup", []))
    started = time.perf_counter()
    latencies = send(job["measure"])
    total = time.perf_counter() - started
    conn.close()
    return {
        "warmup_ns": warmup,
        "latencies_ns": latencies,
        "total_s": total,
        "bytes": size,
        "errors": errors,
    }


def main() -> int:
    """Read the job from stdin, print the result on stdout."""
    print(json.dumps(_run(json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
