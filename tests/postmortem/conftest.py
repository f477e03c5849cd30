"""Fixtures of the post-mortem tests: a closed deal with its review, and helpers to fill one."""

import pytest

from opportunities import services as deal_services
from opportunities.models import Competitor
from postmortem import services
from postmortem.models import Reason, Review
from stages.models import Milestone


def tick_all(opp, actor, now=None):
    for m in Milestone.objects.filter(stage__process=opp.process, is_required=True).order_by("stage__order", "order"):
        deal_services.milestone_tick(opp, actor=actor, milestone=m, now=now)


@pytest.fixture
def rival(db):
    return Competitor.objects.create(name="Rival Inc")


@pytest.fixture
def lost_review(opportunity, owner, manager, lost_reason, now) -> Review:
    """The owner's deal closed lost (their team has its manager); its review, in draft."""
    deal_services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    return Review.objects.get(opportunity=opportunity)


@pytest.fixture
def manager_of_team(manager):
    return manager


def fill(review, actor, *, lessons=None, now=None):
    """Write a complete review (every field the submit asks for)."""
    stage = review.opportunity.process.stages.order_by("order").first()
    reason = Reason.objects.filter(outcome=review.outcome, is_active=True).order_by("order").first()
    return services.review_save(
        review,
        actor=actor,
        primary_reason=reason,
        decisive_milestone=stage.milestones.order_by("order").first(),
        competitor_decisive=False,
        went_right="Fast answers",
        went_wrong="Never met the economic buyer",
        lessons=lessons if lessons is not None else [{"text": "Meet the economic buyer early", "stage": stage}],
        now=now,
    )
