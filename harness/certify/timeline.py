"""Pictures of one case run: an inline SVG timeline and its text twin.

Both are drawn from a verdict record (what ``--mdm-report`` writes for each case: the client's
outcome, the verdict with its timing ``windows``, and the proxy's journal of attempts as
:class:`harness.attempt.Attempt` JSON). All times are on the one monotonic clock the proxy
and the harness share; the picture starts at the earlier of the client's start and the first
attempt.

The SVG needs no script, font or file of its own: one lane for the client's run, one lane per
attempt with its phases (connect + TLS, request, response, a connection held after it), the
fault and the phase it acted in, whether the MDM saw the request, and the windows the policy
allows shaded (green: allowed; red hatching: too early; a red line: the attempt or report that
came outside its window).

Over 400 lines: the SVG picture of a case - lanes, phases, faults and policy windows -
drawn without a script, font or file; geometry and text belong together.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.attempt import Attempt

__all__ = ["Lanes", "lanes_of", "svg", "text"]

_WIDTH = 1020
_LABEL = 150
#: The column right of the plot, for each lane's notes (status, fault, MDM, how it ended).
_NOTES = 370
_RIGHT = _NOTES + 12
_LANE = 26
_TOP = 44
_PHASE_COLOURS = {
    "connect": "#9aa5b1",  # connect + TLS, before a request
    "request": "#4a7fc1",  # request sent, waiting for the response
    "response": "#2f9e5a",  # response going out
    "held": "#c9d6e3",  # the connection stayed open after the response
}
_WINDOW_COLOURS = {
    "timeout": "#3b6fb6",
    "backoff": "#2f9e5a",
    "retry-after": "#8a4fbf",
    "deadline": "#b7791f",
}


@dataclass(frozen=True)
class Lanes:
    """A record made ready to draw: attempts, windows and the client's run, on one clock."""

    attempts: tuple[Attempt, ...]
    windows: tuple[Mapping[str, Any], ...]
    started: float | None
    ended: float | None
    reported: str
    t0: float
    t1: float

    def x(self, t: float) -> float:
        span = self.t1 - self.t0
        plot = _WIDTH - _LABEL - _RIGHT
        return _LABEL + plot * (min(max(t, self.t0), self.t1) - self.t0) / span


def lanes_of(record: Mapping[str, Any]) -> Lanes:
    """Read a verdict record's attempts, windows and outcome (bad attempt lines are skipped)."""
    attempts = []
    for raw in record.get("journal") or ():
        try:
            attempts.append(Attempt.from_json(raw))
        except (ValueError, TypeError, KeyError):
            continue
    attempts.sort(key=lambda a: (a.began, a.seq))
    outcome = record.get("outcome") or {}
    started = _num(outcome.get("started"))
    ended = _num(outcome.get("ended"))
    if started is not None and ended is not None and (started <= 0 or ended < started):
        started = ended = None
    windows = tuple(
        w
        for w in ((record.get("verdict") or {}).get("windows") or ())
        if _num(w.get("low")) is not None and _num(w.get("high")) is not None
    )
    moments = [a.began for a in attempts] + [a.end for a in attempts if a.end is not None]
    for a in attempts:
        if a.sent is not None:
            moments += [t for t in (a.sent.first_byte, a.sent.last_byte) if t is not None]
    moments += [t for t in (started, ended) if t is not None]
    t0 = min(moments) if moments else 0.0
    t1 = max(moments) if moments else 1.0
    # A window that opens after everything happened matters (the retry should have waited for
    # it): show where it opens, and a little of it.
    lows = [float(w["low"]) for w in windows]
    if lows:
        t1 = max(t1, max(lows))
    span = max(t1 - t0, 0.001)
    highs = [float(w["high"]) for w in windows if math.isfinite(float(w["high"]))]
    if highs:
        t1 = max(t1, min(max(highs), t1 + 0.5 * span))
    t1 = t0 + max(t1 - t0, 0.001) * 1.04
    kind = outcome.get("kind")
    reported = (
        "ok"
        if kind == "ok"
        else outcome.get("error") or (f"crash ({outcome.get('crash_reason')})" if kind else "?")
    )
    return Lanes(tuple(attempts), windows, started, ended, str(reported), t0, t1)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


