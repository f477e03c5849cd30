"""Names and titles lose invisible format characters (bidi controls, zero-width characters) on
every way in: the services, the HTML forms and the API (`stages.cleaning.clean_text`)."""

import datetime as dt

import pytest
from django.urls import reverse

from opportunities import services
from opportunities.models import Account, Activity, Contact, Opportunity
from tests.stages.test_cleaning import INVISIBLE

CLASSES = pytest.mark.parametrize("chars", INVISIBLE.values(), ids=INVISIBLE.keys())


def dirty(text: str, chars: str) -> str:
    head, _, tail = text.partition(" ")
    return f"{chars}{head}{chars} {tail}{chars}" if tail else f"{chars}{text}{chars}"


@CLASSES
def test_services_clean_every_name_and_title(chars, owner, account, process, now):
    created = services.account_create(
        actor=owner, name=dirty("Globex Inc", chars), industry=dirty("Heavy metal", chars)
    )
    assert (created.name, created.industry) == ("Globex Inc", "Heavy metal")
    services.account_update(created, actor=owner, name=dirty("Globex Two", chars), region=dirty("North", chars))
    created.refresh_from_db()
    assert (created.name, created.region) == ("Globex Two", "North")
    contact = services.contact_create(
        actor=owner,
        account=account,
        first_name=dirty("Ann", chars),
        last_name=dirty("Lee Park", chars),
        title=dirty("Chief buyer", chars),
    )
    assert (contact.first_name, contact.last_name, contact.title) == ("Ann", "Lee Park", "Chief buyer")
    opp = services.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name=dirty("Big deal", chars),
        amount="10",
        expected_close_date=now.date() + dt.timedelta(days=9),
        now=now,
    )
    assert opp.name == "Big deal"
    opp = services.opportunity_update(opp, actor=owner, expected_version=opp.version, name=dirty("Bigger deal", chars))
    assert Opportunity.objects.get(pk=opp.pk).name == "Bigger deal"
    step = services.next_step_set(
        opp, actor=owner, description=dirty("Send proposal", chars), due_date=now.date(), now=now
    )
    assert step.description == "Send proposal"
    wait = services.next_step_set(
        opp, actor=owner, description=dirty("Board meets", chars), waiting_until=now.date() + dt.timedelta(days=3)
    )
    assert wait.description == "Board meets"
    activity = services.activity_log(actor=owner, opportunity=opp, kind="call", subject=dirty("Kick off", chars))
    assert activity.subject == "Kick off"


@CLASSES
def test_a_name_of_only_invisible_characters_is_no_name(chars, owner):
    with pytest.raises(services.DomainError, match="Name is required"):
        services.account_create(actor=owner, name=chars + " " + chars)
    assert not Account.objects.exists()


@CLASSES
def test_html_forms_store_clean_names(chars, client_for, owner, account, opportunity):
    client = client_for(owner)
    response = client.post(
        reverse("opportunities:account_create"), {"name": dirty("Initech Ltd", chars), "status": "target"}
    )
    assert response.status_code == 302
    assert Account.objects.filter(name="Initech Ltd").exists()
    client.post(
        reverse("opportunities:contact_create", args=[account.pk]),
        {"first_name": dirty("Bo", chars), "last_name": dirty("Ek", chars), "title": dirty("CTO", chars)},
    )
    assert Contact.objects.filter(first_name="Bo", last_name="Ek", title="CTO").exists()
    client.post(
        reverse("opportunities:activity_log", args=[opportunity.pk]),
        {"kind": "call", "subject": dirty("Intro call", chars)},
    )
    assert Activity.objects.get().subject == "Intro call"


@CLASSES
def test_html_form_refuses_a_name_of_only_invisible_characters(chars, client_for, owner):
    response = client_for(owner).post(reverse("opportunities:account_create"), {"name": chars, "status": "target"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["This field is required."]
    assert not Account.objects.exists()


@CLASSES
def test_api_stores_clean_names_and_refuses_invisible_ones(chars, client_for, owner, opportunity):
    client = client_for(owner)
    response = client.post(
        reverse("api:account_list"), {"name": dirty("Umbrella Corp", chars)}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["name"] == "Umbrella Corp"
    response = client.post(
        reverse("api:opportunity_activities", args=[opportunity.pk]),
        {"kind": "email", "subject": dirty("Pricing sent", chars)},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["subject"] == "Pricing sent"
    before = Account.objects.count()
    response = client.post(reverse("api:account_list"), {"name": chars}, content_type="application/json")
    assert response.status_code == 400 and response.json() == {"name": ["This field may not be blank."]}
    assert Account.objects.count() == before
