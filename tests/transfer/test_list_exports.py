"""Every list downloads as CSV with its current filters, formulas neutralised."""

import csv
import io

from django.urls import reverse

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


def test_an_outsider_exports_nothing_of_others(outsider, opportunity, client_for):
    client = client_for(outsider)
    assert rows(client.get(reverse("opportunities:my_deals") + "?scope=all&format=csv"))[1:] == []
