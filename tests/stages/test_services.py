"""The sales-process services: only admins change processes, stages and milestones; the rules the
models imply are kept; a refusal changes nothing; every change writes one ProcessChange row."""

import pytest
from django.urls import reverse

from stages import services
from stages.errors import ProcessAccessDenied, ProcessError
from stages.models import Milestone, ProcessChange, SalesProcess, Stage
from tests.factories import MilestoneFactory, OpportunityFactory


def snapshot() -> tuple:
    """Every row the services may write, to check that a refusal wrote none."""
    return (
        list(SalesProcess.objects.order_by("pk").values()),
        list(Stage.objects.order_by("pk").values()),
        list(Milestone.objects.order_by("pk").values()),
        ProcessChange.objects.count(),
    )


@pytest.fixture
def qualify(process) -> Stage:
    return process.stages.get(name="Qualify")


# --- who ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "manager"])
def test_only_admins_change_processes(persona, request, process, now):
    user = request.getfixturevalue(persona)
    stage = process.stages.first()
    before = snapshot()
    calls = [
        lambda: services.process_create(actor=user, name="Renewals"),
        lambda: services.process_update(actor=user, process=process, name="Other"),
        lambda: services.stage_create(actor=user, process=process, name="Negotiate"),
        lambda: services.stage_update(actor=user, stage=stage, win_probability=50),
        lambda: services.stage_reorder(actor=user, process=process, stage_ids=[s.pk for s in process.stages.all()]),
        lambda: services.milestone_create(actor=user, stage=stage, name="Budget"),
        lambda: services.milestone_update(actor=user, milestone=stage.milestones.first(), is_required=False),
    ]
    for call in calls:
        with pytest.raises(ProcessAccessDenied, match="Only admins"):
            call()
    assert snapshot() == before


# --- processes ---------------------------------------------------------------------------------------


def test_process_create_writes_the_process_and_its_audit_row(admin, now):
    process = services.process_create(actor=admin, name="  Renewals\u200b ", description="Existing customers")
    assert (process.name, process.is_active, process.stages.count()) == ("Renewals", True, 0)
    change = ProcessChange.objects.get()
    assert (change.process, change.action, change.actor, change.created_at) == (process, "process_create", admin, now)
    assert change.before == {}
    assert change.after == {"name": "Renewals", "description": "Existing customers", "is_active": True}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "cannot be blank"),
        ({"name": "\u200b\u202e"}, "name", "cannot be blank"),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"name": 5}, "name", "must be text"),
        ({"name": "new BUSINESS"}, "name", "already exists"),
        ({"name": "Fine", "is_active": "yes"}, "is_active", "true or false"),
        ({"name": "Fine", "description": "x" * 5001}, "description", "at most 5000"),
    ],
)
def test_process_create_refuses_bad_input_and_changes_nothing(admin, process, fields, field, message):
    before = snapshot()
    with pytest.raises(ProcessError, match=message) as refused:
        services.process_create(actor=admin, **fields)
    assert refused.value.field == field
    assert snapshot() == before


def test_process_update_records_only_what_changed(admin, process, now):
    services.process_update(actor=admin, process=process, name="New business", description="Net new logos")
    change = ProcessChange.objects.get()
    assert (change.action, change.before, change.after) == (
        "process_update",
        {"description": ""},
        {"description": "Net new logos"},
    )
    services.process_update(actor=admin, process=process, description="Net new logos")  # nothing new: no row
    assert ProcessChange.objects.count() == 1


def test_the_last_active_process_cannot_be_deactivated(admin, process):
    before = snapshot()
    with pytest.raises(ProcessError, match="only active sales process") as refused:
        services.process_update(actor=admin, process=process, is_active=False)
    assert refused.value.field == "is_active"
    assert snapshot() == before
    services.process_create(actor=admin, name="Renewals")
    services.process_update(actor=admin, process=process, is_active=False)
    process.refresh_from_db()
    assert process.is_active is False


def test_process_update_refuses_unknown_fields_and_taken_names(admin, process):
    services.process_create(actor=admin, name="Renewals")
    before = snapshot()
    with pytest.raises(ProcessError, match="already exists"):
        services.process_update(actor=admin, process=process, name="renewals")
    with pytest.raises(ProcessError, match="Unknown field"):
        services.process_update(actor=admin, process=process, stages=[])
    assert snapshot() == before


