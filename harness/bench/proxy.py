"""The fault proxy's benchmark: what the addon costs, how exact its delays and trickles are,
and whether its memory stays flat.

``run(quick=False, progress=print) -> dict`` returns one flat dict (every key documented in
:data:`KEYS`); ``mdm-harness bench proxy [--quick] [--json FILE]`` prints it as a table.
``run(tiny=True)`` takes the fewest samples that still yield every key (for tests of the
commands built on it, never for figures).

Latency is measured by a separate client process (:mod:`harness.bench.loadgen`) holding
HTTPS keep-alive connections - through the proxy with CONNECT - and timing discovery
requests one after another against a reference MDM, in five set-ups that take turns in
rounds (so drift on a busy machine hits them alike): direct to the MDM, through bare mitmdump
(no addon), through the addon with a one-rule scenario, the same with the journal also written
to a file (``harness_journal_file``), and with a scenario of 1 000 rules that do not match (so
the cost of matching shows).

Over 400 lines: five set-ups measured in alternating rounds and the figures they print; the
load generator is its own module.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from harness import _util
from harness.bench.loadgen import percentile as _percentile
from harness.bench.loadgen import spawn
from harness.bench.procfs import rss_mib

__all__ = ["KEYS", "run"]

#: Every key of the result, with its meaning (latencies in ms, p50/p99 over all samples).
KEYS: dict[str, str] = {
    "samples": "latency samples per set-up",
    "direct_p50_ms": "direct to the reference MDM, median",
    "direct_p99_ms": "direct to the reference MDM, 99th percentile",
    "bare_p50_ms": "through bare mitmdump (no addon), median",
    "bare_p99_ms": "through bare mitmdump, 99th percentile",
    "addon_1_rule_p50_ms": "through the addon, a 1-rule scenario (not matching), median",
    "addon_1_rule_p99_ms": "the same, 99th percentile",
    "addon_journal_file_p50_ms": "through the addon (1 rule) with its journal also written to a file, median",
    "addon_journal_file_p99_ms": "the same, 99th percentile",
    "addon_1000_rules_p50_ms": "through the addon, 1 000 rules that do not match, median",
    "addon_1000_rules_p99_ms": "the same, 99th percentile",
    "addon_1_rule_over_bare_p50": "ratio of medians, addon (1 rule) / bare mitmdump",
    "addon_1000_rules_over_bare_p50": "ratio of medians, addon (1 000 rules) / bare mitmdump",
    "journal_file_over_addon_p50": "ratio of medians, addon with a journal file / addon (1 rule)",
    "addon_cost_ok": "whether both ratios are at most 1.15 (the aim)",
    "match_uncached_us": "RuleSet.decide with 1 000 rules, every request new (no cache hit), in-process",
    "match_cached_us": "RuleSet.decide with 1 000 rules, a repeated request (cache hit), in-process",
    "match_new_path_us": "RuleSet.decide with 1 000 rules, every request on a new path (a full scan)",
    "delay_50_error_p95_ms": "injected 50 ms: p95 of (latency - 50 ms - delay_50_idle_p50_ms)",
    "delay_50_idle_p50_ms": "median undelayed latency of clients pausing min(delay, 200 ms) between requests",
    "delay_50_raw_p95_ms": "injected 50 ms: p95 of (latency - 50 ms - the back-to-back median)",
    "delay_200_error_p95_ms": "injected 200 ms: the same as for 50 ms",
    "delay_200_idle_p50_ms": "the same as for 50 ms",
    "delay_200_raw_p95_ms": "the same as for 50 ms",
    "delay_1000_error_p95_ms": "injected 1000 ms: the same as for 50 ms",
    "delay_1000_idle_p50_ms": "the same as for 50 ms",
    "delay_1000_raw_p95_ms": "the same as for 50 ms",
    "delay_50_proxy_p95_ms": "injected 50 ms: p95 of the proxy's own measure of the wait minus 50 ms",
    "delay_200_proxy_p95_ms": "the same for 200 ms",
    "delay_1000_proxy_p95_ms": "the same for 1000 ms",
    "delay_samples": "samples per injected delay",
    "delay_error_ok": "whether every delay error is within max(5 ms, 2 %) (the aim)",
    "trickle_bytes_per_s": "configured trickle rate",
    "trickle_measured_bytes_per_s": "measured rate, first to last body byte, mean over the runs",
    "trickle_error_pct": "largest relative error of a run's measured rate, percent",
    "rss_flows": "flows sent between the two RSS readings",
    "rss_journal_max": "journal retention cap (records) of the measured proxy, reached during warm-up",
    "rss_warm_mb": "proxy RSS after warm-up (journal already at its cap)",
    "rss_after_mb": "proxy RSS after rss_flows more flows",
    "rss_growth_mb": "rss_after_mb - rss_warm_mb",
    "seconds": "wall time of the whole benchmark",
}

_DISCOVERY = "/networkIntegrationEndpoint/7/ciscoise/mdminfo/?ise_api_version=3"
_ALL_DEVICES = "/7/ciscoise/v1/devices/0/all"
_PUBLIC = "acme.jamfcloud.test"
_MITMDUMP = (
    "import sys; from mitmproxy.tools.main import mitmdump; sys.exit(mitmdump(sys.argv[1:]))"
)


class _Sizes(NamedTuple):
    """How many samples each part takes."""

    rounds: int  # latency rounds, each set-up once per round
    per_round: int  # latency samples per set-up and round
    match_samples: int  # RuleSet.decide calls per measure
    delay_clients: int  # parallel clients per injected delay
    delay_per_client: int  # delayed requests per client
    trickles: int  # trickled bodies
    journal_max: int  # journal cap of the memory measurement
    warm_flows: int  # flows before the first RSS reading (more than journal_max)
    flows: int  # flows between the two RSS readings
    warmup: int  # unmeasured requests before each latency sample set


_SIZES = {
    "full": _Sizes(10, 200, 2000, 2, 15, 4, 1_000, 1_500, 10_000, 20),
    "quick": _Sizes(4, 75, 2000, 2, 5, 2, 1_000, 1_500, 2_000, 20),
    "tiny": _Sizes(1, 10, 200, 1, 2, 1, 20, 30, 40, 2),
}


def _latencies_ms(
    spec: dict[str, Any], count: int, *, warmup: int = 0, clients: int = 1, pause_ms: float = 0
) -> list[float]:
    """Latencies (ms) of ``count`` requests on each of ``clients`` keep-alive connections."""
    path = spec.get("path", _DISCOVERY)
    job = {k: v for k, v in spec.items() if k != "path"}
    (result,) = spawn(
        {**job, "paths": [path] * (count * clients), "warmup": [path] * warmup,
         "connections": clients, "pause_ns": int(pause_ms * 1e6)}
    )  # fmt: skip
    return [ns / 1e6 for ns in result["latencies_ns"]]


def _non_matching_rules(n: int) -> list[dict[str, Any]]:
    """``n`` realistic rules that never match a discovery request: other operations, other
    paths, other hosts, other query values - so matching has real work to do."""
    kinds = ["reset", "close", {"kind": "delay", "delay_ms": 5}, "status_503"]
    rules: list[dict[str, Any]] = []
    for i in range(n):
        shape = i % 4
        match: dict[str, Any]
        if shape == 0:
            match = {
                "operation": ["devices", "action", "noncompliant"][i % 3],
                "query": {"value": f"{i:012X}"},
            }
        elif shape == 1:
            match = {"path": f"/networkIntegrationEndpoint/{i + 1000}/*"}
        elif shape == 2:
            match = {"host": f"tenant-{i}.jamfcloud.test"}
        else:
            match = {"operation": "mdminfo", "query": {"ise_api_version": str(10 + i)}}
        rules.append({"name": f"r{i}", "match": match, "fault": kinds[i % len(kinds)]})
    return rules


def _match_cost(n_rules: int, samples: int) -> tuple[float, float, float]:
    from harness.attempt import operation_of, params_of
    from harness.proxy.rules import AttemptInfo, RuleSet
    from harness.scenario import scenario_from_dict

    rules = RuleSet(scenario_from_dict({"name": "m", "rules": _non_matching_rules(n_rules)}))
    path, _, query = _DISCOVERY.partition("?")

    def info(i: int, new_path: bool = False) -> AttemptInfo:
        q = f"{query}&n={i}"
        p = f"/7/ciscoise/v1/devices/0/macaddress/{i:012X}/all" if new_path else path
        params = params_of(q)
        return AttemptInfo(_PUBLIC, "GET", p, q, params, operation_of("GET", p, params))

    infos = [info(i) for i in range(samples)]
    start = time.perf_counter()
    for item in infos:
        rules.decide("request", item)
    uncached = (time.perf_counter() - start) / samples * 1e6
    start = time.perf_counter()
    for _ in range(samples):
        rules.decide("request", infos[0])
    cached = (time.perf_counter() - start) / samples * 1e6
    paths = [info(i, new_path=True) for i in range(samples)]
    start = time.perf_counter()
    for item in paths:
        rules.decide("request", item)
    new_path = (time.perf_counter() - start) / samples * 1e6
    return uncached, cached, new_path


def run(
    quick: bool = False, progress: Callable[[str], None] | None = None, *, tiny: bool = False
) -> dict[str, Any]:
    """Run the benchmark; ``quick`` takes about a tenth of the samples, ``tiny`` the fewest
    that yield every key (tests only). See :data:`KEYS`."""
    from harness.mdm import ReferenceMDM
    from harness.proxy.launcher import FaultProxy
    from harness.tls import CertificateAuthority

    say = progress or (lambda message: None)
    began = time.monotonic()
    sizes = _SIZES["tiny" if tiny else "quick" if quick else "full"]
    rounds, per_round = sizes.rounds, sizes.per_round
    out: dict[str, Any] = {"samples": rounds * per_round}
    with tempfile.TemporaryDirectory(prefix="mdm-harness-bench-") as tmp_name:
        tmp = Path(tmp_name)
        ca = CertificateAuthority.load_or_create(tmp / "ca")
        with ReferenceMDM(ca=ca, devices=300, seed=1) as mdm:
            base = {
                "ca": str(ca.bundle_path),
                "headers": {"Authorization": mdm.authorization, "Accept": "application/xml"},
                "host": _PUBLIC,
            }
            direct = {**base, "target": ["127.0.0.1", mdm.port], "sni": "127.0.0.1"}

            bare_port = _util.free_loopback_port()
            bare_log = open(tmp / "bare.log", "wb")  # noqa: SIM115 - closed in finally
            bare = subprocess.Popen(
                [
                    *_util.python("-c", _MITMDUMP),
                    "-q",
                    "--set",
                    "listen_host=127.0.0.1",
                    "--set",
                    f"listen_port={bare_port}",
                    "--set",
                    f"confdir={ca.mitmproxy_confdir()}",
                    "--set",
                    "connection_strategy=lazy",
                    "--set",
                    "http2=false",
                    "--set",
                    f"ssl_verify_upstream_trusted_ca={ca.bundle_path}",
                ],
                stdout=bare_log,
                stderr=subprocess.STDOUT,
                env=_util.scrubbed_env(),
                start_new_session=True,
            )
            proxy = FaultProxy(mdm.origin, ca, state_dir=tmp / "proxy")
            filed = FaultProxy(
                mdm.origin, ca, state_dir=tmp / "filed", journal_file=tmp / "journal.jsonl"
            )
            try:
                _util.wait_until(
                    lambda: _util.accepts_connections(bare_port), timeout=30, what="bare mitmdump"
                )
                proxy.start()
                filed.start()
                via_bare = {
                    **base,
                    "proxy": ["127.0.0.1", bare_port],
                    "target": ["127.0.0.1", mdm.port],
                    "sni": "127.0.0.1",
                }
                via_addon = {
                    **base,
                    "proxy": ["127.0.0.1", proxy.port],
                    "target": [_PUBLIC, 443],
                    "sni": _PUBLIC,
                }
                via_filed = {**via_addon, "proxy": ["127.0.0.1", filed.port]}
                one_rule = {
                    "name": "one",
                    "rules": [
                        {"name": "wipes", "match": {"operation": "action"}, "fault": "reset"}
                    ],
                }
                many = {"name": "many", "rules": _non_matching_rules(1000)}
                setups: list[tuple[str, dict[str, Any], FaultProxy | None, dict[str, Any]]] = [
                    ("direct", direct, None, {}),
                    ("bare", via_bare, None, {}),
                    ("addon_1_rule", via_addon, proxy, one_rule),
                    ("addon_journal_file", via_filed, filed, one_rule),
                    ("addon_1000_rules", via_addon, proxy, many),
                ]
                samples: dict[str, list[float]] = {name: [] for name, _, _, _ in setups}
                for r in range(rounds):
                    for name, spec, target, scenario in setups:
                        say(f"latency round {r + 1}/{rounds}: {name}")
                        if target is not None:
                            target.control.load_scenario(scenario)
                            target.control.reset()
                        samples[name] += _latencies_ms(spec, per_round, warmup=sizes.warmup)
                for name, values in samples.items():
                    out[f"{name}_p50_ms"] = round(_percentile(values, 0.5), 3)
                    out[f"{name}_p99_ms"] = round(_percentile(values, 0.99), 3)
                for name in ("addon_1_rule", "addon_1000_rules"):
                    out[f"{name}_over_bare_p50"] = round(
                        out[f"{name}_p50_ms"] / out["bare_p50_ms"], 3
                    )
                out["journal_file_over_addon_p50"] = round(
                    out["addon_journal_file_p50_ms"] / out["addon_1_rule_p50_ms"], 3
                )
                out["addon_cost_ok"] = (
                    max(out["addon_1_rule_over_bare_p50"], out["addon_1000_rules_over_bare_p50"])
                    <= 1.15
                )
                say("rule matching cost")
                cost = [
                    min(runs)
                    for runs in zip(
                        *(_match_cost(1000, sizes.match_samples) for _ in range(3)), strict=True
                    )
                ]
                out["match_uncached_us"], out["match_cached_us"], out["match_new_path_us"] = (
                    round(x, 2) for x in cost
                )

                # Delays. An idle machine answers its next request more slowly (cold caches, CPU
                # sleep states), so the undelayed reference is taken after a comparable idle time:
                # clients pausing min(delay, 200 ms) between requests. The proxy's own measure
                # of each wait (slept_ms in the journal) shows the timer's precision alone.
                back_to_back = out["addon_1_rule_p50_ms"]
                delays = {
                    "name": "delays",
                    "rules": [
                        {
                            "name": f"d{d}",
                            "match": {"query": {"d": str(d)}},
                            "fault": {"kind": "delay", "delay_ms": d},
                        }
                        for d in (50, 200, 1000)
                    ],
                }
                proxy.control.load_scenario(delays)
                proxy.control.reset()
                delay_ok = True
                clients, per_client = sizes.delay_clients, sizes.delay_per_client
                for d in (50, 200, 1000):
                    say(f"injected delay {d} ms")
                    idle = _percentile(
                        _latencies_ms(
                            via_addon, per_client, warmup=1, clients=clients, pause_ms=min(d, 200)
                        ),
                        0.5,
                    )
                    delayed = {**via_addon, "path": f"{_DISCOVERY}&d={d}"}
                    lat = _latencies_ms(delayed, per_client, warmup=1, clients=clients)
                    error = _percentile([x - d - idle for x in lat], 0.95)
                    out[f"delay_{d}_error_p95_ms"] = round(error, 3)
                    out[f"delay_{d}_idle_p50_ms"] = round(idle, 3)
                    out[f"delay_{d}_raw_p95_ms"] = round(
                        _percentile([x - d - back_to_back for x in lat], 0.95), 3
                    )
                    delay_ok = delay_ok and abs(error) <= max(5.0, 0.02 * d)
                slept: dict[int, list[float]] = {50: [], 200: [], 1000: []}
                for record in proxy.control.journal(wait_idle=10):
                    params = record.fault.params if record.fault is not None else {}
                    if "slept_ms" in params:
                        slept[params["delay_ms"]].append(params["slept_ms"] - params["delay_ms"])
                for d, errors in slept.items():
                    out[f"delay_{d}_proxy_p95_ms"] = round(_percentile(errors, 0.95), 3)
                out["delay_samples"] = clients * per_client
                out["delay_error_ok"] = delay_ok

                say("trickle")
                rate = 200_000
                proxy.control.load_scenario(
                    {
                        "name": "trickle",
                        "rules": [
                            {
                                "name": "t",
                                "match": {"phase": "response", "operation": "devices"},
                                "fault": {"kind": "trickle", "bytes_per_s": rate},
                            }
                        ],
                    }
                )
                (runs,) = spawn({**via_addon, "paths": [_ALL_DEVICES] * sizes.trickles})
                chunk = rate // 10
                measured = [
                    (length - chunk) / ((end - first) / 1e9)
                    for first, end, length in zip(
                        runs["first_byte_ns"], runs["latencies_ns"], runs["bytes"], strict=True
                    )
                ]
                out["trickle_bytes_per_s"] = rate
                out["trickle_measured_bytes_per_s"] = round(sum(measured) / len(measured))
                out["trickle_error_pct"] = round(
                    max(abs(m - rate) / rate * 100 for m in measured), 2
                )
            finally:
                proxy.stop()
                filed.stop()
                _util.stop_process(bare)
                bare_log.close()

            # Memory: a proxy whose journal cap is reached during warm-up, then many more flows.
            flows, cap = sizes.flows, sizes.journal_max
            with FaultProxy(mdm.origin, ca, state_dir=tmp / "rss", journal_max=cap) as rss_proxy:
                rss_proxy.control.load_scenario(many)
                spec = {
                    **base,
                    "proxy": ["127.0.0.1", rss_proxy.port],
                    "target": [_PUBLIC, 443],
                    "sni": _PUBLIC,
                }
                say("memory: warm-up")
                _latencies_ms(spec, sizes.warm_flows // 2, clients=2)
                if rss_proxy.pid is None:
                    raise RuntimeError("the proxy has no process")
                out["rss_warm_mb"] = round(rss_mib(rss_proxy.pid), 1)
                say(f"memory: {flows} flows")
                _latencies_ms(spec, flows // 2, clients=2)
                out["rss_after_mb"] = round(rss_mib(rss_proxy.pid), 1)
                out["rss_flows"] = flows
                out["rss_journal_max"] = cap
                out["rss_growth_mb"] = round(out["rss_after_mb"] - out["rss_warm_mb"], 1)
                kept = len(rss_proxy.control.journal())
                if kept != cap:
                    raise RuntimeError(f"the journal kept {kept} records, not its cap {cap}")
    out["seconds"] = round(time.monotonic() - began, 1)
    return {key: out[key] for key in KEYS if key in out}
