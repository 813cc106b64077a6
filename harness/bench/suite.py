"""``mdm-harness bench``: every performance figure in one run, beside its peers.

Each section is measured by its own module of :mod:`harness.bench`; this one only runs the
sections in order, each in real processes on loopback, and prints one table
(:mod:`harness.bench.report`):

=======  ======================================================================================
section  what it runs
=======  ======================================================================================
mdm      :func:`harness.bench.mdm.run`: reference MDM lookups with 100 000 devices, a full page,
         the same bytes from a static file over the same TLS stack, start-up, RSS
nginx    :func:`harness.bench.peers.measure_nginx`: the same static bytes from nginx (inside the
         mdm section, right after its static baseline); absent when nginx is not on PATH
proxy    :func:`harness.bench.proxy.run`: direct / bare mitmdump / addon with 1 and 1 000 rules,
         delay and trickle fidelity, proxy RSS after 10 000 flows
retry    :func:`harness.bench.retry.retry_exchange`: "503 twice, then 200", ours and WireMock's
         (``--peer-wiremock JAR``; absent without it)
certify  :func:`harness.bench.certify.run`: the default certify with ``-n 1`` and ``-n 2``
=======  ======================================================================================

Progress goes to stderr, the table to stdout, and with ``--json FILE`` one JSON document::

    {"mode": "full" | "quick", "started": ISO time, "seconds": wall time,
     "machine": {"cpu", "cores", "system", "python", "mitmproxy", "java", "load_start", "load_end"},
     "shortened": [what --quick measured with fewer samples, one sentence per section],
     "sections": {name: {"status": "measured" | "skipped" | "absent" | "failed",
                         "reason": text or null, "seconds": float or null,
                         "figures": {key: value} (the keys each module documents) or null}},
     "table": [{"group", "figure", "value", "unit", "text", "aim", "meets"}], "errors": int}

Exit code 0 when every section asked for ran - whether the aims are met or not: they are
reported, and a noisy machine must not fail a command -, 1 when a section failed or a server
answered with errors, 2 on bad usage. ``--tiny`` (hidden) takes the fewest samples that still
yield every figure, for the command's own test.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import UsageError

__all__ = ["SECTIONS", "command", "machine", "run"]

SECTIONS = ("mdm", "nginx", "proxy", "retry", "certify")

Progress = Callable[[str], None]

#: certify's slice and profile per mode (None: the default certify, the whole suite). A shard
#: ``1/N`` with N above the suite's size holds exactly one test (its first in shard order):
#: ``tiny`` times two certify runs of one test, which is all the command's own test needs.
_CERTIFY = {"full": (None, None), "quick": ("1/12", "quick"), "tiny": ("1/1000", "quick")}

#: What a shortened run did, per section, filled from its figures.
_SHORTENED = {
    "mdm": "reference MDM: {devices} devices and {lookups} lookups (full run: 100 000 and 5 000)",
    "proxy": "fault proxy: {samples} latency samples per set-up, {delay_samples} per injected "
    "delay, {rss_flows} flows between the RSS readings (full run: 2 000, 30, 10 000)",
    "retry": "503 twice then 200: {retry_exchanges} exchanges per server (full run: 500)",
    "certify": "certify: shard {certify_shard} of the suite ({certify_tests} tests), profile "
    "{certify_profile}, instead of the whole default certify; the speed-up is not judged",
}


def command(args: argparse.Namespace) -> int:
    """``mdm-harness bench`` (no subcommand): every section, one table."""
    jar: Path | None = args.peer_wiremock
    if jar is not None and not jar.is_file():
        raise UsageError(f"--peer-wiremock: {str(jar)!r} is not a file")
    if args.json is not None and not args.json.parent.is_dir():
        raise UsageError(f"--json: directory {str(args.json.parent)!r} does not exist")
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"bench {time.monotonic() - began:6.1f}s  {message}", file=sys.stderr, flush=True)

    document = run(mode, skip=set(args.skip), wiremock_jar=jar, progress=progress)
    print(_header(document))
    print(_format(document))
    if args.json is not None:
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    failed = [n for n, s in document["sections"].items() if s["status"] == "failed"]
    return 1 if failed or document["errors"] else 0


def run(
    mode: str = "full",
    *,
    skip: set[str] | frozenset[str] = frozenset(),
    wiremock_jar: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every section not in ``skip``; the JSON document described in the module doc.
    ``mode`` is ``full``, ``quick`` or ``tiny``."""
    from harness.bench import report as bench_report

    if mode not in _CERTIFY:
        raise ValueError(f"mode={mode!r} must be one of {', '.join(_CERTIFY)}")
    say = progress or (lambda message: None)
    began = time.monotonic()
    document: dict[str, Any] = {
        "mode": "quick" if mode == "tiny" else mode,
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(java=wiremock_jar is not None),
    }
    sections: dict[str, dict[str, Any]] = {}
    quick = mode != "full"

    nginx = _skipped("--skip" if "nginx" in skip else "runs only with the mdm section")

    def static_peer(static_dir: Path, ca_dir: Path, job: dict[str, Any]) -> None:
        import shutil

        from harness.bench import peers

        nonlocal nginx
        if shutil.which("nginx") is None:
            nginx = {**_skipped("nginx is not on PATH"), "status": "absent"}
            return
        nginx = _section(
            "nginx",
            lambda: peers.measure_nginx(static_dir, ca_dir, job, _tagged(say, "nginx")),
            say,
        )

    def mdm() -> dict[str, Any]:
        from harness.bench import mdm as mdm_bench

        peer = None if "nginx" in skip else static_peer
        return mdm_bench.run(quick=quick, progress=_tagged(say, "mdm"), static_peer=peer)

    def proxy() -> dict[str, Any]:
        from harness.bench import proxy as proxy_bench

        return proxy_bench.run(quick=quick, progress=_tagged(say, "proxy"), tiny=mode == "tiny")

    def retry() -> dict[str, Any]:
        from harness.bench import retry as retry_bench

        return retry_bench.retry_exchange(mode, wiremock_jar, _tagged(say, "retry"))

    def certify() -> dict[str, Any]:
        from harness.bench import certify as certify_bench

        shard, profile = _CERTIFY[mode]
        return certify_bench.run(shard=shard, profile=profile, progress=_tagged(say, "certify"))

    for name, measure in (("mdm", mdm), ("proxy", proxy), ("retry", retry), ("certify", certify)):
        sections[name] = _skipped("--skip") if name in skip else _section(name, measure, say)
        if name == "mdm":
            sections["nginx"] = nginx
    document["sections"] = {name: sections[name] for name in SECTIONS}
    document["shortened"] = _shortened(sections) if quick else []
    document["table"] = bench_report.rows(document["sections"])
    document["errors"] = sum(
        int((s["figures"] or {}).get(key) or 0)
        for s in sections.values()
        for key in ("errors", "nginx_errors", "retry_errors")
    )
    load = os.getloadavg()[0]
    document["machine"]["load_end"] = round(load, 2)
    document["seconds"] = round(time.monotonic() - began, 1)
    return document


