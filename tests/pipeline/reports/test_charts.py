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
    widths = re.findall(r"M\d+ \d+h([\d.]+)v", svg)
    assert widths == [f"{BAR_AREA:.1f}", f"{BAR_AREA / 2:.1f}", f"{BAR_AREA / 4:.1f}"]
    assert "Weighted &lt;i&gt;" in svg  # the legend


def test_no_labels_no_chart():
    assert bar_chart("Empty", [], [("Amount", [])]) == ""


def test_each_series_is_one_path_of_a_rectangle_per_value_in_its_colour():
    from pipeline.reports.charts import BAR_HEIGHT, LABEL_WIDTH, PALETTE

    svg = bar_chart("Two series", ["Ann", "Bob"], [("Amount", [100, None]), ("Weighted", [50, 25])])
    paths = re.findall(r'<path class="bar" d="([^"]+)" fill="([^"]+)"/>', svg)
    # Ann's group starts below the legend (22) and a gap (6); each bar is BAR_HEIGHT + 2 below the last.
    ann, bob = 28, 28 + 2 * (BAR_HEIGHT + 2) + 6
    assert paths == [
        (f"M{LABEL_WIDTH} {ann}h380.0v{BAR_HEIGHT}h-380.0z", PALETTE[0]),
        (
            f"M{LABEL_WIDTH} {ann + BAR_HEIGHT + 2}h190.0v{BAR_HEIGHT}h-190.0z"
            f"M{LABEL_WIDTH} {bob + BAR_HEIGHT + 2}h95.0v{BAR_HEIGHT}h-95.0z",
            PALETTE[1],
        ),
    ]
    # Every value is printed at the end of its bar, the missing one as a dash.
    assert re.findall(r'fill="#5b6475">([^<]*)</text>', svg) == ["100", "50", "—", "25"]
    # The first series' legend swatch, as plain text: escaping the fixed texts changed none of them.
    assert '<rect x="240" y="4" width="12" height="12" fill="#2f5bd3"/>' in svg


def test_a_series_with_no_values_draws_no_path():
    svg = bar_chart("Sparse", ["Ann"], [("Amount", [None]), ("Weighted", [10])])
    assert svg.count("<path") == 1
