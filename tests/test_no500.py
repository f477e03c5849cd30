"""The seven requests that crashed the server (issue 16): each is now refused with a 400 or 404
and a message saying what was wrong, and changes nothing. `tests/test_fuzz_forms.py` and
`tests/opportunities/test_api_fuzz.py` throw generated values at every form and API operation."""

import json

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from opportunities.models import Account, Activity, Contact, NextStep, Opportunity, OpportunityEvent
from stages.cleaning import INT_MAX
from tests.factories import ContactFactory, OpportunityFactory

HUGE = 10**30


def row_counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Account, Contact, Opportunity, OpportunityEvent, Activity, NextStep)
    } | {"versions": sorted(Opportunity.objects.values_list("pk", "version"))}


@pytest.fixture
def rep(client_for, owner):
    return client_for(owner)


@pytest.mark.parametrize("offset", [str(HUGE), str(INT_MAX + 1), "-1", "1e999", "nan", "x" * 5000])
def test_board_column_refuses_an_offset_beyond_any_column(rep, process, opportunity, offset):
    stage = opportunity.stage
    before = row_counts()
    response = rep.get(reverse("board:column", args=[process.pk, stage.pk]), {"offset": offset})
    assert response.status_code == 400
    assert "Offset: give a whole number from 0 to" in response.content.decode()
    assert row_counts() == before


