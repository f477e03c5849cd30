"""Competitors on deals: the admin's list, the deal's competitors in play with their status, and
what a close says about them (lost to one, beat others), through the services, the deal page and
the API."""

import pytest
from django.urls import reverse

from opportunities import services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import (
    Competitor,
    DealCompetitor,
    DealCompetitorStatus,
    EventVerb,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
)
from stages.models import Milestone


@pytest.fixture
def rival(db):
    return Competitor.objects.create(name="Rival Inc", website="https://rival.example")


@pytest.fixture
def other_rival(db):
    return Competitor.objects.create(name="Other Co")


def tick_all(opp, actor):
    for m in Milestone.objects.filter(stage__process=opp.process, is_required=True):
        services.milestone_tick(opp, actor=actor, milestone=m)


def competitor_events(opp):
    return list(OpportunityEvent.objects.filter(opportunity=opp, verb=EventVerb.COMPETITOR_CHANGED).order_by("id"))


def test_set_adds_then_changes_status_and_remove_takes_off_each_with_an_event(opportunity, owner, rival, now):
    services.deal_competitor_set(opportunity, actor=owner, competitor=rival, now=now)
    services.deal_competitor_set(
        opportunity, actor=owner, competitor=rival, status=DealCompetitorStatus.PREFERRED, now=now
    )
    # The same status again is not a change: no event.
    services.deal_competitor_set(
        opportunity, actor=owner, competitor=rival, status=DealCompetitorStatus.PREFERRED, now=now
    )
    assert DealCompetitor.objects.get(opportunity=opportunity).status == DealCompetitorStatus.PREFERRED
    services.deal_competitor_remove(opportunity, actor=owner, competitor=rival, now=now)
    assert not DealCompetitor.objects.filter(opportunity=opportunity).exists()
    events = competitor_events(opportunity)
    assert [e.data["action"] for e in events] == ["added", "changed", "removed"]
    assert events[1].describe() == "Competitor changed: Rival Inc (Preferred by buyer)"


def test_refusals_change_nothing(opportunity, owner, viewer, rival, now):
    with pytest.raises(AccessDenied):
        services.deal_competitor_set(opportunity, actor=viewer, competitor=rival, now=now)
    with pytest.raises(DomainError, match="not in play"):
        services.deal_competitor_remove(opportunity, actor=owner, competitor=rival, now=now)
    with pytest.raises(DomainError, match="Unknown competitor status"):
        services.deal_competitor_set(opportunity, actor=owner, competitor=rival, status="bogus", now=now)
    rival.is_active = False
    rival.save()
    with pytest.raises(DomainError, match="no longer on the competitor list"):
        services.deal_competitor_set(opportunity, actor=owner, competitor=rival, now=now)
    assert not DealCompetitor.objects.exists()
    assert competitor_events(opportunity) == []


def test_close_lost_names_the_winner_and_reopen_clears_it(opportunity, owner, manager, rival, lost_reason, now):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, lost_to=rival, now=now)
    opp = Opportunity.objects.get(pk=opportunity.pk)
    assert opp.lost_to == rival
    assert DealCompetitor.objects.get(opportunity=opp).status == DealCompetitorStatus.PREFERRED
    close = OpportunityEvent.objects.get(opportunity=opp, verb=EventVerb.CLOSED_LOST)
    assert close.data["lost_to_id"] == rival.pk
    assert close.describe() == "Closed lost in Qualify: Price (lost to Rival Inc)"
    services.opportunity_reopen(
        opp, actor=manager, next_description="Call the buyer back", next_due_date=now.date(), now=now
    )
    assert Opportunity.objects.get(pk=opp.pk).lost_to is None


def test_close_won_marks_the_beaten_and_reopen_unmarks(opportunity, owner, manager, rival, other_rival, now):
    services.deal_competitor_set(opportunity, actor=owner, competitor=rival, now=now)
    tick_all(opportunity, owner)
    services.opportunity_close_won(opportunity, actor=owner, beaten=[rival, other_rival], now=now)
    rows = {dc.competitor_id: dc for dc in DealCompetitor.objects.filter(opportunity=opportunity)}
    assert rows[rival.pk].beaten and rows[rival.pk].status == DealCompetitorStatus.EVALUATING
    assert rows[other_rival.pk].beaten and rows[other_rival.pk].status == DealCompetitorStatus.ELIMINATED
    services.opportunity_reopen(
        opportunity, actor=manager, next_description="Call the buyer back", next_due_date=now.date(), now=now
    )
    assert not DealCompetitor.objects.filter(beaten=True).exists()


