"""The dashboard's reading aids: a sticky sub-navigation to its sections, headline cards that say
which period they show when the filter names another, and chart text that is never shrunk."""

from django.urls import reverse

from pipeline.reports.charts import FONT_SIZE, bar_chart

URL = reverse("pipeline:dashboard")


def test_the_dashboard_links_to_each_of_its_sections(client_for, manager, process):
    body = client_for(manager).get(URL).content.decode()

    nav = body[body.index('<nav class="sub-nav" aria-label="Dashboard sections">') :]
    nav = nav[: nav.index("</nav>")]
    assert nav.count("<li>") >= 3
    assert '<a href="#section-1">' in nav and 'id="section-1"' in body


def test_headline_cards_name_their_period_when_the_filter_names_another(client_for, manager, process, now):
    client = client_for(manager)

    assert "tiles-note" not in client.get(URL).content.decode()
    body = client.get(URL, {"period": "last_year"}).content.decode()
    assert "These cards show the open pipeline now and closed won in 2026-Q1" in body
    assert "(2025-01-01 – 2025-12-31) applies to the sections below" in body


def test_chart_text_is_at_least_12_px_and_long_labels_keep_30_characters():
    svg = bar_chart("Won by owner", ["A" * 29, "B" * 40], [("Amount", [10, 20])])

    assert f'font-size="{FONT_SIZE}"' in svg and FONT_SIZE >= 12
    assert "A" * 29 + "<" in svg  # not clipped
    assert "B" * 29 + "…" in svg
