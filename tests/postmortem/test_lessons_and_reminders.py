"""Lessons where they help (the deal page's panel, matched by tags, most relevant first) and
overdue reviews reminded through pipeline's notifications and daily digest."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from opportunities import services as deal_services
from opportunities.models import BuyingTeamMember
from pipeline.models import Notification
from pipeline.notify.digest import digest_send_all
from pipeline.notify.reminders import reminders_notify
from postmortem import services
from postmortem.lessons import lessons_for_deal
from postmortem.models import Lesson, Review
from stages.models import Stage
from tests.factories import AccountFactory, ContactFactory

from .conftest import fill


@pytest.fixture
def accepted(lost_review, owner, manager, rival, now):
    """The owner's accepted review, teaching four lessons with different tags."""
    qualify, discover, propose = Stage.objects.filter(process=lost_review.opportunity.process).order_by("order")
    lessons = [
        {"text": "Qualify budget first", "stage": qualify},
        {"text": "Counter Rival's discount in Propose", "stage": propose, "competitor": rival},
        {"text": "Retail buys in Q4", "stage": propose, "industry": "Retail"},
        {"text": "Demo to the champion", "stage": discover, "milestone": discover.milestones.order_by("order").first()},
    ]
    fill(lost_review, owner, lessons=lessons, now=now)
    services.review_submit(lost_review, actor=owner, now=now)
    services.review_accept(lost_review, actor=manager, now=now)
    return lost_review


def open_deal(owner, process, name, *, industry="", now=None):
    account = AccountFactory(owner=owner, industry=industry)
    return deal_services.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name=name,
        amount="100",
        expected_close_date=dt.date(2026, 6, 1),
        now=now,
    )


def texts(deal, user):
    deal.refresh_from_db()
    return [lesson.text for lesson in lessons_for_deal(deal, user)]


def test_lessons_match_the_deals_they_apply_to(accepted, owner, teammate, outsider, process, rival, now):
    qualify_deal = open_deal(teammate, process, "In Qualify", now=now)
    # In Qualify every milestone of Discover is still ahead: its lesson matches too, below the stage's.
    assert texts(qualify_deal, teammate) == ["Qualify budget first", "Demo to the champion"]
    retail = open_deal(teammate, process, "Retail deal", industry="retail", now=now)
    deal_services.deal_competitor_set(retail, actor=teammate, competitor=rival, now=now)
    # Stage (4) before a milestone ahead or a competitor (3, the newer first), then industry (2).
    assert texts(retail, teammate) == [
        "Qualify budget first",
        "Demo to the champion",
        "Counter Rival's discount in Propose",
        "Retail buys in Q4",
    ]
    # Another team's rep reads none of this team's lessons.
    other = open_deal(outsider, process, "Elsewhere", now=now)
    assert texts(other, outsider) == []


def test_buying_roles_match_and_retired_lessons_go(accepted, owner, teammate, manager, process, now):
    stage = Stage.objects.get(process=process, name="Propose")
    review = Review.objects.get(pk=accepted.pk)
    Lesson.objects.create(review=review, text="Bring the CFO", stage=stage, buying_role="economic_buyer")
    deal = open_deal(teammate, process, "Roles", now=now)
    assert "Bring the CFO" not in texts(deal, teammate)
    BuyingTeamMember.objects.create(
        opportunity=deal, contact=ContactFactory(account=deal.account), roles=["economic_buyer"]
    )
    assert "Bring the CFO" in texts(deal, teammate)
    services.lesson_retire(Lesson.objects.get(text="Bring the CFO"), actor=manager, now=now)
    assert "Bring the CFO" not in texts(deal, teammate)


def test_the_deal_page_shows_lessons_most_endorsed_first_among_equals(
    client_for, accepted, owner, teammate, manager, process, now
):
    deal = open_deal(teammate, process, "Page", now=now)
    client = client_for(teammate)
    detail = reverse("opportunities:detail", args=[deal.pk])
    panel = reverse("opportunities:panel", args=[deal.pk, "lessons"])
    # The page holds the lessons' heading and loads them right after itself...
    page = client.get(detail).content.decode()
    assert "Lessons from closed deals" in page and f'hx-get="{panel}"' in page
    assert "Qualify budget first" not in page
    loaded = client.get(panel, headers={"HX-Request": "true"}).content.decode()
    assert "Qualify budget first" in loaded and "Endorse" in loaded
    # ...or, without JavaScript, the link asks for the page with them in it.
    assert f'href="{detail}?panel=lessons#lessons"' in page
    assert client.get(panel).url == f"{detail}?panel=lessons#lessons"
    services.lesson_endorse(Lesson.objects.get(text="Qualify budget first"), actor=teammate, now=now)
    page = client.get(f"{detail}?panel=lessons").content.decode()
    assert "Qualify budget first" in page and "You endorsed this." in page


