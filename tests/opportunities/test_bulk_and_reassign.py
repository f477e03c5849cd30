"""Owner reassignment on the deal (managers for their team, admins for all) and bulk actions on
My deals and the team's deals: reassign, move (each deal through its gate), close lost with a
reason, export as CSV — services, the page and the API."""

import csv
import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services
from opportunities.models import Opportunity, OpportunityStatus
from stages.models import Milestone
from tests.factories import AccountFactory


def deal(owner, process, name, now):
    return services.opportunity_create(
        actor=owner,
        account=AccountFactory(owner=owner),
        process=process,
        name=name,
        amount=1000,
        expected_close_date=now.date(),
        next_step_description="Call",
        next_step_due_date=now.date(),
        now=now,
    )


def tick_stage(opp, stage, actor, now):
    for milestone in Milestone.objects.filter(stage=stage, is_required=True):
        services.milestone_tick(opp, actor=actor, milestone=milestone, now=now)


def fresh(opp) -> Opportunity:
    return Opportunity.objects.get(pk=opp.pk)


@pytest.fixture
def two(owner, process, now):
    ready, not_ready = deal(owner, process, "Ready", now), deal(owner, process, "=Not ready", now)
    tick_stage(ready, process.stages.order_by("order").first(), owner, now)
    return fresh(ready), fresh(not_ready)


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


# --- reassigning one deal --------------------------------------------------------------------------------------


def test_a_manager_reassigns_the_deal_and_its_next_step_follows(client_for, manager, teammate, two):
    opp = two[0]
    url = reverse("opportunities:reassign", args=[opp.pk])
    assert 'name="owner"' in client_for(manager).get(url).content.decode()
    response = client_for(manager).post(url, {"owner": teammate.pk})
    assert response.status_code == 302
    opp = fresh(opp)
    assert opp.owner == teammate and opp.next_step.owner == teammate


def test_the_deal_page_offers_reassign_to_its_manager_only(client_for, manager, owner, two):
    url = reverse("opportunities:detail", args=[two[0].pk])
    assert "Reassign…" in client_for(manager).get(url).content.decode()
    assert "Reassign…" not in client_for(owner).get(url).content.decode()


def test_a_rep_may_not_reassign(client_for, owner, teammate, two):
    response = client_for(owner).post(reverse("opportunities:reassign", args=[two[0].pk]), {"owner": teammate.pk})
    assert response.status_code == 403
    assert fresh(two[0]).owner == owner


def test_a_manager_cannot_hand_a_deal_outside_their_teams(client_for, manager, outsider, two):
    response = client_for(manager).post(reverse("opportunities:reassign", args=[two[0].pk]), {"owner": outsider.pk})
    assert response.status_code == 400  # not one of the people they may choose
    assert fresh(two[0]).owner != outsider


