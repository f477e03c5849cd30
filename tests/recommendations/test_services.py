"""Recommending steps on a deal, and accepting or dismissing them."""

import datetime as dt

import pytest

from aids.models import Aid, AidKind, AidStatus
from opportunities import services as deal_services
from opportunities.errors import AccessDenied
from opportunities.models import ActivityKind, EventVerb
from recommendations import services
from recommendations.models import Feedback, FeedbackVerdict
from recommendations.services import RecommendationError
from tests.recommendations.world import recommendation_world

pytestmark = pytest.mark.django_db

REFERENCE_CALL = "activity:reference_call"


def test_the_step_that_separated_won_from_lost_is_recommended_with_its_evidence(deal, owner, now):
    result = services.recommendations_for(user=owner, opportunity=deal)
    assert [r.step_key for r in result.items] == [REFERENCE_CALL]
    (rec,) = result.items
    assert rec.evidence == "a reference call before leaving Discover: 12 of 12 won deals, 0 of 12 lost"
    assert (rec.counts.won_with, rec.counts.won_total, rec.counts.lost_with, rec.counts.lost_total) == (12, 12, 0, 12)
    assert rec.confidence == "medium"
    assert rec.action == "Set up a reference call"
    assert result.message == ""
    # The demo every deal held separates nothing and is not recommended.
    assert "activity:demo" not in {r.step_key for r in result.items}


def test_thin_evidence_says_so_instead_of_recommending(owner, now):
    _, deal = recommendation_world(owner=owner, now=now, won=3, lost=3)
    result = services.recommendations_for(user=owner, opportunity=deal)
    assert result.items == []
    assert result.message.startswith("Not enough closed deals yet: 3 won and 3 lost deals have left Discover")


def test_a_stage_no_deal_has_left_yet_has_no_evidence(deal, owner, now):
    propose = deal.process.stages.order_by("order")[2]
    deal_services.opportunity_move(deal, actor=owner, to_stage=propose, now=now)
    result = services.recommendations_for(user=owner, opportunity=deal)
    assert result.items == [] and result.message.startswith("Not enough closed deals yet: 0 won and 0 lost")


def test_a_step_already_taken_at_the_stage_is_not_recommended(deal, owner, now):
    deal_services.activity_log(
        actor=owner, opportunity=deal, kind=ActivityKind.REFERENCE_CALL, subject="Ref call with Globex", now=now
    )
    result = services.recommendations_for(user=owner, opportunity=deal)
    assert result.items == []
    assert "separates them clearly" in result.message


def test_aids_about_the_stage_come_with_the_recommendations(deal, owner, admin):
    aid = Aid.objects.create(
        title="Reference programme", kind=AidKind.CASE_STUDY, status=AidStatus.PUBLISHED, created_by=admin
    )
    aid.stages.add(deal.stage)
    result = services.recommendations_for(user=owner, opportunity=deal)
    assert [a.title for a in result.aids] == ["Reference programme"]


def test_a_deal_the_user_may_not_see_is_refused(deal, outsider, teammate):
    with pytest.raises(RecommendationError):
        services.recommendations_for(user=outsider, opportunity=deal)
    assert services.recommendations_for(user=teammate, opportunity=deal).items  # the team reads it


def test_accepting_makes_it_the_next_step_due_in_a_week_and_records_it_once(deal, owner, now):
    feedback = services.recommendation_accept(actor=owner, opportunity=deal, step=REFERENCE_CALL, now=now)
    deal.refresh_from_db()
    assert deal.next_step.description == "Set up a reference call"
    assert deal.next_step.due_date == now.date() + dt.timedelta(days=7)
    assert deal.events.filter(verb=EventVerb.NEXT_STEP_SET, data__description="Set up a reference call").exists()
    assert (feedback.verdict, feedback.stage_id, feedback.actor) == (FeedbackVerdict.ACCEPTED, deal.stage_id, owner)
    with pytest.raises(RecommendationError, match="already accepted or dismissed"):
        services.recommendation_accept(actor=owner, opportunity=deal, step=REFERENCE_CALL, now=now)
    assert Feedback.objects.count() == 1
    assert services.recommendations_for(user=owner, opportunity=deal).items == []