def test_a_lazy_panel_is_only_for_those_who_see_the_deal(client_for, accepted, teammate, outsider, process, now):
    deal = open_deal(teammate, process, "Hidden", now=now)
    hx = {"HX-Request": "true"}
    assert (
        client_for(outsider).get(reverse("opportunities:panel", args=[deal.pk, "lessons"]), headers=hx).status_code
        == 404
    )
    unknown = reverse("opportunities:panel", args=[deal.pk, "nothing"])
    assert client_for(teammate).get(unknown, headers=hx).status_code == 404


def test_overdue_reviews_are_notified_once_and_in_the_digest(lost_review, owner, manager, now, settings):
    settings.SITE_URL = "https://lockstep.example.com"
    assert reminders_notify(now=now) == 0  # not due yet
    later = now + dt.timedelta(days=8)
    assert reminders_notify(now=later) == 2  # the owner and their manager
    assert reminders_notify(now=later) == 0
    notes = Notification.objects.filter(message__contains="overdue")
    assert sorted(n.user_id for n in notes) == sorted([owner.pk, manager.pk])
    assert notes.first().url == reverse("postmortem:review", args=[lost_review.pk])
    digest_send_all(now=later)
    owner_mail = next(m for m in mail.outbox if m.to == [owner.email])
    assert "Reminders:" in owner_mail.body and "post-mortem of Acme rollout is overdue" in owner_mail.body
    assert owner_mail.subject.startswith("Lockstep: reminders for")


def test_a_submitted_review_is_not_overdue(lost_review, owner, now):
    fill(lost_review, owner, now=now)
    services.review_submit(lost_review, actor=owner, now=now)
    assert reminders_notify(now=now + dt.timedelta(days=30)) == 0


def test_the_reminder_task_is_scheduled_hourly(settings):
    from pipeline.tasks import send_reminders

    assert settings.CELERY_BEAT_SCHEDULE["send-reminders"]["task"] == send_reminders.name


def test_the_lessons_cost_the_same_queries_however_many_show(
    accepted, teammate, process, rival, now, django_assert_max_num_queries
):
    deal = open_deal(teammate, process, "Counted", now=now)
    deal_services.deal_competitor_set(deal, actor=teammate, competitor=rival, now=now)
    # On its own: the team's roles, the deal's competitors and the reader's managed teams, then the
    # lessons with their milestones, competitors and deals: one query each, with 4 lessons or 5.
    with django_assert_max_num_queries(3 + 4):
        shown = lessons_for_deal(type(deal).objects.select_related("stage", "account").get(pk=deal.pk), teammate)
    assert {lesson.milestone is not None for lesson in shown} == {True, False}
    assert any(lesson.competitor == rival for lesson in shown)
    review = Review.objects.get(pk=accepted.pk)
    for i in range(6):
        Lesson.objects.create(review=review, text=f"More {i}", stage=deal.stage, competitor=rival)
    fresh = type(deal).objects.select_related("stage", "account").get(pk=deal.pk)
    with django_assert_max_num_queries(3 + 4):
        assert len(lessons_for_deal(fresh, teammate)) == 5


def test_only_the_newest_matching_lessons_are_ranked(accepted, teammate, process, now, monkeypatch):
    import postmortem.lessons

    deal = open_deal(teammate, process, "Newest", now=now)
    review = Review.objects.get(pk=accepted.pk)
    # Two lessons a day newer than the four the review taught, matching the deal by its stage.
    for i in range(2):
        Lesson.objects.create(review=review, text=f"Newer {i}", stage=deal.stage, created_at=now + dt.timedelta(days=1))
    assert "Qualify budget first" in texts(deal, teammate)
    # When only the two newest matching lessons are ranked, the older ones drop out, however relevant.
    monkeypatch.setattr(postmortem.lessons, "CANDIDATES", 2)
    assert sorted(texts(deal, teammate)) == ["Newer 0", "Newer 1"]