# ------------------------------------------------------------------------------------ text


def attempt_line(attempt: Attempt, t0: float) -> str:
    """One attempt as text, saying whether its request reached the MDM."""
    line = attempt.describe(t0)
    if attempt.sent_request and not attempt.upstream:
        line += " [not at the MDM]"
    elif not attempt.sent_request:
        line += " [no request sent]"
    return line


def text(record: Mapping[str, Any]) -> list[str]:
    """The text timeline: the client's run, one line per attempt, and the allowed windows."""
    lanes = lanes_of(record)
    origin = lanes.t0
    out = []
    if lanes.started is not None and lanes.ended is not None:
        out.append(
            f"+{lanes.started - origin:7.3f}s client started; reported {lanes.reported} at "
            f"+{lanes.ended - origin:.3f}s"
        )
    if not lanes.attempts:
        out.append("(no attempt reached the proxy)")
    out += [attempt_line(a, origin) for a in lanes.attempts]
    for w in lanes.windows:
        after = f" after #{w['after_seq']}" if w.get("after_seq") is not None else ""
        breach = ""
        if w.get("breached_by") is not None:
            breach = (
                " - BREACHED by the client's report"
                if w["breached_by"] == 0
                else f" - BREACHED by #{w['breached_by']}"
            )
        out.append(
            f"window {w.get('kind')}{after}: +{float(w['low']) - origin:.3f}s .. "
            f"+{float(w['high']) - origin:.3f}s allowed ({w.get('label', '')}){breach}"
        )
    return out


# ------------------------------------------------------------------------------------ SVG


def svg(record: Mapping[str, Any], *, title: str = "", ident: str = "t") -> str:
    """The inline SVG timeline of one case run, for an HTML page (``ident`` keeps the ids of
    several pictures on one page apart)."""
    lanes = lanes_of(record)
    pattern = f"too-early-{ident}"
    e = html.escape
    rows = 1 + max(len(lanes.attempts), 1)
    # below the lanes: up to two rows of window labels (when there are windows), then the legend
    labels = 2 if len(lanes.windows) > 1 else len(lanes.windows)
    height = _TOP + rows * _LANE + 34 + 11 * labels
    out = [
        f"<svg class='timeline' width='{_WIDTH}' "
        f"height='{height}' viewBox='0 0 {_WIDTH} {height}' role='img' "
        f"font-family='sans-serif' font-size='11'>",
        f"<title>{e(title or 'attempt timeline')}</title>",
        f"<defs><pattern id='{pattern}' width='6' height='6' patternUnits='userSpaceOnUse' "
        "patternTransform='rotate(45)'><rect width='6' height='6' fill='#fde4e1'/>"
        "<line x1='0' y1='0' x2='0' y2='6' stroke='#c0392b' stroke-width='2'/></pattern></defs>",
        f"<rect x='0' y='0' width='{_WIDTH}' height='{height}' fill='#fff'/>",
    ]
    bottom = _TOP + rows * _LANE
    out += _axis(lanes, bottom)
    out += _windows(lanes, bottom, pattern)
    y = _TOP
    out += _client_lane(lanes, y)
    y += _LANE
    if not lanes.attempts:
        out.append(
            f"<text x='{_LABEL + 6}' y='{y + 16}' fill='#555'>no attempt reached the proxy</text>"
        )
    by_seq = {a.seq: a for a in lanes.attempts}
    lane_y = {}
    for attempt in lanes.attempts:
        lane_y[attempt.seq] = y
        out += _attempt_lane(lanes, attempt, y)
        y += _LANE
    out += _gaps(lanes, lane_y)
    out += _breaches(lanes, by_seq, lane_y, bottom)
    out += _legend(height - 14, pattern)
    out.append("</svg>")
    return "\n".join(out)


