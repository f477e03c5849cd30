"""Removing stages and milestones, and reordering milestones: admins only; a stage deals or their
history refer to is refused; a ticked milestone is retired rather than deleted, and a retired one
neither gates, shows, nor takes ticks; a stage keeps at least two milestones; each change writes
one ProcessChange row and a refusal changes nothing."""

import pytest

from opportunities import services as deal_services
from opportunities.errors import DomainError, MissingMilestones
from stages import services
from stages.errors import ProcessAccessDenied, ProcessError, ProcessInUse
from stages.models import Milestone, ProcessChange, Stage
from tests.factories import MilestoneFactory, OpportunityFactory
from tests.stages.test_services import snapshot


@pytest.fixture
def stages(process) -> list[Stage]:
    return list(process.stages.order_by("order"))


@pytest.fixture
def deal(stages, owner):
    return OpportunityFactory(stage=stages[0], owner=owner)


# --- who ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "manager"])
def test_only_admins_remove_and_reorder(persona, request, stages):
    user = request.getfixturevalue(persona)
    stage = stages[2]
    before = snapshot()
    calls = [
        lambda: services.stage_remove(actor=user, stage=stage),
        lambda: services.milestone_remove(actor=user, milestone=stage.milestones.first()),
        lambda: services.milestone_reorder(actor=user, stage=stage, order=[m.pk for m in stage.milestones.all()]),
    ]
    for call in calls:
        with pytest.raises(ProcessAccessDenied, match="Only admins"):
            call()
    assert snapshot() == before


# --- stages ------------------------------------------------------------------------------------------


def test_stage_remove_deletes_an_unused_stage_and_renumbers_the_rest(admin, process, stages, now):
    services.stage_remove(actor=admin, stage=stages[1], now=now)
    assert list(process.stages.order_by("order").values_list("name", "order")) == [("Qualify", 10), ("Propose", 20)]
    assert not Milestone.objects.filter(stage_id=stages[1].pk).exists()
    change = ProcessChange.objects.get()
    assert (change.action, change.subject, change.object_id, change.actor) == (
        "stage_remove",
        "New business: Discover",
        stages[1].pk,
        admin,
    )
    assert change.before["milestones"] == ["Check 1", "Check 2", "Optional 1"]


def test_stage_remove_refuses_a_stage_an_open_deal_is_in(admin, stages, deal):
    before = snapshot()
    with pytest.raises(ProcessInUse, match="cannot be removed: deals or their history refer to it"):
        services.stage_remove(actor=admin, stage=stages[0])
    assert snapshot() == before


def test_stage_remove_refuses_a_stage_only_the_history_refers_to(admin, stages, deal, owner, now):
    # The deal moves on: no deal is in Qualify any more, but its events name it.
    for milestone in stages[0].milestones.filter(is_required=True):
        deal_services.milestone_tick(deal, actor=owner, milestone=milestone, now=now)
    deal_services.opportunity_move(deal, actor=owner, to_stage=stages[1], now=now)
    assert not stages[0].opportunities.exists()
    with pytest.raises(ProcessInUse):
        services.stage_remove(actor=admin, stage=stages[0])
    assert Stage.objects.filter(pk=stages[0].pk).exists()


def test_stage_remove_refuses_a_stage_whose_milestone_was_ticked_early(admin, stages, deal, owner, now):
    deal_services.milestone_tick(deal, actor=owner, milestone=stages[2].milestones.first(), now=now)
    with pytest.raises(ProcessInUse):
        services.stage_remove(actor=admin, stage=stages[2])


def test_stage_remove_of_a_vanished_stage_is_refused(admin, stages):
    stage = stages[2]
    Stage.objects.filter(pk=stage.pk).delete()
    with pytest.raises(ProcessError, match="no longer exists"):
        services.stage_remove(actor=admin, stage=stage)


# --- milestones --------------------------------------------------------------------------------------


def test_milestone_remove_deletes_one_nobody_ticked(admin, stages, now):
    optional = stages[0].milestones.get(name="Optional 1")
    assert services.milestone_remove(actor=admin, milestone=optional, now=now) is None
    assert not Milestone.objects.filter(pk=optional.pk).exists()
    change = ProcessChange.objects.get()
    assert (change.action, change.subject, change.object_id) == (
        "milestone_remove",
        "New business: Qualify: Optional 1",
        optional.pk,
    )


def test_milestone_remove_retires_a_ticked_one_and_history_keeps_it(admin, stages, deal, owner, now):
    optional = stages[0].milestones.get(name="Optional 1")
    deal_services.milestone_tick(deal, actor=owner, milestone=optional, now=now)
    retired = services.milestone_remove(actor=admin, milestone=optional, now=now)
    assert retired.pk == optional.pk and retired.retired_at == now
    assert Milestone.objects.get(pk=optional.pk).is_retired
    assert deal.milestone_completions.filter(milestone=optional).exists()
    assert ProcessChange.objects.get().action == "milestone_retire"
    assert list(stages[0].milestones.live().values_list("name", flat=True)) == ["Check 1", "Check 2"]


def test_milestone_remove_keeps_a_stage_at_two(admin, stages):
    stage = stages[0]
    services.milestone_remove(actor=admin, milestone=stage.milestones.get(name="Optional 1"))
    before = snapshot()
    with pytest.raises(ProcessError, match="keeps at least 2"):
        services.milestone_remove(actor=admin, milestone=stage.milestones.get(name="Check 1"))
    assert snapshot() == before


