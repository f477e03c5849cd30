"""The demo company's post-mortems: every state, a few dozen lessons shown on its deals."""

import pytest

from postmortem.models import Lesson, Review, ReviewState

pytestmark = pytest.mark.django_db


def expect_reviews_in_every_state_and_lessons():
    """Run on the demo company seeded once for every app (tests/test_demo_company.py)."""
    states = set(Review.objects.values_list("state", flat=True))
    assert states == set(ReviewState.values)
    assert Review.objects.filter(is_current=True).count() == Review.objects.values("opportunity").distinct().count()
    assert Lesson.objects.shown().count() >= 24


def test_the_seeder_works_on_the_drafts_that_closes_through_the_services_opened(
    opportunity, owner, manager, admin, lost_reason, now
):
    from opportunities import services as deal_services
    from postmortem.demo import seed_postmortem_demo

    deal_services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    seed_postmortem_demo(seed=1, now=now)
    reviews = Review.objects.filter(opportunity=opportunity)
    assert reviews.filter(is_current=True).count() == 1
    assert set(reviews.values_list("state", flat=True)) == {"cancelled", "submitted"}