def _axis(lanes: Lanes, bottom: float) -> list[str]:
    span = lanes.t1 - lanes.t0
    step = _nice_step(span / 8)
    out = []
    tick = 0.0
    while tick <= span + 1e-9:
        x = lanes.x(lanes.t0 + tick)
        label = f"{tick * 1000:.0f} ms" if step < 1 else f"{tick:g} s"
        out.append(
            f"<line x1='{x:.1f}' y1='{_TOP - 6}' x2='{x:.1f}' y2='{bottom}' stroke='#eee'/>"
            f"<text x='{x:.1f}' y='{_TOP - 9}' text-anchor='middle' fill='#666'>+{label}</text>"
        )
        tick += step
    return out


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 0.001
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return float(m * power)
    return float(10 * power)


def _windows(lanes: Lanes, bottom: float, pattern: str) -> list[str]:
    e = html.escape
    out = []
    by_seq = {a.seq: a for a in lanes.attempts}
    for i, w in enumerate(lanes.windows):
        kind = str(w.get("kind"))
        colour = _WINDOW_COLOURS.get(kind, "#2f9e5a")
        low, high = float(w["low"]), float(w["high"])
        x0, x1 = lanes.x(low), lanes.x(high)
        seq = w.get("after_seq")
        after = by_seq.get(seq) if isinstance(seq, int) else None
        if kind in ("backoff", "retry-after") and after is not None:
            since = after.end if after.end is not None else after.began
            fx = lanes.x(since)
            if x0 > fx:
                out.append(
                    f"<rect class='forbidden' x='{fx:.1f}' y='{_TOP}' width='{x0 - fx:.1f}' "
                    f"height='{bottom - _TOP}' fill='url(#{pattern})' opacity='0.55'>"
                    f"<title>too early: before the {e(kind)} window opens</title></rect>"
                )
        out.append(
            f"<rect class='window {e(kind)}' x='{x0:.1f}' y='{_TOP}' "
            f"width='{max(x1 - x0, 1.5):.1f}' height='{bottom - _TOP}' fill='{colour}' "
            f"opacity='0.16'><title>{e(kind)} window: {e(str(w.get('label', '')))}</title></rect>"
            f"<line x1='{x0:.1f}' y1='{_TOP}' x2='{x0:.1f}' y2='{bottom}' stroke='{colour}' "
            f"stroke-dasharray='3,2'/>"
        )
        label = f"{kind}: {w.get('label', '')}"
        out.append(
            f"<text x='{x0 + 3:.1f}' y='{bottom + 12 + 11 * (i % 2)}' fill='{colour}'>"
            f"{e(label[:70])}</text>"
        )
    return out


def _client_lane(lanes: Lanes, y: float) -> list[str]:
    out = [
        f"<text x='6' y='{y + 16}' font-weight='bold'>client run</text>",
    ]
    if lanes.started is None or lanes.ended is None:
        out.append(f"<text x='{_LABEL + 6}' y='{y + 16}' fill='#555'>(not recorded)</text>")
        return out
    x0, x1 = lanes.x(lanes.started), lanes.x(lanes.ended)
    out.append(
        f"<rect x='{x0:.1f}' y='{y + 7}' width='{max(x1 - x0, 1.5):.1f}' height='10' "
        f"fill='#d9dee4' stroke='#7b8794'><title>the client ran from +"
        f"{lanes.started - lanes.t0:.3f} s to +{lanes.ended - lanes.t0:.3f} s</title></rect>"
        f"<line x1='{x1:.1f}' y1='{y + 3}' x2='{x1:.1f}' y2='{y + 21}' stroke='#222' "
        f"stroke-width='2'/>"
        f"<text x='{_WIDTH - _NOTES:.1f}' y='{y + 16}' fill='#222'>reported "
        f"{html.escape(lanes.reported[:44])} after {lanes.ended - lanes.started:.3f} s</text>"
    )
    return out


