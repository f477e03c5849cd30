"""Who reads and who changes accounts and their contacts, under each account visibility.

The matrix: every setting × every persona × every account and contact endpoint of the pages
and the API. Reading: everyone (the default), the owner's team, or only the owner — always
also the managers of the owner's team and admins. Changing: the owner, the managers of the
owner's team and admins, whatever the setting. Not visible → 404, visible but not editable →
403, and a refused write changes nothing.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services
from opportunities.models import Account, AccountEvent, Activity, Contact, account_can_edit
from people.models import AccountVisibility, OrgSettings, Role, Visibility
from tests.factories import ActivityFactory, UserFactory

PERSONAS = ["owner", "teammate", "outsider", "manager", "other_manager", "admin"]
EDITORS = {"owner", "manager", "admin"}
READERS = {
    AccountVisibility.EVERYONE: set(PERSONAS),
    AccountVisibility.TEAM: {"owner", "teammate", "manager", "admin"},
    AccountVisibility.OWN: {"owner", "manager", "admin"},
}


@pytest.fixture
def other_manager(other_team):
    return UserFactory(username="otherm", first_name="Otto", last_name="Other", role=Role.MANAGER, manages=[other_team])


def set_account_visibility(value: str) -> None:
    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": value})


def state() -> list:
    return [
        list(Account.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        AccountEvent.objects.count(),
    ]


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def expected(setting: str, persona: str, *, write: bool) -> int:
    """The status a persona gets from a page or an operation on the owner's account."""
    if persona not in READERS[setting]:
        return 404
    if write and persona not in EDITORS:
        return 403
    return 200


MATRIX = [(setting, persona) for setting in AccountVisibility.values for persona in PERSONAS]


# --- the rule as functions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "persona"), MATRIX)
def test_for_user_and_account_can_edit(request, account, contact, setting, persona):
    set_account_visibility(setting)
    user = request.getfixturevalue(persona)
    sees = persona in READERS[setting]
    assert Account.objects.for_user(user).filter(pk=account.pk).exists() is sees
    assert Contact.objects.for_user(user).filter(pk=contact.pk).exists() is sees
    assert account_can_edit(user, account) is (persona in EDITORS)
    assert contact.can_edit(user) is (persona in EDITORS)


def test_the_default_is_everyone_reads(db):
    assert OrgSettings.current().account_visibility == AccountVisibility.EVERYONE


def test_anonymous_reads_no_accounts(account, contact):
    assert not Account.objects.for_user(AnonymousUser()).exists()
    assert not Contact.objects.for_user(AnonymousUser()).exists()


@pytest.mark.parametrize("setting", [AccountVisibility.TEAM, AccountVisibility.OWN])
def test_each_reads_their_own_their_teams_if_allowed_and_those_they_manage(
    request, setting, account, teammate, outsider, other_manager
):
    set_account_visibility(setting)
    mine = {user: services.account_create(actor=user, name=f"{user}'s") for user in (teammate, outsider, other_manager)}
    team = setting == AccountVisibility.TEAM
    assert set(Account.objects.for_user(teammate)) == {mine[teammate], *([account] if team else [])}
    assert set(Account.objects.for_user(outsider)) == {mine[outsider]}
    assert set(Account.objects.for_user(other_manager)) == {mine[other_manager], mine[outsider]}


def test_the_account_of_a_deal_one_may_read_is_readable(account, opportunity, outsider, teammate, process, now):
    """Under "own", a rep still opens the account of a deal they own or may read."""
    set_account_visibility(AccountVisibility.OWN)
    assert Account.objects.for_user(teammate).filter(pk=account.pk).exists()  # reads owner's deal (team)
    assert not Account.objects.for_user(outsider).filter(pk=account.pk).exists()
    OrgSettings.objects.filter(pk=1).update(visibility=Visibility.OWN)
    teammate = type(teammate).objects.get(pk=teammate.pk)  # the settings are read once per user object
    assert not Account.objects.for_user(teammate).filter(pk=account.pk).exists()
    services.opportunity_create(
        actor=outsider,
        account=account,
        process=process,
        name="Outsider's deal",
        amount=1,
        expected_close_date=now.date(),
    )
    assert Account.objects.for_user(outsider).filter(pk=account.pk).exists()
    assert not account_can_edit(outsider, account)


