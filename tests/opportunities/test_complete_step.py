"""Completing a next step says what follows: a following step, "waiting on the buyer until …", or
"the deal is closing" (service, page and API)."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services
from opportunities.errors import DomainError
from opportunities.models import NextStep, NextStepKind, Opportunity, OpportunityEvent

DAY = dt.timedelta(days=1)


@pytest.fixture
def stepped(opportunity, owner, now):
    services.next_step_set(opportunity, actor=owner, description="Send proposal", due_date=now.date() + DAY, now=now)
    return Opportunity.objects.get(pk=opportunity.pk)


def open_step(opp) -> NextStep:
    return NextStep.objects.get(opportunity=opp, completed_at__isnull=True)


def test_done_and_the_deal_is_closing(stepped, owner, now):
    step = services.next_step_complete(stepped, actor=owner, closing=True, now=now)
    assert (step.description, step.kind, step.due_date) == (
        services.CLOSING_STEP,
        NextStepKind.ACTION,
        stepped.expected_close_date,
    )
    done = OpportunityEvent.objects.filter(opportunity=stepped, verb="next_step_completed").get()
    assert done.data["then"] == "closing"
    assert done.describe() == "Completed next step: Send proposal — the deal is closing"


def test_closing_after_the_expected_close_date_is_due_today(stepped, owner, now):
    Opportunity.objects.filter(pk=stepped.pk).update(expected_close_date=now.date() - 5 * DAY)
    step = services.next_step_complete(stepped, actor=owner, closing=True, now=now)
    assert step.due_date == now.date()


def test_closing_with_a_following_step_too_is_refused(stepped, owner, now):
    with pytest.raises(DomainError, match="not both"):
        services.next_step_complete(stepped, actor=owner, closing=True, next_description="Call", now=now)
    assert open_step(stepped).description == "Send proposal"


def test_done_waiting_on_the_buyer(stepped, owner, now):
    step = services.next_step_complete(stepped, actor=owner, waiting_until=now.date() + 9 * DAY, now=now)
    assert step.kind == NextStepKind.WAITING
    done = OpportunityEvent.objects.filter(opportunity=stepped, verb="next_step_completed").get()
    assert done.describe() == "Completed next step: Send proposal — now waiting on the buyer"


# --- the page -------------------------------------------------------------------------------------------------


def url(opp) -> str:
    return reverse("opportunities:next_step_complete", args=[opp.pk])


def test_the_form_offers_the_three_ways_a_step_ends(client_for, owner, stepped):
    body = client_for(owner).get(url(stepped)).content.decode()
    assert "Complete and commit the next one" in body
    assert 'name="then" value="waiting"' in body and 'name="then" value="closing"' in body


def test_the_closing_button_needs_nothing_else_and_goes_to_move_or_close(client_for, owner, stepped, today):
    # What was typed in the other fields before choosing does not get in the way.
    response = client_for(owner).post(url(stepped), {"then": "closing", "description": "half-typed"})
    assert response.status_code == 302 and response["Location"].endswith("#stage-actions")
    assert open_step(stepped).description == services.CLOSING_STEP


def test_the_waiting_button_takes_the_date(client_for, owner, stepped, today):
    response = client_for(owner).post(
        url(stepped), {"then": "waiting", "waiting_until": (today + 4 * DAY).isoformat()}, follow=True
    )
    assert f"Done — waiting on the buyer until {(today + 4 * DAY).isoformat()}." in response.content.decode()
    assert open_step(stepped).kind == NextStepKind.WAITING


def test_the_waiting_button_without_a_date_says_so(client_for, owner, stepped):
    response = client_for(owner).post(url(stepped), {"then": "waiting"})
    assert response.status_code == 400
    assert "Say until when you wait on the buyer." in response.content.decode()
    assert open_step(stepped).description == "Send proposal"


# --- the API --------------------------------------------------------------------------------------------------


def test_the_api_completes_with_closing(owner, stepped):
    api = APIClient()
    api.force_login(owner)
    endpoint = reverse("api:next_step_complete", args=[stepped.pk])
    refused = api.post(endpoint, {"closing": True, "next_description": "Call"}, format="json")
    assert refused.status_code == 400
    response = api.post(endpoint, {"closing": True}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["description"] == services.CLOSING_STEP
