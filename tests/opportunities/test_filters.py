"""The lists' FilterSets (`opportunities.filters`): each filter selects the same rows through the
HTML page and through the API, the interface-only names keep working, bad input selects nothing
(the page shows why, the API answers 400 naming the input), and no filter widens `for_user`."""

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.http import QueryDict
from django.test import RequestFactory
from django.urls import reverse

from opportunities.filters import API, HTML, AccountFilter, ContactFilter, DealFilter
from opportunities.models import OpportunityStatus
from people.models import AccountVisibility, OrgSettings, Visibility
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, make_process
from tests.opportunities.account_world import build_health_world
from tests.pipeline.test_api_schemathesis import raw_schema

# --- deals -------------------------------------------------------------------------------------------


@pytest.fixture
def deals(owner, teammate, account, process):
    """Owner's deals across two processes, stages, months and statuses; one of teammate's."""
    qualify, discover, _ = process.stages.order_by("order")
    renewals = make_process(name="Renewals", stages=2)
    globex = AccountFactory(name="Globex", owner=owner)
    make = OpportunityFactory
    return SimpleNamespace(
        renewals=renewals,
        discover=discover,
        alpha=make(
            name="Alpha",
            owner=owner,
            account=account,
            process=process,
            stage=qualify,
            amount=Decimal("300"),
            expected_close_date=dt.date(2026, 3, 20),
        ),
        bravo=make(
            name="Bravo",
            owner=owner,
            account=globex,
            process=process,
            stage=discover,
            amount=Decimal("100"),
            expected_close_date=dt.date(2026, 4, 10),
        ),
        charlie=make(
            name="Charlie",
            owner=owner,
            account=account,
            process=renewals,
            stage=renewals.stages.order_by("order").first(),
            amount=Decimal("200"),
            expected_close_date=dt.date(2026, 3, 5),
        ),
        won=make(
            name="Won deal",
            owner=owner,
            account=account,
            process=process,
            stage=discover,
            status=OpportunityStatus.WON,
            expected_close_date=dt.date(2026, 3, 1),
        ),
        theirs=make(
            name="Teammate deal",
            owner=teammate,
            account=account,
            process=process,
            stage=qualify,
            amount=Decimal("50"),
            expected_close_date=dt.date(2026, 5, 1),
        ),
    )


def page_deals(client, params: dict) -> list[str]:
    response = client.get(reverse("opportunities:my_deals"), params)
    assert response.status_code == 200
    return re.findall(r'<td><a href="/deals/\d+/">([^<]*)</a>', response.content.decode())


def api_deals(client, params: dict) -> list[str]:
    response = client.get(reverse("api:opportunity_list"), params)
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def _ids(params: dict, deals) -> dict:
    named = {"RENEWALS": deals.renewals.pk, "DISCOVER": deals.discover.pk}
    return {key: named.get(value, value) for key, value in params.items()}


# Filters both interfaces read, under the same names: the page asked for every deal it can show
# (`scope=all`, `status=` for any status) lists what the API lists.
SHARED = [
    ({}, ["Won deal", "Charlie", "Alpha", "Bravo", "Teammate deal"]),
    ({"status": "open"}, ["Charlie", "Alpha", "Bravo", "Teammate deal"]),
    ({"status": "won"}, ["Won deal"]),
    ({"status": "lost"}, []),
    ({"process": "RENEWALS"}, ["Charlie"]),
    ({"stage": "DISCOVER"}, ["Won deal", "Bravo"]),
    ({"close_month": "2026-03"}, ["Won deal", "Charlie", "Alpha"]),
    ({"close_month": "2026-04"}, ["Bravo"]),
    ({"q": "globex"}, ["Bravo"]),
    ({"q": "  alp "}, ["Alpha"]),
    ({"q": "nothing like it"}, []),
    ({"status": "open", "close_month": "2026-03", "q": "a"}, ["Charlie", "Alpha"]),
]


@pytest.mark.parametrize(("params", "expected"), SHARED)
def test_deal_filters_select_the_same_deals_on_the_page_and_in_the_api(
    params, expected, deals, owner, client_for, api_for
):
    params = _ids(params, deals)
    page = page_deals(client_for(owner), {"scope": "all", "status": "", **params})
    assert page == expected
    assert api_deals(api_for(owner), params) == expected