def test_dismissing_needs_a_reason_and_records_it(deal, owner, now):
    with pytest.raises(RecommendationError, match="Say why"):
        services.recommendation_dismiss(actor=owner, opportunity=deal, step=REFERENCE_CALL, reason="  ", now=now)
    with pytest.raises(RecommendationError, match="at most 300"):
        services.recommendation_dismiss(actor=owner, opportunity=deal, step=REFERENCE_CALL, reason="x" * 301)
    assert not Feedback.objects.exists()
    feedback = services.recommendation_dismiss(
        actor=owner, opportunity=deal, step=REFERENCE_CALL, reason="The buyer  refuses references", now=now
    )
    assert (feedback.verdict, feedback.reason) == (FeedbackVerdict.DISMISSED, "The buyer refuses references")
    deal.refresh_from_db()
    assert deal.next_step is None or deal.next_step.description != "Set up a reference call"
    with pytest.raises(RecommendationError):
        services.recommendation_dismiss(actor=owner, opportunity=deal, step=REFERENCE_CALL, reason="again")


def test_only_a_step_with_evidence_at_the_stage_can_be_accepted(deal, owner):
    for step in ("activity:teleport", "milestone:999999", "nonsense", ""):
        with pytest.raises(RecommendationError, match="not a recommended step"):
            services.recommendation_accept(actor=owner, opportunity=deal, step=step)
    assert not Feedback.objects.exists()


def test_read_only_and_invisible_users_cannot_accept_or_dismiss(deal, teammate, outsider, manager):
    with pytest.raises(AccessDenied):
        services.recommendation_accept(actor=teammate, opportunity=deal, step=REFERENCE_CALL)
    with pytest.raises(AccessDenied):
        services.recommendation_dismiss(actor=teammate, opportunity=deal, step=REFERENCE_CALL, reason="No")
    with pytest.raises(RecommendationError, match="may not see it"):
        services.recommendation_accept(actor=outsider, opportunity=deal, step=REFERENCE_CALL)
    assert not Feedback.objects.exists()
    services.recommendation_accept(actor=manager, opportunity=deal, step=REFERENCE_CALL)  # the owner's manager may


def test_a_closed_deal_gets_no_recommendations(deal, owner, now):
    deal_services.opportunity_close_won(deal, actor=owner, now=now)
    deal.refresh_from_db()
    result = services.recommendations_for(user=owner, opportunity=deal)
    assert result.items == [] and "open deals" in result.message
    with pytest.raises(RecommendationError, match="closed"):
        services.recommendation_accept(actor=owner, opportunity=deal, step=REFERENCE_CALL)


def test_a_step_taken_at_an_earlier_stage_counts_as_done_and_a_planned_one_does_not(owner, now):
    process, deal = recommendation_world(owner=owner, now=now)
    qualify, discover = process.stages.order_by("order")[:2]
    deal_services.opportunity_move(deal, actor=owner, to_stage=qualify, now=now)
    later = now + dt.timedelta(days=30)
    deal_services.activity_log(
        actor=owner, opportunity=deal, kind=ActivityKind.REFERENCE_CALL, subject="Planned", occurred_at=later, now=now
    )
    deal_services.opportunity_move(deal, actor=owner, to_stage=discover, now=now)
    assert services.recommendations_for(user=owner, opportunity=deal, now=now).items  # planned, not done
    assert services.recommendations_for(user=owner, opportunity=deal, now=later).items == []


def test_a_retired_milestone_is_no_step_to_recommend(deal, now):
    from recommendations.models import StepKind, StepStat
    from stages.models import Milestone

    live = Milestone.objects.create(stage=deal.stage, name="Pain confirmed", order=91)
    retired = Milestone.objects.create(stage=deal.stage, name="Old criterion", order=92, retired_at=now)
    stats = [
        StepStat(kind=StepKind.MILESTONE, milestone=milestone, step_key=f"milestone:{milestone.pk}")
        for milestone in (live, retired)
    ]
    assert list(services.describe_steps(stats)) == [f"milestone:{live.pk}"]
