"""What is written when a deal closes ("why we won", the lost notes) is shown on the deal, in its
history and in the API, never accepted and then lost."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services
from opportunities.models import OpportunityEvent
from stages.models import Milestone


def tick_all(opp, actor, now):
    for milestone in Milestone.objects.filter(stage__process=opp.process_id, is_required=True):
        services.milestone_tick(opp, actor=actor, milestone=milestone, now=now)


@pytest.fixture
def won(opportunity, owner, now):
    tick_all(opportunity, owner, now)
    return services.opportunity_close_won(opportunity, actor=owner, notes="Champion <b>carried</b> it", now=now)


@pytest.fixture
def lost(opportunity, owner, lost_reason, now):
    return services.opportunity_close_lost(
        opportunity, actor=owner, reason=lost_reason, notes="Went with the incumbent", now=now
    )


def test_the_deal_page_shows_why_we_won(client_for, owner, won):
    body = client_for(owner).get(reverse("opportunities:detail", args=[won.pk])).content.decode()
    assert 'id="close-notes"' in body and "Why we won" in body
    assert "Champion &lt;b&gt;carried&lt;/b&gt; it" in body  # escaped, as every user string


def test_the_deal_page_shows_the_lost_reason_and_notes(client_for, teammate, lost):
    body = client_for(teammate).get(reverse("opportunities:detail", args=[lost.pk])).content.decode()
    assert "Why we lost" in body and "Went with the incumbent" in body and "Price" in body


def test_an_open_deal_has_no_close_notes_card(client_for, owner, opportunity):
    body = client_for(owner).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert 'id="close-notes"' not in body


def test_the_history_says_what_was_written_when_closing(won, lost_reason, owner, process, account, now):
    event = OpportunityEvent.objects.get(opportunity=won, verb="closed_won")
    assert event.describe().endswith("— why we won: Champion <b>carried</b> it")
    other = services.opportunity_create(
        actor=owner, account=account, process=process, name="B", amount=1, expected_close_date=now.date(), now=now
    )
    services.opportunity_close_lost(other, actor=owner, reason=lost_reason, notes="Too dear", now=now)
    event = OpportunityEvent.objects.get(opportunity=other, verb="closed_lost")
    assert event.describe() == "Closed lost in Qualify: Price — notes: Too dear"


def test_no_notes_no_dangling_label(opportunity, owner, now):
    tick_all(opportunity, owner, now)
    services.opportunity_close_won(opportunity, actor=owner, now=now)
    assert OpportunityEvent.objects.get(opportunity=opportunity, verb="closed_won").describe() == (
        "Closed won in Propose (from Qualify; skipped Discover)"
    )


def test_the_api_shows_the_notes_on_the_deal_and_in_its_events(owner, won):
    api = APIClient()
    api.force_login(owner)
    deal = api.get(reverse("api:opportunity_detail", args=[won.pk])).json()
    assert deal["close_notes"] == "Champion <b>carried</b> it"
    events = api.get(reverse("api:opportunity_events", args=[won.pk])).json()["results"]
    closing = next(e for e in events if e["verb"] == "closed_won")
    assert closing["data"]["notes"] == "Champion <b>carried</b> it"
    assert "why we won: Champion" in closing["description"]


# --- closing won before the last stage --------------------------------------------------------------


def test_closing_won_early_moves_the_deal_to_the_last_stage(opportunity, owner, process, now):
    tick_all(opportunity, owner, now)
    opp = services.opportunity_close_won(opportunity, actor=owner, now=now)
    propose = process.stages.order_by("order").last()
    opp.refresh_from_db()
    assert (opp.stage, opp.closed_stage, opp.furthest_stage) == (propose, propose, propose)
    moved, won = OpportunityEvent.objects.filter(opportunity=opp).order_by("-id")[:2][::-1]
    assert moved.verb == "stage_moved" and moved.to_stage == propose and moved.from_stage.name == "Qualify"
    assert moved.describe() == "Moved from Qualify to Propose on closing won"
    assert won.from_stage == propose
    assert won.describe() == "Closed won in Propose (from Qualify; skipped Discover)"
    # The replay of the history agrees with the row.
    assert (won.state_stage, won.state_status) == (propose, "won")


def test_closing_won_in_the_last_stage_moves_nothing(opportunity, owner, process, now):
    tick_all(opportunity, owner, now)
    stages = list(process.stages.order_by("order"))
    for stage in stages[1:]:
        services.opportunity_move(opportunity, actor=owner, to_stage=stage, now=now)
    before = OpportunityEvent.objects.filter(opportunity=opportunity).count()
    services.opportunity_close_won(opportunity, actor=owner, now=now)
    assert OpportunityEvent.objects.filter(opportunity=opportunity).count() == before + 1
    assert OpportunityEvent.objects.get(opportunity=opportunity, verb="closed_won").describe() == (
        "Closed won in Propose"
    )


def test_closing_won_early_still_needs_every_stages_milestones(opportunity, owner, now):
    from opportunities.errors import MissingMilestones

    with pytest.raises(MissingMilestones) as refusal:
        services.opportunity_close_won(opportunity, actor=owner, now=now)
    assert "Discover: Check 1" in refusal.value.message
    opportunity.refresh_from_db()
    assert opportunity.is_open and opportunity.stage.name == "Qualify"