def test_deal_filter_is_the_one_both_interfaces_read(deals, owner):
    request = RequestFactory().get("/")
    request.user = owner
    query = QueryDict("close_month=2026-03&status=open")
    on_page = DealFilter(query, request=request, interface=HTML)
    in_api = DealFilter(query, request=request, interface=API)
    assert [d.name for d in on_page.qs] == ["Charlie", "Alpha"]  # the page's default: mine
    assert [d.name for d in in_api.qs] == ["Charlie", "Alpha"]
    assert set(on_page.form.fields) == {"q", "process", "stage", "close_month", "status", "scope", "sort"}
    assert set(in_api.form.fields) == {"q", "process", "stage", "close_month", "status", "owner", "ordering"}


@pytest.mark.parametrize(
    ("page_params", "api_params", "expected"),
    [
        ({"status": ""}, {"owner": "me"}, ["Won deal", "Charlie", "Alpha", "Bravo"]),
        ({"scope": "all", "sort": "-amount"}, {"status": "open", "ordering": "-amount"}, None),
        ({"sort": "name"}, {"status": "open", "owner": "me", "ordering": "name"}, ["Alpha", "Bravo", "Charlie"]),
        ({"scope": "all", "sort": "stage"}, {"status": "open", "ordering": "stage"}, None),
        ({"sort": "-close"}, {"status": "open", "owner": "me", "ordering": "-close"}, ["Bravo", "Alpha", "Charlie"]),
    ],
)
def test_deal_scope_and_sort_keep_their_names_in_each_interface(
    page_params, api_params, expected, deals, owner, client_for, api_for
):
    page = page_deals(client_for(owner), page_params)
    assert page == api_deals(api_for(owner), api_params)
    if expected is not None:
        assert page == expected


def test_my_deals_without_filters_are_my_open_deals_and_the_api_every_deal(deals, owner, client_for, api_for):
    assert page_deals(client_for(owner), {}) == ["Charlie", "Alpha", "Bravo"]
    assert len(api_deals(api_for(owner), {})) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"close_month": "2026-13"},
        {"close_month": "march"},
        {"status": "maybe"},
        {"process": "abc"},
        {"process": "999999"},
        {"stage": "-1"},
        {"q": "x" * 101},
        {"q": "nul\x00"},
    ],
)
def test_bad_deal_filters_select_nothing_with_a_message(params, deals, owner, client_for, api_for):
    response = client_for(owner).get(reverse("opportunities:my_deals"), {"scope": "all", **params})
    assert response.status_code == 200
    body = response.content.decode()
    assert "No deals match." in body or "No deals" in body
    assert 'class="error" role="alert"' in body
    api = api_for(owner).get(reverse("api:opportunity_list"), params)
    assert api.status_code == 400
    errors = api.json()
    assert set(errors) == set(params)  # the input named, nothing else (no rows)
    assert all(isinstance(message, str) and message for message in errors[next(iter(params))])


@pytest.mark.parametrize("params", [{"sort": "random"}, {"scope": "everyone"}])
def test_bad_page_only_input_selects_nothing(params, deals, owner, client_for):
    assert page_deals(client_for(owner), params) == []


