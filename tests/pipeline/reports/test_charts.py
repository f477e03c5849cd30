"""The server-side bar charts, rendered from their template."""

import re

from pipeline.reports.charts import BAR_AREA, bar_chart


def test_a_chart_escapes_its_texts_and_draws_a_bar_per_value():
    svg = bar_chart(
        'Pipeline <script>alert("x")</script>',
        ["<b>Ann</b>", "Bob & Co"],
        [("Amount", [100, 50]), ("Weighted <i>", [None, 25])],
    )
    assert svg.startswith('<svg class="chart"') and svg.endswith("</svg>")
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "<title>Pipeline &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</title>" in svg
    assert re.findall(r'text-anchor="end" fill="#1d2330">([^<]*)</text>', svg) == [
        "&lt;b&gt;Ann&lt;/b&gt;",
        "Bob &amp; Co",
    ]
    # Three values, three bars (None draws none); the largest spans the whole bar area.
    widths = re.findall(r'<rect class="bar" x="\d+" y="\d+" width="([\d.]+)"', svg)
    assert widths == [f"{BAR_AREA:.1f}", f"{BAR_AREA / 2:.1f}", f"{BAR_AREA / 4:.1f}"]
    assert "Weighted &lt;i&gt;" in svg  # the legend


def test_no_labels_no_chart():
    assert bar_chart("Empty", [], [("Amount", [])]) == ""


def test_every_bar_prints_the_fixed_position_height_and_its_series_colour():
    from pipeline.reports.charts import BAR_HEIGHT, LABEL_WIDTH, PALETTE

    svg = bar_chart("Two series", ["Ann"], [("Amount", [100]), ("Weighted", [50])])
    rects = re.findall(r'<rect class="bar" x="(\d+)" y="\d+" width="[\d.]+" height="(\d+)" fill="([^"]+)"/>', svg)
    assert rects == [(str(LABEL_WIDTH), str(BAR_HEIGHT), PALETTE[0]), (str(LABEL_WIDTH), str(BAR_HEIGHT), PALETTE[1])]
    assert f'<text x="{LABEL_WIDTH - 8}" y="' in svg
    # The first series' legend swatch, as plain text: escaping the fixed texts changed none of them.
    assert '<rect x="240" y="4" width="12" height="12" fill="#2f5bd3"/>' in svg
