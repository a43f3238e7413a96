"""Small charts drawn on the server as inline SVG: no script, nothing to download, readable
on a 360 px phone. Shapes only: the labels (axis ends, top value, legend) are HTML beside the
chart, so they keep the reader's text size, and colours come from the theme's CSS variables
(insight.css). Every text is escaped by format_html; the chart's summary is its accessible
name (role="img", aria-label and <title>), and each bar or week carries its own <title>
for a pointer's hover."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 320, 120
HEADROOM = 4  # the tallest bar stops short of the top edge
MIN_BAR = 1.5  # a value above zero stays visible however small


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _top(values: Sequence[float | None], top: float | None) -> float:
    return top if top is not None else max((v for v in values if v is not None), default=0.0)


def _y(value: float, top: float) -> float:
    if top <= 0:
        return HEIGHT
    return HEIGHT - max(min(value / top, 1.0) * (HEIGHT - HEADROOM), MIN_BAR if value else 0.0)


def _svg(label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="ins-chart" viewBox="0 0 {w} {h}" preserveAspectRatio="none" role="img" '
        'aria-label="{label}" focusable="false"><title>{label}</title>{body}'
        '<line class="axis" x1="0" y1="{h}" x2="{w}" y2="{h}"></line></svg>',
        w=WIDTH,
        h=HEIGHT,
        label=label,
        body=body,
    )


def bar_chart(
    values: Sequence[float | None], tips: Sequence[str], label: str, top: float | None = None
) -> SafeString:
    """One bar per value (None or 0: none drawn), scaled to `top` (default: the largest)."""
    top = _top(values, top)
    step = WIDTH / max(len(values), 1)
    gap = min(step * 0.2, 2.0)
    bars = []
    for i, (v, tip) in enumerate(zip(values, tips, strict=True)):
        if not v or top <= 0:
            continue
        y = _y(v, top)
        bars.append((_n(i * step + gap / 2), _n(y), _n(step - gap), _n(HEIGHT - y), tip))
    body = format_html_join(
        "",
        '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
        bars,
    )
    return _svg(label, body)


def line_chart(
    series: Sequence[Sequence[float | None]],
    tips: Sequence[str],
    label: str,
    top: float | None = None,
) -> SafeString:
    """One line per series (class s0, s1, ...), broken where a value is None; each point is
    also a dot, so a lone week shows. All series share the scale."""
    every = [v for values in series for v in values]
    top = _top(every, top)
    n = max((len(values) for values in series), default=0)
    step = WIDTH / max(n, 1)
    paths = []
    for k, values in enumerate(series):
        line, dots, pen_down = [], [], False
        for i, v in enumerate(values):
            if v is None:
                pen_down = False
                continue
            x, y = _n((i + 0.5) * step), _n(_y(v, top))
            line.append(f"{'L' if pen_down else 'M'}{x} {y}")
            dots.append(f"M{x} {y}h0")
            pen_down = True
        if line:
            paths.append((f"s{k}", " ".join(line)))
            paths.append((f"s{k} dot", " ".join(dots)))
    hover = [(_n(i * step), _n(step), HEIGHT, tip) for i, tip in enumerate(tips)]
    body = format_html(
        "{}{}",
        format_html_join("", '<path class="{}" d="{}"></path>', paths),
        format_html_join(
            "",
            '<rect class="hit" x="{}" y="0" width="{}" height="{}"><title>{}</title></rect>',
            hover,
        ),
    )
    return _svg(label, body)
