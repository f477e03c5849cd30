"""The post-mortem workflow: every close opens one review in its transaction, a reopen cancels an
unfinished one, and each transition checks who acts and from which state, with an audit row."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services as deal_services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import Opportunity
from people.models import OrgSettings
from postmortem import services
from postmortem.models import Lesson, LessonEndorsement, Reason, Review, ReviewEvent
from tests.factories import OpportunityFactory

from .conftest import fill, tick_all


def reviews(opp):
    return list(Review.objects.filter(opportunity=opp).order_by("id"))


# --- opened by every close ------------------------------------------------------------------------


def test_close_lost_opens_one_draft_review_for_the_owner_due_in_the_org_setting(
    opportunity, owner, manager, lost_reason, now
):
    settings = OrgSettings.current()
    settings.review_due_days = 10
    settings.save()
    deal_services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    [review] = reviews(opportunity)
    assert (review.state, review.outcome, review.is_current) == ("draft", "lost", True)
    assert review.author == owner and review.reviewer == manager
    assert review.due_on == now.date() + dt.timedelta(days=10)
    assert list(ReviewEvent.objects.filter(review=review).values_list("verb", flat=True)) == ["opened"]


def test_close_won_opens_a_won_review(opportunity, owner, now):
    tick_all(opportunity, owner, now)
    deal_services.opportunity_close_won(opportunity, actor=owner, now=now)
    [review] = reviews(opportunity)
    assert review.outcome == "won"


def test_the_close_page_opens_exactly_one_review(client_for, opportunity, owner, lost_reason):
    response = client_for(owner).post(
        reverse("opportunities:close_lost", args=[opportunity.pk]), {"reason": lost_reason.pk}
    )
    assert response.status_code == 302
    assert len(reviews(opportunity)) == 1


def test_the_won_page_opens_exactly_one_review(client_for, opportunity, owner):
    tick_all(opportunity, owner)
    client_for(owner).post(reverse("opportunities:close_won", args=[opportunity.pk]), {})
    assert [r.outcome for r in reviews(opportunity)] == ["won"]


def test_the_close_api_opens_exactly_one_review(opportunity, owner, lost_reason):
    client = APIClient()
    client.force_login(owner)
    response = client.post(
        reverse("api:opportunity_close_lost", args=[opportunity.pk]), {"reason": lost_reason.pk}, format="json"
    )
    assert response.status_code == 200
    assert len(reviews(opportunity)) == 1


def test_bulk_close_lost_opens_one_review_per_deal_on_the_page_and_the_api(
    client_for, opportunity, owner, manager, lost_reason
):
    second = OpportunityFactory(owner=owner, account=opportunity.account, process=opportunity.process)
    response = client_for(owner).post(
        reverse("opportunities:bulk"), {"action": "close_lost", "ids": [opportunity.pk], "reason": lost_reason.pk}
    )
    assert response.status_code == 302
    client = APIClient()
    client.force_login(manager)
    response = client.post(
        reverse("api:opportunity_bulk"),
        {"action": "close_lost", "ids": [second.pk], "reason": lost_reason.pk},
        format="json",
    )
    assert response.status_code == 200 and response.json()["done"] == [second.pk]
    assert [len(reviews(opportunity)), len(reviews(second))] == [1, 1]


def test_a_refused_close_opens_no_review(opportunity, owner):
    with pytest.raises(DomainError):
        deal_services.opportunity_close_won(opportunity, actor=owner)  # milestones missing
    assert reviews(opportunity) == []


def test_reopen_cancels_the_unfinished_review_and_closing_again_opens_a_new_one(
    opportunity, owner, manager, lost_reason, now
):
    deal_services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    opp = Opportunity.objects.get(pk=opportunity.pk)
    deal_services.opportunity_reopen(
        opp, actor=manager, next_description="Call the buyer back", next_due_date=now.date(), now=now
    )
    [first] = reviews(opportunity)
    assert (first.state, first.is_current) == ("cancelled", False)
    deal_services.opportunity_close_lost(opp, actor=owner, reason=lost_reason, now=now)
    first, second = reviews(opportunity)
    assert (first.is_current, second.is_current, second.state) == (False, True, "draft")


def test_reopen_keeps_an_accepted_review(lost_review, owner, manager, now):
    fill(lost_review, owner, now=now)
    services.review_submit(lost_review, actor=owner, now=now)
    services.review_accept(lost_review, actor=manager, now=now)
    deal_services.opportunity_reopen(
        Opportunity.objects.get(pk=lost_review.opportunity_id),
        actor=manager,
        next_description="Call the buyer back",
        next_due_date=now.date(),
        now=now,
    )
    assert Review.objects.get(pk=lost_review.pk).state == "accepted"


# --- the transitions and who may make them --------------------------------------------------------


def test_the_happy_path_writes_an_audit_row_per_step(lost_review, owner, manager, now):
    fill(lost_review, owner, now=now)
    services.review_submit(lost_review, actor=owner, now=now)
    services.review_request_changes(lost_review, actor=manager, comments="Which buyer?", now=now)
    fill(lost_review, owner, now=now)
    services.review_submit(lost_review, actor=owner, now=now)
    services.review_accept(lost_review, actor=manager, comments="Good", now=now)
    services.review_close(lost_review, actor=manager, now=now)
    rows = list(ReviewEvent.objects.filter(review=lost_review).order_by("id").values_list("verb", "to_state"))
    assert rows == [
        ("opened", "draft"),
        ("saved", "draft"),
        ("submitted", "submitted"),
        ("sent back", "changes_requested"),
        ("saved", "changes_requested"),
        ("submitted", "submitted"),
        ("accepted", "accepted"),
        ("closed", "closed"),
    ]
    assert Review.objects.get(pk=lost_review.pk).manager_comments == "Good"


def _in_state(review, state, owner, manager, now):
    """`review`, complete, moved to `state` by its owner and their manager."""
    fill(review, owner, now=now)
    if state == "draft":
        return review
    services.review_submit(review, actor=owner, now=now)
    if state == "changes_requested":
        services.review_request_changes(review, actor=manager, comments="More", now=now)
    if state in ("accepted", "closed"):
        services.review_accept(review, actor=manager, now=now)
    if state == "closed":
        services.review_close(review, actor=manager, now=now)
    return review


ACTIONS = {
    "save": lambda r, u, now: fill(r, u, now=now),
    "submit": lambda r, u, now: services.review_submit(r, actor=u, now=now),
    "request_changes": lambda r, u, now: services.review_request_changes(r, actor=u, comments="x", now=now),
    "accept": lambda r, u, now: services.review_accept(r, actor=u, now=now),
    "close": lambda r, u, now: services.review_close(r, actor=u, now=now),
}
# (action, state the review is in) → who may do it; everyone else is refused.
ALLOWED = {
    ("save", "draft"): {"owner", "admin"},
    ("save", "changes_requested"): {"owner", "admin"},
    ("submit", "draft"): {"owner", "admin"},
    ("submit", "changes_requested"): {"owner", "admin"},
    ("request_changes", "submitted"): {"manager", "admin"},
    ("accept", "submitted"): {"manager", "admin"},
    ("close", "accepted"): {"manager", "admin"},
}
STATES = ("draft", "submitted", "changes_requested", "accepted", "closed")


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("persona", ["owner", "teammate", "manager", "outsider", "admin"])
def test_who_may_do_what_from_which_state(action, state, persona, request, lost_review, owner, manager, now):
    review = _in_state(lost_review, state, owner, manager, now)
    actor = request.getfixturevalue(persona)

    def stored():
        return Review.objects.filter(pk=review.pk).values().get(), ReviewEvent.objects.count(), Lesson.objects.count()

    before = stored()
    if persona in ALLOWED.get((action, state), set()):
        ACTIONS[action](Review.objects.get(pk=review.pk), actor, now)
        assert ReviewEvent.objects.count() == before[1] + 1
    else:
        with pytest.raises(DomainError):  # AccessDenied is a DomainError
            ACTIONS[action](Review.objects.get(pk=review.pk), actor, now)
        assert stored() == before


def test_an_incomplete_submit_names_what_is_missing_and_changes_nothing(lost_review, owner):
    with pytest.raises(DomainError) as exc:
        services.review_submit(lost_review, actor=owner)
    assert exc.value.message == (
        "Before submitting, fill in: primary reason, decisive milestone, what went right, what went wrong, "
        "at least one lesson."
    )
    assert Review.objects.get(pk=lost_review.pk).state == "draft"


def test_editing_a_closed_review_is_refused_with_a_message(lost_review, owner, manager, now):
    _in_state(lost_review, "closed", owner, manager, now)
    with pytest.raises(DomainError, match="closed; it can no longer be edited"):
        fill(Review.objects.get(pk=lost_review.pk), owner, now=now)


def test_a_won_reason_is_refused_on_a_lost_review(lost_review, owner):
    won = Reason.objects.filter(outcome="won").first()
    with pytest.raises(DomainError, match="not a reason a deal is lost"):
        services.review_save(lost_review, actor=owner, primary_reason=won)


def test_the_lost_taxonomy_starts_as_the_lost_reasons(db):
    from opportunities.models import LostReason

    assert set(Reason.objects.filter(outcome="lost").values_list("name", flat=True)) >= set(
        LostReason.objects.values_list("name", flat=True)
    )
    assert Reason.objects.filter(outcome="won").exists()


# --- lessons: endorse once, retire by a manager --------------------------------------------------


def test_endorse_once_and_retire_by_the_manager(lost_review, owner, teammate, manager, outsider, now):
    _in_state(lost_review, "accepted", owner, manager, now)
    lesson = Lesson.objects.get()
    services.lesson_endorse(lesson, actor=teammate, now=now)
    with pytest.raises(DomainError, match="already endorsed"):
        services.lesson_endorse(lesson, actor=teammate, now=now)
    with pytest.raises(DomainError, match="your own"):
        services.lesson_endorse(lesson, actor=owner, now=now)
    with pytest.raises(DomainError, match="not shown"):
        services.lesson_endorse(lesson, actor=outsider, now=now)
    assert LessonEndorsement.objects.count() == 1
    with pytest.raises(AccessDenied):
        services.lesson_retire(lesson, actor=teammate, now=now)
    services.lesson_retire(lesson, actor=manager, now=now)
    assert Lesson.objects.shown().count() == 0
    with pytest.raises(DomainError):
        services.lesson_retire(lesson, actor=manager, now=now)


def test_lessons_of_an_unaccepted_review_are_not_shown(lost_review, owner, teammate, now):
    fill(lost_review, owner, now=now)
    assert Lesson.objects.shown().count() == 0
    assert Lesson.objects.for_user(teammate).count() == 0
    assert Lesson.objects.for_user(owner).count() == 1