# --- stages ------------------------------------------------------------------------------------------


def test_stage_create_goes_last_with_the_models_defaults(admin, process, now):
    stage = services.stage_create(actor=admin, process=process, name="Negotiate", win_probability=60)
    assert stage.order == 40  # after Propose (30)
    assert (stage.win_probability, stage.forecast_category, stage.stuck_after_days) == (60, "pipeline", 30)
    change = ProcessChange.objects.get()
    assert (change.action, change.object_id, change.subject) == ("stage_create", stage.pk, "New business: Negotiate")
    assert change.after["win_probability"] == 60


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "qualify"}, "name", "already has a stage named"),
        ({"name": " "}, "name", "cannot be blank"),
        ({"name": "Negotiate", "win_probability": 101}, "win_probability", "from 0 to 100"),
        ({"name": "Negotiate", "win_probability": -1}, "win_probability", "from 0 to 100"),
        ({"name": "Negotiate", "win_probability": 2**70}, "win_probability", "from 0 to 100"),
        ({"name": "Negotiate", "win_probability": True}, "win_probability", "from 0 to 100"),
        ({"name": "Negotiate", "order": 10}, "order", "Qualify"),
        ({"name": "Negotiate", "forecast_category": "maybe"}, "forecast_category", "one of"),
        ({"name": "Negotiate", "stuck_after_days": 99999}, "stuck_after_days", "from 0 to 3650"),
        ({"name": "Negotiate", "objective": "x" * 301}, "objective", "at most 300"),
    ],
)
def test_stage_create_refuses_bad_input_and_changes_nothing(admin, process, fields, field, message):
    before = snapshot()
    with pytest.raises(ProcessError, match=message) as refused:
        services.stage_create(actor=admin, process=process, **fields)
    assert refused.value.field == field
    assert snapshot() == before


def test_stage_update_renames_and_moves_a_stage_that_holds_deals(admin, process, qualify, owner):
    deal = OpportunityFactory(owner=owner, process=process, stage=qualify)
    services.stage_update(actor=admin, stage=qualify, name="Qualify fit", order=15, win_probability=20)
    qualify.refresh_from_db()
    deal.refresh_from_db()
    assert (qualify.name, qualify.order, qualify.win_probability, deal.stage_id) == ("Qualify fit", 15, 20, qualify.pk)
    change = ProcessChange.objects.get()
    assert change.before == {"name": "Qualify", "order": 10, "win_probability": 10}
    assert change.after == {"name": "Qualify fit", "order": 15, "win_probability": 20}


def test_stage_update_refuses_a_taken_name_or_order(admin, process, qualify):
    before = snapshot()
    with pytest.raises(ProcessError, match="already has a stage named"):
        services.stage_update(actor=admin, stage=qualify, name="DISCOVER")
    with pytest.raises(ProcessError, match="“Discover” is already at order 20"):
        services.stage_update(actor=admin, stage=qualify, order=20)
    assert snapshot() == before
    # A name or order taken in another process is free here.
    services.process_create(actor=admin, name="Renewals")
    other = services.stage_create(actor=admin, process=SalesProcess.objects.get(name="Renewals"), name="Qualify")
    assert other.order == 10


def test_stage_reorder_puts_every_stage_in_the_given_order(admin, process):
    qualify, discover, propose = process.stages.order_by("order")
    services.stage_reorder(actor=admin, process=process, stage_ids=[discover.pk, qualify.pk, propose.pk])
    assert list(process.stages.order_by("order").values_list("name", "order")) == [
        ("Discover", 10),
        ("Qualify", 20),
        ("Propose", 30),
    ]
    change = ProcessChange.objects.get()
    assert change.action == "stage_reorder"
    assert change.before == {"Qualify": 10, "Discover": 20, "Propose": 30}
    assert change.after == {"Discover": 10, "Qualify": 20, "Propose": 30}


