"""The review page, the queue and the lessons pages, through the HTML views."""

from django.urls import reverse

from postmortem.models import Lesson, Reason, Review, ReviewEvent

from .conftest import fill


def form_data(review, *, submit=False, lesson="Meet the buyer early", **overrides):
    stage = review.opportunity.process.stages.order_by("order").first()
    data = {
        "primary_reason": Reason.objects.filter(outcome=review.outcome).first().pk,
        "decisive_milestone": stage.milestones.first().pk,
        "competitor_decisive": "no",
        "went_right": "Quick demo",
        "went_wrong": "No champion",
        "lessons-TOTAL_FORMS": "2",
        "lessons-INITIAL_FORMS": "0",
        "lessons-0-text": lesson,
        "lessons-0-stage": stage.pk,
        **overrides,
    }
    if submit:
        data["submit"] = "1"
    return data


def test_the_owner_writes_and_submits_through_the_page(client_for, lost_review, owner):
    client = client_for(owner)
    url = reverse("postmortem:review", args=[lost_review.pk])
    page = client.get(url).content.decode()
    assert "What the deal's history says" in page and "Submit to manager" in page
    response = client.post(url, form_data(lost_review, submit=True))
    assert response.status_code == 302
    review = Review.objects.get(pk=lost_review.pk)
    assert review.state == "submitted"
    assert list(Lesson.objects.values_list("text", flat=True)) == ["Meet the buyer early"]


def test_an_incomplete_submit_names_the_missing_fields_and_saves_nothing(client_for, lost_review, owner):
    url = reverse("postmortem:review", args=[lost_review.pk])
    events = ReviewEvent.objects.count()
    response = client_for(owner).post(url, form_data(lost_review, submit=True, went_wrong="", **{"lessons-0-text": ""}))
    assert response.status_code == 400
    assert "Before submitting, fill in: what went wrong, at least one lesson." in response.content.decode()
    review = Review.objects.get(pk=lost_review.pk)
    assert (review.state, review.went_right, ReviewEvent.objects.count()) == ("draft", "", events)


def test_a_lesson_without_a_stage_is_refused_beside_it(client_for, lost_review, owner):
    url = reverse("postmortem:review", args=[lost_review.pk])
    response = client_for(owner).post(url, form_data(lost_review, **{"lessons-0-stage": ""}))
    assert response.status_code == 400
    assert "Tag the lesson with the stage it applies to." in response.content.decode()


def test_a_teammate_cannot_read_a_draft_and_the_manager_cannot_write_it(client_for, lost_review, teammate, manager):
    url = reverse("postmortem:review", args=[lost_review.pk])
    assert client_for(teammate).get(url).status_code == 404
    assert client_for(manager).get(url).status_code == 200
    assert client_for(manager).post(url, form_data(lost_review)).status_code == 403


def test_the_manager_accepts_and_the_owner_can_no_longer_edit(client_for, lost_review, owner, manager, now):
    fill(lost_review, owner, now=now)
    client_for(owner).post(reverse("postmortem:review", args=[lost_review.pk]), form_data(lost_review, submit=True))
    decide = reverse("postmortem:review_decide", args=[lost_review.pk])
    assert client_for(manager).post(decide, {"decision": "accept", "comments": "Well done"}).status_code == 302
    assert Review.objects.get(pk=lost_review.pk).state == "accepted"
    client_for(manager).post(reverse("postmortem:review_close", args=[lost_review.pk]))
    response = client_for(owner).post(reverse("postmortem:review", args=[lost_review.pk]), form_data(lost_review))
    assert response.status_code == 400
    assert "closed; it can no longer be edited" in response.content.decode()


def test_request_changes_needs_a_comment(client_for, lost_review, owner, manager, now):
    fill(lost_review, owner, now=now)
    client_for(owner).post(reverse("postmortem:review", args=[lost_review.pk]), form_data(lost_review, submit=True))
    decide = reverse("postmortem:review_decide", args=[lost_review.pk])
    response = client_for(manager).post(decide, {"decision": "request_changes"}, follow=True)
    assert "Say what should change." in response.content.decode()
    assert Review.objects.get(pk=lost_review.pk).state == "submitted"


def test_the_queue_lists_the_team_for_the_manager_and_own_for_the_rep(client_for, lost_review, manager, teammate):
    assert "Acme rollout" in client_for(manager).get(reverse("postmortem:queue")).content.decode()
    assert "Acme rollout" not in client_for(teammate).get(reverse("postmortem:queue")).content.decode()
    response = client_for(manager).get(reverse("postmortem:queue"), {"state": "bogus"})
    assert response.status_code == 200


def test_lessons_page_endorse_and_retire(client_for, lost_review, owner, teammate, manager, now):
    from postmortem import services

    fill(lost_review, owner, now=now)
    services.review_submit(lost_review, actor=owner, now=now)
    services.review_accept(lost_review, actor=manager, now=now)
    lesson = Lesson.objects.get()
    page = client_for(teammate).get(reverse("postmortem:lessons")).content.decode()
    assert "Meet the economic buyer early" in page
    client_for(teammate).post(reverse("postmortem:lesson_endorse", args=[lesson.pk]), {"next": "https://evil.example/"})
    assert lesson.endorsements.count() == 1
    assert client_for(teammate).post(reverse("postmortem:lesson_retire", args=[lesson.pk])).status_code == 403
    assert client_for(manager).post(reverse("postmortem:lesson_retire", args=[lesson.pk])).status_code == 302
    assert Lesson.objects.get().retired_at is not None
