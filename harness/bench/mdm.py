"""Benchmark of the reference MDM: ``mdm-harness bench mdm [--quick] [--json FILE]``.

What it measures, all over HTTPS keep-alive on loopback from a separate client process
(:mod:`harness.bench.loadgen`, one persistent connection):

* single-device lookups (``querycriteria=macaddress``, API v3, ``filter=all``) against a
  server with 100 000 generated devices (10 000 with ``--quick``), run by ``mdm-harness
  serve`` in its own process: p50 and p99 latency and requests per second, after one warm-up
  pass over the sampled devices (whose own p50 is reported as the cold figure);
* a full page of the non-compliant listing (``query_max_size`` = 1000 devices);
* the baseline: a static file holding the very bytes of a lookup reply, served by tornado's
  ``StaticFileHandler`` with the same TLS certificate and settings; and the ratio MDM/static;
* the server process's start-up time, inventory build time, and resident memory (``VmRSS``
  after start-up, ``VmHWM`` peak at the end) as its admin API reports them.

:func:`run` returns a flat dict (keys below) for ``mdm-harness bench`` to reuse; its
``static_peer`` callback lets another server (nginx) be measured on the very same bytes, with
the same load generator, right after the static baseline (a load-generator job whose
``target`` it sets). Figures are printed, never asserted:
performance goals live here, not in timed unit tests.

=============================  ==========================================================
key                            meaning
=============================  ==========================================================
devices                        inventory size of the measured server
lookups                        measured lookup requests (after the warm-up pass)
lookup_p50_ms, lookup_p99_ms   lookup latency percentiles (warm)
lookup_cold_p50_ms             p50 of the warm-up pass (first render of each device)
lookup_rps                     lookups per second on the one connection
lookup_bytes                   size of one lookup reply
static_p50_ms, static_p99_ms   the same bytes as a static file
static_rps                     static requests per second
ratio_p50, ratio_rps           MDM p50 / static p50, MDM rps / static rps
pages                          measured page requests
page_devices                   devices per page (query_max_size)
page_p50_ms, page_p99_ms       page latency percentiles
page_bytes                     size of one page reply
errors                         non-200 answers seen by the load generator (should be 0)
server_startup_s               spawn of ``serve`` until it printed its URL
inventory_build_s              of which building the inventory
server_rss_start_mib           server RSS right after start-up
server_peak_rss_mib            server peak RSS (VmHWM) at the end
=============================  ==========================================================
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness._util import python, scrubbed_env, stop_process, wait_until
from harness.bench.loadgen import ms, percentile, spawn, summary

__all__ = ["StaticPeer", "format_table", "run"]

Progress = Callable[[str], None]

#: ``static_peer(static_dir, ca_dir, job)``: serve ``static_dir`` (it holds ``lookup.xml``) over
#: TLS with a leaf of the CA in ``ca_dir`` and measure it by running ``{**job, "target":
#: ["127.0.0.1", port]}`` through :func:`harness.bench.loadgen.spawn`. Called while the
#: reference MDM still runs (idle), as the static baseline was measured.
StaticPeer = Callable[[Path, Path, dict[str, Any]], None]


class _Served:
    """``mdm-harness serve --json`` in a child process."""

    def __init__(self, state_dir: Path, devices: int, seed: int) -> None:
        self.started = time.perf_counter()
        state_dir.mkdir(parents=True, exist_ok=True)
        self.log = state_dir / "serve.log"
        self._log_file = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *python("-m", "harness", "serve"),
                "--state-dir",
                str(state_dir),
                "--devices",
                str(devices),
                "--seed",
                str(seed),
                "--json",
                "--log-level",
                "error",
            ],
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
            env=scrubbed_env(),
        )
        self.facts: dict[str, Any] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_until(lambda: self.facts or self._died(), timeout=120, what="serve printing its URL")
        if not self.facts:
            self.stop()
            raise RuntimeError(
                f"mdm-harness serve exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}"
            )
        self.startup_s = time.perf_counter() - self.started

    def _read(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip():
            self.facts = json.loads(line)

    def _died(self) -> bool:
        return self.proc.poll() is not None

    def stop(self) -> None:
        stop_process(self.proc, 30.0)
        self._log_file.close()


@contextmanager
def _static_server(directory: Path, ca_dir: Path, names: Sequence[str]) -> Iterator[int]:
    """tornado's StaticFileHandler over TLS with the MDM's certificate, in a thread; yields the port."""
    import tornado.httpserver
    import tornado.netutil
    import tornado.web

    from harness.tls import CertificateAuthority

    ctx = CertificateAuthority.load_or_create(ca_dir).server_context(*names)
    sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1")
    port = sockets[0].getsockname()[1]
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        app = tornado.web.Application(
            [(r"/(.*)", tornado.web.StaticFileHandler, {"path": str(directory)})],
            log_function=lambda handler: None,
        )
        server = tornado.httpserver.HTTPServer(app, ssl_options=ctx)
        server.add_sockets(sockets)
        ready.set()
        loop.run_forever()
        server.stop()
        loop.run_until_complete(server.close_all_connections())
        loop.close()

    thread = threading.Thread(target=serve, name="bench-static", daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def run(
    quick: bool = False, progress: Progress | None = None, *, static_peer: StaticPeer | None = None
) -> dict[str, Any]:
    """Run the benchmark and return its figures as a flat dict (see the module doc)."""
    say = progress or (lambda message: None)
    devices = 10_000 if quick else 100_000
    lookups = 500 if quick else 5000
    sample_size = 200 if quick else 2000
    pages = 10 if quick else 50
    seed = 7

    from harness.mdm.generate import generate_devices

    with tempfile.TemporaryDirectory(prefix="mdm-bench-") as tmp:
        state = Path(tmp) / "state"
        say(f"starting mdm-harness serve with {devices} devices")
        served = _Served(state, devices, seed)
        try:
            facts = served.facts
            origin, ca = facts["origin"], facts["ca_bundle"]
            host, port = "127.0.0.1", int(origin.rsplit(":", 1)[1])
            from harness.mdm.admin import AdminClient

            admin = AdminClient(origin, facts["username"], facts["password"], ca_bundle=ca)
            start_stats = admin.stats()
            headers = {
                "Authorization": _basic(facts["username"], facts["password"]),
                "Accept": "application/xml",
            }
            api = "/7/ciscoise/v3"

            say("sampling device MACs (the same seed gives the same devices)")
            macs = [d.macaddress for d in generate_devices(devices, seed, now_ms=0)]
            sample = random.Random(1).sample(macs, sample_size)
            paths = [
                f"{api}/devices/?paging=0&querycriteria=macaddress&value={m}&filter=all"
                for m in sample
            ]
            measure = [paths[i % len(paths)] for i in range(lookups)]

            say(f"lookups: {len(paths)} warm-up, {lookups} measured")
            target = [host, port]
            job = {"target": target, "ca": ca, "headers": headers, "host": host}
            (lookup,) = spawn({**job, "warmup": paths, "paths": measure}, strict=False)

            page_path = f"{api}/devices/?paging=0&querycriteria=compliance&value=false&deviceidentifier=guid&filter=all"
            say(f"pages of query_max_size devices: {pages} measured")
            (page,) = spawn({**job, "warmup": [page_path] * 3, "paths": [page_path] * pages},
                            strict=False)  # fmt: skip

            say("static baseline: the same bytes from tornado's StaticFileHandler over TLS")
            static_dir = Path(tmp) / "static"
            static_dir.mkdir()
            (static_dir / "lookup.xml").write_bytes(_fetch(host, port, ca, paths[0], headers))
            names = ("localhost", "127.0.0.1", "::1", "acme.jamfcloud.test")
            static_job = {
                **job,
                "warmup": ["/lookup.xml"] * 200,
                "paths": ["/lookup.xml"] * lookups,
            }
            with _static_server(static_dir, state, names) as static_port:
                (static,) = spawn({**static_job, "target": [host, static_port]}, strict=False)
            if static_peer is not None:
                static_peer(static_dir, state, static_job)
            end_stats = admin.stats()
        finally:
            served.stop()

    l50, l99, lrps = summary(lookup)
    s50, s99, srps = summary(static)
    p50, p99, _ = summary(page)
    page_devices = 1000
    return {
        "devices": devices,
        "lookups": lookups,
        "lookup_p50_ms": l50,
        "lookup_p99_ms": l99,
        "lookup_cold_p50_ms": ms(percentile(lookup["warmup_ns"], 0.50)),
        "lookup_rps": lrps,
        "lookup_bytes": lookup["bytes"][-1],
        "static_p50_ms": s50,
        "static_p99_ms": s99,
        "static_rps": srps,
        "ratio_p50": round(l50 / s50, 2) if s50 else None,
        "ratio_rps": round(lrps / srps, 2) if srps else None,
        "pages": pages,
        "page_devices": page_devices,
        "page_p50_ms": p50,
        "page_p99_ms": p99,
        "page_bytes": page["bytes"][-1],
        "errors": sum(e is not None for r in (lookup, page, static) for e in r["errors"]),
        "server_startup_s": round(served.startup_s, 2),
        "inventory_build_s": start_stats.get("build_seconds"),
        "server_rss_start_mib": _mib(start_stats.get("rss_bytes")),
        "server_peak_rss_mib": _mib(end_stats.get("peak_rss_bytes")),
    }


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _mib(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _fetch(host: str, port: int, ca: str, path: str, headers: dict[str, str]) -> bytes:
    import http.client
    import ssl

    conn = http.client.HTTPSConnection(
        host, port, context=ssl.create_default_context(cafile=ca), timeout=60
    )
    try:
        conn.request("GET", path, headers=headers)
        return conn.getresponse().read()
    finally:
        conn.close()


def format_table(figures: dict[str, Any]) -> str:
    """The figures as the table ``mdm-harness bench mdm`` prints."""
    f = figures
    rows = [
        f"reference MDM benchmark: {f['devices']} devices, HTTPS keep-alive, one client process",
        f"{'':34}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>10}",
        f"{'lookup by MAC (' + str(f['lookup_bytes']) + ' B reply)':34}{f['lookup_p50_ms']:>9.3f}"
        f"{f['lookup_p99_ms']:>9.3f}{f['lookup_rps']:>10.0f}",
        f"{'static file, same bytes':34}{f['static_p50_ms']:>9.3f}{f['static_p99_ms']:>9.3f}"
        f"{f['static_rps']:>10.0f}",
        f"{'page of ' + str(f['page_devices']) + ' devices (' + str(f['page_bytes'] // 1024) + ' KiB)':34}"
        f"{f['page_p50_ms']:>9.3f}{f['page_p99_ms']:>9.3f}",
        f"ratio MDM/static: p50 {f['ratio_p50']}, req/s {f['ratio_rps']}; "
        f"cold lookup p50 {f['lookup_cold_p50_ms']:.3f} ms; errors {f['errors']}",
        f"server: start-up {f['server_startup_s']} s (inventory {f['inventory_build_s']} s), "
        f"RSS after start {f['server_rss_start_mib']} MiB, peak {f['server_peak_rss_mib']} MiB",
    ]
    return "\n".join(rows)
