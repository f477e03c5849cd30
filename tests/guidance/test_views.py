"""The deal page's Signals panel, the qualification checklist, a deal's signals page (similar
deals the viewer may not see are counted, never named) and the Focus pages."""

import datetime as dt

import pytest
from django.urls import reverse

from guidance import services
from guidance.models import DealSignal, QualificationTick
from tests.factories import NextStepFactory
from tests.guidance.world import open_deal, planted_history

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def scored(owner, now):
    history = planted_history(owner, n=40, now=now)
    deal = open_deal(owner, history["process"], history["stages"][1], now=now)
    services.qualification_items_seed(process=history["process"])
    services.win_model_train(now=now)
    services.signals_score_all(now=now)
    return {**history, "deal": deal}


def test_deal_page_shows_the_stored_signals(scored, client_for, owner):
    deal = scored["deal"]
    signal = DealSignal.objects.get(opportunity=deal)
    page = client_for(owner).get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    assert 'id="signals"' in page
    assert f'<strong class="win-probability">{signal.win_probability}%</strong>' in page
    assert "Budget known" in page and f"win model v{signal.model_version}" in page


def test_ticking_without_javascript_redirects_back(scored, client_for, owner):
    deal = scored["deal"]
    item = deal.process.qualification_items.get(label="Budget known")
    response = client_for(owner).post(reverse("guidance:tick", args=[deal.pk]), {"item": item.pk, "ticked": "1"})
    assert response.status_code == 302 and response["Location"].endswith("#signals")
    assert QualificationTick.objects.filter(opportunity=deal, item=item).exists()


def test_ticking_with_htmx_returns_the_panel(scored, client_for, owner):
    deal = scored["deal"]
    item = deal.process.qualification_items.get(label="Budget known")
    before = DealSignal.objects.get(opportunity=deal).viability
    response = client_for(owner).post(
        reverse("guidance:tick", args=[deal.pk]), {"item": item.pk, "ticked": "1"}, **HTMX
    )
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    assert DealSignal.objects.get(opportunity=deal).viability == before + 10


@pytest.mark.parametrize("item", ["", "abc", "999999", "1" * 40, "-1"])
def test_bad_items_are_refused_with_a_message(scored, client_for, owner, item):
    deal = scored["deal"]
    response = client_for(owner).post(reverse("guidance:tick", args=[deal.pk]), {"item": item, "ticked": "1"}, **HTMX)
    assert response.status_code == 200
    assert "Choose a qualification item" in response.content.decode()
    assert not QualificationTick.objects.exists()


def test_read_only_and_invisible(scored, client_for, teammate, outsider):
    deal = scored["deal"]
    url = reverse("guidance:tick", args=[deal.pk])
    assert client_for(teammate).post(url, {"item": 1, "ticked": "1"}).status_code == 403
    assert client_for(outsider).post(url, {"item": 1, "ticked": "1"}).status_code == 404
    assert client_for(outsider).get(reverse("guidance:signals", args=[deal.pk])).status_code == 404


def test_similar_deals_are_linked_for_those_who_may_see_them(scored, client_for, owner):
    page = client_for(owner).get(reverse("guidance:signals", args=[scored["deal"].pk])).content.decode()
    signal = DealSignal.objects.get(opportunity=scored["deal"])
    for pk in signal.icp["similar_won"] + signal.icp["similar_lost"]:
        assert f'<li><a href="/deals/{pk}/">' in page
    assert "you cannot see" not in page


def test_similar_deals_outside_the_view_are_counted_not_named(scored, client_for, outsider, now):
    theirs = open_deal(outsider, scored["process"], scored["stages"][0], now=now)
    services.signals_score_all(now=now)
    signal = DealSignal.objects.get(opportunity=theirs)
    page = client_for(outsider).get(reverse("guidance:signals", args=[theirs.pk])).content.decode()
    assert "5 similar deals you cannot see" in page
    for pk in signal.icp["similar_won"] + signal.icp["similar_lost"]:
        assert f"/deals/{pk}/" not in page


def test_focus_lists_my_deals_by_priority_with_reason_and_next_step(scored, client_for, owner, teammate, now):
    late = open_deal(owner, scored["process"], scored["stages"][1], now=now)
    late.next_step = NextStepFactory(
        opportunity=late, description="Send the contract", due_date=now.date() - dt.timedelta(days=1)
    )
    late.save()
    open_deal(teammate, scored["process"], scored["stages"][2], now=now, amount="900000")
    services.signals_score_all(now=now)
    page = client_for(owner).get(reverse("guidance:focus")).content.decode()
    assert page.count('class="focus-item"') == 2
    assert page.index(late.name) < page.index(scored["deal"].name)
    assert "Its next step is overdue" in page and "Send the contract" in page


def test_team_focus_is_for_managers(scored, client_for, manager, owner):
    assert client_for(owner).get(reverse("guidance:focus_team")).status_code == 403
    page = client_for(manager).get(reverse("guidance:focus_team")).content.decode()
    assert scored["deal"].name in page


def test_model_page_and_retrain(scored, client_for, manager, owner):
    page = client_for(owner).get(reverse("guidance:model")).content.decode()
    assert "Version 1" in page and "Retrain now" not in page
    assert client_for(owner).post(reverse("guidance:retrain")).status_code == 403
    response = client_for(manager).post(reverse("guidance:retrain"))
    assert response.status_code == 302
    assert "Retrain now" in client_for(manager).get(reverse("guidance:model")).content.decode()


def _focus_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("guidance:focus")).status_code == 200
    return len(ctx.captured_queries)


def test_focus_queries_do_not_grow_with_the_deals(scored, client_for, owner, now):
    client = client_for(owner)
    client.get(reverse("guidance:focus"))
    few = _focus_queries(client)
    for _ in range(12):
        deal = open_deal(owner, scored["process"], scored["stages"][0], now=now)
        deal.next_step = NextStepFactory(opportunity=deal)
        deal.save()
    services.signals_score_all(now=now)
    page = client.get(reverse("guidance:focus")).content.decode()
    assert page.count('class="focus-item"') == 10
    assert _focus_queries(client) == few