@pytest.mark.parametrize("ids", ["missing", "twice", "foreign", "junk"])
def test_stage_reorder_refuses_anything_but_each_stage_once(admin, process, ids):
    qualify, discover, propose = process.stages.order_by("order")
    foreign = services.stage_create(
        actor=admin, process=services.process_create(actor=admin, name="Other"), name="Elsewhere"
    )
    stage_ids = {
        "missing": [qualify.pk, discover.pk],
        "twice": [qualify.pk, discover.pk, propose.pk, propose.pk],
        "foreign": [qualify.pk, discover.pk, foreign.pk],
        "junk": [qualify.pk, "x", 2**70],
    }[ids]
    before = snapshot()
    with pytest.raises(ProcessError, match="List every stage") as refused:
        services.stage_reorder(actor=admin, process=process, stage_ids=stage_ids)
    assert refused.value.field == "stages"
    assert snapshot() == before


# --- milestones --------------------------------------------------------------------------------------


def test_milestone_create_goes_last_and_is_audited(admin, qualify):
    milestone = services.milestone_create(actor=admin, stage=qualify, name="Budget confirmed", description="In writing")
    assert (milestone.order, milestone.is_required) == (3, True)  # after Check 1, Check 2, Optional 1
    change = ProcessChange.objects.get()
    assert (change.action, change.subject) == ("milestone_create", "New business: Qualify: Budget confirmed")
    assert change.after == {"name": "Budget confirmed", "description": "In writing", "is_required": True, "order": 3}


def test_a_stage_has_at_most_four_milestones(admin, qualify):
    services.milestone_create(actor=admin, stage=qualify, name="Budget")  # the fourth
    before = snapshot()
    with pytest.raises(ProcessError, match="already has 4 milestones; a stage has 2 to 4"):
        services.milestone_create(actor=admin, stage=qualify, name="Timeline")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "check 1"}, "name", "already has a milestone named"),
        ({"name": ""}, "name", "cannot be blank"),
        ({"name": "x" * 151}, "name", "at most 150"),
        ({"name": "Budget", "order": 0}, "order", "“Check 1” is already at order 0"),
        ({"name": "Budget", "is_required": None}, "is_required", "true or false"),
        ({"name": "Budget", "description": ["x"]}, "description", "must be text"),
    ],
)
def test_milestone_create_refuses_bad_input_and_changes_nothing(admin, qualify, fields, field, message):
    before = snapshot()
    with pytest.raises(ProcessError, match=message) as refused:
        services.milestone_create(actor=admin, stage=qualify, **fields)
    assert refused.value.field == field
    assert snapshot() == before


def test_milestone_update_changes_and_records_the_fields(admin, qualify, now):
    milestone = qualify.milestones.get(name="Optional 1")
    services.milestone_update(actor=admin, milestone=milestone, is_required=True, description="Line 1\nLine\x00 2")
    milestone.refresh_from_db()
    assert (milestone.is_required, milestone.description) == (True, "Line 1\nLine 2")
    change = ProcessChange.objects.get()
    assert change.before == {"is_required": False, "description": ""}
    assert change.after == {"is_required": True, "description": "Line 1\nLine 2"}


def test_milestone_update_refuses_a_sibling_name_and_changes_nothing(admin, qualify):
    milestone = qualify.milestones.get(name="Check 2")
    MilestoneFactory(stage=qualify.process.stages.get(name="Discover"), name="Budget")  # another stage's
    services.milestone_update(actor=admin, milestone=milestone, name="Budget")
    before = snapshot()
    with pytest.raises(ProcessError, match="already has a milestone named “Check 1”"):
        services.milestone_update(actor=admin, milestone=milestone, name="CHECK 1")
    assert snapshot() == before


def test_the_changes_are_listed_read_only_in_the_admin_site(client_for, admin, process):
    services.process_update(actor=admin, process=process, description="Net new logos")
    change = ProcessChange.objects.get()
    client = client_for(admin)
    listing = client.get(reverse("admin:stages_processchange_changelist"))
    assert listing.status_code == 200
    assert "New business" in listing.content.decode()
    assert client.get(reverse("admin:stages_processchange_add")).status_code == 403
    assert (
        client.post(reverse("admin:stages_processchange_delete", args=[change.pk]), {"post": "yes"}).status_code == 403
    )
    assert ProcessChange.objects.count() == 1
