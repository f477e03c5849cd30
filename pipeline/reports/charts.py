"""Server-side SVG bar charts: no JavaScript, nothing for the Content-Security-Policy to block.

Colours and sizes are SVG presentation attributes and classes (an inline `style` attribute
would be refused by `style-src 'self'`). Every chart sits next to a table with the same
numbers, so the SVG is decoration for sighted readers: it has a title, and the table is the
accessible source.
"""

import html
from decimal import Decimal

from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2f5bd3", "#9db4f0", "#1d7a46", "#b54708", "#7a5af8", "#5b6475")
LABEL_WIDTH = 200
BAR_AREA = 380
VALUE_WIDTH = 90
BAR_HEIGHT = 14
GAP = 6
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def escape_html(value) -> str:
    """HTML-escape a value: the standard library's, without the lazy-string wrapper that makes
    Django's `escape` several times slower on the thousands of cells of a dashboard."""
    return html.escape(str(value))


def number(value) -> float:
    """A cell's value as a bar length: 0 for anything that is not a number (None, a dash)."""
    if value is None:
        return 0.0
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


def _fmt(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{float(value):.1f} %"
    if unit == "days":
        return f"{float(value):.1f} d"
    return f"{float(value):,.0f}"


def _clip(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list]], *, unit: str = "") -> SafeString:
    """A horizontal bar chart: one group per label, one bar per series in each group.

    `series` is [(name, values)], values aligned with `labels`; None draws no bar. The scale
    starts at zero and is shared by all series.
    """
    if not labels:
        return mark_safe("")
    peak = max((number(v) for _, values in series for v in values), default=0.0) or 1.0
    per_group = len(series) * (BAR_HEIGHT + 2) + GAP
    legend_height = 20 if len(series) > 1 else 0
    height = legend_height + len(labels) * per_group + GAP
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape_html(title)}" {FONT}>',
        f"<title>{escape_html(title)}</title>",
    ]
    if legend_height:
        x = LABEL_WIDTH
        for i, (name, _) in enumerate(series):
            colour = PALETTE[i % len(PALETTE)]
            out.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
            out.append(f'<text x="{x + 16}" y="14" fill="#1d2330">{escape_html(name)}</text>')
            x += 24 + 7 * len(name)
    for row, label in enumerate(labels):
        top = legend_height + row * per_group + GAP
        middle = top + (len(series) * (BAR_HEIGHT + 2)) / 2 + 4
        out.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end" fill="#1d2330">'
            f"{escape_html(_clip(str(label)))}</text>"
        )
        for i, (_, values) in enumerate(series):
            value = values[row]
            y = top + i * (BAR_HEIGHT + 2)
            length = BAR_AREA * max(number(value), 0.0) / peak
            colour = PALETTE[i % len(PALETTE)]
            if value is not None:
                out.append(
                    f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
                    f'fill="{colour}"/>'
                )
            out.append(
                f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + BAR_HEIGHT - 3}" fill="#5b6475">'
                f"{_fmt(value, unit)}</text>"
            )
    out.append("</svg>")
    # Every interpolated text went through escape_html(); numbers (`_fmt`) and colours are ours.
    return mark_safe("".join(out))  # noqa: S308
