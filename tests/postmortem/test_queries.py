"""N+1 guards for the post-mortem pages: the same number of queries for few rows as for many
(lessons on a review, reviews in the queue, lessons in the list, deals in the analysis)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities.models import Competitor
from postmortem import services
from postmortem.models import Lesson, Review, ReviewState

from .conftest import fill
from .world import draft_review


def count(client, url, params=None) -> int:
    client.get(url, params or {})  # warm-up: one-off rows such as the organisation settings
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx)


def lessons(review, n):
    stage = review.opportunity.process.stages.order_by("order").first()
    rival = Competitor.objects.get_or_create(name="Rival")[0]
    return [
        {"text": f"Lesson {i}", "stage": stage, "milestone": stage.milestones.first(), "competitor": rival}
        for i in range(n)
    ]


def test_the_review_page_does_not_grow_with_its_lessons(client_for, lost_review, owner, now):
    client = client_for(owner)
    url = reverse("postmortem:review", args=[lost_review.pk])
    fill(lost_review, owner, lessons=lessons(lost_review, 2), now=now)
    small = count(client, url)
    fill(lost_review, owner, lessons=lessons(lost_review, 15), now=now)
    assert count(client, url) == small
    assert small <= 20


def test_the_queue_and_lessons_pages_do_not_grow_with_rows(client_for, owner, manager, account, process, now):
    def add(n):
        for _ in range(n):
            review = draft_review(owner=owner, account=account, process=process, name=f"Deal {Review.objects.count()}")
            fill(review, owner, lessons=lessons(review, 2), now=now)
            services.review_submit(review, actor=owner, now=now)
            services.review_accept(review, actor=manager, now=now)

    client = client_for(manager)
    add(2)
    queue, lesson_list = count(client, reverse("postmortem:queue")), count(client, reverse("postmortem:lessons"))
    add(8)
    assert Review.objects.filter(state=ReviewState.ACCEPTED).count() == 10 and Lesson.objects.count() == 20
    assert count(client, reverse("postmortem:queue")) == queue
    assert count(client, reverse("postmortem:lessons")) == lesson_list


@pytest.mark.parametrize("viewer", ["manager", "admin"])
def test_the_analysis_does_not_grow_with_deals(request, client_for, owner, account, process, now, viewer):
    client = client_for(request.getfixturevalue(viewer))
    draft_review(owner=owner, account=account, process=process, name="First")
    small = count(client, reverse("postmortem:winloss"))
    for i in range(8):
        draft_review(owner=owner, account=account, process=process, name=f"More {i}")
    assert count(client, reverse("postmortem:winloss")) == small
    assert count(client, reverse("postmortem:winloss_deals"), {"outcome": "lost"}) <= 12