def test_board_column_says_what_was_wrong_with_the_offset_in_an_htmx_answer(rep, process, opportunity):
    url = reverse("board:column", args=[process.pk, opportunity.stage_id])
    response = rep.get(url, {"offset": str(HUGE)}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert 'id="messages"' in response.content.decode()
    assert "Offset: give a whole number from 0 to" in response.content.decode()


def test_board_column_takes_the_largest_offset_there_is(rep, process, opportunity):
    response = rep.get(reverse("board:column", args=[process.pk, opportunity.stage_id]), {"offset": INT_MAX})
    assert response.status_code == 200
    assert response.context["cards"] == []


@pytest.mark.parametrize("name", ["process", "stage"])
@pytest.mark.parametrize("value", [str(HUGE), str(INT_MAX + 1)])
def test_api_list_refuses_an_id_filter_beyond_any_id(rep, opportunity, name, value):
    response = rep.get(reverse("api:opportunity_list"), {name: value})
    assert response.status_code == 400
    assert name in response.json()


def test_api_list_filters_by_the_largest_id_there_is(rep, opportunity):
    # The deals' FilterSet checks the id against the processes there are: no such process is a
    # refused filter with its reason, not a database error and not an empty list.
    response = rep.get(reverse("api:opportunity_list"), {"process": INT_MAX})
    assert response.status_code == 400
    assert response.json() == {"process": ["Select a valid choice. That choice is not one of the available choices."]}


@pytest.mark.parametrize(
    "body",
    [
        "[" * 4000 + "]" * 4000,
        '{"a":' * 4000 + "1" + "}" * 4000,
        "[" * 3000 + "]" * 3000,
        '{"a":' * 5000 + "{}" + "}" * 5000,
        "[" * 25 + "]" * 25,  # not deep enough for the decoder to fail, deeper than any input
    ],
    ids=["lists-4000", "objects-4000", "lists-3000", "objects-5000", "lists-25"],
)
@pytest.mark.parametrize("endpoint", ["opportunity_list", "account_list"])
def test_api_refuses_json_nested_too_deeply(rep, opportunity, body, endpoint):
    before = row_counts()
    response = rep.post(reverse(f"api:{endpoint}"), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "The JSON body is nested too deeply: at most 20 levels of lists and objects."}
    assert row_counts() == before


def test_api_refuses_a_deal_on_an_infinite_account(rep, opportunity, process):
    fields = '"name": "Inf", "amount": "1", "expected_close_date": "2026-04-01"'
    body = f'{{"account": 1e999, "process": {process.pk}, {fields}}}'
    before = row_counts()
    response = rep.post(reverse("api:opportunity_list"), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"account": ['Invalid pk "inf" - object does not exist.']}
    assert row_counts() == before


@pytest.mark.parametrize(
    "value",
    ["-1e999", "1e30", str(HUGE), str(-HUGE), str(INT_MAX + 1), "2.5", '"1e999"', '""', "true", "[1]", '{"id": 1}'],
)
def test_api_refuses_an_account_that_cannot_be_an_id(rep, opportunity, process, value):
    body = {"process": process.pk, "name": "X", "amount": "1", "expected_close_date": "2026-04-01"}
    before = row_counts()
    response = rep.post(
        reverse("api:opportunity_list"),
        json.dumps(body)[:-1] + f', "account": {value}}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["account"]
    assert row_counts() == before


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_api_refuses_json_that_is_not_json(rep, opportunity, value):
    response = rep.post(reverse("api:opportunity_list"), f'{{"account": {value}}}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_api_refuses_huge_contact_ids_on_an_activity(rep, opportunity):
    before = row_counts()
    response = rep.post(
        reverse("api:opportunity_activities", args=[opportunity.pk]),
        {"kind": "call", "subject": "Call", "contacts": [HUGE]},
        content_type="application/json",
    )
    assert response.status_code == 400 and "contacts" in response.json()
    assert row_counts() == before


@pytest.mark.parametrize("value", [str(HUGE), str(INT_MAX + 1), "1e999", "-5", "٣"])
@pytest.mark.parametrize("where", ["deal", "account"])
def test_activity_form_refuses_contacts_that_cannot_be_ids(rep, opportunity, account, value, where):
    contact = ContactFactory(account=account)
    url = (
        reverse("opportunities:activity_log", args=[opportunity.pk])
        if where == "deal"
        else reverse("opportunities:account_activity_log", args=[account.pk])
    )
    before = row_counts()
    response = rep.post(url, {"kind": "call", "subject": "Call", "contacts": [str(contact.pk), value]})
    assert response.status_code == 302
    assert any("is not a valid value" in str(m) for m in get_messages(response.wsgi_request))
    assert row_counts() == before


def test_activity_form_still_takes_real_contacts(rep, opportunity, account):
    contact = ContactFactory(account=account)
    rep.post(
        reverse("opportunities:activity_log", args=[opportunity.pk]),
        {"kind": "call", "subject": "Call", "contacts": [str(contact.pk)]},
    )
    assert list(Activity.objects.get().contacts.all()) == [contact]


@pytest.mark.parametrize("value", [str(HUGE), "1e999", "-1"])
def test_board_move_refuses_ids_that_cannot_be_ids(rep, opportunity, value):
    before = row_counts()
    response = rep.post(reverse("board:move"), {"opportunity": value, "to_stage": "1"})
    assert response.status_code == 404
    response = rep.post(reverse("board:move"), {"opportunity": opportunity.pk, "to_stage": value, "version": value})
    assert response.status_code == 302
    assert any("Choose one of the stages" in str(m) for m in get_messages(response.wsgi_request))
    assert row_counts() == before


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("pipeline:needs_attention", {"rep": str(HUGE)}),
        ("pipeline:dashboard", {"rep": str(HUGE), "team": str(HUGE)}),
        ("pipeline:changes", {"rep": str(HUGE)}),
        ("pipeline:changes", {"team": str(HUGE)}),
        ("opportunities:my_deals", {"process": str(HUGE), "stage": str(HUGE), "per_page": str(HUGE)}),
    ],
)
def test_id_filters_beyond_any_id_are_bad_input(rep, opportunity, url, params):
    response = rep.get(reverse(url), params)
    assert response.status_code in (200, 400)  # a filter page shows the filter's error; never a 500


@pytest.mark.parametrize(
    ("target", "location"), [("1", "1"), ("deals", "deals"), ("a:b", "/notifications/"), (":", ":")]
)
def test_mark_all_read_goes_back_to_a_next_that_is_no_view_name(rep, target, location):
    response = rep.post(reverse("pipeline:notifications_read_all"), {"next": target})
    assert response.status_code == 302 and response["Location"] == location


SEARCHES = [
    ("opportunities:account_list", "q"),
    ("opportunities:detail", "contact_q"),
    ("opportunities:account_detail", "contact_q"),
]


@pytest.mark.parametrize(("url", "param"), SEARCHES)
def test_searches_drop_nul_and_invisible_characters(rep, opportunity, account, url, param):
    # PostgreSQL refuses a NUL in a query: this was a 500 there.
    args = {"opportunities:detail": [opportunity.pk], "opportunities:account_detail": [account.pk]}.get(url, [])
    response = rep.get(reverse(url, args=args), {param: "Ac\x00me\u200b"})
    assert response.status_code == 200
    assert response.context[param] == "Acme"


def test_edit_form_refuses_a_version_beyond_any_version(rep, opportunity):
    before = row_counts()
    data = {"version": str(HUGE), "name": "New", "amount": "1", "expected_close_date": "2026-04-01"}
    response = rep.post(reverse("opportunities:edit", args=[opportunity.pk]), data)
    assert response.status_code == 400
    assert "version" in response.context["form"].errors
    assert row_counts() == before


def test_a_deal_of_someone_else_stays_invisible_under_a_huge_id(rep):
    OpportunityFactory()
    assert rep.get(f"/deals/{HUGE}/").status_code == 404
    assert rep.get(f"/api/opportunities/{HUGE}/").status_code == 404
