"""The REST API: the healthchecks quintet for every endpoint, and the HTML path's rules.

The API is another interface to `opportunities.services`, so these tests check the interface:
status codes, access (404 for outsiders, 403 for read-only teammates), input validation that
changes nothing, and that the services' refusals come back as the documented responses.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services
from opportunities.models import (
    Account,
    AccountStatus,
    Activity,
    Contact,
    EventVerb,
    MilestoneCompletion,
    NextStep,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
)
from stages.models import Milestone, Stage
from tests.factories import (
    AccountFactory,
    ContactFactory,
    LostReasonFactory,
    NextStepFactory,
    OpportunityFactory,
    UserFactory,
    make_process,
)

DAY = dt.timedelta(days=1)


def url(name: str, *args) -> str:
    return reverse(f"api:{name}", args=args)


def stage(process, name: str) -> Stage:
    return Stage.objects.get(process=process, name=name)


def milestone(process, stage_name: str, name: str = "Check 1") -> Milestone:
    return Milestone.objects.get(stage__process=process, stage__name=stage_name, name=name)


def tick_required(opp, actor, *stage_names: str) -> None:
    for m in Milestone.objects.filter(stage__process=opp.process, stage__name__in=stage_names, is_required=True):
        services.milestone_tick(opp, actor=actor, milestone=m)


def snapshot(opp: Opportunity) -> tuple:
    """Everything a write could change, to prove a refused request changed nothing."""
    opp = Opportunity.objects.get(pk=opp.pk)
    return (
        opp.version,
        opp.name,
        opp.amount,
        opp.expected_close_date,
        opp.stage_id,
        opp.status,
        opp.owner_id,
        opp.next_step_id,
        OpportunityEvent.objects.filter(opportunity=opp).count(),
        MilestoneCompletion.objects.filter(opportunity=opp).count(),
        NextStep.objects.filter(opportunity=opp).count(),
        Activity.objects.filter(opportunity=opp).count(),
    )


# --- the endpoints, as data for the cross-cutting tests --------------------------------------------

# (name, method, url builder, body builder): every write on one opportunity.
OPPORTUNITY_WRITES = [
    ("update", "patch", lambda o: url("opportunity_detail", o.pk), lambda o: {"version": o.version, "name": "New"}),
    ("move", "post", lambda o: url("opportunity_move", o.pk), lambda o: {"stage": stage(o.process, "Discover").pk}),
    ("close_won", "post", lambda o: url("opportunity_close_won", o.pk), lambda o: {}),
    ("close_lost", "post", lambda o: url("opportunity_close_lost", o.pk), lambda o: {"reason": "LOST_REASON"}),
    ("reopen", "post", lambda o: url("opportunity_reopen", o.pk), lambda o: {}),
    (
        "tick",
        "post",
        lambda o: url("opportunity_milestone", o.pk, milestone(o.process, "Qualify").pk),
        lambda o: {"evidence": "Call notes"},
    ),
    (
        "untick",
        "delete",
        lambda o: url("opportunity_milestone", o.pk, milestone(o.process, "Qualify").pk),
        lambda o: None,
    ),
    (
        "next_step",
        "post",
        lambda o: url("next_step_set", o.pk),
        lambda o: {"description": "Send proposal", "due_date": "2026-03-10"},
    ),
    (
        "next_step_complete",
        "post",
        lambda o: url("next_step_complete", o.pk),
        lambda o: {"next_description": "Follow up", "next_due_date": "2026-03-12"},
    ),
    ("activity", "post", lambda o: url("opportunity_activities", o.pk), lambda o: {"kind": "call", "subject": "Hi"}),
]
OPPORTUNITY_READS = [
    ("detail", lambda o: url("opportunity_detail", o.pk)),
    ("events", lambda o: url("opportunity_events", o.pk)),
]


def _body(build, opp, lost_reason):
    body = build(opp)
    if body and body.get("reason") == "LOST_REASON":
        body["reason"] = lost_reason.pk
    return body


def _call(client, method: str, path: str, body=None):
    return getattr(client, method)(path, body, format="json")


# --- cross-cutting: unauthenticated, outsiders, read-only teammates, wrong methods ------------------


ALL_ENDPOINTS = [
    ("get", lambda o, a: url("opportunity_list")),
    ("post", lambda o, a: url("opportunity_list")),
    ("get", lambda o, a: url("opportunity_detail", o.pk)),
    ("patch", lambda o, a: url("opportunity_detail", o.pk)),
    ("post", lambda o, a: url("opportunity_move", o.pk)),
    ("post", lambda o, a: url("opportunity_close_won", o.pk)),
    ("post", lambda o, a: url("opportunity_close_lost", o.pk)),
    ("post", lambda o, a: url("opportunity_reopen", o.pk)),
    ("post", lambda o, a: url("opportunity_milestone", o.pk, milestone(o.process, "Qualify").pk)),
    ("delete", lambda o, a: url("opportunity_milestone", o.pk, milestone(o.process, "Qualify").pk)),
    ("post", lambda o, a: url("next_step_set", o.pk)),
    ("post", lambda o, a: url("next_step_complete", o.pk)),
    ("get", lambda o, a: url("opportunity_events", o.pk)),
    ("post", lambda o, a: url("opportunity_activities", o.pk)),
    ("get", lambda o, a: url("account_list")),
    ("post", lambda o, a: url("account_list")),
    ("get", lambda o, a: url("account_detail", a.pk)),
    ("patch", lambda o, a: url("account_detail", a.pk)),
    ("get", lambda o, a: url("account_contacts", a.pk)),
    ("post", lambda o, a: url("account_contacts", a.pk)),
    ("get", lambda o, a: url("account_events", a.pk)),
]


@pytest.mark.parametrize(("method", "build"), ALL_ENDPOINTS)
def test_unauthenticated_is_refused_and_changes_nothing(method, build, opportunity, account):
    before = snapshot(opportunity)
    accounts = Account.objects.count()
    response = _call(APIClient(), method, build(opportunity, account), {"name": "x"})
    assert response.status_code in (401, 403)
    assert snapshot(opportunity) == before
    assert Account.objects.count() == accounts


@pytest.mark.parametrize(("name", "method", "build_url", "build_body"), OPPORTUNITY_WRITES)
def test_outsider_gets_404_on_writes(name, method, build_url, build_body, api_for, outsider, opportunity, lost_reason):
    before = snapshot(opportunity)
    response = _call(api_for(outsider), method, build_url(opportunity), _body(build_body, opportunity, lost_reason))
    assert response.status_code == 404
    assert snapshot(opportunity) == before


@pytest.mark.parametrize(("name", "build_url"), OPPORTUNITY_READS)
def test_outsider_gets_404_on_reads(name, build_url, api_for, outsider, opportunity):
    response = api_for(outsider).get(build_url(opportunity))
    assert response.status_code == 404
    assert "Acme rollout" not in response.content.decode()


@pytest.mark.parametrize(("name", "build_url"), OPPORTUNITY_READS)
def test_teammate_can_read(name, build_url, api_for, teammate, opportunity):
    assert api_for(teammate).get(build_url(opportunity)).status_code == 200


@pytest.mark.parametrize(("name", "method", "build_url", "build_body"), OPPORTUNITY_WRITES)
def test_viewer_gets_403_on_writes_and_nothing_changes(
    name, method, build_url, build_body, api_for, owner, viewer, opportunity, lost_reason, today
):
    # Give the write something to act on, so a 403 is about access and not a missing precondition.
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=today)
    services.milestone_tick(opportunity, actor=owner, milestone=milestone(opportunity.process, "Qualify", "Check 2"))
    opportunity.refresh_from_db()
    before = snapshot(opportunity)
    response = _call(api_for(viewer), method, build_url(opportunity), _body(build_body, opportunity, lost_reason))
    assert response.status_code == 403, response.content
    assert snapshot(opportunity) == before


def test_viewer_gets_403_reopening_a_closed_deal(api_for, owner, viewer, opportunity, lost_reason):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason)
    before = snapshot(opportunity)
    response = api_for(viewer).post(url("opportunity_reopen", opportunity.pk))
    assert response.status_code == 403
    assert snapshot(opportunity) == before


WRONG_METHODS = [
    ("put", lambda o, a: url("opportunity_list")),
    ("delete", lambda o, a: url("opportunity_list")),
    ("post", lambda o, a: url("opportunity_detail", o.pk)),
    ("put", lambda o, a: url("opportunity_detail", o.pk)),
    ("delete", lambda o, a: url("opportunity_detail", o.pk)),
    ("get", lambda o, a: url("opportunity_move", o.pk)),
    ("get", lambda o, a: url("opportunity_close_won", o.pk)),
    ("get", lambda o, a: url("opportunity_close_lost", o.pk)),
    ("get", lambda o, a: url("opportunity_reopen", o.pk)),
    ("get", lambda o, a: url("opportunity_milestone", o.pk, milestone(o.process, "Qualify").pk)),
    ("put", lambda o, a: url("opportunity_milestone", o.pk, milestone(o.process, "Qualify").pk)),
    ("get", lambda o, a: url("next_step_set", o.pk)),
    ("get", lambda o, a: url("next_step_complete", o.pk)),
    ("post", lambda o, a: url("opportunity_events", o.pk)),
    ("put", lambda o, a: url("opportunity_activities", o.pk)),
    ("delete", lambda o, a: url("account_list")),
    ("put", lambda o, a: url("account_detail", a.pk)),
    ("delete", lambda o, a: url("account_detail", a.pk)),
    ("delete", lambda o, a: url("account_contacts", a.pk)),
    ("post", lambda o, a: url("account_events", a.pk)),
]


@pytest.mark.parametrize(("method", "build"), WRONG_METHODS)
def test_wrong_method_is_405(method, build, api_for, owner, opportunity, account):
    before = snapshot(opportunity)
    response = _call(api_for(owner), method, build(opportunity, account), {})
    assert response.status_code == 405
    assert snapshot(opportunity) == before


# --- GET/POST /api/opportunities/ ----------------------------------------------------------------------


def test_list_shows_visible_deals(api_for, owner, opportunity):
    response = api_for(owner).get(url("opportunity_list"))
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    row = data["results"][0]
    assert row["id"] == opportunity.pk
    assert row["name"] == "Acme rollout"
    assert row["amount"] == "50000.00"
    assert row["stage"]["name"] == "Qualify"
    assert row["account"] == {"id": opportunity.account_id, "name": "Acme Corp"}
    assert row["owner"] == {"id": owner.pk, "name": "Olivia Owner"}
    assert row["status"] == "open"
    assert row["next_step"] is None
    assert row["version"] == 1


def test_list_teammate_sees_the_team_deal_outsider_does_not(api_for, teammate, outsider, opportunity):
    assert [r["id"] for r in api_for(teammate).get(url("opportunity_list")).json()["results"]] == [opportunity.pk]
    assert api_for(outsider).get(url("opportunity_list")).json()["results"] == []


def test_list_filters(api_for, owner, teammate, account, process, opportunity, lost_reason, now):
    theirs = services.opportunity_create(
        actor=teammate,
        account=account,
        process=process,
        name="Beta deal",
        amount=10,
        expected_close_date=now.date() + dt.timedelta(days=5),
    )
    lost = services.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name="Gamma",
        amount=10,
        expected_close_date=now.date() + dt.timedelta(days=60),
    )
    services.opportunity_close_lost(lost, actor=owner, reason=lost_reason)
    other = make_process(name="Renewals")
    renewal = services.opportunity_create(
        actor=owner,
        account=account,
        process=other,
        name="Renewal",
        amount=10,
        expected_close_date=now.date() + dt.timedelta(days=90),
    )
    client = api_for(owner)

    def ids(**params):
        response = client.get(url("opportunity_list"), params)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    # Ordered by expected close date by default.
    assert ids() == [theirs.pk, opportunity.pk, lost.pk, renewal.pk]
    assert ids(status="open") == [theirs.pk, opportunity.pk, renewal.pk]
    assert ids(status="lost") == [lost.pk]
    assert ids(owner="me") == [opportunity.pk, lost.pk, renewal.pk]
    assert ids(process=other.pk) == [renewal.pk]
    assert ids(stage=stage(other, "Qualify").pk) == [renewal.pk]
    assert ids(q="beta") == [theirs.pk]
    assert ids(q="acme") == [theirs.pk, opportunity.pk, lost.pk, renewal.pk]
    assert ids(ordering="-close") == [renewal.pk, lost.pk, opportunity.pk, theirs.pk]
    assert ids(ordering="name") == [opportunity.pk, theirs.pk, lost.pk, renewal.pk]


@pytest.mark.parametrize(
    "params", [{"status": "maybe"}, {"owner": "someone"}, {"process": "abc"}, {"ordering": "random"}]
)
def test_list_bad_filters_are_400(params, api_for, owner, opportunity):
    response = api_for(owner).get(url("opportunity_list"), params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_list_is_paginated(api_for, owner, account, process):
    stage_ = process.first_stage()
    OpportunityFactory.create_batch(55, owner=owner, account=account, stage=stage_)
    data = api_for(owner).get(url("opportunity_list")).json()
    assert data["count"] == 55
    assert len(data["results"]) == 50
    assert data["next"]
    assert len(api_for(owner).get(data["next"]).json()["results"]) == 5


def _count_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url("opportunity_list"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow_with_rows(api_for, manager, team, account, process, now):
    reps = [UserFactory(team=team) for _ in range(3)]
    stages = list(process.stages.all())

    def add(n: int) -> None:
        for i in range(n):
            opp = OpportunityFactory(owner=reps[i % 3], account=AccountFactory(owner=reps[i % 3]), stage=stages[i % 3])
            step = NextStepFactory(opportunity=opp)
            Opportunity.objects.filter(pk=opp.pk).update(next_step=step)

    client = api_for(manager)
    add(3)
    small = _count_list_queries(client)
    add(30)
    assert client.get(url("opportunity_list")).json()["count"] == 33
    assert _count_list_queries(client) == small


def _create_body(account_, process_, today, **overrides):
    body = {
        "account": account_.pk,
        "process": process_.pk,
        "name": "New deal",
        "amount": "1200.50",
        "expected_close_date": (today + dt.timedelta(days=14)).isoformat(),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def test_create_works_through_the_service(api_for, owner, account, process, today):
    response = api_for(owner).post(url("opportunity_list"), _create_body(account, process, today), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    opp = Opportunity.objects.get(pk=data["id"])
    assert opp.owner == owner
    assert opp.amount == Decimal("1200.50")
    assert opp.stage.name == "Qualify"
    assert data["stage"]["name"] == "Qualify"
    assert data["version"] == 1
    assert data["milestones_ticked"] == []
    assert data["can_edit"] is True
    # Service side effects, the same as the HTML path.
    assert opp.events.filter(verb=EventVerb.CREATED).exists()
    account.refresh_from_db()
    assert account.status == AccountStatus.PROSPECT


def test_create_with_a_next_step(api_for, owner, account, process, today):
    body = _create_body(
        account, process, today, next_step_description="Discovery call", next_step_due_date=today.isoformat()
    )
    response = api_for(owner).post(url("opportunity_list"), body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["next_step"]["description"] == "Discovery call"


def test_manager_creates_for_a_rep_of_the_team(api_for, manager, owner, account, process, today):
    body = _create_body(account, process, today, owner=owner.pk)
    response = api_for(manager).post(url("opportunity_list"), body, format="json")
    assert response.status_code == 201, response.content
    assert Opportunity.objects.get(pk=response.json()["id"]).owner == owner


def test_rep_cannot_create_for_someone_else(api_for, owner, teammate, account, process, today):
    body = _create_body(account, process, today, owner=teammate.pk)
    response = api_for(owner).post(url("opportunity_list"), body, format="json")
    assert response.status_code == 403
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ...}, "name"),
        ({"name": ""}, "name"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": ...}, "amount"),
        ({"expected_close_date": "next week"}, "expected_close_date"),
        ({"account": 999999}, "account"),
        ({"account": "acme"}, "account"),
        ({"process": 999999}, "process"),
        ({"owner": 999999}, "owner"),
        ({"next_step_description": "Call"}, "non_field_errors"),
    ],
)
def test_create_bad_input_is_400_and_creates_nothing(overrides, field, api_for, owner, account, process, today):
    body = _create_body(account, process, today, **overrides)
    response = api_for(owner).post(url("opportunity_list"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Opportunity.objects.exists()


def test_create_refuses_an_inactive_process(api_for, owner, account, today):
    retired = make_process(name="Retired", is_active=False)
    body = _create_body(account, retired, today)
    response = api_for(owner).post(url("opportunity_list"), body, format="json")
    assert response.status_code == 400
    assert "process" in response.json()
    assert not Opportunity.objects.exists()


def test_create_service_rule_is_400_with_detail(api_for, owner, account, process, today):
    body = _create_body(account, process, today, expected_close_date=(today - dt.timedelta(days=1)).isoformat())
    response = api_for(owner).post(url("opportunity_list"), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Expected close date cannot be before")
    assert not Opportunity.objects.exists()


# --- GET/PATCH /api/opportunities/<id>/ -----------------------------------------------------------------


def test_detail_works(api_for, owner, opportunity, today):
    services.next_step_set(opportunity, actor=owner, description="Call CFO", due_date=today)
    ticked = milestone(opportunity.process, "Qualify")
    services.milestone_tick(opportunity, actor=owner, milestone=ticked)
    response = api_for(owner).get(url("opportunity_detail", opportunity.pk))
    assert response.status_code == 200
    data = response.json()
    assert data["stage"] == {"id": opportunity.stage_id, "name": "Qualify"}
    assert data["next_step"]["description"] == "Call CFO"
    assert data["next_step"]["due_date"] == today.isoformat()
    assert data["milestones_ticked"] == [ticked.pk]
    assert data["version"] == 2
    assert data["can_edit"] is True


def test_detail_teammate_reads_but_cannot_edit(api_for, teammate, opportunity):
    data = api_for(teammate).get(url("opportunity_detail", opportunity.pk)).json()
    assert data["id"] == opportunity.pk
    assert data["can_edit"] is False


def test_detail_of_a_missing_deal_is_404(api_for, admin):
    assert api_for(admin).get(url("opportunity_detail", 999999)).status_code == 404


def test_update_works(api_for, owner, opportunity, today):
    new_date = (today + dt.timedelta(days=60)).isoformat()
    response = api_for(owner).patch(
        url("opportunity_detail", opportunity.pk),
        {"version": 1, "name": "Acme global", "amount": "75000", "expected_close_date": new_date},
        format="json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["name"] == "Acme global"
    assert data["amount"] == "75000.00"
    assert data["expected_close_date"] == new_date
    assert data["version"] == 4
    opportunity.refresh_from_db()
    assert opportunity.close_date_push_count == 1
    verbs = set(opportunity.events.values_list("verb", flat=True))
    assert {EventVerb.EDITED, EventVerb.AMOUNT_CHANGED, EventVerb.CLOSE_DATE_CHANGED} <= verbs


def test_update_requires_version(api_for, owner, opportunity):
    before = snapshot(opportunity)
    response = api_for(owner).patch(url("opportunity_detail", opportunity.pk), {"name": "X"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()
    assert snapshot(opportunity) == before


def test_update_with_a_stale_version_is_409_with_the_changes(api_for, owner, manager, opportunity):
    services.opportunity_update(opportunity, actor=manager, expected_version=1, amount="99000")
    before = snapshot(opportunity)
    response = api_for(owner).patch(
        url("opportunity_detail", opportunity.pk), {"version": 1, "name": "Mine"}, format="json"
    )
    assert response.status_code == 409
    data = response.json()
    assert data["current_version"] == 2
    assert data["changes"] == ["Maya Manager: Amount changed from 50000.00 to 99000.00"]
    assert "nothing was saved" in data["detail"]
    assert snapshot(opportunity) == before


@pytest.mark.parametrize(
    "body",
    [
        {"version": 1, "amount": "-5"},
        {"version": 1, "name": ""},
        {"version": "one", "name": "X"},
        {"version": 1, "expected_close_date": "soon"},
        {"version": 1, "owner": 999999},
    ],
)
def test_update_bad_input_is_400_and_changes_nothing(body, api_for, owner, opportunity):
    before = snapshot(opportunity)
    response = api_for(owner).patch(url("opportunity_detail", opportunity.pk), body, format="json")
    assert response.status_code == 400
    assert snapshot(opportunity) == before


def test_manager_reassigns_within_the_team(api_for, manager, teammate, opportunity):
    response = api_for(manager).patch(
        url("opportunity_detail", opportunity.pk), {"version": 1, "owner": teammate.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["id"] == teammate.pk


def test_rep_cannot_reassign(api_for, owner, teammate, opportunity):
    before = snapshot(opportunity)
    response = api_for(owner).patch(
        url("opportunity_detail", opportunity.pk), {"version": 1, "owner": teammate.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Only managers and admins can reassign deals."
    assert snapshot(opportunity) == before


# --- move, close won, close lost, reopen -------------------------------------------------------------------


def test_move_works_once_milestones_are_done(api_for, owner, opportunity):
    tick_required(opportunity, owner, "Qualify")
    discover = stage(opportunity.process, "Discover")
    response = api_for(owner).post(url("opportunity_move", opportunity.pk), {"stage": discover.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == {"id": discover.pk, "name": "Discover"}
    assert opportunity.events.filter(verb=EventVerb.STAGE_MOVED, to_stage=discover).exists()


def test_move_without_milestones_is_400_naming_them(api_for, owner, opportunity):
    before = snapshot(opportunity)
    response = api_for(owner).post(
        url("opportunity_move", opportunity.pk), {"stage": stage(opportunity.process, "Discover").pk}, format="json"
    )
    assert response.status_code == 400
    data = response.json()
    assert data["missing"] == ["Qualify: Check 1", "Qualify: Check 2"]
    assert "required milestones are not done" in data["detail"]
    assert snapshot(opportunity) == before


def test_manager_overrides_missing_milestones_with_a_reason(api_for, manager, opportunity):
    response = api_for(manager).post(
        url("opportunity_move", opportunity.pk),
        {"stage": stage(opportunity.process, "Discover").pk, "override_reason": "Signed LOI"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert opportunity.events.filter(verb=EventVerb.OVERRIDE_USED).exists()


def test_owner_cannot_override(api_for, owner, opportunity):
    before = snapshot(opportunity)
    response = api_for(owner).post(
        url("opportunity_move", opportunity.pk),
        {"stage": stage(opportunity.process, "Discover").pk, "override_reason": "Trust me"},
        format="json",
    )
    assert response.status_code == 403
    assert snapshot(opportunity) == before


def test_move_backwards_needs_no_milestones(api_for, manager, owner, opportunity):
    services.opportunity_move(
        opportunity, actor=manager, to_stage=stage(opportunity.process, "Propose"), override_reason="Fast track"
    )
    qualify = stage(opportunity.process, "Qualify")
    response = api_for(owner).post(url("opportunity_move", opportunity.pk), {"stage": qualify.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["stage"]["id"] == qualify.pk


def test_move_with_a_stale_version_is_409(api_for, owner, manager, opportunity, today):
    tick_required(opportunity, owner, "Qualify")
    services.next_step_set(opportunity, actor=manager, description="Call", due_date=today)
    before = snapshot(opportunity)
    response = api_for(owner).post(
        url("opportunity_move", opportunity.pk),
        {"stage": stage(opportunity.process, "Discover").pk, "version": 1},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["changes"] == [f"Maya Manager: Next step: Call (due {today.isoformat()})"]
    assert snapshot(opportunity) == before


@pytest.mark.parametrize("endpoint", ["opportunity_close_won", "opportunity_close_lost", "opportunity_reopen"])
def test_close_and_reopen_with_a_stale_version_are_409_and_a_current_one_works(
    api_for, manager, opportunity, lost_reason, today, endpoint
):
    """Closing and reopening take the version they were decided on, as moves do."""
    for stage_ in opportunity.process.stages.all():
        tick_required(opportunity, manager, stage_.name)
    if endpoint == "opportunity_reopen":
        services.opportunity_close_lost(opportunity, actor=manager, reason=lost_reason)
        services.opportunity_update(
            opportunity, actor=manager, expected_version=Opportunity.objects.get(pk=opportunity.pk).version, name="X"
        )
    else:
        services.next_step_set(opportunity, actor=manager, description="Call", due_date=today)
    current = Opportunity.objects.get(pk=opportunity.pk).version
    body = {
        "opportunity_close_won": {},
        "opportunity_close_lost": {"reason": lost_reason.pk},
        "opportunity_reopen": {"next_description": "Call", "next_due_date": today.isoformat()},
    }[endpoint]
    before = snapshot(opportunity)
    response = api_for(manager).post(url(endpoint, opportunity.pk), {**body, "version": current - 1}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["current_version"] == current
    assert snapshot(opportunity) == before
    response = api_for(manager).post(url(endpoint, opportunity.pk), {**body, "version": current}, format="json")
    assert response.status_code == 200, response.content
    # Reopening also commits the next step it asked for.
    assert response.json()["version"] == current + (2 if endpoint == "opportunity_reopen" else 1)


@pytest.mark.parametrize("which", ["other_process", "missing", "text", "absent"])
def test_move_to_a_bad_stage_is_400(which, api_for, owner, opportunity):
    other = make_process(name="Renewals")
    body = {
        "other_process": {"stage": stage(other, "Discover").pk},
        "missing": {"stage": 999999},
        "text": {"stage": "Discover"},
        "absent": {},
    }[which]
    before = snapshot(opportunity)
    response = api_for(owner).post(url("opportunity_move", opportunity.pk), body, format="json")
    assert response.status_code == 400
    assert "stage" in response.json()
    assert snapshot(opportunity) == before


def test_move_to_the_current_stage_is_400(api_for, owner, opportunity):
    response = api_for(owner).post(
        url("opportunity_move", opportunity.pk), {"stage": opportunity.stage_id}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The opportunity is already in Qualify."}


def test_close_won_works(api_for, owner, opportunity):
    tick_required(opportunity, owner, "Qualify", "Discover", "Propose")
    response = api_for(owner).post(url("opportunity_close_won", opportunity.pk), {"notes": "Signed"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == OpportunityStatus.WON
    assert data["close_notes"] == "Signed"
    assert data["closed_stage"]["name"] == "Propose"  # won from Qualify: moved to the last stage


def test_close_won_without_milestones_is_400_naming_them(api_for, owner, opportunity):
    tick_required(opportunity, owner, "Qualify", "Discover")
    before = snapshot(opportunity)
    response = api_for(owner).post(url("opportunity_close_won", opportunity.pk), {}, format="json")
    assert response.status_code == 400
    assert response.json()["missing"] == ["Propose: Check 1", "Propose: Check 2"]
    assert snapshot(opportunity) == before


def test_close_lost_works(api_for, owner, opportunity, lost_reason):
    response = api_for(owner).post(
        url("opportunity_close_lost", opportunity.pk), {"reason": lost_reason.pk, "notes": "Too pricey"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == OpportunityStatus.LOST
    assert data["lost_reason"] == {"id": lost_reason.pk, "name": "Price"}


@pytest.mark.parametrize("reason", ["missing", "inactive", "unknown"])
def test_close_lost_needs_an_active_reason(reason, api_for, owner, opportunity):
    body = {
        "missing": {},
        "inactive": {"reason": LostReasonFactory(name="Old", is_active=False).pk},
        "unknown": {"reason": 999999},
    }[reason]
    before = snapshot(opportunity)
    response = api_for(owner).post(url("opportunity_close_lost", opportunity.pk), body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    assert snapshot(opportunity) == before


def test_closed_deal_refuses_changes_with_400(api_for, owner, opportunity, lost_reason):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason)
    before = snapshot(opportunity)
    response = api_for(owner).post(
        url("opportunity_move", opportunity.pk), {"stage": stage(opportunity.process, "Discover").pk}, format="json"
    )
    assert response.status_code == 400
    assert "reopen it" in response.json()["detail"]
    assert snapshot(opportunity) == before


def test_manager_reopens(api_for, owner, manager, opportunity, lost_reason, today):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason)
    response = api_for(manager).post(
        url("opportunity_reopen", opportunity.pk),
        {"next_description": "Call", "next_due_date": today.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == OpportunityStatus.OPEN
    assert response.json()["lost_reason"] is None
    assert response.json()["next_step"]["description"] == "Call"


def test_owner_cannot_reopen_after_the_reopen_window(api_for, owner, opportunity, lost_reason, now):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now - 8 * DAY)
    before = snapshot(opportunity)
    response = api_for(owner).post(
        url("opportunity_reopen", opportunity.pk), {"waiting_until": (now + DAY).date().isoformat()}, format="json"
    )
    assert response.status_code == 403
    assert snapshot(opportunity) == before


def test_reopening_asks_for_the_next_step(api_for, manager, owner, opportunity, lost_reason):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason)
    before = snapshot(opportunity)
    response = api_for(manager).post(url("opportunity_reopen", opportunity.pk))
    assert response.status_code == 400
    assert "waiting_until" in str(response.json())
    assert snapshot(opportunity) == before


def test_reopening_an_open_deal_is_400(api_for, manager, opportunity, today):
    response = api_for(manager).post(
        url("opportunity_reopen", opportunity.pk), {"next_description": "Call", "next_due_date": today.isoformat()}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "This opportunity is already open."}


# --- milestones ----------------------------------------------------------------------------------------


def test_tick_and_untick(api_for, owner, opportunity):
    client = api_for(owner)
    check = milestone(opportunity.process, "Discover", "Check 2")
    path = url("opportunity_milestone", opportunity.pk, check.pk)
    response = client.post(path, {"evidence": "Budget email"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["milestone"] == check.pk
    assert response.json()["evidence"] == "Budget email"
    assert response.json()["completed_by"]["id"] == owner.pk
    assert client.get(url("opportunity_detail", opportunity.pk)).json()["milestones_ticked"] == [check.pk]

    response = client.delete(path)
    assert response.status_code == 204
    assert client.get(url("opportunity_detail", opportunity.pk)).json()["milestones_ticked"] == []
    verbs = list(opportunity.events.order_by("id").values_list("verb", flat=True))
    assert verbs[-2:] == [EventVerb.MILESTONE_TICKED, EventVerb.MILESTONE_UNTICKED]


def test_tick_without_a_body_works(api_for, owner, opportunity):
    path = url("opportunity_milestone", opportunity.pk, milestone(opportunity.process, "Qualify").pk)
    assert api_for(owner).post(path).status_code == 201


def test_tick_twice_and_untick_an_unticked_milestone_are_400(api_for, owner, opportunity):
    client = api_for(owner)
    path = url("opportunity_milestone", opportunity.pk, milestone(opportunity.process, "Qualify").pk)
    assert client.post(path).status_code == 201
    response = client.post(path)
    assert response.status_code == 400
    assert response.json() == {"detail": "“Check 1” is already ticked."}
    client.delete(path)
    response = client.delete(path)
    assert response.status_code == 400
    assert response.json() == {"detail": "“Check 1” is not ticked."}


def test_milestone_of_another_process_is_404(api_for, owner, opportunity):
    other = make_process(name="Renewals")
    before = snapshot(opportunity)
    response = api_for(owner).post(url("opportunity_milestone", opportunity.pk, milestone(other, "Qualify").pk))
    assert response.status_code == 404
    assert snapshot(opportunity) == before


def test_evidence_too_long_is_400(api_for, owner, opportunity):
    before = snapshot(opportunity)
    path = url("opportunity_milestone", opportunity.pk, milestone(opportunity.process, "Qualify").pk)
    response = api_for(owner).post(path, {"evidence": "x" * 501}, format="json")
    assert response.status_code == 400
    assert "evidence" in response.json()
    assert snapshot(opportunity) == before


# --- next steps ----------------------------------------------------------------------------------------


def test_set_an_action_next_step(api_for, owner, opportunity, today):
    response = api_for(owner).post(
        url("next_step_set", opportunity.pk),
        {"description": "Send proposal", "due_date": today.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "action"
    assert data["description"] == "Send proposal"
    opportunity.refresh_from_db()
    assert opportunity.next_step_id == data["id"]


def test_set_waiting_on_the_buyer(api_for, owner, opportunity, today):
    until = (today + dt.timedelta(days=7)).isoformat()
    response = api_for(owner).post(url("next_step_set", opportunity.pk), {"waiting_until": until}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "waiting"
    assert response.json()["due_date"] == until


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"description": "Call"},
        {"due_date": "2026-03-10"},
        {"description": "Call", "due_date": "2026-03-10", "waiting_until": "2026-03-20"},
        {"description": "Call", "due_date": "tomorrow"},
        {"description": "Call", "due_date": "2026-02-01"},  # in the past: the service refuses
        {"waiting_until": "2026-03-02"},  # today: waiting must end in the future
    ],
)
def test_set_next_step_bad_input_is_400(body, api_for, owner, opportunity):
    before = snapshot(opportunity)
    response = api_for(owner).post(url("next_step_set", opportunity.pk), body, format="json")
    assert response.status_code == 400
    assert snapshot(opportunity) == before


def test_complete_next_step_commits_the_following_one(api_for, owner, opportunity, today):
    first = services.next_step_set(opportunity, actor=owner, description="Call", due_date=today)
    response = api_for(owner).post(
        url("next_step_complete", opportunity.pk),
        {"next_description": "Send proposal", "next_due_date": (today + dt.timedelta(days=3)).isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["description"] == "Send proposal"
    first.refresh_from_db()
    assert first.completed_at is not None
    assert opportunity.events.filter(verb=EventVerb.NEXT_STEP_COMPLETED).exists()


def test_complete_into_waiting(api_for, owner, opportunity, today):
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=today)
    until = (today + dt.timedelta(days=10)).isoformat()
    response = api_for(owner).post(url("next_step_complete", opportunity.pk), {"waiting_until": until}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "waiting"


def test_complete_without_an_open_step_is_400(api_for, owner, opportunity, today):
    before = snapshot(opportunity)
    response = api_for(owner).post(
        url("next_step_complete", opportunity.pk),
        {"next_description": "Follow up", "next_due_date": today.isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "There is no open next step to complete."}
    assert snapshot(opportunity) == before


@pytest.mark.parametrize("body", [{}, {"next_description": "Follow up"}, {"next_due_date": "2026-03-10"}])
def test_complete_needs_the_next_step(body, api_for, owner, opportunity, today):
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=today)
    before = snapshot(opportunity)
    response = api_for(owner).post(url("next_step_complete", opportunity.pk), body, format="json")
    assert response.status_code == 400
    assert snapshot(opportunity) == before


# --- events --------------------------------------------------------------------------------------------


def test_events_list_the_history_newest_first(api_for, owner, teammate, opportunity):
    services.milestone_tick(opportunity, actor=owner, milestone=milestone(opportunity.process, "Qualify"))
    response = api_for(teammate).get(url("opportunity_events", opportunity.pk))
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    newest, created = data["results"]
    assert newest["verb"] == EventVerb.MILESTONE_TICKED
    assert newest["description"] == "Ticked “Check 1”"
    assert newest["actor"] == {"id": owner.pk, "name": "Olivia Owner"}
    assert created["verb"] == EventVerb.CREATED
    assert created["to_stage"] == opportunity.stage_id
    assert created["data"]["amount"] == "50000.00"


# --- activities ----------------------------------------------------------------------------------------


def test_log_an_activity(api_for, owner, opportunity, contact, now):
    occurred = (now - dt.timedelta(hours=2)).isoformat()
    response = api_for(owner).post(
        url("opportunity_activities", opportunity.pk),
        {
            "kind": "meeting",
            "subject": "Kick-off",
            "notes": "Went well",
            "occurred_at": occurred,
            "contacts": [contact.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "meeting"
    assert data["contacts"] == [contact.pk]
    assert data["opportunity"] == opportunity.pk
    assert data["account"] == opportunity.account_id
    opportunity.refresh_from_db()
    assert opportunity.last_activity_at == now - dt.timedelta(hours=2)


@pytest.mark.parametrize(
    "which", ["bad_kind", "no_subject", "blank_subject", "stranger", "unknown_contact", "bad_date", "contacts_not_list"]
)
def test_activity_bad_input_is_400(which, api_for, owner, opportunity, contact):
    stranger = ContactFactory(account=AccountFactory(owner=owner))
    body = {"kind": "call", "subject": "Hi"}
    body.update(
        {
            "bad_kind": {"kind": "carrier pigeon"},
            "no_subject": {"subject": None},
            "blank_subject": {"subject": "   "},
            "stranger": {"contacts": [contact.pk, stranger.pk]},
            "unknown_contact": {"contacts": [999999]},
            "bad_date": {"occurred_at": "yesterday-ish"},
            "contacts_not_list": {"contacts": contact.pk},
        }[which]
    )
    before = snapshot(opportunity)
    response = api_for(owner).post(url("opportunity_activities", opportunity.pk), body, format="json")
    assert response.status_code == 400
    assert snapshot(opportunity) == before
    assert not Activity.objects.exists()


# --- accounts ------------------------------------------------------------------------------------------


def test_account_list_and_search(api_for, outsider, account):
    AccountFactory(name="Globex", owner=outsider)
    client = api_for(outsider)
    response = client.get(url("account_list"))
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["results"]] == ["Acme Corp", "Globex"]
    assert [r["name"] for r in client.get(url("account_list"), {"q": "glob"}).json()["results"]] == ["Globex"]


def test_account_create(api_for, owner):
    response = api_for(owner).post(
        url("account_list"),
        {"name": "Initech", "website": "https://initech.example", "employee_band": "51-200", "status": "prospect"},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner"]["id"] == owner.pk
    assert data["status"] == "prospect"
    assert Account.objects.get(pk=data["id"]).employee_band == "51-200"


def test_account_create_defaults_to_target(api_for, owner):
    response = api_for(owner).post(url("account_list"), {"name": "Initech"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == AccountStatus.TARGET


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "X" * 201}, "name"),
        ({"name": "Initech", "status": "friend"}, "status"),
        ({"name": "Initech", "employee_band": "huge"}, "employee_band"),
        ({"name": "Initech", "website": "not a url"}, "website"),
        ({"name": "   "}, "name"),
    ],
)
def test_account_create_bad_input_is_400(body, field, api_for, owner):
    accounts = Account.objects.count()
    response = api_for(owner).post(url("account_list"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Account.objects.count() == accounts


def test_account_detail_is_readable_by_every_signed_in_user(api_for, outsider, account):
    # Accounts are company knowledge (AccountQuerySet.for_user): no 404 for other teams.
    response = api_for(outsider).get(url("account_detail", account.pk))
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Corp"


def test_account_detail_missing_is_404(api_for, owner):
    assert api_for(owner).get(url("account_detail", 999999)).status_code == 404
    assert api_for(owner).patch(url("account_detail", 999999), {"name": "X"}, format="json").status_code == 404


@pytest.mark.parametrize("editor", ["owner", "manager", "admin"])
def test_account_update(editor, request, api_for, account):
    response = api_for(request.getfixturevalue(editor)).patch(
        url("account_detail", account.pk), {"industry": "Anvils", "status": "customer"}, format="json"
    )
    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert (account.name, account.industry, account.status) == ("Acme Corp", "Anvils", "customer")


@pytest.mark.parametrize("reader", ["teammate", "outsider"])
def test_account_update_by_a_reader_is_403(reader, request, api_for, account):
    response = api_for(request.getfixturevalue(reader)).patch(
        url("account_detail", account.pk), {"name": "Hijacked"}, format="json"
    )
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.name == "Acme Corp"


@pytest.mark.parametrize("body", [{"name": ""}, {"status": "friend"}, {"website": "nope"}, {"revenue_band": 7}])
def test_account_update_bad_input_is_400(body, api_for, owner, account):
    response = api_for(owner).patch(url("account_detail", account.pk), body, format="json")
    assert response.status_code == 400
    account.refresh_from_db()
    assert (account.name, account.status, account.website) == ("Acme Corp", AccountStatus.TARGET, "")


# --- contacts ------------------------------------------------------------------------------------------


def test_contact_list(api_for, outsider, account, contact):
    response = api_for(outsider).get(url("account_contacts", account.pk))
    assert response.status_code == 200
    assert [(r["id"], r["email"]) for r in response.json()["results"]] == [(contact.pk, "carla@acme.example")]


def test_any_signed_in_user_may_add_a_contact(api_for, teammate, account):
    # As in the HTML path (services.contact_create): reps build buying teams on any account.
    response = api_for(teammate).post(
        url("account_contacts", account.pk),
        {"first_name": "Dan", "last_name": "Decider", "title": "CFO", "email": "dan@acme.example"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Contact.objects.get(pk=response.json()["id"]).account == account


@pytest.mark.parametrize(
    "body",
    [
        {"last_name": "Decider"},
        {"first_name": "", "last_name": "Decider"},
        {"first_name": "Dan", "last_name": "Decider", "email": "not-an-email"},
        {"first_name": "Dan", "last_name": "Decider", "phone": "1" * 51},
    ],
)
def test_contact_bad_input_is_400(body, api_for, owner, account):
    response = api_for(owner).post(url("account_contacts", account.pk), body, format="json")
    assert response.status_code == 400
    assert not Contact.objects.exists()


def test_contacts_of_a_missing_account_are_404(api_for, owner):
    client = api_for(owner)
    assert client.get(url("account_contacts", 999999)).status_code == 404
    body = {"first_name": "Dan", "last_name": "Decider"}
    assert client.post(url("account_contacts", 999999), body, format="json").status_code == 404
    assert not Contact.objects.exists()


# --- the schema ----------------------------------------------------------------------------------------


def test_schema_is_served(api_for, owner):
    response = api_for(owner).get(reverse("api_schema"))
    assert response.status_code == 200
    assert b"/api/opportunities/{id}/move/" in response.content
