"""The proxy benchmark's parts (the benchmark itself is a command: mdm-harness bench proxy)."""

from __future__ import annotations

from pathlib import Path

from harness.attempt import operation_of, params_of
from harness.bench import proxy as bench
from harness.bench.loadgen import percentile
from harness.mdm import ReferenceMDM
from harness.proxy.rules import AttemptInfo, RuleSet
from harness.scenario import scenario_from_dict
from harness.tls import CertificateAuthority


def test_percentiles() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50  # nearest rank
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.95) == 7.0


def test_the_thousand_rules_really_never_match_what_is_measured() -> None:
    rules = RuleSet(scenario_from_dict({"name": "m", "rules": bench._non_matching_rules(1000)}))
    assert len(rules) == 1000
    path, _, query = bench._DISCOVERY.partition("?")
    params = params_of(query)
    info = AttemptInfo(bench._PUBLIC, "GET", path, query, params, operation_of("GET", path, params))
    assert rules.decide("request", info) is None
    # ...while they are real rules: each shape matches something.
    other = AttemptInfo("tenant-2.jamfcloud.test", "GET", path, query, params, "mdminfo")
    assert rules.owner("request", other) is not None


def test_the_load_generator_times_keep_alive_requests(tmp_path: Path) -> None:
    ca = CertificateAuthority.load_or_create(tmp_path)
    with ReferenceMDM(ca=ca, devices=3) as mdm:
        result = bench._latencies_ms(
            {
                "ca": str(ca.bundle_path),
                "headers": {"Authorization": mdm.authorization},
                "host": bench._PUBLIC,
                "target": ["127.0.0.1", mdm.port],
                "sni": "127.0.0.1",
            },
            5,
            warmup=1,
        )
        assert len(result) == 5 and all(x > 0 for x in result)
        assert mdm.request_count == 6  # the warm-up request and the five timed ones
    assert set(bench.KEYS) >= {
        "bare_p50_ms",
        "addon_1000_rules_over_bare_p50",
        "delay_1000_error_p95_ms",
        "rss_growth_mb",
    }
