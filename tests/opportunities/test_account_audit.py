"""The audit trail of accounts and contacts: every change through the services writes one
`AccountEvent` (who, when, each field's old and new value), shown on the account page, its
history page and the API."""

import datetime as dt

import pytest
from django.urls import reverse

from opportunities import services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import AccountEvent, AccountEventVerb, AccountStatus
from opportunities.views import LATEST_SHOWN

MINUTE = dt.timedelta(minutes=1)


def trail(account) -> list[tuple]:
    return list(
        AccountEvent.objects.filter(account=account)
        .order_by("id")
        .values_list("verb", "actor", "contact", "data", "created_at")
    )


# --- the services ---------------------------------------------------------------------------------------------


def test_creating_an_account_records_who_when_and_its_fields(owner, now):
    account = services.account_create(actor=owner, name="Initech", industry="Software", region="", now=now)
    assert trail(account) == [
        (
            AccountEventVerb.ACCOUNT_CREATED,
            owner.pk,
            None,
            {
                "name": "Initech",
                "changes": {
                    "name": {"old": "", "new": "Initech"},
                    "industry": {"old": "", "new": "Software"},
                    "status": {"old": "", "new": "target"},
                },
            },
            now,
        )
    ]


def test_editing_an_account_records_each_changed_field_old_and_new(account, manager, now):
    services.account_update(
        account, actor=manager, name="Acme Corp", industry="Rockets", status=AccountStatus.CUSTOMER, now=now
    )
    ((verb, actor, contact, data, when),) = trail(account)
    assert (verb, actor, contact, when) == (AccountEventVerb.ACCOUNT_EDITED, manager.pk, None, now)
    assert data == {
        "changes": {"industry": {"old": "", "new": "Rockets"}, "status": {"old": "target", "new": "customer"}}
    }
    event = AccountEvent.objects.get()
    assert event.describe() == "Edited the account: industry: — → Rockets; status: Target → Customer"


def test_an_edit_that_changes_nothing_writes_nothing(account, owner, now):
    services.account_update(account, actor=owner, name=" Acme Corp ", now=now)
    assert trail(account) == []


def test_refused_edits_write_no_audit_row(account, contact, teammate, owner):
    with pytest.raises(AccessDenied):
        services.account_update(account, actor=teammate, name="Hijacked")
    with pytest.raises(AccessDenied):
        services.contact_update(contact, actor=teammate, title="Hijacked")
    with pytest.raises(DomainError):
        services.account_update(account, actor=owner, name="")
    with pytest.raises(DomainError):
        services.contact_create(actor=owner, account=account, first_name="No", last_name="Mail", email="nope")
    assert trail(account) == []


def test_contacts_added_and_edited_are_on_their_accounts_trail(account, owner, teammate, now):
    contact = services.contact_create(
        actor=teammate, account=account, first_name="Carla", last_name="Contact", email="c@acme.example", now=now
    )
    services.contact_update(contact, actor=owner, title="CFO", email="carla@acme.example", now=now + MINUTE)
    added, edited = AccountEvent.objects.filter(account=account).order_by("id")
    assert (added.verb, added.actor, added.contact, added.created_at) == (
        AccountEventVerb.CONTACT_CREATED,
        teammate,
        contact,
        now,
    )
    assert added.describe() == "Added contact Carla Contact"
    assert (edited.verb, edited.actor, edited.contact, edited.created_at) == (
        AccountEventVerb.CONTACT_EDITED,
        owner,
        contact,
        now + MINUTE,
    )
    assert edited.data["changes"] == {
        "title": {"old": "", "new": "CFO"},
        "email": {"old": "c@acme.example", "new": "carla@acme.example"},
    }
    assert (
        edited.describe() == "Edited contact Carla Contact: title: — → CFO; email: c@acme.example → carla@acme.example"
    )


def test_a_contact_rows_still_read_right_once_the_contact_is_gone(account, owner, now):
    contact = services.contact_create(actor=owner, account=account, first_name="Gone", last_name="Person", now=now)
    contact.delete()
    event = AccountEvent.objects.get(account=account)
    assert event.contact is None
    assert event.describe() == "Added contact Gone Person"


def test_the_first_deal_turning_a_target_into_a_prospect_is_on_the_trail(opportunity, account, owner, now):
    event = AccountEvent.objects.get(account=account)
    assert (event.verb, event.actor, event.created_at) == (AccountEventVerb.ACCOUNT_EDITED, owner, now)
    assert event.describe() == "Edited the account (its first deal was opened): status: Target → Prospect"


# --- the pages ------------------------------------------------------------------------------------------------


def test_the_account_page_shows_the_history_collapsed_newest_first(client_for, account, owner, now):
    services.account_update(account, actor=owner, industry="Rockets", now=now)
    services.contact_create(actor=owner, account=account, first_name="Carla", last_name="Contact", now=now + MINUTE)
    body = client_for(owner).get(reverse("opportunities:account_detail", args=[account.pk])).content.decode()
    section = body.split('id="history"')[1].split("</section>")[0]
    assert "<details>" in section  # collapsed until asked for
    assert section.index("Added contact Carla Contact") < section.index("industry: — → Rockets")
    assert "Olivia Owner" in section
    assert reverse("opportunities:account_history", args=[account.pk]) not in section


