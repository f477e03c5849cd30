"""The review API: the same services and rules as the pages."""

from django.urls import reverse

from postmortem.models import Lesson, Reason, Review

from .conftest import fill


def url(name, *args):
    return reverse(f"postmortem_api:{name}", args=args)


def test_the_owner_writes_submits_and_the_manager_accepts(api_for, lost_review, owner, manager):
    stage = lost_review.opportunity.process.stages.order_by("order").first()
    body = {
        "primary_reason": Reason.objects.filter(outcome="lost").first().pk,
        "decisive_milestone": stage.milestones.first().pk,
        "went_right": "Fast",
        "went_wrong": "Slow legal",
        "lessons": [{"text": "Start legal early", "stage": stage.pk, "buying_role": "economic_buyer"}],
    }
    response = api_for(owner).patch(url("review_detail", lost_review.pk), body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["lessons"][0]["text"] == "Start legal early"
    # A PATCH of one field keeps the others.
    api_for(owner).patch(url("review_detail", lost_review.pk), {"went_right": "Very fast"}, format="json")
    review = Review.objects.get(pk=lost_review.pk)
    assert (review.went_right, review.went_wrong, Lesson.objects.count()) == ("Very fast", "Slow legal", 1)
    assert api_for(owner).post(url("review_submit", lost_review.pk)).json()["state"] == "submitted"
    assert api_for(owner).post(url("review_accept", lost_review.pk)).status_code == 403
    response = api_for(manager).post(url("review_accept", lost_review.pk), {"comments": "Good"}, format="json")
    assert response.json()["state"] == "accepted"


def test_incomplete_submit_is_400_naming_the_fields(api_for, lost_review, owner):
    response = api_for(owner).post(url("review_submit", lost_review.pk))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Before submitting, fill in: primary reason")


def test_bad_input_is_400_and_changes_nothing(api_for, lost_review, owner):
    before = Review.objects.filter(pk=lost_review.pk).values().get()
    for body in (
        {"primary_reason": 10**30},
        {"primary_reason": Reason.objects.filter(outcome="won").first().pk},
        {"lessons": [{"text": "", "stage": 1}]},
        {"lessons": [{"text": "x", "stage": 999999}]},
        {"went_right": "x" * 6000},
    ):
        response = api_for(owner).patch(url("review_detail", lost_review.pk), body, format="json")
        assert response.status_code == 400, body
    assert Review.objects.filter(pk=lost_review.pk).values().get() == before


def test_access(api_for, lost_review, owner, teammate, outsider, manager):
    assert api_for(teammate).get(url("review_detail", lost_review.pk)).status_code == 404
    assert api_for(outsider).get(url("review_list")).json()["results"] == []
    assert api_for(manager).patch(url("review_detail", lost_review.pk), {}, format="json").status_code == 403
    assert [r["id"] for r in api_for(owner).get(url("review_list")).json()["results"]] == [lost_review.pk]


def test_lessons_for_a_deal(api_for, lost_review, owner, manager, teammate, opportunity, now, process):
    from opportunities import services as deal_services
    from postmortem import services

    fill(lost_review, owner, now=now)
    services.review_submit(lost_review, actor=owner, now=now)
    services.review_accept(lost_review, actor=manager, now=now)
    deal = deal_services.opportunity_create(
        actor=teammate,
        account=opportunity.account,
        process=process,
        name="Open one",
        amount="10",
        expected_close_date=now.date(),
        now=now,
    )
    data = api_for(teammate).get(url("deal_lessons", deal.pk)).json()
    assert [(d["text"], d["relevance"]) for d in data] == [("Meet the economic buyer early", 4)]