def _segments(attempt: Attempt, t_end: float) -> list[tuple[str, float, float]]:
    end = attempt.end if attempt.end is not None else t_end
    began = attempt.began
    if not attempt.sent_request:
        return [("connect", began, end)]
    segments = []
    if attempt.connect_start is not None and attempt.start > attempt.connect_start:
        segments.append(("connect", attempt.connect_start, attempt.start))
    first = attempt.sent.first_byte if attempt.sent is not None else None
    last = attempt.sent.last_byte if attempt.sent is not None else None
    response_at = first if first is not None else end
    segments.append(("request", attempt.start, min(response_at, end)))
    if first is not None:
        done = last if last is not None else end
        segments.append(("response", first, max(min(done, end), first)))
        if last is not None and end > last:
            segments.append(("held", last, end))
    return segments


def _fault_moment(attempt: Attempt) -> float | None:
    fault = attempt.fault or attempt.conn_fault
    if fault is None:
        return None
    if fault.phase in ("connect", "tls", "tls_start", "tls_handshake"):
        return attempt.began
    if fault.phase in ("request", "requestheaders"):
        return attempt.start
    if attempt.sent is not None and attempt.sent.first_byte is not None:
        return attempt.sent.first_byte
    return attempt.end if attempt.end is not None else attempt.start


def _attempt_lane(lanes: Lanes, attempt: Attempt, y: float) -> list[str]:
    e = html.escape
    op = attempt.operation or attempt.phase
    label = f"#{attempt.seq} {attempt.method or ''} {op}".replace("  ", " ")
    out = [f"<text x='6' y='{y + 16}'>{e(label[:34])}</text>"]
    for phase, a, b in _segments(attempt, lanes.t1):
        x0, x1 = lanes.x(a), lanes.x(b)
        colour = _PHASE_COLOURS[phase]
        name = "connect + TLS" if phase == "connect" else phase
        if not attempt.sent_request:
            name = f"{attempt.phase} (no request)"
        out.append(
            f"<rect class='phase {phase}' x='{x0:.1f}' y='{y + 6}' width='{max(x1 - x0, 1.5):.1f}' "
            f"height='12' fill='{colour}'><title>{e(name)}: +{a - lanes.t0:.3f} s .. "
            f"+{b - lanes.t0:.3f} s</title></rect>"
        )
    end_x = lanes.x(attempt.end if attempt.end is not None else lanes.t1)
    if attempt.end is None:
        out.append(
            f"<text x='{end_x - 2:.1f}' y='{y + 4}' text-anchor='end' fill='#555'>in flight</text>"
        )
    moment = _fault_moment(attempt)
    fault = attempt.fault or attempt.conn_fault
    if moment is not None and fault is not None:
        fx = lanes.x(moment)
        out.append(
            f"<path class='fault' d='M{fx:.1f},{y + 2} l5,10 h-4 l3,10 l-9,-13 h4 z' "
            f"fill='#e67e22' stroke='#8a4b0f' stroke-width='0.6'><title>fault "
            f"{e(fault.kind)} acted in the {e(fault.phase)} phase</title></path>"
        )
    if attempt.upstream:
        mx = lanes.x(attempt.start)
        out.append(
            f"<circle class='mdm-saw' cx='{mx + 4:.1f}' cy='{y + 12}' r='4' fill='#1b5e20' "
            f"stroke='#fff'><title>the MDM saw this request</title></circle>"
        )
    notes = []
    if attempt.status is not None:
        notes.append(f"-> {attempt.status}")
    if fault is not None:
        notes.append(f"fault {fault.kind} at {fault.phase}")
    if attempt.certificate not in (None, "valid"):
        notes.append(f"certificate {attempt.certificate}")
    if attempt.sent_request:
        notes.append("reached the MDM" if attempt.upstream else "not at the MDM")
    if attempt.client_end:
        notes.append(attempt.client_end.replace("_", " "))
    note = " · ".join(notes)
    out.append(
        f"<text x='{_WIDTH - _NOTES:.1f}' y='{y + 16}' fill='#333' font-size='10.5'>{e(note[:70])}"
        f"<title>{e(note)}</title></text>"
    )
    return out


