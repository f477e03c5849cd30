"""The API's global search (`/api/search/`) and contact detail (`/api/contacts/<id>/`)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities import services
from opportunities.models import AccountEvent, AccountEventVerb
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

SEARCH = reverse("api:search")


def contact_url(contact) -> str:
    return reverse("api:contact_detail", args=[contact.pk])


@pytest.fixture
def book(owner, outsider, opportunity, contact, process):
    services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"])
    stage = process.stages.order_by("order").first()
    hidden = OpportunityFactory(
        name="Acme secret", owner=outsider, account=opportunity.account, process=process, stage=stage
    )
    services.buying_team_add(hidden, actor=outsider, contact=contact, roles=["blocker"])
    return opportunity


def names(body: dict, kind: str) -> list[str]:
    return [row.get("name") or f"{row['first_name']} {row['last_name']}" for row in body[kind]["results"]]


def test_search_returns_each_kind_the_user_may_see(api_for, owner, book):
    response = api_for(owner).get(SEARCH, {"q": "acme"})
    assert response.status_code == 200
    body = response.json()
    assert body["q"] == "acme"
    assert names(body, "deals") == ["Acme rollout"]
    assert names(body, "accounts") == ["Acme Corp"]
    assert names(body, "contacts") == ["Carla Contact"]
    deal = body["deals"]["results"][0]
    assert deal["account"] == {"id": book.account_id, "name": "Acme Corp"}
    assert set(deal) == {"id", "name", "account", "stage", "owner", "status", "amount", "expected_close_date"}
    assert body["contacts"]["results"][0]["account_name"] == "Acme Corp"


def test_search_one_kind_pages(api_for, owner, account):
    for i in range(30):
        ContactFactory(account=account, first_name="Zoe", last_name=f"Zed {i:02d}")
    body = api_for(owner).get(SEARCH, {"q": "zoe", "kind": "contacts", "page": 2}).json()
    assert set(body) == {"q", "contacts"}
    assert (body["contacts"]["count"], body["contacts"]["page"], body["contacts"]["pages"]) == (30, 2, 2)
    assert len(body["contacts"]["results"]) == 5


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "\u200b"}, {"q": "x" * 101}, {"q": "acme", "kind": "people"}, {"q": "acme", "page": "0"}],
)
def test_search_bad_input_is_400(api_for, owner, params):
    response = api_for(owner).get(SEARCH, params)
    assert response.status_code == 400
    assert response.json()


def test_search_drops_invisible_characters(api_for, owner, book):
    body = api_for(owner).get(SEARCH, {"q": "ac\x00me\u200b"}).json()
    assert body["q"] == "acme" and names(body, "deals") == ["Acme rollout"]


def test_search_query_count_does_not_grow_with_rows(api_for, owner, account, process):
    client = api_for(owner)
    stage = process.stages.order_by("order").first()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(SEARCH, {"q": "zed"}).status_code == 200
        return len(captured)

    ContactFactory(account=account, last_name="Zed")
    AccountFactory(name="Zed", owner=owner)
    OpportunityFactory(name="Zed", owner=owner, account=account, process=process, stage=stage)
    queries()
    few = queries()
    for i in range(10):
        ContactFactory(account=account, last_name=f"Zed {i}")
        AccountFactory(name=f"Zed {i}", owner=owner)
        OpportunityFactory(name=f"Zed {i}", owner=owner, account=account, process=process, stage=stage)
    assert queries() == few


def test_contact_detail_shows_only_visible_deals(api_for, owner, outsider, book, contact):
    body = api_for(owner).get(contact_url(contact)).json()
    assert body["first_name"] == "Carla" and body["account_name"] == "Acme Corp"
    assert body["can_edit"] is True
    assert body["buying_roles"] == [{"opportunity": {"id": book.pk, "name": "Acme rollout"}, "roles": ["champion"]}]
    theirs = api_for(outsider).get(contact_url(contact)).json()
    assert [r["opportunity"]["name"] for r in theirs["buying_roles"]] == ["Acme secret"]
    assert theirs["can_edit"] is False


def test_contact_patch_goes_through_the_service_and_is_audited(api_for, owner, contact):
    response = api_for(owner).patch(contact_url(contact), {"title": "CFO"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "CFO"
    event = AccountEvent.objects.get(contact=contact, verb=AccountEventVerb.CONTACT_EDITED)
    assert event.data["changes"] == {"title": {"old": "", "new": "CFO"}}


def test_contact_patch_by_a_reader_is_403_and_bad_input_400(api_for, owner, teammate, contact):
    assert api_for(teammate).patch(contact_url(contact), {"title": "CFO"}, format="json").status_code == 403
    assert api_for(owner).patch(contact_url(contact), {"email": "nope"}, format="json").status_code == 400
    assert api_for(owner).patch(contact_url(contact), {"first_name": ""}, format="json").status_code == 400
    contact.refresh_from_db()
    assert (contact.title, contact.email, contact.first_name) == ("", "carla@acme.example", "Carla")


def test_contact_detail_of_an_invisible_or_missing_contact_is_404(api_for, owner, outsider, contact):
    from people.models import AccountVisibility, OrgSettings

    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": AccountVisibility.OWN})
    assert api_for(outsider).get(contact_url(contact)).status_code == 404
    assert api_for(owner).get(reverse("api:contact_detail", args=[999999])).status_code == 404