@pytest.mark.parametrize("setting", AccountVisibility.values)
def test_account_only_activities_follow_their_account(request, account, owner, setting):
    set_account_visibility(setting)
    ActivityFactory(account=account, created_by=owner, subject="Account call")
    for persona in PERSONAS:
        user = request.getfixturevalue(persona)
        seen = Activity.objects.for_user(user).filter(subject="Account call").exists()
        assert seen is (persona in READERS[setting]), persona


# --- the pages ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "persona"), MATRIX)
def test_pages(request, client_for, account, contact, setting, persona):
    set_account_visibility(setting)
    client = client_for(request.getfixturevalue(persona))
    read, write = expected(setting, persona, write=False), expected(setting, persona, write=True)

    listing = client.get(reverse("opportunities:account_list")).content.decode()
    assert ("Acme Corp" in listing) is (read == 200)
    for name in ("account_detail", "account_history", "account_activities"):
        assert client.get(reverse(f"opportunities:{name}", args=[account.pk])).status_code == read, name
    if read == 200:
        body = client.get(reverse("opportunities:account_detail", args=[account.pk])).content.decode()
        assert "carla@acme.example" in body
        assert (reverse("opportunities:account_edit", args=[account.pk]) in body) is (write == 200)
        assert (reverse("opportunities:contact_edit", args=[contact.pk]) in body) is (write == 200)

    edit = reverse("opportunities:account_edit", args=[account.pk])
    contact_edit = reverse("opportunities:contact_edit", args=[contact.pk])
    assert client.get(edit).status_code == write
    assert client.get(contact_edit).status_code == write
    before = state()
    response = client.post(edit, {"name": "Acme Renamed", "status": "customer"})
    assert response.status_code == (302 if write == 200 else write)
    response = client.post(contact_edit, {"first_name": "Carla", "last_name": "Renamed"})
    assert response.status_code == (302 if write == 200 else write)
    if write == 200:
        account.refresh_from_db()
        contact.refresh_from_db()
        assert (account.name, contact.last_name) == ("Acme Renamed", "Renamed")
    else:
        assert state() == before


@pytest.mark.parametrize(("setting", "persona"), MATRIX)
def test_adding_contacts_and_activities_needs_only_reading(request, client_for, account, setting, persona):
    set_account_visibility(setting)
    client = client_for(request.getfixturevalue(persona))
    read = expected(setting, persona, write=False)
    before = state()
    response = client.post(
        reverse("opportunities:contact_create", args=[account.pk]), {"first_name": "N", "last_name": "New"}
    )
    assert response.status_code == (302 if read == 200 else 404)
    response = client.post(
        reverse("opportunities:account_activity_log", args=[account.pk]), {"kind": "call", "subject": "Hello"}
    )
    assert response.status_code == (302 if read == 200 else 404)
    if read != 200:
        assert state() == before
        assert not Activity.objects.exists()


# --- the API ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "persona"), MATRIX)
def test_api(request, account, contact, setting, persona):
    set_account_visibility(setting)
    client = api(request.getfixturevalue(persona))
    read, write = expected(setting, persona, write=False), expected(setting, persona, write=True)

    names = [row["name"] for row in client.get(reverse("api:account_list")).json()["results"]]
    assert ("Acme Corp" in names) is (read == 200)
    detail = reverse("api:account_detail", args=[account.pk])
    assert client.get(detail).status_code == read
    contacts = client.get(reverse("api:account_contacts", args=[account.pk]))
    assert contacts.status_code == read
    if read == 200:
        assert contacts.json()["results"][0]["email"] == "carla@acme.example"
    assert client.get(reverse("api:account_events", args=[account.pk])).status_code == read
    before = state()
    response = client.patch(detail, {"industry": "Rockets"}, format="json")
    assert response.status_code == write
    if write == 200:
        assert Account.objects.get(pk=account.pk).industry == "Rockets"
    else:
        assert state() == before


