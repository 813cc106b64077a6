"""``mdm-harness bench`` and its subcommands; every handler imports its bench lazily.

``mdm-harness bench`` alone runs every section of :mod:`harness.bench.suite` and prints one
table; a subcommand runs one bench alone: ``mdm``, ``proxy``, ``client``, ``server``, ``soak``.
Progress goes to stderr, figures to stdout; ``--json FILE`` also writes them. Exit codes: 0 the
bench ran (figures are reported, never judged - but see ``soak`` and ``server``), 1 a section
failed or a verdict of the bench failed, 2 bad usage (nothing started), 3 a bench run alone
broke (a server that did not start, a dead load generator: an ERROR of the harness).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import _util
from harness.bench.suite import SECTIONS, command
from harness.errors import HarnessError, UsageError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="measure every performance figure in one run, beside its peers, and print a table",
        description=(
            "Measure the reference MDM, the fault proxy, fault fidelity, the certify suite and "
            "memory in one run, beside nginx and WireMock when they are there, and print one "
            "table: figure, value, aim, whether it is met. A full run takes a few minutes "
            "(the two certify runs are most of it); --quick takes under a minute. A subcommand "
            "runs one bench alone."
        ),
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run in under a minute: fewer samples, 10 000 devices, one shard of the "
        "suite (the output says what was shortened)",
    )
    _json_option(p, "also write the figures, table and machine to FILE")
    p.add_argument(
        "--peer-wiremock",
        type=Path,
        metavar="JAR",
        help="a WireMock standalone jar (needs java on PATH): it serves the same "
        "'503 twice, then 200' scenario beside ours",
    )
    p.add_argument(
        "--skip",
        nargs="+",
        action="extend",
        default=[],
        choices=SECTIONS,
        metavar="SECTION",
        help=f"leave out sections (any of: {', '.join(SECTIONS)})",
    )
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=command)

    benches = p.add_subparsers(dest="bench", metavar="BENCH", title="one bench alone")
    mdm = benches.add_parser(
        "mdm",
        help="the reference MDM: lookups and pages against 100 000 devices, beside a static file",
        description="Lookups by MAC and full pages against the reference MDM (100 000 devices), "
        "the same bytes from a static file over the same TLS stack, start-up and memory.",
    )
    mdm.add_argument("--quick", action="store_true", help="10 000 devices and fewer requests")
    _json_option(mdm, "also write the figures to FILE")
    mdm.set_defaults(func=_mdm)

    proxy = benches.add_parser(
        "proxy",
        help="the fault proxy: addon cost, delay and trickle fidelity, memory",
        description="What the addon costs beside bare mitmdump (1 and 1 000 rules), how exact "
        "injected delays and trickles are, and whether the proxy's memory stays flat.",
    )
    proxy.add_argument("--quick", action="store_true", help="about a tenth of the samples")
    _json_option(proxy, "also write the figures to FILE")
    proxy.set_defaults(func=_proxy)

    client = benches.add_parser(
        "client",
        help="the reference client's cost per run (exec and in-process)",
        description="Median and p90 wall time of the reference client's runs against a "
        "reference MDM: the interpreter alone, exec runs, in-process runs, the import.",
    )
    client.add_argument("--repeat", type=int, default=20, help="runs per figure (default: 20)")
    client.set_defaults(func=_client)

    server = benches.add_parser(
        "server",
        help="how long certify-server takes against the reference MDM",
        description="Run certify-server against a reference MDM twice - with its defaults "
        "(rate cap 5/s) and with --rate 0 - and print wall and CPU time. Exit code 1 when "
        "either run did not certify the reference MDM.",
    )
    server.add_argument(
        "--devices", type=int, default=1000, help="devices of the MDM (default: %(default)s)"
    )
    server.add_argument("--workers", default="1", help="certify-server -n (default: 1)")
    server.add_argument("--seed", type=int, default=7, help="certify-server --seed (default: 7)")
    _json_option(server, "also write the figures to FILE")
    server.set_defaults(func=_server)

    soak = benches.add_parser(
        "soak",
        help="N concurrent CONNECT+TLS lookups x mixed faults x R rounds: nothing lost?",
        description="Concurrent CONNECT+TLS lookups through the fault proxy with mixed faults "
        "(503, reset, delay, truncation, pass-through), round after round: requests sent, "
        "journal records, lost, duplicated, latency, the proxy's RSS and descriptors. Exit "
        "code 1 when a record is lost or duplicated, a fault misfired, or RSS/descriptors do "
        "not come back within the tolerance.",
    )
    soak.add_argument(
        "--concurrency", type=int, default=500, help="lookups at once (default: %(default)s)"
    )
    soak.add_argument("--rounds", type=int, default=3, help="rounds (default: %(default)s)")
    soak.add_argument(
        "--delay-ms", type=int, default=200, help="the delay fault's delay (default: %(default)s)"
    )
    soak.add_argument(
        "--rss-tolerance-mib",
        type=int,
        default=32,
        help="most the proxy's RSS (MiB) may grow after round 1 (default: %(default)s)",
    )
    soak.add_argument(
        "--fd-tolerance",
        type=int,
        default=4,
        help="most descriptors may stay open above the start (default: %(default)s)",
    )
    _json_option(soak, "also write the figures to FILE")
    soak.set_defaults(func=_soak)


def _harness_failure(handler: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """A bench that breaks (a server that does not start, a dead load generator) is an ERROR of
    the harness (exit code 3, one line), not a traceback and not a figure."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (RuntimeError, OSError, TimeoutError) as exc:
            raise HarnessError(f"{type(exc).__name__}: {exc}") from exc

    return run


