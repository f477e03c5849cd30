"""The guided-selling API: the same signals, services and access rules as the pages."""

import pytest
from rest_framework.test import APIClient

from guidance import services
from guidance.models import QualificationTick
from tests.guidance.world import open_deal, planted_history


@pytest.fixture
def scored(owner, now):
    history = planted_history(owner, n=30, now=now)
    deal = open_deal(owner, history["process"], history["stages"][1], now=now)
    services.qualification_items_seed(process=history["process"])
    services.win_model_train(now=now)
    services.signals_score_all(now=now)
    return {**history, "deal": deal}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_signals_of_a_deal(scored, owner, outsider):
    deal = scored["deal"]
    data = api(owner).get(f"/api/opportunities/{deal.pk}/signals/").json()
    signal = data["signal"]
    assert sum(line["points"] for line in signal["win_explanation"]) == signal["win_probability"]
    assert len(data["similar_won"]) == 5 and data["hidden_similar"] == 0
    assert [q["label"] for q in data["qualification"]][0] == "Pain confirmed"
    assert api(outsider).get(f"/api/opportunities/{deal.pk}/signals/").status_code == 404


def test_similar_deals_outside_the_view_are_only_counted(scored, outsider, now):
    theirs = open_deal(outsider, scored["process"], scored["stages"][0], now=now)
    services.signals_score_all(now=now)
    data = api(outsider).get(f"/api/opportunities/{theirs.pk}/signals/").json()
    assert data["similar_won"] == [] and data["similar_lost"] == [] and data["hidden_similar"] == 10


def test_tick_through_the_api(scored, owner, teammate):
    deal = scored["deal"]
    item = deal.process.qualification_items.first()
    url = f"/api/opportunities/{deal.pk}/qualification/"
    response = api(owner).post(url, {"item": item.pk, "ticked": True}, format="json")
    assert response.status_code == 200
    assert response.json()["qualification"][0]["ticked"] is True
    assert api(teammate).post(url, {"item": item.pk, "ticked": False}, format="json").status_code == 403
    for bad in ({}, {"item": "x", "ticked": True}, {"item": 99999, "ticked": True}, {"item": item.pk}):
        assert api(owner).post(url, bad, format="json").status_code == 400
    assert QualificationTick.objects.count() == 1


def test_focus(scored, owner, manager):
    rows = api(owner).get("/api/focus/").json()
    assert [r["opportunity"] for r in rows] == [scored["deal"].pk]
    assert api(owner).get("/api/focus/?scope=team").status_code == 403
    assert api(manager).get("/api/focus/?scope=team").status_code == 200
