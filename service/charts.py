"""Charts as inline SVG, rendered on the server: sparklines and time-series line charts.

No JavaScript and no library: the page holds the chart, so it prints, works offline and
shows at once. Colours are the Okabe-Ito palette (distinguishable with the common colour
vision deficiencies); axes carry UTC dates and human numbers (1.2k, 3.4M). Every line is a
``<polyline class="series">`` with ``data-points`` (its number of points) and, up to
:data:`MARKED_POINTS` points, a marker per point whose ``<title>`` gives the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
"""Okabe-Ito, without its yellow (too light on white)."""
MARKED_POINTS = 120
"""Up to this many points a line gets a marker (with its exact value) per point."""


def human(n: float) -> str:
    """A short human number: 950, 1.2k, 12k, 3.4M, 1.1B; fractions to 2 significant places."""
    sign = "-" if n < 0 else ""
    a = abs(n)
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= size:
            v = a / size
            text = f"{v:.1f}" if v < 10 else f"{v:.0f}"
            return sign + text.removesuffix(".0") + unit
    if a == int(a):
        return f"{sign}{int(a)}"
    return f"{sign}{a:.2g}" if a < 1 else f"{sign}{a:.1f}"


def exact(n: float) -> str:
    """A number with thousands separators: 1,234,567 (floats: up to 3 decimals)."""
    if isinstance(n, int) or n == int(n):
        return f"{int(n):,}"
    return f"{n:,.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def sparkline(
    values: Sequence[float], *, highlight_from: int | None = None, label: str = ""
) -> str:
    """A 160x28 line of ``values`` (no axes); points from ``highlight_from`` on are drawn
    over a shaded band (e.g. the trending window after its baseline)."""
    w, h, pad = 160.0, 28.0, 2.0
    n = len(values)
    top = max(values, default=0) or 1
    xs = [pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5) for i in range(n)]
    ys = [h - pad - (h - 2 * pad) * v / top for v in values]
    band = ""
    if highlight_from is not None and 0 < highlight_from < n:
        x0 = (xs[highlight_from - 1] + xs[highlight_from]) / 2
        band = f'<rect x="{x0:.1f}" y="0" width="{w - x0:.1f}" height="{h:.0f}" class="band"/>'
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return (
        f'<svg class="spark" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}" '
        'preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}">{band}'
        f'<polyline class="series" data-points="{n}" points="{points}" fill="none" '
        f'stroke="{PALETTE[0]}" stroke-width="1.5" vector-effect="non-scaling-stroke"/></svg>'
    )


def line_chart(
    times: Sequence[datetime],
    series: Sequence[Series],
    *,
    step: timedelta,
    label: str,
    width: int = 640,
    height: int = 260,
) -> str:
    """Lines of ``series`` over the bucket starts ``times`` (``step`` apart), with a UTC
    time axis, a y axis from 0 and a legend."""
    peak = max((max(s.values, default=0) for s in series), default=0)
    ticks = nice_ticks(peak)
    plot = _Plot(width, height, len(times), ticks[-1] or 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">',
        *_y_axis(plot, ticks),
        *_time_axis(plot, times, step),
    ]
    for k, s in enumerate(series):
        parts += _line(plot, s, PALETTE[k % len(PALETTE)], times, step)
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class _Plot:
    """A line chart's geometry: ``n`` points across, values from 0 to ``top`` up."""

    width: int
    height: int
    n: int
    top: float
    left: float = 52.0
    right: float = 24.0
    top_pad: float = 12.0
    bottom: float = 50.0

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top_pad - self.bottom

    def x(self, i: int) -> float:
        return self.left + self.plot_w * (i / (self.n - 1) if self.n > 1 else 0.5)

    def y(self, v: float) -> float:
        return self.top_pad + self.plot_h * (1 - v / self.top)


def _y_axis(plot: _Plot, ticks: list[float]) -> list[str]:
    """The y grid and its labels."""
    y, left = plot.y, plot.left
    return [
        f'<line class="grid" x1="{left}" x2="{plot.width - plot.right}" y1="{y(t):.1f}" '
        f'y2="{y(t):.1f}"/><text class="ylabel" x="{left - 6}" y="{y(t) + 4:.1f}" '
        f'text-anchor="end">{human(t)}</text>'
        for t in ticks
    ]


def _time_axis(plot: _Plot, times: Sequence[datetime], step: timedelta) -> list[str]:
    """The x ticks, their UTC dates (and hours) and the axis' "UTC"."""
    x, base = plot.x, plot.top_pad + plot.plot_h
    parts = []
    for k, i in enumerate(time_tick_indexes(plot.n)):
        # every other label is hidden on narrow screens (app.css): they would overlap
        extra = " alt" if k % 2 else ""
        date, _, hour = time_label(times[i], step, times).partition(" · ")
        second = f'<tspan x="{x(i):.1f}" dy="14">{hour}</tspan>' if hour else ""
        parts.append(
            f'<line class="tick" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{base}" '
            f'y2="{base + 4}"/><text class="xlabel{extra}" x="{x(i):.1f}" '
            f'y="{base + 17}" text-anchor="middle">{escape(date)}{second}</text>'
        )
    parts.append(
        f'<text class="xlabel" x="{plot.left - 6}" y="{plot.height - 4}" '
        'text-anchor="end">UTC</text>'
    )
    return parts


def _line(
    plot: _Plot, s: Series, colour: str, times: Sequence[datetime], step: timedelta
) -> list[str]:
    """One series' line and, up to :data:`MARKED_POINTS` points, its markers."""
    x, y = plot.x, plot.y
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
    parts = [
        f'<g class="line" data-name="{escape(s.name)}"><polyline class="series" '
        f'data-points="{len(s.values)}" points="{points}" fill="none" stroke="{colour}" '
        f'stroke-width="2" stroke-linejoin="round"/>'
    ]
    if plot.n <= MARKED_POINTS:
        parts += [
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
            f"<title>{escape(s.name)} {escape(time_label(times[i], step, times))}: "
            f"{exact(v)}</title></circle>"
            for i, v in enumerate(s.values)
        ]
    parts.append("</g>")
    return parts


def legend(names: Sequence[str]) -> list[tuple[str, str]]:
    """``(name, colour)`` of each series, for an HTML legend next to a chart."""
    return [(name, PALETTE[k % len(PALETTE)]) for k, name in enumerate(names)]


def nice_ticks(peak: float, count: int = 4) -> list[float]:
    """0 and ~``count`` round steps (1, 2, 2.5 or 5 x 10^k, at least 1: the charts count)
    reaching ``peak`` or more."""
    if peak <= 0:
        return [0, 1]
    raw = peak / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(step, 1)  # counts: whole numbers only
    k = math.ceil(peak / step)
    return [step * i for i in range(k + 1)]


def time_tick_indexes(n: int, most: int = 6) -> list[int]:
    """Up to ``most`` evenly spread indexes of ``n`` points, first and last included."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def time_label(t: datetime, step: timedelta, times: Sequence[datetime]) -> str:
    """``14 Oct · 09:00`` for hours (two lines on the axis), ``14 Oct`` for days and weeks,
    with the year when the axis spans more than one."""
    years = len({times[0].year, times[-1].year}) > 1 if times else False
    if step < timedelta(days=1):
        return t.strftime("%d %b · %H:%M")
    return t.strftime("%d %b %Y" if years else "%d %b")