def test_a_manager_who_does_not_manage_the_owner_is_refused_by_the_service(account, contact, other_manager):
    from opportunities.errors import AccessDenied

    before = state()
    with pytest.raises(AccessDenied):
        services.account_update(account, actor=other_manager, name="Hijacked")
    with pytest.raises(AccessDenied):
        services.contact_update(contact, actor=other_manager, title="Hijacked")
    assert state() == before


# --- handing an account on ------------------------------------------------------------------------------------


def test_a_manager_hands_an_account_within_their_team_and_it_is_audited(account, manager, teammate, now):
    services.account_update(account, actor=manager, owner=teammate, now=now)
    assert Account.objects.get(pk=account.pk).owner == teammate
    event = AccountEvent.objects.get(account=account)
    assert event.data == {
        "changes": {"owner": {"old": "Olivia Owner", "new": "Tom Teammate"}},
        "owner_ids": {"old": account.owner_id, "new": teammate.pk},
    }
    assert event.describe() == "Edited the account: owner: Olivia Owner → Tom Teammate"


@pytest.mark.parametrize(
    ("actor_name", "new_owner_name", "message"),
    [
        ("owner", "teammate", "Only managers and admins can hand an account to someone else."),
        ("manager", "outsider", "You can only hand accounts to people you manage; Oscar Outsider is not one of them."),
        ("manager", "inactive", "Ian Inactive is not an active user."),
    ],
)
def test_handing_an_account_on_is_refused_unless_allowed(request, account, actor_name, new_owner_name, message):
    from opportunities.errors import DomainError

    if new_owner_name == "inactive":
        new_owner = UserFactory(first_name="Ian", last_name="Inactive", team=request.getfixturevalue("team"))
        new_owner.is_active = False
        new_owner.save()
    else:
        new_owner = request.getfixturevalue(new_owner_name)
    before = state()
    with pytest.raises(DomainError) as excinfo:
        services.account_update(account, actor=request.getfixturevalue(actor_name), owner=new_owner)
    assert excinfo.value.message == message
    assert state() == before


def test_an_admin_hands_an_account_to_anyone(account, admin, outsider):
    services.account_update(account, actor=admin, owner=outsider)
    assert Account.objects.get(pk=account.pk).owner == outsider


def test_the_edit_page_offers_the_owner_to_managers_only(client_for, account, owner, manager, teammate, outsider):
    url = reverse("opportunities:account_edit", args=[account.pk])
    assert 'name="owner"' not in client_for(owner).get(url).content.decode()
    page = client_for(manager).get(url).content.decode()
    assert 'name="owner"' in page and "Tom Teammate" in page and "Oscar Outsider" not in page
    response = client_for(manager).post(url, {"name": "Acme Corp", "status": "target", "owner": teammate.pk})
    assert response.status_code == 302
    assert Account.objects.get(pk=account.pk).owner == teammate
    # Leaving the owner out leaves it alone.
    assert client_for(manager).post(url, {"name": "Acme Two", "status": "target"}).status_code == 302
    assert Account.objects.get(pk=account.pk).owner == teammate
    before = state()
    response = client_for(manager).post(url, {"name": "Acme Corp", "status": "target", "owner": outsider.pk})
    assert response.status_code == 400
    assert state() == before


def test_the_api_hands_an_account_on_by_the_same_rule(account, owner, manager, teammate, outsider):
    url = reverse("api:account_detail", args=[account.pk])
    response = api(owner).patch(url, {"owner": teammate.pk}, format="json")
    assert response.status_code == 403
    response = api(manager).patch(url, {"owner": outsider.pk}, format="json")
    assert response.status_code == 403
    response = api(manager).patch(url, {"owner": teammate.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["owner"] == {"id": teammate.pk, "name": "Tom Teammate"}


def test_whoever_reads_every_account_reads_the_contacts_without_asking_for_the_accounts(owner, contact):
    # Counting the contacts list would otherwise join every contact to every account (bench/README.md).
    set_account_visibility(AccountVisibility.EVERYONE)
    visible = Contact.objects.for_user(owner)
    # No condition at all, so nothing for the database to join the accounts for.
    assert not visible.query.where
    assert list(visible) == [contact]
