"""A rep reopens their own deal within the organisation's reopen window (default 7 days after
closing); managers and admins at any time. Reopening asks for the next step, on the page and in
the API."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import EventVerb, Opportunity, OpportunityStatus
from people.access import can_reopen
from people.models import OrgSettings

DAY = dt.timedelta(days=1)


@pytest.fixture
def closed(opportunity, owner, lost_reason, now):
    return services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)


def fresh(opp) -> Opportunity:
    return Opportunity.objects.get(pk=opp.pk)


def test_the_reopen_window_is_an_org_setting_of_seven_days(db):
    assert OrgSettings.current().reopen_days == 7


@pytest.mark.parametrize(("days_later", "allowed"), [(0, True), (7, True), (8, False)])
def test_the_owner_may_reopen_within_the_window(closed, owner, today, days_later, allowed):
    assert can_reopen(owner, fresh(closed), today=today + days_later * DAY) is allowed


def test_managers_may_always_and_teammates_never(closed, manager, teammate, today):
    assert can_reopen(manager, fresh(closed), today=today + 400 * DAY)
    assert not can_reopen(teammate, fresh(closed), today=today)


def test_a_window_of_zero_days_leaves_reopening_to_managers(closed, owner, today):
    OrgSettings.objects.update_or_create(pk=1, defaults={"reopen_days": 0})
    owner = type(owner).objects.get(pk=owner.pk)  # the settings are read once per user object
    assert not can_reopen(owner, fresh(closed), today=today)


def test_the_owner_reopens_with_the_next_step(closed, owner, now):
    opp = services.opportunity_reopen(
        closed, actor=owner, next_description="Call the new CFO", next_due_date=now.date() + 3 * DAY, now=now + 2 * DAY
    )
    assert opp.status == OpportunityStatus.OPEN
    assert opp.next_step.description == "Call the new CFO"
    verbs = list(opp.events.order_by("-id").values_list("verb", flat=True)[:2])
    assert verbs == [EventVerb.NEXT_STEP_SET, EventVerb.REOPENED]


def test_after_the_window_the_owner_is_told_to_ask_their_manager(closed, owner, now):
    with pytest.raises(AccessDenied, match="only within 7 days of closing it; ask your manager"):
        services.opportunity_reopen(closed, actor=owner, waiting_until=now.date() + 20 * DAY, now=now + 8 * DAY)
    assert fresh(closed).status == OpportunityStatus.LOST


@pytest.mark.parametrize(
    "step",
    [{}, {"next_description": "  "}, {"next_description": "Call", "next_due_date": dt.date(2020, 1, 1)}],
    ids=["none", "blank", "due-in-the-past"],
)
def test_reopening_without_a_usable_next_step_changes_nothing(closed, manager, now, step):
    version = fresh(closed).version
    with pytest.raises(DomainError):
        services.opportunity_reopen(closed, actor=manager, now=now, **step)
    opp = fresh(closed)
    assert (opp.status, opp.version, opp.next_step_id) == (OpportunityStatus.LOST, version, None)


# --- the page -------------------------------------------------------------------------------------------------


def test_the_owners_closed_deal_offers_reopen_with_the_next_step_fields(client_for, owner, closed):
    body = client_for(owner).get(reverse("opportunities:detail", args=[closed.pk])).content.decode()
    assert f'action="/deals/{closed.pk}/reopen/"' in body
    assert 'id="reopen-ns-desc"' in body and 'id="reopen-ns-wait"' in body


def test_after_the_window_the_page_says_who_can_reopen(client_for, owner, opportunity, lost_reason, now):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now - 10 * DAY)
    body = client_for(owner).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "/reopen/" not in body
    assert "Closed more than 7 days ago: your manager or an admin can reopen it." in body


def test_the_owner_reopens_from_the_page(client_for, owner, closed, today):
    response = client_for(owner).post(
        reverse("opportunities:reopen", args=[closed.pk]),
        {"description": "Send the revised offer", "due_date": (today + DAY).isoformat()},
    )
    assert response.status_code == 302
    opp = fresh(closed)
    assert opp.is_open and opp.next_step.description == "Send the revised offer"


def test_the_page_refuses_a_reopen_without_a_next_step(client_for, owner, closed):
    response = client_for(owner).post(reverse("opportunities:reopen", args=[closed.pk]), follow=True)
    assert "Say what the next step is" in response.content.decode()
    assert fresh(closed).status == OpportunityStatus.LOST


# --- the API --------------------------------------------------------------------------------------------------


def test_the_owner_reopens_through_the_api_within_the_window(owner, closed, today):
    api = APIClient()
    api.force_login(owner)
    url = reverse("api:opportunity_reopen", args=[closed.pk])
    assert api.post(url, {}, format="json").status_code == 400  # the next step is asked for
    response = api.post(url, {"waiting_until": (today + 5 * DAY).isoformat()}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "open" and response.json()["next_step"]["kind"] == "waiting"