def _gaps(lanes: Lanes, lane_y: Mapping[int, float]) -> list[str]:
    """Each repeat of a request: a bracket from the previous attempt's end, with the wait."""
    out = []
    last: dict[tuple[str | None, str | None], Attempt] = {}
    for attempt in lanes.attempts:
        key = (attempt.operation, attempt.path)
        before = last.get(key)
        last[key] = attempt
        if before is None or before.end is None or attempt.method is None:
            continue
        gap = attempt.began - before.end
        x0, x1 = lanes.x(before.end), lanes.x(attempt.began)
        y = lane_y[attempt.seq] + 3
        out.append(
            f"<g class='gap'><path d='M{x0:.1f},{y - 2} v4 H{max(x1, x0 + 1):.1f} v-4' "
            f"stroke='#555' fill='none' stroke-width='1'/><text x='{x0 - 3:.1f}' y='{y + 4}' "
            f"text-anchor='end' fill='#555' font-size='10'>waited {1000 * gap:.0f} ms</text>"
            f"<title>#{attempt.seq} repeated #{before.seq} {gap:.3f} s after it ended</title></g>"
        )
    return out


def _breaches(
    lanes: Lanes, by_seq: Mapping[int, Attempt], lane_y: Mapping[int, float], bottom: float
) -> list[str]:
    out = []
    for w in lanes.windows:
        who = w.get("breached_by")
        if who is None:
            continue
        if who == 0:
            if lanes.ended is None:
                continue
            at, y = lanes.ended, float(_TOP)
            what = "the client's report"
        elif who in by_seq:
            at, y = by_seq[who].began, lane_y[who]
            what = f"attempt #{who}"
        else:
            continue
        x = lanes.x(at)
        out.append(
            f"<g class='breach'><line x1='{x:.1f}' y1='{_TOP}' x2='{x:.1f}' y2='{bottom}' "
            f"stroke='#c0392b' stroke-width='2'/><text x='{x + 4:.1f}' y='{y + 4}' fill='#c0392b' "
            f"font-weight='bold'>outside the {html.escape(str(w.get('kind')))} window</text>"
            f"<title>{html.escape(what)} came outside the {html.escape(str(w.get('kind')))} "
            f"window</title></g>"
        )
    return out


def _legend(y: float, pattern: str) -> list[str]:
    items: Sequence[tuple[str, str]] = (
        (_PHASE_COLOURS["connect"], "connect + TLS"),
        (_PHASE_COLOURS["request"], "request (awaiting response)"),
        (_PHASE_COLOURS["response"], "response"),
        (_PHASE_COLOURS["held"], "connection held"),
        ("#1b5e20", "MDM saw the request"),
        ("#e67e22", "fault"),
    )
    out = []
    x = 6.0
    for colour, label in items:
        out.append(
            f"<rect x='{x:.0f}' y='{y - 9}' width='10' height='10' fill='{colour}'/>"
            f"<text x='{x + 14:.0f}' y='{y}' fill='#444'>{label}</text>"
        )
        x += 24 + 6.2 * len(label)
    out.append(
        f"<rect x='{x:.0f}' y='{y - 9}' width='10' height='10' fill='#2f9e5a' opacity='0.3'/>"
        f"<text x='{x + 14:.0f}' y='{y}' fill='#444'>allowed window</text>"
    )
    x += 24 + 6.2 * len("allowed window")
    out.append(
        f"<rect x='{x:.0f}' y='{y - 9}' width='10' height='10' fill='url(#{pattern})'/>"
        f"<text x='{x + 14:.0f}' y='{y}' fill='#444'>too early</text>"
    )
    return out
