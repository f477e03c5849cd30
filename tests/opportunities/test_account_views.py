"""The accounts list (health filters and sorts, constant queries) and the account plan's pages:
objectives, account-level buying team, next step, and a new deal from the account."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities.models import AccountContactRole, AccountEvent, AccountNextStep, BuyingTeamMember
from tests.factories import AccountFactory, ActivityFactory, ContactFactory
from tests.opportunities.account_world import build_health_world

DAY = dt.timedelta(days=1)
LIST = reverse("opportunities:account_list")


@pytest.fixture
def health_world(owner, process, now, today):
    return build_health_world(owner, process, now, today)


def names(response) -> list[str]:
    return [a.name for a in response.context["page"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["busy", "overdue", "planned", "stale"]),
        ("health=healthy", ["busy", "planned"]),
        ("health=cooling", ["overdue"]),
        ("health=cold", ["stale"]),
        ("touched=30", ["busy", "overdue", "planned"]),
        ("touched=stale", ["stale"]),
        ("deals=open", ["busy"]),
        ("deals=none", ["overdue", "planned", "stale"]),
        ("no_next_step=on", ["busy", "stale"]),
        ("industry=Retail", ["planned"]),
        ("sort=-name", ["stale", "planned", "overdue", "busy"]),
        ("sort=-health", ["busy", "planned", "overdue", "stale"]),
        ("sort=-touch", ["busy", "planned", "overdue", "stale"]),
        ("sort=touch", ["stale", "overdue", "planned", "busy"]),
        ("sort=deals", ["busy", "overdue", "planned", "stale"]),
        ("sort=next_step", ["busy", "stale", "overdue", "planned"]),
    ],
)
def test_the_list_filters_and_sorts_by_health(client_for, owner, health_world, query, expected):
    health_world["planned"].industry = "Retail"
    health_world["planned"].save()
    response = client_for(owner).get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert names(response) == expected


def test_the_list_filters_by_owner(client_for, owner, teammate, health_world):
    AccountFactory(name="theirs", owner=teammate)
    response = client_for(owner).get(f"{LIST}?owner={teammate.pk}")
    assert names(response) == ["theirs"]


def test_bad_filters_show_an_error_and_no_rows(client_for, owner, health_world):
    response = client_for(owner).get(f"{LIST}?health=purple&sort=drop")
    assert response.status_code == 200
    assert names(response) == [] and response.context["form"].errors


def test_the_list_costs_the_same_queries_for_more_accounts(client_for, owner, health_world, now):
    client = client_for(owner)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{LIST}?sort=-health").status_code == 200
        return len(ctx)

    count()  # the first request of a session also records the sign-in
    before = count()
    for i in range(6):
        account = AccountFactory(owner=owner, industry=f"Industry {i}")
        ActivityFactory(account=account, occurred_at=now - DAY).contacts.set([ContactFactory(account=account)])
    assert count() == before <= 9


def test_the_list_pages_and_stacks_on_phones(client_for, owner, health_world):
    body = client_for(owner).get(f"{LIST}?per_page=10").content.decode()
    assert 'class="list stack"' in body and 'data-label="Health"' in body


# --- the plan on the account page -----------------------------------------------------------------------


def test_the_owner_writes_the_plan_from_the_account_page(client_for, owner, account, contact, today):
    client = client_for(owner)
    url = reverse("opportunities:account_detail", args=[account.pk])
    assert 'id="plan"' in client.get(url).content.decode()
    r = client.post(reverse("opportunities:account_plan_update", args=[account.pk]), {"objectives": "Win EU"})
    assert r.status_code == 302 and r.url.endswith("#plan")
    client.post(
        reverse("opportunities:account_team_add", args=[account.pk]), {"contact": contact.pk, "roles": ["champion"]}
    )
    client.post(
        reverse("opportunities:account_team_add", args=[account.pk]),
        {"first_name": "Ed", "last_name": "Econ", "roles": ["economic_buyer"]},
    )
    client.post(
        reverse("opportunities:account_next_step_set", args=[account.pk]),
        {"description": "Discovery call", "due_date": today.isoformat()},
    )
    client.post(
        reverse("opportunities:account_next_step_complete", args=[account.pk]),
        {"description": "Send case study", "due_date": (today + DAY).isoformat()},
    )
    body = client.get(url).content.decode()
    assert "Win EU" in body and "Send case study" in body and "Ed Econ" in body and "Economic buyer" in body
    assert AccountContactRole.objects.filter(account=account).count() == 2
    assert AccountNextStep.objects.filter(account=account, completed_at__isnull=True).get().description == (
        "Send case study"
    )


def test_bad_input_is_a_message_and_changes_nothing(client_for, owner, account):
    client = client_for(owner)
    before = AccountEvent.objects.count()
    r = client.post(reverse("opportunities:account_next_step_set", args=[account.pk]), {"description": "x"})
    assert r.status_code == 302
    r = client.post(
        reverse("opportunities:account_team_add", args=[account.pk]), {"contact": "999999", "roles": ["champion"]}
    )
    r = client.post(reverse("opportunities:account_next_step_complete", args=[account.pk]), {})
    page = client.get(reverse("opportunities:account_detail", args=[account.pk]))
    assert [str(m) for m in page.context["messages"]]
    assert AccountEvent.objects.count() == before


def test_readers_cannot_write_the_plan(client_for, teammate, account):
    r = client_for(teammate).post(reverse("opportunities:account_plan_update", args=[account.pk]), {"objectives": "x"})
    assert r.status_code == 403


def test_a_deal_from_the_account_carries_its_team(client_for, owner, account, contact, process, today):
    AccountContactRole.objects.create(account=account, contact=contact, roles=["champion"])
    client = client_for(owner)
    url = reverse("opportunities:account_deal_create", args=[account.pk])
    assert contact.name in client.get(url).content.decode()
    r = client.post(
        url,
        {
            "process": process.pk,
            "name": "From the plan",
            "amount": "1000",
            "expected_close_date": (today + 30 * DAY).isoformat(),
        },
    )
    assert r.status_code == 302
    member = BuyingTeamMember.objects.get(opportunity__name="From the plan")
    assert (member.contact, member.roles) == (contact, ["champion"])