def test_closing_with_a_retired_competitor_is_refused_and_changes_nothing(opportunity, owner, rival, lost_reason):
    rival.is_active = False
    rival.save()
    with pytest.raises(DomainError):
        services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, lost_to=rival)
    assert Opportunity.objects.get(pk=opportunity.pk).status == OpportunityStatus.OPEN
    assert not DealCompetitor.objects.exists()


def test_deal_page_shows_and_edits_competitors(client_for, owner, viewer, opportunity, rival):
    client = client_for(owner)
    url = reverse("opportunities:competitor_set", args=[opportunity.pk])
    response = client.post(url, {"competitor": rival.pk, "status": "preferred"})
    assert response.status_code == 302
    page = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "Rival Inc" in page and "Preferred by buyer" in page and 'name="lost_to"' in page
    # A reader sees them but gets no forms.
    page = client_for(viewer).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "Rival Inc" in page and 'id="dc-add"' not in page
    bad = client.post(url, {"competitor": rival.pk, "status": "nonsense"})
    assert bad.status_code == 302
    assert DealCompetitor.objects.get().status == "preferred"
    remove = reverse("opportunities:competitor_remove", args=[opportunity.pk, rival.pk])
    assert client.post(remove).status_code == 302
    assert not DealCompetitor.objects.exists()


def test_close_lost_form_takes_lost_to(client_for, owner, opportunity, rival, lost_reason):
    response = client_for(owner).post(
        reverse("opportunities:close_lost", args=[opportunity.pk]), {"reason": lost_reason.pk, "lost_to": rival.pk}
    )
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=opportunity.pk).lost_to_id == rival.pk


def test_close_won_form_takes_beaten(client_for, owner, opportunity, rival):
    tick_all(opportunity, owner)
    response = client_for(owner).post(reverse("opportunities:close_won", args=[opportunity.pk]), {"beaten": [rival.pk]})
    assert response.status_code == 302
    assert DealCompetitor.objects.get(opportunity=opportunity).beaten


def test_api_lists_sets_and_removes(api_for, owner, viewer, opportunity, rival, other_rival):
    other_rival.is_active = False
    other_rival.save()
    client = api_for(owner)
    listed = client.get(reverse("api:competitor_list")).json()
    assert [c["name"] for c in listed["results"]] == ["Rival Inc"]
    url = reverse("api:opportunity_competitors", args=[opportunity.pk])
    response = client.post(url, {"competitor": rival.pk, "status": "eliminated"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()[0]["status"] == "eliminated"
    assert api_for(viewer).get(url).json()[0]["competitor"]["name"] == "Rival Inc"
    assert api_for(viewer).post(url, {"competitor": rival.pk}, format="json").status_code == 403
    assert client.post(url, {"competitor": rival.pk, "status": "x"}, format="json").status_code == 400
    assert client.delete(url, {"competitor": rival.pk}, format="json").json() == []
    assert client.delete(url, {"competitor": rival.pk}, format="json").status_code == 400


def test_api_close_lost_and_won_take_competitors(api_for, owner, opportunity, rival, lost_reason):
    client = api_for(owner)
    response = client.post(
        reverse("api:opportunity_close_lost", args=[opportunity.pk]),
        {"reason": lost_reason.pk, "lost_to": rival.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Opportunity.objects.get(pk=opportunity.pk).lost_to_id == rival.pk


def test_api_close_won_refuses_an_unknown_competitor(api_for, owner, opportunity):
    tick_all(opportunity, owner)
    response = api_for(owner).post(
        reverse("api:opportunity_close_won", args=[opportunity.pk]), {"beaten": [999999]}, format="json"
    )
    assert response.status_code == 400
    assert Opportunity.objects.get(pk=opportunity.pk).status == OpportunityStatus.OPEN
