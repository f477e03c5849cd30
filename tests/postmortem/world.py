"""A closed deal with an accepted post-mortem and a lesson: what the access matrix and the form
fuzzing point the post-mortem URLs at."""

import datetime as dt

from opportunities import services as deal_services
from people.models import Role
from postmortem import services
from postmortem.models import Reason, Review
from tests.factories import LostReasonFactory, UserFactory


def draft_review(*, owner, account, process, name="Closed deal", now=None) -> Review:
    """The review a close lost of a new deal of `owner` opened, in draft."""
    deal = deal_services.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name=name,
        amount="1000",
        expected_close_date=dt.date(2030, 6, 1),
        now=now,
    )
    reason = LostReasonFactory(name="Lost on price")
    deal_services.opportunity_close_lost(deal, actor=owner, reason=reason, now=now)
    return Review.objects.get(opportunity=deal)


def accepted_review(*, owner, account, process, manager=None, now=None) -> Review:
    if manager is None:
        manager = UserFactory(username="pm-manager", role=Role.MANAGER, manages=[owner.team])
    stage = process.stages.order_by("order").first()
    review = draft_review(owner=owner, account=account, process=process, now=now)
    services.review_save(
        review,
        actor=owner,
        primary_reason=Reason.objects.filter(outcome="lost").first(),
        decisive_milestone=stage.milestones.first(),
        went_right="Quick demo",
        went_wrong="No champion",
        lessons=[{"text": "Find a champion before the demo", "stage": stage}],
        now=now,
    )
    services.review_submit(review, actor=owner, now=now)
    services.review_accept(review, actor=manager, now=now)
    return review
