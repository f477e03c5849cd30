"""The account plan's API: the same services and rules as the account page."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities.models import AccountContactRole, AccountEvent, AccountEventVerb, AccountNextStep

DAY = dt.timedelta(days=1)


@pytest.fixture
def api_for(db):
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def test_the_owner_writes_and_reads_the_plan(api_for, owner, account, contact, process, today):
    api = api_for(owner)
    plan_url = reverse("api:account_plan", args=[account.pk])
    r = api.put(plan_url, {"objectives": "Land the EU division"}, format="json")
    assert r.status_code == 200 and r.json()["objectives"] == "Land the EU division"
    r = api.post(
        reverse("api:account_team", args=[account.pk]), {"contact": contact.pk, "roles": ["champion"]}, format="json"
    )
    assert r.status_code == 201 and r.json()["roles"] == ["champion"]
    r = api.post(
        reverse("api:account_next_step_set", args=[account.pk]),
        {"description": "Intro call", "due_date": today.isoformat()},
        format="json",
    )
    assert r.status_code == 201
    r = api.post(
        reverse("api:account_next_step_complete", args=[account.pk]),
        {"next_description": "Workshop", "next_due_date": (today + DAY).isoformat()},
        format="json",
    )
    assert r.status_code == 201 and r.json()["description"] == "Workshop"
    body = api.get(plan_url).json()
    assert body["next_step"]["description"] == "Workshop"
    assert [m["contact"] for m in body["buying_team"]] == [contact.pk]
    assert body["health"]["health"] in ("Healthy", "Cooling", "Cold")
    assert body["whitespace"] == [{"process": process.pk, "name": "New business", "state": ""}]
    r = api.delete(reverse("api:account_team_member", args=[account.pk, contact.pk]))
    assert r.status_code == 204 and not AccountContactRole.objects.exists()
    assert AccountEvent.objects.filter(account=account, verb=AccountEventVerb.TEAM_CHANGED).count() == 2


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("api:account_next_step_set", {"description": "x", "due_date": "2000-01-01"}),
        ("api:account_next_step_set", {"description": "x"}),
        ("api:account_next_step_complete", {"next_description": "x", "next_due_date": "2030-01-01"}),
        ("api:account_team", {"contact": 999999, "roles": ["champion"]}),
        ("api:account_team", {"contact": 1, "roles": ["king"]}),
    ],
)
def test_bad_input_is_400_and_changes_nothing(api_for, owner, account, name, data):
    before = AccountEvent.objects.count()
    r = api_for(owner).post(reverse(name, args=[account.pk]), data, format="json")
    assert r.status_code == 400
    assert AccountEvent.objects.count() == before and not AccountNextStep.objects.exists()


def test_readers_get_403_on_writes(api_for, teammate, account):
    api = api_for(teammate)
    assert api.get(reverse("api:account_plan", args=[account.pk])).status_code == 200
    r = api.put(reverse("api:account_plan", args=[account.pk]), {"objectives": "x"}, format="json")
    assert r.status_code == 403
    r = api.post(reverse("api:account_team", args=[account.pk]), {"contact": 1, "roles": ["user"]}, format="json")
    assert r.status_code == 403
