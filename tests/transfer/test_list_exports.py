"""Every list downloads as CSV with its current filters, formulas neutralised."""

import csv
import io

from django.urls import reverse

from opportunities.models import Activity
from pipeline.models import Flag
from tests.factories import AccountFactory, ContactFactory


def rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_accounts_and_contacts_export_with_the_search(owner, account, client_for):
    AccountFactory(name="=HYPERLINK(1)", owner=owner)
    ContactFactory(account=account, first_name="Zed", last_name="@SUM", email="zed@acme.example")
    client = client_for(owner)
    names = [r[1] for r in rows(client.get(reverse("opportunities:account_list") + "?format=csv"))[1:]]
    assert sorted(names) == ["'=HYPERLINK(1)", "Acme Corp"]
    assert [r[1] for r in rows(client.get(reverse("opportunities:account_list") + "?q=acme&format=csv"))[1:]] == [
        "Acme Corp"
    ]
    contacts = rows(client.get(reverse("opportunities:contact_list") + "?q=zed&format=csv"))
    assert contacts[1][1:3] == ["Zed", "'@SUM"]


def test_deals_export_every_deal_of_the_filters_not_one_page(owner, opportunity, client_for):
    client = client_for(owner)
    got = rows(client.get(reverse("opportunities:my_deals") + "?format=csv"))
    assert [r[1] for r in got[1:]] == ["Acme rollout"]
    assert rows(client.get(reverse("opportunities:my_deals") + "?q=nothing-like-it&format=csv"))[1:] == []


def test_flags_and_post_mortems_export(owner, opportunity, client_for, now):
    Flag.objects.create(opportunity=opportunity, kind=Flag._meta.get_field("kind").choices[0][0], opened_at=now)
    client = client_for(owner)
    got = rows(client.get(reverse("pipeline:needs_attention") + "?format=csv"))
    assert got[1][1] == "Acme rollout"
    assert rows(client.get(reverse("postmortem:queue") + "?format=csv"))[0][:2] == ["id", "deal"]


def test_activities_export_every_activity_of_the_deal_and_the_account(owner, opportunity, contact, client_for, now):
    for i in range(30):  # more than a page
        Activity.objects.create(
            account=opportunity.account,
            opportunity=opportunity if i % 2 else None,
            kind="call",
            subject="=cmd|' /C calc'!A0" if i == 0 else f"Call {i}",
            occurred_at=now,
            created_by=owner,
        ).contacts.add(contact)
    client = client_for(owner)
    deal = rows(client.get(reverse("opportunities:activities", args=[opportunity.pk]) + "?format=csv"))
    assert deal[0][:4] == ["id", "occurred_at", "kind", "subject"]
    assert len(deal) == 1 + 15 and {r[6] for r in deal[1:]} == {"Acme rollout"}
    account = rows(
        client.get(reverse("opportunities:account_activities", args=[opportunity.account_id]) + "?format=csv")
    )
    assert len(account) == 1 + 30
    assert "'=cmd|' /C calc'!A0" in [r[3] for r in account[1:]]
    assert {r[7] for r in account[1:]} == {str(contact)}


def test_an_outsider_exports_nothing_of_others(outsider, opportunity, client_for):
    client = client_for(outsider)
    assert rows(client.get(reverse("opportunities:my_deals") + "?scope=all&format=csv"))[1:] == []