def test_a_retired_milestone_cannot_be_removed_again_or_changed(admin, stages, deal, owner):
    optional = stages[0].milestones.get(name="Optional 1")
    deal_services.milestone_tick(deal, actor=owner, milestone=optional)
    services.milestone_remove(actor=admin, milestone=optional)
    with pytest.raises(ProcessError, match="already retired"):
        services.milestone_remove(actor=admin, milestone=optional)
    with pytest.raises(ProcessError, match="is retired"):
        services.milestone_update(actor=admin, milestone=optional, name="Back")


def test_a_retired_milestone_no_longer_gates_advancement(admin, stages, owner, now):
    stage = stages[0]
    MilestoneFactory(stage=stage, name="Budget", is_required=True, order=9)
    deal = OpportunityFactory(stage=stage, owner=owner)
    other = OpportunityFactory(stage=stage, owner=owner)
    for milestone in stage.milestones.filter(name__startswith="Check"):
        deal_services.milestone_tick(deal, actor=owner, milestone=milestone, now=now)
    budget = stage.milestones.get(name="Budget")
    deal_services.milestone_tick(other, actor=owner, milestone=budget, now=now)  # ticked: retired, not deleted
    with pytest.raises(MissingMilestones, match="Qualify: Budget"):
        deal_services.opportunity_move(deal, actor=owner, to_stage=stages[1], now=now)
    services.milestone_remove(actor=admin, milestone=budget, now=now)
    deal_services.opportunity_move(deal, actor=owner, to_stage=stages[1], now=now)
    deal.refresh_from_db()
    assert deal.stage_id == stages[1].pk


def test_a_retired_milestone_cannot_be_ticked(admin, stages, owner, now):
    stage = stages[0]
    optional = stage.milestones.get(name="Optional 1")
    deal_services.milestone_tick(OpportunityFactory(stage=stage, owner=owner), actor=owner, milestone=optional)
    services.milestone_remove(actor=admin, milestone=optional, now=now)
    deal = OpportunityFactory(stage=stage, owner=owner)
    with pytest.raises(DomainError, match="retired by an admin and can no longer be ticked"):
        deal_services.milestone_tick(deal, actor=owner, milestone=Milestone.objects.get(pk=optional.pk))
    assert not deal.milestone_completions.exists()


def test_live_keeps_what_it_is_asked_to(admin, stages, deal, owner):
    optional = stages[0].milestones.get(name="Optional 1")
    deal_services.milestone_tick(deal, actor=owner, milestone=optional)
    services.milestone_remove(actor=admin, milestone=optional)
    live = Milestone.objects.filter(stage=stages[0])
    assert optional.pk not in live.live().values_list("pk", flat=True)
    assert optional.pk in live.live(keep=(None, optional.pk)).values_list("pk", flat=True)


def test_milestone_create_counts_live_milestones_only(admin, stages, deal, owner):
    stage = stages[0]
    MilestoneFactory(stage=stage, name="Fourth", is_required=False, order=5)
    with pytest.raises(ProcessError, match="already has 4 milestones"):
        services.milestone_create(actor=admin, stage=stage, name="Fifth")
    fourth = stage.milestones.get(name="Fourth")
    deal_services.milestone_tick(deal, actor=owner, milestone=fourth)
    services.milestone_remove(actor=admin, milestone=fourth)
    assert services.milestone_create(actor=admin, stage=stage, name="Fifth").name == "Fifth"


# --- reorder -----------------------------------------------------------------------------------------


def test_milestone_reorder_sets_the_order_and_records_it(admin, stages, now):
    stage = stages[0]
    ids = list(stage.milestones.order_by("order").values_list("pk", flat=True))
    ordered = services.milestone_reorder(actor=admin, stage=stage, order=[ids[2], ids[0], ids[1]], now=now)
    assert [m.name for m in ordered] == ["Optional 1", "Check 1", "Check 2"]
    assert list(stage.milestones.order_by("order").values_list("name", "order")) == [
        ("Optional 1", 10),
        ("Check 1", 20),
        ("Check 2", 30),
    ]
    change = ProcessChange.objects.get()
    assert (change.action, change.subject, change.object_id) == ("milestone_reorder", "New business: Qualify", stage.pk)
    assert change.after == {"Optional 1": 10, "Check 1": 20, "Check 2": 30}


@pytest.mark.parametrize(
    "order",
    [
        "not a list of ids",
        [],
        ["x"],
        [0],
        "missing one",
        "duplicate",
        "another stage's",
        "retired one",
    ],
)
def test_milestone_reorder_refuses_anything_but_every_live_milestone_once(admin, stages, deal, owner, order):
    stage = stages[0]
    extra = MilestoneFactory(stage=stage, name="Extra", is_required=False, order=9)
    deal_services.milestone_tick(deal, actor=owner, milestone=extra)
    services.milestone_remove(actor=admin, milestone=extra)
    ids = list(stage.milestones.live().order_by("order").values_list("pk", flat=True))
    order = (
        {
            "missing one": ids[:-1],
            "duplicate": [*ids, ids[0]],
            "another stage's": [*ids[:-1], stages[1].milestones.first().pk],
            "retired one": [*ids, extra.pk],
        }.get(order, order)
        if isinstance(order, str)
        else order
    )
    before = snapshot()
    with pytest.raises(ProcessError, match="List every milestone of “Qualify” once"):
        services.milestone_reorder(actor=admin, stage=stage, order=order)
    assert snapshot() == before