def _json_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--json", type=Path, metavar="FILE", help=text)


def _checked_json(args: argparse.Namespace) -> Path | None:
    path: Path | None = args.json
    if path is not None and not path.parent.is_dir():
        raise UsageError(f"--json: directory {str(path.parent)!r} does not exist")
    return path


def _progress() -> Any:
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"bench {time.monotonic() - began:6.1f}s  {message}", file=sys.stderr, flush=True)

    return progress


def _write(path: Path | None, figures: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


@_harness_failure
def _mdm(args: argparse.Namespace) -> int:
    from harness.bench import mdm

    path = _checked_json(args)
    figures = mdm.run(quick=args.quick, progress=_progress())
    print(mdm.format_table(figures))
    _write(path, figures)
    return 0 if figures["errors"] == 0 else 1


@_harness_failure
def _proxy(args: argparse.Namespace) -> int:
    from harness.bench import proxy

    path = _checked_json(args)
    figures = proxy.run(quick=args.quick, progress=_progress())
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    _write(path, figures)
    return 0


@_harness_failure
def _client(args: argparse.Namespace) -> int:
    from harness.bench import client

    client.run(_util.check_range(args.repeat, "--repeat", 1, 10_000))
    return 0


@_harness_failure
def _server(args: argparse.Namespace) -> int:
    import platform

    from harness.bench import server

    path = _checked_json(args)
    devices = _util.check_range(args.devices, "--devices", 1, 1_000_000)
    figures = server.run(devices, args.workers, args.seed, progress=_progress())
    print(
        f"certify-server against the reference MDM (Python {platform.python_version()}, "
        f"{figures['cpus']} CPUs, load {figures['load_start']})"
    )
    for key, meaning in server.KEYS.items():
        print(f"  {key:26} {figures[key]!s:>8}  {meaning}")
    _write(path, figures)
    return 0 if figures["server_default_exit"] == 0 and figures["server_nocap_exit"] == 0 else 1


@_harness_failure
def _soak(args: argparse.Namespace) -> int:
    from harness.bench import soak

    path = _checked_json(args)
    result = soak.run(
        _util.check_range(args.concurrency, "--concurrency", 1, 5000),
        _util.check_range(args.rounds, "--rounds", 1, 1000),
        delay_ms=_util.check_range(args.delay_ms, "--delay-ms", 0, 60_000),
        rss_tolerance_mib=_util.check_range(args.rss_tolerance_mib, "--rss-tolerance-mib", 0, 4096),
        fd_tolerance=_util.check_range(args.fd_tolerance, "--fd-tolerance", 0, 10_000),
        progress=_progress(),
    )
    for figures in result["rounds"]:
        print(soak.format_round(figures))
    print(soak.format_verdict(result))
    _write(path, result)
    return 0 if result["verdict"] == "PASS" else 1
