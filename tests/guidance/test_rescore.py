"""Changed deals are rescored the same day: in the background after the change commits, one task
per transaction, without the ICP fit (the nightly run's), set-based and idempotently; a deal
scored for the first time is scored whole, with the other deals not scored yet."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guidance import services
from guidance.models import DealSignal, QualificationItem
from opportunities import services as deals
from opportunities.models import OpportunityStatus
from tests.guidance.world import open_deal, planted_history


@pytest.fixture
def history(owner, now):
    history = planted_history(owner, n=60, now=now)
    services.win_model_train(now=now)
    return history


def stored(deal) -> dict:
    return DealSignal.objects.values(*services.SIGNAL_FIELDS).get(opportunity=deal)


def scored_afresh(deal, now) -> dict:
    """What scoring every open deal from nothing stores for `deal`."""
    DealSignal.objects.all().delete()
    services.signals_score_all(now=now)
    return stored(deal)


def test_a_moved_deal_is_rescored_after_the_moves_commit(history, owner, now, django_capture_on_commit_callbacks):
    deal = open_deal(owner, history["process"], history["stages"][0], now=now)
    services.signals_score_all(now=now)
    before = stored(deal)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deals.opportunity_move(deal, actor=owner, to_stage=history["stages"][1], now=now)
        deals.opportunity_move(deal, actor=owner, to_stage=history["stages"][2], now=now)
        deals.opportunity_move(deal, actor=owner, to_stage=history["stages"][1], now=now)
    # Three changes in one transaction ask for one rescore, once it commits.
    assert len([c for c in callbacks if isinstance(c, services._RescoreAfterCommit)]) == 1

    after = stored(deal)
    assert after["win_probability"] != before["win_probability"]
    assert after["win_explanation"]["lines"] != before["win_explanation"]["lines"]
    # The ICP fit is the nightly run's: a move leaves it as it was.
    assert (after["icp_score"], after["icp"]) == (before["icp_score"], before["icp"])
    # The same as scoring every open deal would store, but for the ICP fit.
    assert scored_afresh(deal, now) == after


def test_rescoring_twice_changes_nothing(history, owner, now):
    deal = open_deal(owner, history["process"], history["stages"][0], now=now)
    services.signals_score_all(now=now)
    deal.amount = Decimal("90000")
    deal.save()
    assert services.signals_rescore(opportunity_ids=[deal.pk], now=now) == {"created": 0, "updated": 1, "removed": 0}
    first = stored(deal)
    again = services.signals_rescore(opportunity_ids=[deal.pk], now=now + dt.timedelta(minutes=5))
    assert again == {"created": 0, "updated": 0, "removed": 0}
    assert stored(deal) == first


def test_a_new_deal_is_scored_whole_with_every_other_unscored_deal(history, owner, now):
    scored = open_deal(owner, history["process"], history["stages"][0], now=now)
    services.signals_score_all(now=now)
    new, other = (open_deal(owner, history["process"], history["stages"][1], now=now) for _ in range(2))

    assert services.signals_rescore(opportunity_ids=[new.pk], now=now) == {"created": 2, "updated": 0, "removed": 0}
    assert set(DealSignal.objects.values_list("opportunity_id", flat=True)) == {scored.pk, new.pk, other.pk}
    # Scored whole, ICP fit included, as the nightly run scores it.
    whole = stored(new)
    assert whole["icp"]["similar_won"]
    assert scored_afresh(new, now) == whole


def test_a_closed_deal_loses_its_signals(history, owner, now):
    deal = open_deal(owner, history["process"], history["stages"][0], now=now)
    services.signals_score_all(now=now)
    deal.status, deal.closed_on = OpportunityStatus.LOST, now.date()
    deal.save()
    assert services.signals_rescore(opportunity_ids=[deal.pk], now=now) == {"created": 0, "updated": 0, "removed": 1}
    assert services.signals_rescore(opportunity_ids=[deal.pk], now=now) == {"created": 0, "updated": 0, "removed": 0}
    assert not DealSignal.objects.exists()


def test_a_tick_on_an_unscored_deal_scores_it_after_commit(history, owner, now, django_capture_on_commit_callbacks):
    deal = open_deal(owner, history["process"], history["stages"][0], now=now)
    services.qualification_items_seed(process=history["process"])
    item = QualificationItem.objects.filter(process=history["process"]).first()

    with django_capture_on_commit_callbacks(execute=True):
        services.qualification_tick(actor=owner, opportunity=deal, item=item, ticked=True, now=now)
    facts = stored(deal)["viability_facts"]["facts"]
    assert any(item.label in str(fact) for fact in facts)


def test_rescoring_is_set_based(history, owner, now):
    few = [open_deal(owner, history["process"], history["stages"][0], now=now)]
    many = [open_deal(owner, history["process"], history["stages"][1], now=now) for _ in range(12)]
    services.signals_score_all(now=now)
    counts = []
    for batch in (few, many):
        with CaptureQueriesContext(connection) as ctx:
            services.signals_rescore(opportunity_ids=[d.pk for d in batch], now=now + dt.timedelta(days=3))
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_a_broker_that_is_down_leaves_the_change_committed(
    history, owner, now, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from guidance import tasks

    def broker_down(**kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.rescore_deals, "delay", broker_down)
    deal = open_deal(owner, history["process"], history["stages"][0], now=now)
    with django_capture_on_commit_callbacks(execute=True):
        deals.opportunity_move(deal, actor=owner, to_stage=history["stages"][1], now=now)
    deal.refresh_from_db()
    assert deal.stage == history["stages"][1]
    assert "the broker is down" in caplog.text
