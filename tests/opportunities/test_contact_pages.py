"""The contacts list and a contact's page: who may see them, what they show, what they cost."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities import services
from opportunities.models import AccountEvent, AccountEventVerb
from people.models import AccountVisibility, OrgSettings
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

CONTACTS = reverse("opportunities:contact_list")


def page_of(contact) -> str:
    return reverse("opportunities:contact_detail", args=[contact.pk])


@pytest.fixture
def on_deal(owner, opportunity, contact, now):
    """Carla is the champion on the owner's deal; a call with her, and a case study shared."""
    services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion", "economic_buyer"])
    services.activity_log(
        actor=owner, opportunity=opportunity, kind="call", subject="Discovery call", contacts=[contact], now=now
    )
    services.activity_log(
        actor=owner,
        opportunity=opportunity,
        kind="content_shared",
        subject="Case study: Initech",
        contacts=[contact],
        now=now,
    )
    return contact


def test_the_list_shows_contacts_with_their_account_and_links(client_for, owner, contact):
    body = client_for(owner).get(CONTACTS).content.decode()
    assert f'<a href="{page_of(contact)}">Carla Contact</a>' in body
    assert "Acme Corp" in body and "carla@acme.example" in body


def test_the_list_searches_and_pages(client_for, owner, account, contact):
    for i in range(30):
        ContactFactory(account=account, first_name="Zoe", last_name=f"Zed {i:02d}")
    client = client_for(owner)
    found = client.get(CONTACTS, {"q": "carla"}).content.decode()
    assert "Carla Contact" in found and "Zoe Zed" not in found
    assert "No contact matches" in client.get(CONTACTS, {"q": "nobody"}).content.decode()
    second = client.get(CONTACTS, {"q": "zoe", "page": 2}).content.decode()
    assert "Page 2 of 2 · 30 in all" in second and "Zoe Zed 29" in second
    assert 'href="?q=zoe&amp;page=1"' in second


def test_the_list_shows_only_visible_contacts(client_for, owner, outsider, contact):
    hidden = AccountFactory(name="Globex", owner=outsider)
    ContactFactory(account=hidden, first_name="Gina", last_name="Globex")
    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": AccountVisibility.OWN})
    owners = client_for(owner).get(CONTACTS).content.decode()
    assert "Carla Contact" in owners and "Gina Globex" not in owners
    outsiders = client_for(outsider).get(CONTACTS).content.decode()
    assert "Gina Globex" in outsiders and "Carla Contact" not in outsiders
    assert client_for(outsider).get(page_of(owner.accounts.get().contacts.get())).status_code == 404


def test_the_list_costs_the_same_queries_for_a_full_page(client_for, owner, account):
    client = client_for(owner)
    ContactFactory(account=account)
    client.get(CONTACTS)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CONTACTS).status_code == 200
        return len(captured)

    one = queries()
    for _ in range(24):
        ContactFactory(account=AccountFactory(owner=owner))
    assert queries() == one


def test_the_page_shows_deals_roles_activities_and_what_was_shared(client_for, owner, opportunity, on_deal):
    body = client_for(owner).get(page_of(on_deal)).content.decode()
    assert f'href="/deals/{opportunity.pk}/"><strong>Acme rollout</strong>' in body
    assert "Champion" in body and "Economic buyer" in body
    assert "Discovery call" in body
    shared = body.split('id="shared"', 1)[1]
    assert "Case study: Initech" in shared and "Discovery call" not in shared


def test_what_was_shared_shows_even_behind_many_other_activities(client_for, owner, opportunity, on_deal, now):
    for i in range(25):
        services.activity_log(
            actor=owner, opportunity=opportunity, kind="email", subject=f"Mail {i}", contacts=[on_deal], now=now
        )
    body = client_for(owner).get(page_of(on_deal)).content.decode()
    assert "Case study: Initech" in body.split('id="shared"', 1)[1]
    assert "The latest 20 are shown" in body
    assert 'href="mailto:carla@acme.example"' in body
    assert f'href="{reverse("opportunities:contact_edit", args=[on_deal.pk])}"' in body


def test_the_page_hides_deals_the_reader_may_not_see(client_for, outsider, on_deal):
    body = client_for(outsider).get(page_of(on_deal)).content.decode()  # the account is readable by everyone
    assert "Carla Contact" in body
    assert "Acme rollout" not in body and "Discovery call" not in body and "Case study" not in body
    assert "Not on the buying team of any deal you can see." in body
    assert "Edit contact" not in body


def test_the_page_costs_the_same_queries_for_many_deals_and_activities(client_for, owner, process, on_deal, now):
    client = client_for(owner)
    client.get(page_of(on_deal))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page_of(on_deal)).status_code == 200
        return len(captured)

    few = queries()
    stage = process.stages.order_by("order").first()
    for i in range(5):
        deal = OpportunityFactory(name=f"Deal {i}", owner=owner, account=on_deal.account, process=process, stage=stage)
        services.buying_team_add(deal, actor=owner, contact=on_deal, roles=["user"])
        services.activity_log(actor=owner, opportunity=deal, kind="email", subject=f"Mail {i}", contacts=[on_deal])
    assert queries() == few


def test_editing_from_the_page_comes_back_to_it_and_is_audited(client_for, owner, contact):
    client = client_for(owner)
    edit = reverse("opportunities:contact_edit", args=[contact.pk])
    assert f'href="{page_of(contact)}"' in client.get(edit).content.decode()  # back to the contact
    response = client.post(edit, {"first_name": "Carla", "last_name": "Contact", "title": "CFO", "email": ""})
    assert response.status_code == 302 and response.url == page_of(contact)
    contact.refresh_from_db()
    assert (contact.title, contact.email) == ("CFO", "")
    event = AccountEvent.objects.filter(contact=contact, verb=AccountEventVerb.CONTACT_EDITED).get()
    assert event.actor == owner and set(event.data["changes"]) == {"title", "email"}


def test_a_bad_edit_changes_nothing(client_for, owner, contact):
    edit = reverse("opportunities:contact_edit", args=[contact.pk])
    response = client_for(owner).post(edit, {"first_name": "", "last_name": "Contact", "email": "not-an-email"})
    assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.email == "carla@acme.example"


def test_account_and_deal_pages_link_each_contact_to_their_page(client_for, owner, opportunity, on_deal):
    client = client_for(owner)
    link = re.escape(f'<a href="{page_of(on_deal)}"><strong>Carla Contact</strong></a>')
    assert re.search(
        link, client.get(reverse("opportunities:account_detail", args=[on_deal.account_id])).content.decode()
    )
    assert re.search(link, client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode())
