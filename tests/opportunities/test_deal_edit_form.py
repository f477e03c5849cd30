"""The deal edit form covers the description, the owner (where allowed), the account (a
type-ahead picker, not a select of every account) and the sales process (with the stage of the
new process chosen explicitly). Each of these is optional: left out, it keeps its value."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services
from opportunities.models import Opportunity, OpportunityEvent
from people.models import AccountVisibility, OrgSettings
from tests.factories import AccountFactory, make_process

HTMX = {"HTTP_HX_REQUEST": "true"}


def fresh(opp) -> Opportunity:
    return Opportunity.objects.get(pk=opp.pk)


def edit(client, opp, **fields):
    data = {
        "version": fresh(opp).version,
        "name": opp.name,
        "amount": str(opp.amount),
        "expected_close_date": opp.expected_close_date.isoformat(),
        **fields,
    }
    return client.post(reverse("opportunities:edit", args=[opp.pk]), data)


@pytest.fixture
def renewal(db):
    return make_process(stages=2, milestones=1, required=True, name="Renewal")


def test_the_form_shows_description_account_picker_and_process(client_for, owner, opportunity):
    body = client_for(owner).get(reverse("opportunities:edit", args=[opportunity.pk])).content.decode()
    assert 'name="description"' in body and 'name="process"' in body and 'name="to_stage"' in body
    assert 'id="account-q"' in body and reverse("opportunities:account_search") in body
    assert f'name="account" value="{opportunity.account_id}" checked' in body
    assert '<select name="account"' not in body  # no list of every account


def test_the_description_is_saved_shown_and_in_the_history(client_for, owner, opportunity):
    response = edit(client_for(owner), opportunity, description="Replace their spreadsheets")
    assert response.status_code == 302
    assert fresh(opportunity).description == "Replace their spreadsheets"
    body = client_for(owner).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "About this deal" in body and "Replace their spreadsheets" in body
    event = OpportunityEvent.objects.filter(opportunity=opportunity, verb="edited").latest("id")
    assert "description" in event.data["changes"]


def test_leaving_the_new_fields_out_keeps_their_values(client_for, owner, opportunity):
    Opportunity.objects.filter(pk=opportunity.pk).update(description="Kept")
    before = fresh(opportunity)
    assert edit(client_for(owner), opportunity, name="Renamed").status_code == 302
    after = fresh(opportunity)
    assert (after.description, after.account_id, after.process_id, after.stage_id) == (
        "Kept",
        before.account_id,
        before.process_id,
        before.stage_id,
    )


def test_the_account_is_changed_with_the_picker(client_for, owner, opportunity):
    other = AccountFactory(owner=owner, name="Globex")
    assert edit(client_for(owner), opportunity, account=other.pk).status_code == 302
    assert fresh(opportunity).account == other
    event = OpportunityEvent.objects.filter(opportunity=opportunity, verb="edited").latest("id")
    assert event.data["changes"]["account"] == {"old": "Acme Corp", "new": "Globex"}


def test_an_account_with_the_buying_team_elsewhere_is_refused(client_for, owner, opportunity, contact):
    services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"])
    other = AccountFactory(owner=owner, name="Globex")
    response = edit(client_for(owner), opportunity, account=other.pk)
    assert response.status_code == 400
    assert "Take the buying team off first" in response.content.decode()
    assert fresh(opportunity).account_id == contact.account_id


def test_an_account_the_user_may_not_read_is_refused(client_for, owner, outsider, opportunity):
    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": AccountVisibility.OWN})
    hidden = AccountFactory(owner=outsider, name="Hidden Inc")
    assert edit(client_for(owner), opportunity, account=hidden.pk).status_code == 400
    assert fresh(opportunity).account_id != hidden.pk


def test_the_type_ahead_finds_only_what_the_user_may_read(client_for, owner, outsider):
    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": AccountVisibility.OWN})
    AccountFactory(owner=owner, name="Initech North")
    AccountFactory(owner=outsider, name="Initech South")
    response = client_for(owner).get(reverse("opportunities:account_search"), {"account_q": "initech"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Initech North" in body and "Initech South" not in body
    assert 'type="radio" name="account"' in body


def test_without_javascript_find_lists_the_matches_on_the_edit_page(client_for, owner, opportunity):
    AccountFactory(owner=owner, name="Umbrella")
    url = reverse("opportunities:edit", args=[opportunity.pk])
    body = client_for(owner).get(url, {"account_q": "umbr"}).content.decode()
    assert "Umbrella" in body and "Acme Corp" in body


def test_changing_the_process_asks_for_the_stage_of_the_new_one(client_for, owner, opportunity, renewal):
    response = edit(client_for(owner), opportunity, process=renewal.pk, to_stage=opportunity.stage_id)
    assert response.status_code == 400
    assert "Choose the stage of Renewal the deal moves to (Qualify, Discover)." in response.content.decode()
    assert fresh(opportunity).process_id != renewal.pk


def test_changing_the_process_moves_the_deal_to_the_chosen_stage(client_for, owner, opportunity, renewal):
    first = renewal.stages.order_by("order").first()
    assert edit(client_for(owner), opportunity, process=renewal.pk, to_stage=first.pk).status_code == 302
    opp = fresh(opportunity)
    assert (opp.process, opp.stage, opp.furthest_stage) == (renewal, first, first)
    moved = OpportunityEvent.objects.filter(opportunity=opp, verb="stage_moved").latest("id")
    assert moved.describe() == ("Moved from Qualify to Qualify: sales process changed from New business to Renewal")
    assert moved.state_stage == first  # the replay follows


def test_a_later_stage_of_the_new_process_goes_through_its_gate(client_for, owner, manager, opportunity, renewal):
    second = renewal.stages.order_by("order").last()
    response = edit(client_for(owner), opportunity, process=renewal.pk, to_stage=second.pk)
    assert response.status_code == 400 and "required milestones are not done" in response.content.decode()
    response = edit(client_for(manager), opportunity, process=renewal.pk, to_stage=second.pk, override_reason="Signed")
    assert response.status_code == 302
    assert fresh(opportunity).stage == second


def test_the_api_edits_description_account_and_process(owner, opportunity, renewal):
    api = APIClient()
    api.force_login(owner)
    other = AccountFactory(owner=owner, name="Globex")
    first = renewal.stages.order_by("order").first()
    response = api.patch(
        reverse("api:opportunity_detail", args=[opportunity.pk]),
        {
            "version": fresh(opportunity).version,
            "description": "Phase 2",
            "account": other.pk,
            "process": renewal.pk,
            "stage": first.pk,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["description"], body["account"]["id"], body["process"]["id"], body["stage"]["id"]) == (
        "Phase 2",
        other.pk,
        renewal.pk,
        first.pk,
    )
