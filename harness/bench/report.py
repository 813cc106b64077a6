"""The table of ``mdm-harness bench``: which figure, its value, the aim from issue 7, met or not.

:data:`ROWS` lists every figure once, in the order printed. A row reads one key of one measured
section (or computes a ratio across sections); its label may name other keys of that section
in braces (``{devices}``), filled from the same run. A row whose section did not run shows why
(skipped, absent, failed) instead of a value. Aims are judged here and only here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["AIMS", "ROWS", "Aim", "Row", "fill", "format_table", "rows"]

Figures = Mapping[str, Mapping[str, Any]]  # section name -> that section's figures


class Aim(NamedTuple):
    """An aim: ``text`` as printed, ``holds(value)``; ``judged(figures)`` False marks a run
    whose figure cannot speak to the aim (e.g. certify on a shard)."""

    text: str
    holds: Callable[[float], bool]
    judged: Callable[[Figures], bool] = lambda figures: True


#: The aims of issue 7.
AIMS: dict[str, Aim] = {
    "addon": Aim("<= 1.15x", lambda v: v <= 1.15),
    "lookup": Aim("<= 2 ms", lambda v: v <= 2.0),
    "delay_small": Aim("|e| <= 5 ms", lambda v: abs(v) <= 5.0),
    "delay_1000": Aim("|e| <= 20 ms", lambda v: abs(v) <= 20.0),  # max(5 ms, 2 % of 1000 ms)
    "speedup": Aim(
        ">= 1.6x",
        lambda v: v >= 1.6,
        lambda figures: figures.get("certify", {}).get("certify_shard") is None,
    ),
    "flat": Aim("<= 2 MiB", lambda v: v <= 2.0),  # growth over the flows after warm-up
}


class Row(NamedTuple):
    group: str
    label: str
    section: str
    value: str | Callable[[Figures], float | None]  # a key of ``section``, or a function
    unit: str
    aim: Aim | None = None


def _ratio(num: tuple[str, str], den: tuple[str, str]) -> Callable[[Figures], float | None]:
    def ratio(figures: Figures) -> float | None:
        a = figures.get(num[0], {}).get(num[1])
        b = figures.get(den[0], {}).get(den[1])
        return round(a / b, 2) if a is not None and b else None

    return ratio


_MDM = "reference MDM ({devices} devices; HTTPS keep-alive from a separate process)"
_NGINX = "peer: nginx {nginx_version}, the same bytes as a static file"
_PROXY = "fault proxy: discovery requests through CONNECT ({samples} per set-up)"
_RETRY = "503 twice, then 200: time to success ({retry_exchanges} exchanges each)"
_FIDELITY = "fault fidelity ({delay_samples} requests per injected delay)"
_SUITE = "suite: certify the reference client ({certify_tests} tests, profile {certify_profile})"
_MEMORY = "memory"

ROWS: tuple[Row, ...] = (
    Row(_MDM, "lookup by MAC, p50", "mdm", "lookup_p50_ms", "ms", AIMS["lookup"]),
    Row(_MDM, "lookup by MAC, p99", "mdm", "lookup_p99_ms", "ms"),
    Row(_MDM, "lookups per second, one connection", "mdm", "lookup_rps", "req/s"),
    Row(_MDM, "static file, same {lookup_bytes} B, tornado TLS, p50", "mdm", "static_p50_ms", "ms"),
    Row(_MDM, "static file, tornado, p99", "mdm", "static_p99_ms", "ms"),
    Row(_MDM, "static file, tornado, req/s", "mdm", "static_rps", "req/s"),
    Row(_MDM, "lookup / tornado static, p50", "mdm", "ratio_p50", "x"),
    Row(_MDM, "page of {page_devices} devices ({page_bytes} B), p50", "mdm", "page_p50_ms", "ms"),
    Row(_MDM, "page of {page_devices} devices, p99", "mdm", "page_p99_ms", "ms"),
    Row(_MDM, "server start-up, inventory built", "mdm", "server_startup_s", "s"),
    Row(_NGINX, "nginx static, p50", "nginx", "nginx_p50_ms", "ms"),
    Row(_NGINX, "nginx static, p99", "nginx", "nginx_p99_ms", "ms"),
    Row(_NGINX, "nginx static, req/s", "nginx", "nginx_rps", "req/s"),
    Row(_NGINX, "tornado static / nginx static, p50", "nginx", _ratio(("mdm", "static_p50_ms"), ("nginx", "nginx_p50_ms")), "x"),
    Row(_NGINX, "MDM lookup / nginx static, p50", "nginx", _ratio(("mdm", "lookup_p50_ms"), ("nginx", "nginx_p50_ms")), "x"),
    Row(_PROXY, "direct to the MDM, p50", "proxy", "direct_p50_ms", "ms"),
    Row(_PROXY, "direct to the MDM, p99", "proxy", "direct_p99_ms", "ms"),
    Row(_PROXY, "bare mitmdump, p50", "proxy", "bare_p50_ms", "ms"),
    Row(_PROXY, "bare mitmdump, p99", "proxy", "bare_p99_ms", "ms"),
    Row(_PROXY, "addon, 1 rule, p50", "proxy", "addon_1_rule_p50_ms", "ms"),
    Row(_PROXY, "addon, 1 rule, p99", "proxy", "addon_1_rule_p99_ms", "ms"),
    Row(_PROXY, "addon, 1 000 rules, p50", "proxy", "addon_1000_rules_p50_ms", "ms"),
    Row(_PROXY, "addon, 1 000 rules, p99", "proxy", "addon_1000_rules_p99_ms", "ms"),
    Row(_PROXY, "addon (1 rule) / bare mitmdump, p50", "proxy", "addon_1_rule_over_bare_p50", "x", AIMS["addon"]),
    Row(_PROXY, "addon (1 000 rules) / bare mitmdump, p50", "proxy", "addon_1000_rules_over_bare_p50", "x", AIMS["addon"]),
    Row(_RETRY, "ours: fault proxy [503, 503, pass] + MDM, p50", "retry", "retry_ours_p50_ms", "ms"),
    Row(_RETRY, "ours, p99", "retry", "retry_ours_p99_ms", "ms"),
    Row(_RETRY, "WireMock standalone scenario, p50", "retry", "retry_wiremock_p50_ms", "ms"),
    Row(_RETRY, "WireMock, p99", "retry", "retry_wiremock_p99_ms", "ms"),
    Row(_RETRY, "ours / WireMock, p50", "retry", "retry_ours_over_wiremock_p50", "x"),
    Row(_FIDELITY, "delay 50 ms: error at p95", "proxy", "delay_50_error_p95_ms", "ms", AIMS["delay_small"]),
    Row(_FIDELITY, "delay 200 ms: error at p95", "proxy", "delay_200_error_p95_ms", "ms", AIMS["delay_small"]),
    Row(_FIDELITY, "delay 1000 ms: error at p95", "proxy", "delay_1000_error_p95_ms", "ms", AIMS["delay_1000"]),
    Row(_FIDELITY, "delay 50 ms: proxy's own timer, p95", "proxy", "delay_50_proxy_p95_ms", "ms"),
    Row(_FIDELITY, "delay 200 ms: proxy's own timer, p95", "proxy", "delay_200_proxy_p95_ms", "ms"),
    Row(_FIDELITY, "delay 1000 ms: proxy's own timer, p95", "proxy", "delay_1000_proxy_p95_ms", "ms"),
    Row(_FIDELITY, "trickle at {trickle_bytes_per_s} B/s: measured", "proxy", "trickle_measured_bytes_per_s", "B/s"),
    Row(_FIDELITY, "trickle: worst run's error", "proxy", "trickle_error_pct", "%"),
    Row(_SUITE, "certify -n 1", "certify", "certify_n1_s", "s"),
    Row(_SUITE, "certify -n 2", "certify", "certify_n2_s", "s"),
    Row(_SUITE, "speed-up with 2 workers", "certify", "certify_speedup", "x", AIMS["speedup"]),
    Row(_MEMORY, "reference MDM peak RSS, {devices} devices", "mdm", "server_peak_rss_mib", "MiB"),
    Row(_MEMORY, "proxy RSS after warm-up (journal cap {rss_journal_max} reached)", "proxy", "rss_warm_mb", "MiB"),
    Row(_MEMORY, "proxy RSS after {rss_flows} more flows", "proxy", "rss_after_mb", "MiB"),
    Row(_MEMORY, "proxy RSS growth over those flows", "proxy", "rss_growth_mb", "MiB", AIMS["flat"]),
)  # fmt: skip

_DECIMALS = {"ms": 3, "req/s": 0, "x": 2, "s": 1, "MiB": 1, "B/s": 0, "%": 2}


def fill(text: str, figures: Mapping[str, Any]) -> str:
    """``text`` with ``{key}`` filled from ``figures``; without them, the placeholders (and
    parentheses holding one) are dropped."""
    try:
        return text.format_map({k: _plain(v) for k, v in figures.items()})
    except (KeyError, ValueError):
        text = re.sub(r"\s*\([^)]*\{\w+\}[^)]*\)", "", text)
        return re.sub(r"\s*\{\w+\}", "", text)


def _plain(value: Any) -> Any:
    return (
        f"{value:,}".replace(",", " ")
        if isinstance(value, int) and not isinstance(value, bool)
        else value
    )


def rows(sections: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The table as records: ``group, figure, value, unit, text, aim, meets`` (``meets`` is
    True, False, or None when there is no aim or it cannot be judged). ``sections`` maps a
    section name to ``{"status": ..., "reason": ..., "figures": {...}}``."""
    figures = {name: s.get("figures") or {} for name, s in sections.items()}
    out = []
    for row in ROWS:
        section = sections.get(row.section, {"status": "skipped", "reason": None})
        own = figures.get(row.section, {})
        value = row.value(figures) if callable(row.value) else own.get(row.value)
        meets: bool | None = None
        if section.get("status") != "measured":
            text = str(section.get("status")) + (
                f": {section['reason']}" if section.get("reason") else ""
            )
        elif value is None:
            text = str(own.get("retry_wiremock_status") if row.section == "retry" else "n/a")
        else:
            text = f"{value:.{_DECIMALS[row.unit]}f} {row.unit}"
            if row.aim is not None and row.aim.judged(figures):
                meets = bool(row.aim.holds(float(value)))
        out.append(
            {
                "group": fill(row.group, own),
                "figure": fill(row.label, own),
                "value": value if section.get("status") == "measured" else None,
                "unit": row.unit,
                "text": text,
                "aim": row.aim.text if row.aim else None,
                "meets": meets,
            }
        )
    return out


def format_table(records: list[dict[str, Any]]) -> str:
    """The records of :func:`rows` as the plain-text table ``mdm-harness bench`` prints; a row
    without a value says why in place of value and aim."""
    width = max(len(r["figure"]) for r in records) + 2
    vwidth = max([14, *(len(r["text"]) for r in records if r["value"] is not None)]) + 2
    lines = [f"{'figure':<{width}}{'value':>{vwidth}}  {'aim':<13}meets?"]
    group = None
    for r in records:
        if r["group"] != group:
            group = r["group"]
            lines.append(f"-- {group}")
        if r["value"] is None:
            lines.append(f"{r['figure']:<{width}}  {r['text']}")
            continue
        meets = "" if r["aim"] is None else {True: "yes", False: "NO", None: "n/a"}[r["meets"]]
        line = f"{r['figure']:<{width}}{r['text']:>{vwidth}}  {r['aim'] or '':<13}{meets}"
        lines.append(line.rstrip())
    return "\n".join(lines)