def _tagged(say: Progress, section: str) -> Progress:
    return lambda message: say(f"{section}: {message}")


def _skipped(reason: str) -> dict[str, Any]:
    return {"status": "skipped", "reason": reason, "seconds": None, "figures": None}


def _section(name: str, measure: Callable[[], dict[str, Any]], say: Progress) -> dict[str, Any]:
    """Run one section; a failure is recorded (and the next section still runs)."""
    started = time.monotonic()
    try:
        figures = measure()
    except Exception as exc:  # one broken section must not lose the others' figures
        reason = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        )
        say(f"{name}: FAILED: {exc}")
        return {
            "status": "failed",
            "reason": reason,
            "seconds": round(time.monotonic() - started, 1),
            "figures": None,
        }
    return {
        "status": "measured",
        "reason": None,
        "seconds": round(time.monotonic() - started, 1),
        "figures": figures,
    }


def _shortened(sections: dict[str, dict[str, Any]]) -> list[str]:
    from harness.bench.report import fill

    return [
        fill(text, sections[name]["figures"])
        for name, text in _SHORTENED.items()
        if sections[name]["status"] == "measured"
    ]


def machine(java: bool = False) -> dict[str, Any]:
    """What the figures were measured on."""
    from importlib.metadata import version

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    java_version = None
    if java:
        from harness.bench import peers

        java_version = peers.java_version()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "mitmproxy": version("mitmproxy"),
        "java": java_version,
        "load_start": round(os.getloadavg()[0], 2),
    }


def _header(document: dict[str, Any]) -> str:
    m = document["machine"]
    lines = [
        f"mdm-harness bench, {document['mode']} run, {document['started']}, {document['seconds']} s",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['system']}, Python {m['python']}, "
        f"mitmproxy {m['mitmproxy']}{', ' + m['java'] if m['java'] else ''}; "
        f"load average {m['load_start']} at start, {m['load_end']} at end",
    ]
    if document["shortened"]:
        lines.append("shortened (--quick): " + "; ".join(document["shortened"]))
    return "\n".join(lines)


def _format(document: dict[str, Any]) -> str:
    from harness.bench import report as bench_report

    text = bench_report.format_table(document["table"])
    if document["errors"]:
        text += f"\nERRORS: {document['errors']} answers were not what the benchmark asked for"
    return text