def test_the_api_reassigns(manager, owner, teammate, two):
    url = reverse("api:opportunity_reassign", args=[two[0].pk])
    assert api(owner).post(url, {"owner": teammate.pk}, format="json").status_code == 403
    response = api(manager).post(url, {"owner": teammate.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["id"] == teammate.pk


# --- bulk: the services -----------------------------------------------------------------------------------------


def test_bulk_move_reports_each_refusal_and_moves_the_rest(owner, process, two):
    discover = process.stages.order_by("order")[1]
    result = services.opportunity_bulk_move(actor=owner, opportunities=two, to_stage=discover)
    assert [o.name for o in result.done] == ["Ready"]
    ((refused, why),) = result.refused
    assert refused.name == "=Not ready" and "Qualify: Check 1" in why
    assert fresh(two[0]).stage == discover and fresh(two[1]).stage != discover


def test_bulk_reassign_by_a_rep_is_refused_deal_by_deal(owner, teammate, two):
    result = services.opportunity_bulk_reassign(actor=owner, opportunities=two, owner=teammate)
    assert result.done == [] and len(result.refused) == 2
    assert {fresh(o).owner for o in two} == {owner}


def test_bulk_close_lost_needs_a_reason(owner, two, lost_reason):
    from opportunities.errors import DomainError

    with pytest.raises(DomainError, match="Choose why"):
        services.opportunity_bulk_close_lost(actor=owner, opportunities=two, reason=None)
    result = services.opportunity_bulk_close_lost(actor=owner, opportunities=two, reason=lost_reason, notes="Dead")
    assert len(result.done) == 2
    assert {(fresh(o).status, fresh(o).close_notes) for o in two} == {(OpportunityStatus.LOST, "Dead")}


# --- bulk: the page ------------------------------------------------------------------------------------------------

BULK = reverse("opportunities:bulk")


def test_my_deals_lists_a_checkbox_per_deal_and_the_bulk_form(client_for, owner, two):
    body = client_for(owner).get(reverse("opportunities:my_deals")).content.decode()
    assert 'id="bulk-form"' in body
    assert f'name="ids" value="{two[0].pk}" form="bulk-form"' in body
    assert 'value="reassign"' not in body  # a rep reassigns nothing


def test_bulk_move_from_the_page_says_what_was_moved_and_what_was_refused(client_for, owner, process, two):
    discover = process.stages.order_by("order")[1]
    response = client_for(owner).post(
        BULK,
        {"action": "move", "ids": [two[0].pk, two[1].pk], "to_stage": discover.pk, "query": "scope=mine&x=1"},
        follow=True,
    )
    body = response.content.decode()
    assert response.redirect_chain[0][0] == reverse("opportunities:my_deals") + "?scope=mine&x=1"
    assert "Moved to Discover: 1 deal." in body
    assert "“=Not ready”: Cannot move to Discover" in body


def test_bulk_reassign_by_a_manager(client_for, manager, teammate, two):
    response = client_for(manager).post(
        BULK, {"action": "reassign", "ids": [o.pk for o in two], "owner": teammate.pk}, follow=True
    )
    assert "Reassigned to Tom Teammate: 2 deals." in response.content.decode()
    assert {fresh(o).owner for o in two} == {teammate}


def test_a_read_only_teammate_is_refused_per_deal(client_for, teammate, lost_reason, two):
    response = client_for(teammate).post(
        BULK, {"action": "close_lost", "ids": [two[0].pk], "reason": lost_reason.pk}, follow=True
    )
    assert "You can view this opportunity but not change it." in response.content.decode()
    assert fresh(two[0]).is_open


def test_deals_one_may_not_read_are_not_found(client_for, outsider, lost_reason, two):
    response = client_for(outsider).post(
        BULK, {"action": "close_lost", "ids": [two[0].pk], "reason": lost_reason.pk}, follow=True
    )
    assert "Select a valid choice" in response.content.decode()
    assert fresh(two[0]).is_open


def test_bulk_without_what_the_action_needs_changes_nothing(client_for, owner, two):
    response = client_for(owner).post(BULK, {"action": "close_lost", "ids": [two[0].pk]}, follow=True)
    assert "Choose why the deals were lost." in response.content.decode()
    assert fresh(two[0]).is_open


def test_bulk_export_is_a_csv_of_the_selection_with_formulas_neutralised(client_for, owner, two):
    response = client_for(owner).post(BULK, {"action": "export", "ids": [two[1].pk]})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["id", "name", "account"]
    assert [r[1] for r in rows[1:]] == ["'=Not ready"]


# --- bulk: the API -------------------------------------------------------------------------------------------------


def test_the_bulk_api_reports_done_refused_and_not_found(owner, outsider, process, two):
    other = deal(outsider, process, "Theirs", two[0].created_at)
    discover = process.stages.order_by("order")[1]
    response = api(owner).post(
        reverse("api:opportunity_bulk"),
        {"action": "move", "ids": [two[0].pk, two[1].pk, other.pk], "stage": discover.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["done"] == [two[0].pk]
    assert [r["id"] for r in body["refused"]] == [other.pk, two[1].pk]
    assert body["refused"][0]["detail"] == "Not found."


def test_the_bulk_api_exports_csv_and_checks_what_each_action_needs(owner, two):
    url = reverse("api:opportunity_bulk")
    assert api(owner).post(url, {"action": "move", "ids": [two[0].pk]}, format="json").status_code == 400
    response = api(owner).post(url, {"action": "export", "ids": [two[0].pk]}, format="json")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
