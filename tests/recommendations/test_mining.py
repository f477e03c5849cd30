"""The mined counts equal the same counts computed directly in Python, and the refresh that
stores them is idempotent."""

import datetime as dt

import pytest
from django.conf import settings

from recommendations import mining, services
from recommendations.models import StepKind, StepStat
from tests.factories import make_process
from tests.recommendations.world import expected_counts, random_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(owner):
    process = make_process(stages=3, milestones=2, name="Mined")
    return random_history(owner=owner, process=process, deals=40)


def as_tuples(mined):
    return {key: (c.won_with, c.won_total, c.lost_with, c.lost_total) for key, c in mined.items()}


def test_mined_counts_equal_counts_computed_directly(history, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        mined = mining.mine()
    overall = {key: value for key, value in as_tuples(mined).items() if key[1] == ""}
    assert overall == expected_counts(history)
    assert overall  # the fixture has something to count


def test_mining_a_subset_in_chunks_counts_only_those_deals(history, monkeypatch):
    monkeypatch.setattr(mining, "CHUNK", 7)
    subset = history[:25]
    mined = mining.mine([plan.deal.pk for plan in subset])
    assert {k: v for k, v in as_tuples(mined).items() if k[1] == ""} == expected_counts(subset)


def test_an_industry_gets_counts_of_its_own_only_with_enough_deals(history, monkeypatch):
    assert all(segment == "" for _, segment, _ in mining.mine())  # 40 deals over 2 industries, 3 stages
    monkeypatch.setattr(mining, "SEGMENT_MIN_DEALS", 1)
    retail = [plan for plan in history if plan.industry == "Retail"]
    mined = as_tuples(mining.mine())
    by_retail = {(stage, "", step): v for (stage, segment, step), v in mined.items() if segment == "Retail"}
    assert by_retail == expected_counts(retail)


def test_refresh_stores_the_counts_and_a_second_run_changes_nothing(history, now):
    first = services.stats_refresh(now=now)
    assert first["created"] == StepStat.objects.count() > 0
    stored = {
        (s.stage_id, s.segment, s.step_key): (s.won_with, s.won_total, s.lost_with, s.lost_total)
        for s in StepStat.objects.all()
    }
    assert stored == expected_counts(history)
    snapshot = list(StepStat.objects.values().order_by("pk"))
    later = now + dt.timedelta(days=1)
    assert services.stats_refresh(now=later) == {"created": 0, "updated": 0, "deleted": 0}
    assert list(StepStat.objects.values().order_by("pk")) == snapshot
    milestone_row = StepStat.objects.filter(kind=StepKind.MILESTONE).first()
    assert milestone_row.step_key == f"milestone:{milestone_row.milestone_id}"


def test_refresh_updates_changed_counts_and_drops_stale_rows(history, now):
    services.stats_refresh(now=now)
    history[0].deal.delete()
    later = now + dt.timedelta(days=1)
    result = services.stats_refresh(now=later)
    assert result["updated"] > 0
    stored = {
        (s.stage_id, s.segment, s.step_key): (s.won_with, s.won_total, s.lost_with, s.lost_total)
        for s in StepStat.objects.all()
    }
    assert stored == expected_counts(history[1:])
    assert StepStat.objects.filter(refreshed_at=later).exists()


def test_the_nightly_task_refreshes(history):
    from recommendations.tasks import refresh_recommendation_stats

    assert refresh_recommendation_stats.delay().get()["created"] > 0
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-recommendation-stats"]
    assert entry["task"] == refresh_recommendation_stats.name


def test_wilson_separation_penalises_small_samples():
    big = mining.Counts(won_with=14, won_total=19, lost_with=3, lost_total=22)
    tiny = mining.Counts(won_with=2, won_total=2, lost_with=0, lost_total=2)
    assert mining.separation(big) > 0 > mining.separation(tiny)
    assert mining.confidence(big) == "medium"
    assert mining.is_thin(tiny)
