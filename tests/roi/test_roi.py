"""ROI on a deal: saving a result, the panel, the summary, the share, the API, the admin."""

from decimal import Decimal

import pytest
from django.urls import reverse

from opportunities import services as deal_services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import Activity, ActivityKind, BuyingRole
from roi import services
from roi.models import Calculator, Result
from roi.panel import deal_roi_panel
from tests.factories import ContactFactory

from .world import calculator_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def calculator(process):
    return calculator_for(process)


def test_saving_computes_keeps_the_inputs_and_the_formula(calculator, opportunity, owner, now):
    result = services.result_save(
        actor=owner, opportunity=opportunity, values={"seats": "20", "rate": "1,000"}, now=now
    )
    assert result.result == Decimal("39600.00")  # 20 * 2 * 1000 - 400, hours and licence defaulted
    assert [v["value"] for v in result.values] == ["20", "2", "1000", "400"]
    assert result.formula == calculator.formula and result.created_by == owner and result.created_at == now
    calculator.formula = "seats"
    calculator.save()
    result.refresh_from_db()
    assert result.result == Decimal("39600.00")  # what the buyer was shown stays as it was


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"seats": "many"}, "Seats must be a number"),
        ({"seats": ""}, "Enter a number for Seats"),
        ({"seats": "1e400"}, "Seats is too large"),
        ({"seats": "NaN"}, "Seats is too large"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(calculator, opportunity, owner, values, message):
    with pytest.raises(DomainError, match=message):
        services.result_save(actor=owner, opportunity=opportunity, values=values)
    assert not Result.objects.exists()


def test_division_by_zero_is_refused_with_its_reason(process, opportunity, owner):
    calculator_for(process, formula="seats / (licence - 400)")
    with pytest.raises(DomainError, match="Division by zero"):
        services.result_save(actor=owner, opportunity=opportunity, values={})
    assert not Result.objects.exists()


def test_who_may_save(calculator, opportunity, teammate, manager, process):
    with pytest.raises(AccessDenied):
        services.result_save(actor=teammate, opportunity=opportunity, values={})
    assert services.result_save(actor=manager, opportunity=opportunity, values={}).result == Decimal("600.00")


def test_a_process_without_an_active_calculator_is_refused(opportunity, owner, process):
    with pytest.raises(DomainError, match="has no ROI calculator"):
        services.result_save(actor=owner, opportunity=opportunity, values={})
    calculator_for(process)
    Calculator.objects.update(is_active=False)
    with pytest.raises(DomainError, match="has no ROI calculator"):
        services.result_save(actor=owner, opportunity=opportunity, values={})


def test_the_panel_runs_a_fixed_number_of_queries(calculator, opportunity, owner, django_assert_max_num_queries):
    for seats in range(1, 8):
        services.result_save(actor=owner, opportunity=opportunity, values={"seats": seats})
    with django_assert_max_num_queries(4):
        panel = deal_roi_panel(opportunity, owner)
    assert panel["latest"].result == Decimal("300.00")
    assert [row["value"] for row in panel["inputs"]] == ["7", "2", "50", "400"]
    assert len(panel["results"]) == 5 and panel["can_calculate"]


def test_the_deal_page_shows_the_panel_and_saves_from_it(calculator, opportunity, owner, client_for):
    client = client_for(owner)
    page = client.get(reverse("opportunities:detail", args=[opportunity.pk]))
    assert b'id="roi"' in page.content and b"Calculate and save" in page.content
    response = client.post(
        reverse("roi:save", args=[opportunity.pk]), {"seats": "5", "hours": "2", "rate": "50", "licence": "0"}
    )
    assert response.status_code == 302 and response["Location"].endswith("#roi")
    assert Result.objects.get().result == Decimal("500.00")
    htmx = client.post(reverse("roi:save", args=[opportunity.pk]), {"seats": "x"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "Seats must be a number" in htmx.content.decode()
    assert Result.objects.count() == 1


def test_summary_is_printable_and_sharing_records_an_activity(calculator, opportunity, owner, client_for, account):
    buyer = ContactFactory(account=account, first_name="Erin", last_name="Economic")
    stranger = ContactFactory(account=account, first_name="Sam", last_name="Stranger")
    deal_services.buying_team_add(opportunity, actor=owner, contact=buyer, roles=[BuyingRole.ECONOMIC_BUYER])
    result = services.result_save(actor=owner, opportunity=opportunity, values={})
    client = client_for(owner)
    summary = client.get(reverse("roi:summary", args=[opportunity.pk, result.pk]))
    body = summary.content.decode()
    assert summary.status_code == 200 and "Net saving" in body and "600.00" in body and "roi-summary.css" in body
    assert "Erin Economic" in body and "Sam Stranger" not in body
    share = reverse("roi:share", args=[opportunity.pk, result.pk])
    refused = client.post(share, {"contacts": [stranger.pk]})
    assert refused.status_code == 302 and not Activity.objects.filter(kind=ActivityKind.CONTENT_SHARED).exists()
    assert client.post(share, {}).status_code == 302
    done = client.post(share, {"contacts": [buyer.pk], "note": "Sent after the call"})
    assert done.status_code == 302
    activity = Activity.objects.get(kind=ActivityKind.CONTENT_SHARED)
    assert activity.opportunity == opportunity and list(activity.contacts.all()) == [buyer]
    assert activity.subject.startswith("ROI summary shared: Net saving 600.00")


def test_another_deals_result_is_not_found_through_this_deal(
    calculator, opportunity, owner, client_for, account, process, now
):
    other = deal_services.opportunity_create(
        actor=owner, account=account, process=process, name="Other", amount="1", expected_close_date=now.date(), now=now
    )
    result = services.result_save(actor=owner, opportunity=other, values={})
    assert client_for(owner).get(reverse("roi:summary", args=[opportunity.pk, result.pk])).status_code == 404


def test_api_reads_and_saves_through_the_service(calculator, opportunity, owner, teammate, client_for):
    url = reverse("roi_api:deal_roi", args=[opportunity.pk])
    client = client_for(owner)
    read = client.get(url).json()
    assert read["calculator"]["formula"] == calculator.formula and read["latest"] is None
    assert [i["name"] for i in read["calculator"]["inputs"]] == ["seats", "hours", "rate", "licence"]
    saved = client.post(url, {"values": {"seats": "3"}}, content_type="application/json")
    assert saved.status_code == 201 and saved.json()["result"] == "-100.00"
    bad = client.post(url, {"values": {"seats": "lots"}}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "seats"
    assert client_for(teammate).post(url, {"values": {}}, content_type="application/json").status_code == 403
    assert client.get(url).json()["latest"]["result"] == "-100.00"


def test_admin_refuses_a_formula_naming_an_unknown_input(admin, client_for, process):
    client = client_for(admin)
    data = {
        "process": process.pk,
        "name": "Saving",
        "description": "",
        "formula": "seats * discount",
        "result_label": "Saving",
        "result_unit": "€",
        "is_active": "on",
        "inputs-TOTAL_FORMS": "1",
        "inputs-INITIAL_FORMS": "0",
        "inputs-MIN_NUM_FORMS": "0",
        "inputs-MAX_NUM_FORMS": "1000",
        "inputs-0-order": "1",
        "inputs-0-name": "seats",
        "inputs-0-label": "Seats",
        "inputs-0-unit": "",
        "inputs-0-default": "10",
    }
    url = reverse("admin:roi_calculator_add")
    refused = client.post(url, data)
    assert refused.status_code == 200 and "Unknown name “discount”" in refused.content.decode()
    assert not Calculator.objects.exists()
    syntax = client.post(url, data | {"formula": "seats *"})
    assert "syntax error" in syntax.content.decode() and not Calculator.objects.exists()
    saved = client.post(url, data | {"formula": "seats * 2"})
    assert saved.status_code == 302
    assert Calculator.objects.get().inputs.get().name == "seats"
