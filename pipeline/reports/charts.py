"""Server-side SVG bar charts: no JavaScript, nothing for the Content-Security-Policy to block.

Colours and sizes are SVG presentation attributes and classes (an inline `style` attribute
would be refused by `style-src 'self'`). Every chart sits next to a table with the same
numbers, so the SVG is decoration for sighted readers: it has a title, and the table is the
accessible source.
"""

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.html import escape

# The fixed texts the template prints over and over (the colours, the labels' position) are
# escaped once, here: `escape` returns text marked as escaped, which the template prints as it
# is instead of escaping it again each time.
PALETTE = tuple(escape(colour) for colour in ("#2f5bd3", "#9db4f0", "#1d7a46", "#b54708", "#7a5af8", "#5b6475"))
# Text is 13 px and the chart is never scaled down (it scrolls inside its box on a narrow
# screen), so labels stay readable; labels get room for LABEL_CHARS characters before "…".
FONT_SIZE = 13
CHAR_WIDTH = 7.5
LABEL_CHARS = 30
LABEL_WIDTH = 240
BAR_AREA = 380
VALUE_WIDTH = 90
BAR_HEIGHT = 14
GAP = 6


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


def _clip(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list]], *, unit: str = "") -> str:
    """A horizontal bar chart: one group per label, one bar per series in each group.

    `series` is [(name, values)], values aligned with `labels`; None draws no bar. The scale
    starts at zero and is shared by all series. The geometry is worked out here; the SVG comes
    from the template `pipeline/_bar_chart.svg`, which escapes every text.
    """
    if not labels:
        return ""
    peak = max((number(v) for _, values in series for v in values), default=0.0) or 1.0
    per_group = len(series) * (BAR_HEIGHT + 2) + GAP
    legend_height = 22 if len(series) > 1 else 0
    height = legend_height + len(labels) * per_group + GAP
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    legend = []
    if legend_height:
        x = LABEL_WIDTH
        for i, (name, _) in enumerate(series):
            legend.append({"x": str(x), "text_x": str(x + 16), "colour": PALETTE[i % len(PALETTE)], "name": name})
            x += 24 + int(CHAR_WIDTH * len(name))
    # A series' bars are one path, a rectangle ("M x y h width v height h -width z") per value:
    # they draw what a rect per bar would, without the template printing five attributes for
    # each of the hundreds of bars of a dashboard.
    outlines: list[list[str]] = [[] for _ in series]
    groups = []
    for row, label in enumerate(labels):
        top = legend_height + row * per_group + GAP
        middle = top + (len(series) * (BAR_HEIGHT + 2)) / 2 + 4
        values = []
        for i, (_, series_values) in enumerate(series):
            value = series_values[row]
            y = top + i * (BAR_HEIGHT + 2)
            length = BAR_AREA * max(number(value), 0.0) / peak
            if value is not None:
                outlines[i].append(f"M{LABEL_WIDTH} {y}h{length:.1f}v{BAR_HEIGHT}h-{length:.1f}z")
            values.append(
                {"x": f"{LABEL_WIDTH + length + 4:.1f}", "y": str(y + BAR_HEIGHT - 3), "text": _fmt(value, unit)}
            )
        groups.append({"label": _clip(str(label)), "y": f"{middle:.1f}", "values": values})
    bars = [
        {"path": "".join(outline), "colour": PALETTE[i % len(PALETTE)]}
        for i, outline in enumerate(outlines)
        if outline  # a series with no value draws nothing
    ]
    # Every number goes to the template as text: an integer there would go through number
    # localisation, once for each of the thousands of coordinates of a dashboard's charts.
    context = {
        "title": title,
        "font_size": str(FONT_SIZE),
        "width": str(width),
        "height": str(height),
        "label_x": escape(LABEL_WIDTH - 8),
        "legend": legend,
        "bars": bars,
        "groups": groups,
    }
    return render_to_string("pipeline/_bar_chart.svg", context)
