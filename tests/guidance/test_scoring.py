"""Scoring every open deal: stored, set-based, idempotent; viability, ICP fit and priority."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guidance import services
from guidance.models import DealSignal, QualificationItem, QualificationTick
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import OpportunityStatus
from pipeline.models import Flag, FlagKind
from tests.factories import NextStepFactory, make_process
from tests.guidance.world import open_deal, planted_history


@pytest.fixture
def history(owner, now):
    history = planted_history(owner, n=60, now=now)
    services.win_model_train(now=now)
    return history


def test_scoring_twice_changes_nothing(history, owner, now):
    for _ in range(3):
        open_deal(owner, history["process"], history["stages"][0], now=now)
    first = services.signals_score_all(now=now)
    assert first["created"] == 3
    before = list(DealSignal.objects.values())
    second = services.signals_score_all(now=now + dt.timedelta(hours=1))
    assert second == {"created": 0, "updated": 0, "removed": 0, "scored": 3}
    assert list(DealSignal.objects.values()) == before


def _count_queries(now) -> int:
    with CaptureQueriesContext(connection) as ctx:
        services.signals_score_all(now=now)
    return len(ctx.captured_queries)


def test_scoring_is_set_based(history, owner, now):
    open_deal(owner, history["process"], history["stages"][0], now=now)
    few = _count_queries(now)
    DealSignal.objects.all().delete()
    for _ in range(12):
        deal = open_deal(owner, history["process"], history["stages"][1], now=now)
        NextStepFactory(opportunity=deal)
    assert _count_queries(now) == few


def test_closed_deals_lose_their_signal(history, owner, now):
    deal = open_deal(owner, history["process"], history["stages"][0], now=now)
    services.signals_score_all(now=now)
    deal.status = OpportunityStatus.LOST
    deal.closed_on = now.date()
    deal.save()
    assert services.signals_score_all(now=now)["removed"] == 1
    assert not DealSignal.objects.exists()


def test_viability_lists_every_fact_and_suggests_the_missing(history, owner, now):
    deal = open_deal(owner, history["process"], history["stages"][0], now=now, close_date_push_count=2)
    items = services.qualification_items_seed(process=history["process"])
    services.signals_score_all(now=now)
    low = DealSignal.objects.get(opportunity=deal)
    assert "Confirm: Budget known" in low.viability_facts["suggestions"]
    assert "Confirm the close date with the buyer" in low.viability_facts["suggestions"]
    for item in items:
        assert services.qualification_tick(actor=owner, opportunity=deal, item=item, ticked=True, now=now)
    high = DealSignal.objects.get(opportunity=deal)
    assert high.viability == low.viability + 50
    assert not any(s.startswith("Confirm:") for s in high.viability_facts["suggestions"])
    words = [f["words"] for f in high.viability_facts["facts"]]
    assert "Budget known" in words and "Close date pushed 2 times" in words
    assert sum(f["points"] for f in high.viability_facts["facts"]) == pytest.approx(high.viability, abs=0.6)


def test_ticking_is_idempotent_and_checked(history, owner, teammate, now):
    deal = open_deal(owner, history["process"], history["stages"][0], now=now)
    item = services.qualification_items_seed(process=history["process"])[0]
    assert services.qualification_tick(actor=owner, opportunity=deal, item=item, ticked=True, now=now)
    assert not services.qualification_tick(actor=owner, opportunity=deal, item=item, ticked=True, now=now)
    assert QualificationTick.objects.count() == 1
    with pytest.raises(AccessDenied):
        services.qualification_tick(actor=teammate, opportunity=deal, item=item, ticked=False, now=now)
    other = QualificationItem.objects.create(process=make_process(stages=1, name="Other"), label="X")
    with pytest.raises(DomainError):
        services.qualification_tick(actor=owner, opportunity=deal, item=other, ticked=True, now=now)
    assert services.qualification_tick(actor=owner, opportunity=deal, item=item, ticked=False, now=now)
    assert not QualificationTick.objects.exists()


def test_icp_fit_finds_similar_won_and_lost_deals(history, owner, now):
    robotics = open_deal(owner, history["process"], history["stages"][0], industry="Robotics", now=now, amount="20000")
    retail = open_deal(owner, history["process"], history["stages"][0], industry="Retail", now=now, amount="20000")
    services.signals_score_all(now=now)
    good, bad = DealSignal.objects.get(opportunity=robotics), DealSignal.objects.get(opportunity=retail)
    assert good.icp_score > bad.icp_score
    assert len(good.icp["similar_won"]) == 5 and len(good.icp["similar_lost"]) == 5
    pulls = {a["words"]: a["pull"] for a in good.icp["attributes"]}
    assert pulls["Industry: Robotics"] == "for"


def test_priority_is_lifted_by_flags_and_overdue_steps(history, owner, now):
    plain = open_deal(owner, history["process"], history["stages"][0], now=now)
    flagged = open_deal(owner, history["process"], history["stages"][0], now=now)
    Flag.objects.create(opportunity=flagged, kind=FlagKind.IDLE, detail="idle")
    late = open_deal(owner, history["process"], history["stages"][0], now=now)
    late.next_step = NextStepFactory(opportunity=late, due_date=now.date() - dt.timedelta(days=2))
    late.save()
    services.signals_score_all(now=now)
    p = {s.opportunity_id: s for s in DealSignal.objects.all()}
    assert p[flagged.pk].priority == pytest.approx(p[plain.pk].priority * 1.25, rel=0.01)
    assert p[late.pk].priority == pytest.approx(p[plain.pk].priority * 1.25, rel=0.01)
    assert p[late.pk].reason == "Its next step is overdue"
    assert p[flagged.pk].reason == "Needs attention: idle"
