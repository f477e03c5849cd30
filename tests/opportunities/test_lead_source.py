"""A deal's lead source: set when it is created or edited, through the pages, the services and the
API alike; each change is in the history; an unknown source is refused with a message and changes
nothing; the deals from before it was asked for show "Not set"."""

import datetime as dt

import pytest
from django.urls import reverse

from opportunities import services
from opportunities.errors import DomainError
from opportunities.models import EventVerb, LeadSource, Opportunity, OpportunityEvent
from tests.opportunities.test_deal_edit_form import edit as edit_page
from tests.opportunities.test_deal_edit_form import fresh
from transfer.fields import DEAL_FIELDS


def source_events(opp):
    return [
        e.data["changes"]["source"]
        for e in OpportunityEvent.objects.filter(opportunity=opp, verb=EventVerb.EDITED).order_by("id")
        if "source" in e.data.get("changes", {})
    ]


# --- the service ---------------------------------------------------------------------------------


def test_a_new_deal_has_no_source_unless_given(opportunity, owner, account, process, now):
    assert opportunity.source == "" and opportunity.source_label == "Not set"
    referred = services.opportunity_create(
        actor=owner, account=account, process=process, name="Referred", amount="100",
        expected_close_date=now.date() + dt.timedelta(days=9), source=LeadSource.REFERRAL, now=now,
    )  # fmt: skip
    assert fresh(referred).source == "referral" and referred.source_label == "Referral"
    assert referred.events.get(verb=EventVerb.CREATED).data["source"] == "referral"


def test_the_service_refuses_an_unknown_source_and_creates_nothing(owner, account, process, now):
    with pytest.raises(DomainError, match="Lead source must be one of") as raised:
        services.opportunity_create(
            actor=owner, account=account, process=process, name="Odd", amount="100",
            expected_close_date=now.date() + dt.timedelta(days=9), source="carrier pigeon", now=now,
        )  # fmt: skip
    assert raised.value.field == "source"
    assert not Opportunity.objects.filter(name="Odd").exists()


def test_editing_the_source_writes_one_event_and_bumps_the_version(opportunity, owner, now):
    version = opportunity.version
    opp = services.opportunity_update(
        opportunity, actor=owner, expected_version=version, source=LeadSource.PARTNER, now=now
    )
    assert (fresh(opp).source, fresh(opp).version) == ("partner", version + 1)
    assert source_events(opp) == [{"old": "Not set", "new": "Partner"}]
    event = OpportunityEvent.objects.filter(opportunity=opp, verb=EventVerb.EDITED).latest("id")
    assert event.describe() == "Edited source: Not set → Partner"
    # The same source again changes nothing; None keeps it; "" clears it.
    services.opportunity_update(opp, actor=owner, expected_version=version + 1, source="partner", now=now)
    services.opportunity_update(opp, actor=owner, expected_version=version + 1, name="Renamed", now=now)
    assert fresh(opp).source == "partner"
    services.opportunity_update(opp, actor=owner, expected_version=version + 2, source="", now=now)
    assert fresh(opp).source == ""
    assert source_events(opp)[-1] == {"old": "Partner", "new": "Not set"}


def test_an_unknown_source_refuses_the_whole_edit(opportunity, owner, now):
    before = fresh(opportunity)
    with pytest.raises(DomainError, match="Lead source"):
        services.opportunity_update(
            opportunity, actor=owner, expected_version=before.version, name="Renamed", source="spam", now=now
        )
    after = fresh(opportunity)
    assert (after.name, after.source, after.version) == (before.name, before.source, before.version)
    assert OpportunityEvent.objects.filter(opportunity=opportunity).count() == 1


# --- the pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page, source",
    [("opportunities:create", "event"), ("opportunities:account_deal_create", "existing_customer")],
)
def test_the_create_forms_set_the_source(page, source, client_for, owner, account, process, today):
    on_account = page == "opportunities:account_deal_create"
    response = client_for(owner).post(
        reverse(page, args=[account.pk] if on_account else []),
        {
            **({} if on_account else {"account": account.pk}),
            "process": process.pk,
            "name": "New deal",
            "amount": "900",
            "expected_close_date": (today + dt.timedelta(days=20)).isoformat(),
            "source": source,
        },
    )
    assert response.status_code == 302
    assert Opportunity.objects.get(name="New deal").source == source


def test_the_edit_form_sets_shows_and_keeps_the_source(client_for, owner, opportunity):
    client = client_for(owner)
    page = client.get(reverse("opportunities:edit", args=[opportunity.pk])).content.decode()
    assert 'name="source"' in page and "Not set" in page
    detail = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "Lead source" in detail and "Not set" in detail
    assert edit_page(client, opportunity, source="inbound").status_code == 302
    assert fresh(opportunity).source == "inbound"
    detail = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "<dt>Lead source</dt><dd>Inbound</dd>" in detail
    # Left out of the POST (an older page, a script): kept.
    assert edit_page(client, opportunity, name="Renamed").status_code == 302
    assert fresh(opportunity).source == "inbound"
    assert source_events(opportunity) == [{"old": "Not set", "new": "Inbound"}]


@pytest.mark.parametrize("bad", ["carrier pigeon", "REFERRAL", "x" * 500])
def test_the_edit_form_refuses_an_unknown_source_with_a_message(client_for, owner, opportunity, bad):
    before = fresh(opportunity)
    response = edit_page(client_for(owner), opportunity, source=bad, name="Renamed")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    after = fresh(opportunity)
    assert (after.name, after.source, after.version) == (before.name, before.source, before.version)


# --- the API -------------------------------------------------------------------------------------


def test_the_api_creates_reads_and_updates_the_source(api_for, owner, account, process, today):
    client = api_for(owner)
    body = {
        "account": account.pk,
        "process": process.pk,
        "name": "Partner lead",
        "amount": "100.00",
        "expected_close_date": (today + dt.timedelta(days=14)).isoformat(),
        "source": "partner",
    }
    created = client.post(reverse("api:opportunity_list"), body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["source"] == "partner"
    pk = created.json()["id"]
    listed = client.get(reverse("api:opportunity_list")).json()["results"]
    assert [d["source"] for d in listed if d["id"] == pk] == ["partner"]
    patch = client.patch(
        reverse("api:opportunity_detail", args=[pk]), {"version": 1, "source": "referral"}, format="json"
    )
    assert patch.status_code == 200, patch.content
    assert patch.json()["source"] == "referral" and patch.json()["version"] == 2
    assert source_events(Opportunity.objects.get(pk=pk)) == [{"old": "Partner", "new": "Referral"}]


def test_the_api_refuses_an_unknown_source_with_a_message(api_for, owner, opportunity):
    client = api_for(owner)
    response = client.patch(
        reverse("api:opportunity_detail", args=[opportunity.pk]),
        {"version": opportunity.version, "source": "spam", "name": "Renamed"},
        format="json",
    )
    assert response.status_code == 400
    assert "is not a lead source" in response.json()["source"][0]
    after = fresh(opportunity)
    assert (after.name, after.source, after.version) == (opportunity.name, "", opportunity.version)
    response = client.patch(
        reverse("api:opportunity_detail", args=[opportunity.pk]),
        {"version": opportunity.version, "source": ["inbound"]},
        format="json",
    )
    assert response.status_code == 400


def test_the_import_knows_the_source_column():
    field = next(f for f in DEAL_FIELDS if f.name == "source")
    assert "lead source" in field.aliases