@pytest.mark.parametrize("params", [{"ordering": "random"}, {"owner": "someone"}])
def test_bad_api_only_input_is_400(params, deals, owner, api_for):
    response = api_for(owner).get(reverse("api:opportunity_list"), params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_deal_filters_never_widen_what_the_user_may_read(deals, owner, outsider, client_for, api_for):
    everything = {"scope": "all", "status": "", "process": deals.alpha.process_id}
    assert page_deals(client_for(outsider), everything) == []
    assert api_deals(api_for(outsider), {"process": deals.alpha.process_id}) == []
    OrgSettings.objects.update_or_create(pk=1, defaults={"visibility": Visibility.OWN})
    assert "Teammate deal" not in page_deals(client_for(owner), {"scope": "all", "status": ""})
    assert "Teammate deal" not in api_deals(api_for(owner), {})


def test_the_api_schema_describes_the_deal_filters():
    parameters = {p["name"]: p for p in raw_schema()["paths"]["/api/opportunities/"]["get"]["parameters"]}
    assert {"q", "process", "stage", "close_month", "status", "owner", "ordering", "page"} <= set(parameters)
    assert "scope" not in parameters and "sort" not in parameters
    assert parameters["ordering"]["schema"]["enum"] == sorted(DealFilter.sorts())
    assert parameters["process"]["schema"]["type"] == "integer"
    assert parameters["close_month"]["description"]
    assert parameters["q"]["schema"] == {"type": "string", "maxLength": 100}


# --- accounts ----------------------------------------------------------------------------------------


@pytest.fixture
def health_world(owner, process, now, today):
    world = build_health_world(owner, process, now, today)
    world["planned"].industry = "Retail"
    world["planned"].save()
    return world


def page_accounts(client, params: dict) -> list[str]:
    response = client.get(reverse("opportunities:account_list"), params)
    assert response.status_code == 200
    return [account.name for account in response.context["page"]]


def api_accounts(client, params: dict) -> list[str]:
    response = client.get(reverse("api:account_list"), params)
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


ACCOUNT_FILTERS = [
    ({}, ["busy", "overdue", "planned", "stale"]),
    ({"q": "PLAN"}, ["planned"]),
    ({"health": "healthy"}, ["busy", "planned"]),
    ({"health": "cooling"}, ["overdue"]),
    ({"health": "cold"}, ["stale"]),
    ({"touched": "30"}, ["busy", "overdue", "planned"]),
    ({"touched": "90"}, ["busy", "overdue", "planned"]),
    ({"touched": "stale"}, ["stale"]),
    ({"deals": "open"}, ["busy"]),
    ({"deals": "none"}, ["overdue", "planned", "stale"]),
    ({"no_next_step": "true"}, ["busy", "stale"]),
    ({"no_next_step": "false"}, ["busy", "overdue", "planned", "stale"]),
    ({"industry": "Retail"}, ["planned"]),
    ({"health": "healthy", "deals": "none"}, ["planned"]),
]


@pytest.mark.parametrize(("params", "expected"), ACCOUNT_FILTERS)
def test_account_filters_select_the_same_accounts_on_the_page_and_in_the_api(
    params, expected, health_world, owner, client_for, api_for
):
    assert page_accounts(client_for(owner), params) == expected
    assert api_accounts(api_for(owner), params) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["busy", "overdue", "planned", "stale"]),
        ("-name", ["stale", "planned", "overdue", "busy"]),
        ("-health", ["busy", "planned", "overdue", "stale"]),
        ("touch", ["stale", "overdue", "planned", "busy"]),
        ("deals", ["busy", "overdue", "planned", "stale"]),
        ("next_step", ["busy", "stale", "overdue", "planned"]),
    ],
)
def test_accounts_sort_on_the_page_and_order_in_the_api_alike(sort, expected, health_world, owner, client_for, api_for):
    assert page_accounts(client_for(owner), {"sort": sort}) == expected
    assert api_accounts(api_for(owner), {"ordering": sort}) == expected


def test_accounts_filter_by_owner_in_both(health_world, owner, teammate, client_for, api_for):
    AccountFactory(name="theirs", owner=teammate)
    assert page_accounts(client_for(owner), {"owner": teammate.pk}) == ["theirs"]
    assert api_accounts(api_for(owner), {"owner": teammate.pk}) == ["theirs"]


@pytest.mark.parametrize(
    "params",
    [
        {"health": "purple"},
        {"touched": "7"},
        {"deals": "some"},
        {"industry": "Mining"},  # no account the user may see is in it
        {"owner": "nobody"},
        {"owner": "999999"},
    ],
)
def test_bad_account_filters_select_nothing_with_a_message(params, health_world, owner, client_for, api_for):
    response = client_for(owner).get(reverse("opportunities:account_list"), params)
    assert response.status_code == 200
    assert list(response.context["page"]) == [] and set(response.context["form"].errors) == set(params)
    assert 'class="error" role="alert"' in response.content.decode()
    api = api_for(owner).get(reverse("api:account_list"), params)
    assert api.status_code == 400
    assert set(api.json()) == set(params)


def test_an_overlong_account_search_is_cut_on_the_page_and_400_in_the_api(health_world, owner, client_for, api_for):
    assert page_accounts(client_for(owner), {"q": "busy" + "x" * 200}) == []
    response = api_for(owner).get(reverse("api:account_list"), {"q": "x" * 101})
    assert response.status_code == 400 and set(response.json()) == {"q"}


def test_bad_account_ordering_is_400_and_bad_sort_selects_nothing(health_world, owner, client_for, api_for):
    assert page_accounts(client_for(owner), {"sort": "drop"}) == []
    response = api_for(owner).get(reverse("api:account_list"), {"ordering": "drop"})
    assert response.status_code == 400 and set(response.json()) == {"ordering"}