def test_a_long_history_is_capped_with_a_link_to_all_of_it(client_for, account, owner, now):
    for i in range(LATEST_SHOWN + 3):
        services.account_update(account, actor=owner, industry=f"Industry {i:02d}", now=now + i * MINUTE)
    client = client_for(owner)
    body = client.get(reverse("opportunities:account_detail", args=[account.pk])).content.decode()
    section = body.split('id="history"')[1].split("</section>")[0]
    assert section.count("<time ") == LATEST_SHOWN
    assert f"Industry {LATEST_SHOWN + 2:02d}" in section and "→ Industry 00" not in section
    url = reverse("opportunities:account_history", args=[account.pk])
    assert url in section
    page = client.get(url, {"per_page": 10}).content.decode()
    assert page.count("<time ") == 10
    last = client.get(url, {"per_page": 10, "page": 3}).content.decode()
    assert last.count("<time ") == 3 and "→ Industry 00" in last


def test_edits_through_the_pages_are_audited(client_for, account, contact, owner):
    client = client_for(owner)
    data = {"name": "Acme Corp", "status": "customer"}
    assert client.post(reverse("opportunities:account_edit", args=[account.pk]), data).status_code == 302
    contact_data = {"first_name": "Carla", "last_name": "Contact", "email": "carla@acme.example", "title": "CEO"}
    assert client.post(reverse("opportunities:contact_edit", args=[contact.pk]), contact_data).status_code == 302
    new = {"first_name": "Nina", "last_name": "New"}
    assert client.post(reverse("opportunities:contact_create", args=[account.pk]), new).status_code == 302
    assert [row[0] for row in trail(account)] == [
        AccountEventVerb.ACCOUNT_EDITED,
        AccountEventVerb.CONTACT_EDITED,
        AccountEventVerb.CONTACT_CREATED,
    ]
    body = client.get(reverse("opportunities:account_history", args=[account.pk])).content.decode()
    assert "Edited contact Carla Contact: title: — → CEO" in body
    assert "status: Target → Customer" in body


def test_the_history_page_escapes_what_users_typed(client_for, account, owner):
    services.account_update(account, actor=owner, industry="<script>alert(1)</script>")
    body = client_for(owner).get(reverse("opportunities:account_history", args=[account.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_the_history_page_is_404_for_a_missing_account_and_405_for_post(client_for, owner):
    client = client_for(owner)
    assert client.get(reverse("opportunities:account_history", args=[999999])).status_code == 404
    assert client.post(reverse("opportunities:account_history", args=[999999])).status_code == 405


# --- the API -------------------------------------------------------------------------------------------------


def test_api_writes_are_audited_and_the_trail_is_readable(api_for, owner, manager, now):
    api = api_for(owner)
    created = api.post(reverse("api:account_list"), {"name": "Initech"}, format="json").json()
    url = reverse("api:account_detail", args=[created["id"]])
    assert api_for(manager).patch(url, {"region": "EMEA"}, format="json").status_code == 200
    contacts = reverse("api:account_contacts", args=[created["id"]])
    assert api.post(contacts, {"first_name": "Ann", "last_name": "Api"}, format="json").status_code == 201
    events = api.get(reverse("api:account_events", args=[created["id"]])).json()
    assert events["count"] == 3
    rows = [(e["verb"], e["actor"]["name"], e["description"]) for e in events["results"]]
    assert rows == [
        ("contact_created", "Olivia Owner", "Added contact Ann Api"),
        ("account_edited", "Maya Manager", "Edited the account: region: — → EMEA"),
        ("account_created", "Olivia Owner", "Created the account Initech"),
    ]
    assert events["results"][1]["data"] == {"changes": {"region": {"old": "", "new": "EMEA"}}}


def test_api_trail_of_a_missing_account_is_404(api_for, owner):
    assert api_for(owner).get(reverse("api:account_events", args=[999999])).status_code == 404


# --- the audit row and the change are one ---------------------------------------------------------------------


def _boom(*args, **kwargs):
    raise RuntimeError("audit write failed")


def _rows():
    from opportunities.models import Account, Contact

    return (
        list(Account.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        AccountEvent.objects.count(),
    )


@pytest.mark.parametrize("write", ["account_create", "account_update", "contact_create", "contact_update"])
def test_a_failed_audit_write_rolls_the_change_back(account, contact, owner, monkeypatch, write):
    calls = {
        "account_create": lambda: services.account_create(actor=owner, name="Initech"),
        "account_update": lambda: services.account_update(account, actor=owner, industry="Rockets"),
        "contact_create": lambda: services.contact_create(actor=owner, account=account, first_name="A", last_name="B"),
        "contact_update": lambda: services.contact_update(contact, actor=owner, title="CFO"),
    }
    before = _rows()
    monkeypatch.setattr(services, "_audit", _boom)
    with pytest.raises(RuntimeError):
        calls[write]()
    assert _rows() == before
