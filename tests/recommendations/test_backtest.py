"""The back-test section: learned on training deals, judged on held-out ones."""

import pytest

from opportunities.hooks import backtest_sections
from recommendations import backtest
from tests.factories import make_process
from tests.recommendations.world import planted_history

pytestmark = pytest.mark.django_db


def test_the_section_is_registered():
    assert [s.run for s in backtest_sections() if s.name == "recommendations"] == [backtest.run]


def test_held_out_won_deals_took_the_planted_step_and_lost_ones_did_not(owner, django_assert_max_num_queries):
    process = make_process(stages=3, milestones=1, required=False, name="Planted")
    train = planted_history(owner=owner, process=process, won=12, lost=12)
    test = planted_history(owner=owner, process=process, won=6, lost=4, start=100)
    with django_assert_max_num_queries(8):
        lines = backtest.run([p.deal.pk for p in train], [p.deal.pk for p in test])
    assert lines[1] == "  Planted / Discover — a reference call: won 6 of 6 (100 %), lost 0 of 4 (0 %)"
    assert lines[-1] == "  All stages: won deals took the recommended step 6 of 6 (100 %), lost deals 0 of 4 (0 %)"


def test_the_held_out_deals_do_not_teach_the_model(owner):
    process = make_process(stages=3, milestones=1, required=False, name="Planted")
    train = planted_history(owner=owner, process=process, won=2, lost=2)
    test = planted_history(owner=owner, process=process, won=12, lost=12, start=100)
    lines = backtest.run([p.deal.pk for p in train], [p.deal.pk for p in test])
    assert lines == ["Recommendations: no stage had enough training deals for a recommendation."]