def test_account_filters_never_widen_what_the_user_may_read(health_world, owner, outsider, client_for, api_for):
    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": AccountVisibility.OWN})
    for params in ({}, {"owner": owner.pk}, {"deals": "none"}, {"health": "cold"}):
        assert page_accounts(client_for(outsider), params) == []
        assert api_accounts(api_for(outsider), params) == []
    # Another team's industries are not offered, nor accepted.
    response = api_for(outsider).get(reverse("api:account_list"), {"industry": "Retail"})
    assert response.status_code == 400


def test_account_filter_is_the_one_both_interfaces_read(health_world, owner, now):
    request = RequestFactory().get("/")
    request.user = owner
    query = QueryDict("health=healthy")
    on_page = AccountFilter(query, request=request, interface=HTML, now=now)
    in_api = AccountFilter(query, request=request, interface=API, now=now)
    assert [a.name for a in on_page.qs] == [a.name for a in in_api.qs] == ["busy", "planned"]
    assert "sort" in on_page.form.fields and "ordering" not in on_page.form.fields
    assert "ordering" in in_api.form.fields and "sort" not in in_api.form.fields


def test_the_api_schema_describes_the_account_filters():
    parameters = {p["name"]: p for p in raw_schema()["paths"]["/api/accounts/"]["get"]["parameters"]}
    expected = {"q", "health", "touched", "deals", "no_next_step", "industry", "owner", "ordering", "page"}
    assert expected <= set(parameters)
    assert parameters["health"]["schema"]["enum"] == ["cold", "cooling", "healthy"]
    assert parameters["no_next_step"]["schema"]["type"] == "boolean"
    assert parameters["ordering"]["schema"]["enum"] == sorted(AccountFilter.SORTS)


# --- contacts ----------------------------------------------------------------------------------------


@pytest.fixture
def people(owner, account):
    ContactFactory(account=account, first_name="Carla", last_name="Contact", title="CFO", email="carla@acme.example")
    ContactFactory(account=account, first_name="Dan", last_name="Buyer", title="Head of IT", email="dan@acme.example")
    ContactFactory(account=account, first_name="Erin", last_name="Admin", title="IT admin", email="erin@acme.example")
    return account


def page_contacts(client, params: dict) -> list[str]:
    response = client.get(reverse("opportunities:contact_list"), params)
    assert response.status_code == 200
    return [f"{c.first_name} {c.last_name}" for c in response.context["page"]]


def api_contacts(client, account, params: dict) -> list[str]:
    response = client.get(reverse("api:account_contacts", args=[account.pk]), params)
    assert response.status_code == 200, response.content
    return [f"{row['first_name']} {row['last_name']}" for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Erin Admin", "Dan Buyer", "Carla Contact"]),
        ({"q": "it"}, ["Erin Admin", "Dan Buyer"]),
        ({"q": "it admin"}, ["Erin Admin"]),
        ({"q": "CARLA@"}, ["Carla Contact"]),
        ({"q": "nobody"}, []),
    ],
)
def test_contact_search_selects_the_same_people_on_the_page_and_in_the_api(
    params, expected, people, owner, client_for, api_for
):
    assert page_contacts(client_for(owner), params) == expected
    assert api_contacts(api_for(owner), people, params) == expected


def test_contact_filters_never_widen_what_the_user_may_read(people, owner, outsider, client_for, api_for):
    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": AccountVisibility.OWN})
    assert page_contacts(client_for(outsider), {"q": "acme"}) == []
    response = api_for(outsider).get(reverse("api:account_contacts", args=[people.pk]), {"q": "acme"})
    assert response.status_code == 404


def test_a_bad_contact_search_is_400_in_the_api_and_cut_on_the_page(people, owner, client_for, api_for):
    assert page_contacts(client_for(owner), {"q": "carla" + " " * 200 + "x"}) == ["Carla Contact"]
    response = api_for(owner).get(reverse("api:account_contacts", args=[people.pk]), {"q": "x" * 101})
    assert response.status_code == 400 and set(response.json()) == {"q"}


def test_the_api_schema_describes_the_contact_search():
    parameters = raw_schema()["paths"]["/api/accounts/{id}/contacts/"]["get"]["parameters"]
    assert "q" in {p["name"] for p in parameters}


# --- every list -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("filterset", [DealFilter, AccountFilter, ContactFilter])
@pytest.mark.parametrize("interface", [HTML, API])
def test_every_filter_has_a_label_and_every_api_filter_a_description(filterset, interface):
    for name, field in filterset.form_class(interface).base_fields.items():
        assert field.label and "invalid name" not in str(field.label), name
    if interface == API:
        for parameter in filterset.parameters(API):
            assert parameter.description, parameter.name
