"""Server-rendered SVG charts: the geometry only (the templates draw it with classes, no inline styles,
so the strict CSP holds and no chart library is needed). Every chart on a page has its table beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from approvals.costs.money import money

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    paths: list[dict] = field(default_factory=list)  # {"d": ..., "css": ...}
    dots: list[dict] = field(default_factory=list)  # {"x", "y", "label"}
    bars: list[dict] = field(default_factory=list)  # {"y", "width", "label", "value"}
    y_ticks: list[dict] = field(default_factory=list)
    x_labels: list[dict] = field(default_factory=list)
    empty: bool = False

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def baseline(self) -> int:
        return self.height - BOTTOM


def _fmt(value: float, as_money: bool) -> str:
    return money(Decimal(str(round(value, 6))), unit=True) if as_money else f"{value:,.0f}"


def line_chart(
    title: str,
    labels: list[str],
    series: list[tuple[str, list[float | None]]],
    *,
    as_money: bool = True,
) -> Chart:
    """One or more lines over the same x labels. ``series`` is ``[(css_class, values)]``; a None value
    breaks the line (a day without approvals has no cost per approved asset)."""
    chart = Chart(title=title)
    values = [v for _css, vs in series for v in vs if v is not None]
    if not labels or not values:
        chart.empty = True
        return chart
    top = max(max(values), 0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return round(LEFT + i * step, 1), round(TOP + plot_h * (1 - max(v, 0) / top), 1)

    for css, vs in series:
        d, pen_down = [], False
        for i, v in enumerate(vs):
            if v is None:
                pen_down = False
                continue
            x, y = xy(i, v)
            d.append(f"{'L' if pen_down else 'M'}{x} {y}")
            pen_down = True
            if len(labels) <= 62:
                chart.dots.append({"x": x, "y": y, "css": css, "label": f"{labels[i]}: {_fmt(v, as_money)}"})
        chart.paths.append({"d": " ".join(d), "css": css})
    for k in range(5):
        v = top * k / 4
        chart.y_ticks.append({"y": round(TOP + plot_h * (1 - k / 4), 1), "label": _fmt(v, as_money)})
    for i in sorted({0, len(labels) // 2, len(labels) - 1}):
        chart.x_labels.append({"x": xy(i, 0)[0], "label": labels[i]})
    return chart


def bar_chart(title: str, items: list[tuple[str, float]], *, as_money: bool = True) -> Chart:
    """Horizontal bars, longest first, scaled to the largest value."""
    chart = Chart(title=title, height=TOP + BOTTOM + 26 * max(len(items), 1))
    top = max((v for _l, v in items), default=0)
    if not items or top <= 0:
        chart.empty = True
        return chart
    plot_w = WIDTH - 180 - RIGHT - 90
    for i, (label, value) in enumerate(items):
        chart.bars.append(
            {
                "y": TOP + 26 * i,
                "width": round(max(1.0, plot_w * value / top), 1),
                "label": label[:28],
                "value": _fmt(value, as_money),
                "value_x": round(180 + max(1.0, plot_w * value / top) + 6, 1),
            }
        )
    return chart
