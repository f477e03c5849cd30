"""The rules of `opportunities.services`, refused paths included, against the real database.

Conventions in this module:
- `with unchanged(), pytest.raises(...)`: the refused call left every domain table exactly as it was.
- `with recorded() as ev`: `ev.verbs` / `ev.events` are the events the block wrote, in order.
"""

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db.models import Max

from opportunities import services
from opportunities.errors import AccessDenied, ConcurrentEdit, DomainError, MissingMilestones
from opportunities.models import (
    Account,
    AccountEvent,
    AccountStatus,
    Activity,
    ActivityKind,
    BuyingTeamMember,
    Contact,
    EventVerb,
    MilestoneCompletion,
    NextStep,
    NextStepKind,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
)
from people.models import Role
from stages.models import Milestone
from tests.factories import (
    AccountFactory,
    ContactFactory,
    LostReasonFactory,
    SalesProcessFactory,
    UserFactory,
    make_process,
)

DAY = dt.timedelta(days=1)
TABLES = [
    Opportunity,
    OpportunityEvent,
    MilestoneCompletion,
    NextStep,
    Activity,
    Activity.contacts.through,
    BuyingTeamMember,
    Account,
    Contact,
    AccountEvent,
]


def db_state() -> dict:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in TABLES}


@contextmanager
def unchanged():
    before = db_state()
    yield
    assert db_state() == before


class recorded:
    def __enter__(self):
        self.since = OpportunityEvent.objects.aggregate(m=Max("id"))["m"] or 0
        return self

    def __exit__(self, *exc):
        self.events = list(OpportunityEvent.objects.filter(id__gt=self.since).order_by("id"))
        return False

    @property
    def verbs(self) -> list[str]:
        return [e.verb for e in self.events]

    @property
    def event(self) -> OpportunityEvent:
        (only,) = self.events
        return only


def milestone(process, stage_name: str, name: str) -> Milestone:
    return Milestone.objects.get(stage__process=process, stage__name=stage_name, name=name)


def stage(process, name: str):
    return process.stages.get(name=name)


def tick_required(opp, *, actor, now, stages: list[str]) -> None:
    for m in Milestone.objects.filter(stage__process=opp.process, stage__name__in=stages, is_required=True):
        services.milestone_tick(opp, actor=actor, milestone=m, now=now)


def fresh(opp) -> Opportunity:
    return Opportunity.objects.get(pk=opp.pk)


@pytest.fixture
def other_manager(other_team):
    return UserFactory(username="other_manager", role=Role.MANAGER, manages=[other_team])


# --- create -------------------------------------------------------------------------------------------


def create(actor, account, process, now, **overrides):
    fields = {
        "name": "New deal",
        "amount": "1000",
        "expected_close_date": now.date() + 30 * DAY,
        "now": now,
    }
    fields.update(overrides)
    return services.opportunity_create(actor=actor, account=account, process=process, **fields)


def test_create_puts_the_deal_in_the_first_stage_and_records_it(owner, account, process, now):
    with recorded() as ev:
        opp = create(owner, account, process, now, amount="1234.5")

    opp = fresh(opp)
    assert opp.stage == stage(process, "Qualify")
    assert opp.process == process
    assert opp.owner == owner
    assert opp.status == OpportunityStatus.OPEN
    assert opp.amount == Decimal("1234.50")
    assert opp.stage_entered_at == now
    assert opp.furthest_stage == stage(process, "Qualify")
    assert opp.created_at == now
    assert opp.version == 1
    assert ev.verbs == [EventVerb.CREATED]
    event = ev.event
    assert event.actor == owner
    assert event.to_stage == opp.stage
    assert event.from_stage is None
    assert event.created_at == now
    assert event.version == 1
    assert event.data["stage_name"] == "Qualify"
    assert event.data["amount"] == "1234.50"


def test_create_turns_a_target_account_into_a_prospect(owner, account, process, now):
    assert account.status == AccountStatus.TARGET
    create(owner, account, process, now)
    account.refresh_from_db()
    assert account.status == AccountStatus.PROSPECT


@pytest.mark.parametrize("status", [AccountStatus.PROSPECT, AccountStatus.CUSTOMER, AccountStatus.FORMER_CUSTOMER])
def test_create_leaves_other_account_statuses_alone(owner, process, now, status):
    account = AccountFactory(owner=owner, status=status)
    create(owner, account, process, now)
    account.refresh_from_db()
    assert account.status == status


def test_create_accepts_a_close_date_of_today(owner, account, process, now):
    opp = create(owner, account, process, now, expected_close_date=now.date())
    assert opp.expected_close_date == now.date()


def test_create_with_a_next_step_sets_it_and_returns_the_current_row(owner, account, process, now):
    with recorded() as ev:
        opp = create(
            owner, account, process, now, next_step_description="Discovery call", next_step_due_date=now.date() + DAY
        )

    assert ev.verbs == [EventVerb.CREATED, EventVerb.NEXT_STEP_SET]
    stored = fresh(opp)
    assert stored.next_step.description == "Discovery call"
    # The returned object is what the caller (the API, a redirect) goes on with: it must not be stale.
    assert opp.version == stored.version == 2
    assert opp.next_step_id == stored.next_step_id


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "-1"}, "Amount cannot be negative."),
        ({"amount": "-0.01"}, "Amount cannot be negative."),
        ({"amount": "lots"}, "Amount must be a number."),
        ({"amount": "NaN"}, "Amount must be a number."),
        ({"amount": "Infinity"}, "Amount must be a number."),
        ({"amount": None}, "Amount must be a number."),
        ({"amount": "1e12"}, "Amount is too large."),
        ({"name": ""}, "Name is required."),
        ({"name": "   "}, "Name is required."),
        ({"name": "x" * 201}, "Name must be at most 200 characters."),
        ({"expected_close_date": dt.date(2026, 3, 1)}, "Expected close date cannot be before 2026-03-02."),
        ({"expected_close_date": dt.date(2036, 3, 3)}, "Expected close date is more than 10 years away."),
        ({"expected_close_date": None}, "Expected close date is required."),
        (
            {"next_step_description": "Call", "next_step_due_date": dt.date(2026, 3, 1)},
            "Due date cannot be before 2026-03-02.",
        ),
        ({"next_step_description": "Call"}, "Due date is required."),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(owner, account, process, now, overrides, message):
    with unchanged(), pytest.raises(DomainError) as exc:
        create(owner, account, process, now, **overrides)
    assert exc.value.message == message


def test_create_refuses_an_inactive_process(owner, account, now):
    retired = make_process(name="Retired", is_active=False)
    with unchanged(), pytest.raises(DomainError, match="no longer takes new deals"):
        create(owner, account, retired, now)


def test_create_refuses_a_process_without_stages(owner, account, now):
    empty = SalesProcessFactory(name="Empty")
    with unchanged(), pytest.raises(DomainError, match="has no stages yet"):
        create(owner, account, empty, now)


def test_rep_cannot_create_a_deal_for_someone_else(owner, teammate, account, process, now):
    with unchanged(), pytest.raises(AccessDenied):
        create(owner, account, process, now, owner=teammate)


def test_manager_creates_deals_for_their_team(manager, owner, account, process, now):
    with recorded() as ev:
        opp = create(manager, account, process, now, owner=owner)
    assert opp.owner == owner
    assert ev.event.actor == manager
    assert ev.event.data["owner_id"] == owner.pk


def test_manager_cannot_create_deals_for_other_teams(manager, outsider, account, process, now):
    with unchanged(), pytest.raises(AccessDenied):
        create(manager, account, process, now, owner=outsider)


def test_admin_creates_deals_for_anyone(admin, outsider, account, process, now):
    assert create(admin, account, process, now, owner=outsider).owner == outsider


@pytest.mark.parametrize("actor_name", ["manager", "admin"])
def test_nobody_creates_deals_for_an_inactive_user(request, owner, account, process, now, actor_name):
    actor = request.getfixturevalue(actor_name)
    owner.is_active = False
    owner.save()
    with unchanged(), pytest.raises(DomainError, match="not an active user"):
        create(actor, account, process, now, owner=owner)


# --- moving between stages ------------------------------------------------------------------------------


def test_moving_forward_is_refused_while_required_milestones_are_open(opportunity, owner, process, now):
    with unchanged(), pytest.raises(MissingMilestones) as exc:
        services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=now)

    assert exc.value.missing == ["Qualify: Check 1", "Qualify: Check 2"]
    assert exc.value.message == (
        "Cannot move to Discover: required milestones are not done — Qualify: Check 1; Qualify: Check 2."
    )


def test_the_refusal_names_only_the_milestones_still_open(opportunity, owner, process, now):
    services.milestone_tick(opportunity, actor=owner, milestone=milestone(process, "Qualify", "Check 1"), now=now)
    with unchanged(), pytest.raises(MissingMilestones) as exc:
        services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=now)
    assert exc.value.missing == ["Qualify: Check 2"]
    assert "Qualify: Check 2" in exc.value.message
    assert "Check 1" not in exc.value.message


def test_moving_forward_with_required_milestones_done(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    version = fresh(opportunity).version
    entered_qualify = fresh(opportunity).stage_entered_at
    later = now + 3 * DAY

    with recorded() as ev:
        opp = services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=later)

    opp = fresh(opp)
    assert opp.stage == stage(process, "Discover")
    assert opp.furthest_stage == stage(process, "Discover")
    assert opp.stage_entered_at == later
    assert opp.updated_at == later
    assert opp.version == version + 1
    assert ev.verbs == [EventVerb.STAGE_MOVED]
    event = ev.event
    assert event.actor == owner
    assert event.from_stage == stage(process, "Qualify")
    assert event.to_stage == stage(process, "Discover")
    assert event.version == opp.version
    assert event.created_at == later
    assert event.stage_entered_at == entered_qualify
    assert event.data == {"from_name": "Qualify", "to_name": "Discover", "backwards": False, "days_in_stage": 3}


def test_optional_milestones_do_not_gate(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    assert not MilestoneCompletion.objects.filter(opportunity=opportunity, milestone__is_required=False).exists()
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=now)
    assert fresh(opportunity).stage.name == "Discover"


def test_milestones_of_the_target_stage_do_not_gate(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=now)
    # Discover's own milestones are not done: it may be entered, just not left.
    assert fresh(opportunity).stage.name == "Discover"


def test_skipping_stages_requires_the_milestones_of_every_stage_left_behind(opportunity, owner, process, now):
    with unchanged(), pytest.raises(MissingMilestones) as exc:
        services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Propose"), now=now)
    assert exc.value.missing == ["Qualify: Check 1", "Qualify: Check 2", "Discover: Check 1", "Discover: Check 2"]

    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    with unchanged(), pytest.raises(MissingMilestones) as exc:
        services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Propose"), now=now)
    assert exc.value.missing == ["Discover: Check 1", "Discover: Check 2"]

    tick_required(opportunity, actor=owner, now=now, stages=["Discover"])
    with recorded() as ev:
        services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Propose"), now=now)
    assert fresh(opportunity).stage.name == "Propose"
    assert ev.verbs == [EventVerb.STAGE_MOVED]


def test_skipping_two_stages_of_a_longer_process(owner, account, now):
    process = make_process(stages=4, milestones=1)
    opp = create(owner, account, process, now)
    with unchanged(), pytest.raises(MissingMilestones) as exc:
        services.opportunity_move(opp, actor=owner, to_stage=stage(process, "Negotiate"), now=now)
    assert exc.value.missing == ["Qualify: Check 1", "Discover: Check 1", "Propose: Check 1"]


def test_moving_backward_is_allowed_and_recorded_as_such(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=now)
    # Backwards needs nothing, even with the current stage's milestones open.
    later = now + 2 * DAY
    with recorded() as ev:
        services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Qualify"), now=later)

    opp = fresh(opportunity)
    assert opp.stage.name == "Qualify"
    assert opp.stage_entered_at == later
    # Moving back does not undo how far the deal got.
    assert opp.furthest_stage.name == "Discover"
    assert ev.verbs == [EventVerb.STAGE_MOVED]
    assert ev.event.stage_entered_at == now
    assert ev.event.data["backwards"] is True
    assert ev.event.from_stage.name == "Discover"
    assert ev.event.describe() == "Moved from Discover to Qualify (backwards)"


def test_moving_to_a_stage_of_another_process_is_refused(opportunity, owner, now):
    other = make_process(stages=2, milestones=0, name="Renewals")
    with unchanged(), pytest.raises(DomainError, match="is not a stage of the New business process"):
        services.opportunity_move(opportunity, actor=owner, to_stage=other.first_stage(), now=now)


def test_moving_to_the_same_stage_is_refused(opportunity, owner, process, now):
    with unchanged(), pytest.raises(DomainError, match="already in Qualify"):
        services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Qualify"), now=now)


def test_moving_with_a_stale_version_is_refused(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    loaded = fresh(opportunity).version
    services.opportunity_update(opportunity, actor=owner, expected_version=loaded, amount="1", now=now)
    with unchanged(), pytest.raises(ConcurrentEdit) as exc:
        services.opportunity_move(
            opportunity, actor=owner, to_stage=stage(process, "Discover"), expected_version=loaded, now=now
        )
    assert exc.value.current_version == loaded + 1
    assert len(exc.value.changes) == 1


@pytest.mark.parametrize("actor_name", ["manager", "admin"])
def test_manager_or_admin_overrides_missing_milestones_with_a_reason(request, opportunity, process, now, actor_name):
    actor = request.getfixturevalue(actor_name)
    with recorded() as ev:
        services.opportunity_move(
            opportunity, actor=actor, to_stage=stage(process, "Discover"), override_reason="  CFO said yes  ", now=now
        )

    opp = fresh(opportunity)
    assert opp.stage.name == "Discover"
    assert ev.verbs == [EventVerb.OVERRIDE_USED, EventVerb.STAGE_MOVED]
    override, moved = ev.events
    assert override.actor == moved.actor == actor
    assert override.data == {
        "missing": ["Qualify: Check 1", "Qualify: Check 2"],
        "reason": "CFO said yes",
        "action": "move to Discover",
    }
    assert override.from_stage.name == "Qualify"
    assert override.to_stage.name == "Discover"
    assert override.version == moved.version == opp.version


def test_no_override_event_when_nothing_was_missing(opportunity, manager, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    with recorded() as ev:
        services.opportunity_move(
            opportunity, actor=manager, to_stage=stage(process, "Discover"), override_reason="just in case", now=now
        )
    assert ev.verbs == [EventVerb.STAGE_MOVED]


def test_a_rep_cannot_override(opportunity, owner, process, now):
    with unchanged(), pytest.raises(AccessDenied, match="Only the deal's manager or an admin"):
        services.opportunity_move(
            opportunity, actor=owner, to_stage=stage(process, "Discover"), override_reason="Trust me", now=now
        )


def test_a_manager_of_another_team_cannot_override(opportunity, other_manager, process, now):
    with unchanged(), pytest.raises(AccessDenied):
        services.opportunity_move(
            opportunity, actor=other_manager, to_stage=stage(process, "Discover"), override_reason="x", now=now
        )


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_override_needs_a_reason(opportunity, manager, process, now, reason):
    with unchanged(), pytest.raises(MissingMilestones):
        services.opportunity_move(
            opportunity, actor=manager, to_stage=stage(process, "Discover"), override_reason=reason, now=now
        )


# --- milestones ------------------------------------------------------------------------------------------


def test_ticking_a_milestone_of_a_later_stage_early(opportunity, owner, process, now):
    later_milestone = milestone(process, "Propose", "Check 2")
    with recorded() as ev:
        completion = services.milestone_tick(
            opportunity, actor=owner, milestone=later_milestone, evidence="  Signed NDA  ", now=now
        )

    assert completion.milestone == later_milestone
    assert completion.completed_by == owner
    assert completion.completed_at == now
    assert completion.evidence == "Signed NDA"
    assert ev.verbs == [EventVerb.MILESTONE_TICKED]
    assert ev.event.actor == owner
    assert ev.event.to_stage.name == "Propose"
    assert ev.event.data["milestone"] == "Check 2"
    assert ev.event.data["evidence"] == "Signed NDA"
    assert fresh(opportunity).stage.name == "Qualify"  # ticking never moves the deal


def test_an_early_tick_counts_when_the_deal_gets_there(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Discover", "Qualify"])
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Propose"), now=now)
    assert fresh(opportunity).stage.name == "Propose"


def test_ticking_twice_is_refused(opportunity, owner, process, now):
    m = milestone(process, "Qualify", "Check 1")
    services.milestone_tick(opportunity, actor=owner, milestone=m, now=now)
    with unchanged(), pytest.raises(DomainError, match="already ticked"):
        services.milestone_tick(opportunity, actor=owner, milestone=m, now=now)


def test_ticking_a_milestone_of_another_process_is_refused(opportunity, owner, now):
    other = make_process(stages=1, milestones=1, name="Renewals")
    foreign = Milestone.objects.get(stage__process=other)
    with unchanged(), pytest.raises(DomainError, match="not a milestone of the New business process"):
        services.milestone_tick(opportunity, actor=owner, milestone=foreign, now=now)


def test_evidence_is_limited(opportunity, owner, process, now):
    with unchanged(), pytest.raises(DomainError, match="at most 500"):
        services.milestone_tick(
            opportunity, actor=owner, milestone=milestone(process, "Qualify", "Check 1"), evidence="x" * 501, now=now
        )


def test_unticking_is_recorded_and_gates_again(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    m = milestone(process, "Qualify", "Check 2")
    with recorded() as ev:
        services.milestone_untick(opportunity, actor=owner, milestone=m, now=now)

    assert not MilestoneCompletion.objects.filter(opportunity=opportunity, milestone=m).exists()
    assert ev.verbs == [EventVerb.MILESTONE_UNTICKED]
    assert ev.event.actor == owner
    assert ev.event.data["milestone"] == "Check 2"
    with pytest.raises(MissingMilestones) as exc:
        services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=now)
    assert exc.value.missing == ["Qualify: Check 2"]


def test_unticking_what_is_not_ticked_is_refused(opportunity, owner, process, now):
    with unchanged(), pytest.raises(DomainError, match="is not ticked"):
        services.milestone_untick(opportunity, actor=owner, milestone=milestone(process, "Qualify", "Check 1"), now=now)


# --- closing and reopening ---------------------------------------------------------------------------------


def test_closing_won_requires_every_required_milestone_of_every_stage(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify", "Discover"])
    with unchanged(), pytest.raises(MissingMilestones) as exc:
        services.opportunity_close_won(opportunity, actor=owner, now=now)
    assert exc.value.missing == ["Propose: Check 1", "Propose: Check 2"]
    assert exc.value.message.startswith("Cannot close won: required milestones are not done")


def test_closing_won(opportunity, owner, process, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify", "Discover", "Propose"])
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Propose"), now=now)
    version = fresh(opportunity).version
    later = now + 5 * DAY

    with recorded() as ev:
        services.opportunity_close_won(opportunity, actor=owner, notes="  Signed!  ", now=later)

    opp = fresh(opportunity)
    assert opp.status == OpportunityStatus.WON
    assert opp.is_closed
    assert opp.closed_on == later.date()
    assert opp.closed_stage.name == "Propose"
    assert opp.close_notes == "Signed!"
    assert opp.lost_reason is None
    assert opp.version == version + 1
    assert ev.verbs == [EventVerb.CLOSED_WON]
    assert ev.event.actor == owner
    assert ev.event.stage_entered_at == now  # when the deal entered Propose, the stage it closed in
    assert ev.event.data["stage_name"] == "Propose"
    assert ev.event.data["notes"] == "Signed!"


def test_closing_won_with_a_managers_override(opportunity, manager, now):
    with recorded() as ev:
        services.opportunity_close_won(opportunity, actor=manager, override_reason="Signed on paper", now=now)
    assert fresh(opportunity).status == OpportunityStatus.WON
    # Won in Qualify: moved to the process's last stage in the same breath.
    assert ev.verbs == [EventVerb.OVERRIDE_USED, EventVerb.STAGE_MOVED, EventVerb.CLOSED_WON]
    assert ev.events[0].data["action"] == "close won"
    assert len(ev.events[0].data["missing"]) == 6
    assert {e.actor for e in ev.events} == {manager}


def test_a_rep_cannot_override_closing_won(opportunity, owner, now):
    with unchanged(), pytest.raises(AccessDenied):
        services.opportunity_close_won(opportunity, actor=owner, override_reason="Trust me", now=now)


def test_closing_lost_records_reason_stage_and_notes(opportunity, owner, process, lost_reason, now):
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    services.opportunity_move(opportunity, actor=owner, to_stage=stage(process, "Discover"), now=now)

    with recorded() as ev:
        services.opportunity_close_lost(
            opportunity, actor=owner, reason=lost_reason, notes="  Went with a competitor  ", now=now
        )

    opp = fresh(opportunity)
    assert opp.status == OpportunityStatus.LOST
    assert opp.lost_reason == lost_reason
    assert opp.closed_stage.name == "Discover"
    assert opp.stage.name == "Discover"
    assert opp.closed_on == now.date()
    assert opp.close_notes == "Went with a competitor"
    assert ev.verbs == [EventVerb.CLOSED_LOST]
    event = ev.event
    assert event.actor == owner
    assert event.from_stage.name == "Discover"
    assert event.data["stage_name"] == "Discover"
    assert event.data["reason"] == "Price"
    assert event.data["reason_id"] == lost_reason.pk
    assert event.data["notes"] == "Went with a competitor"


def test_closing_lost_needs_no_milestones(opportunity, owner, lost_reason, now):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    assert fresh(opportunity).status == OpportunityStatus.LOST


def test_closing_lost_requires_a_reason(opportunity, owner, now):
    with unchanged(), pytest.raises(DomainError, match="Choose why the deal was lost") as exc:
        services.opportunity_close_lost(opportunity, actor=owner, reason=None, now=now)
    assert exc.value.field == "reason"


def test_closing_lost_refuses_a_retired_reason(opportunity, owner, now):
    retired = LostReasonFactory(name="Budget moved to next year", is_active=False)
    with unchanged(), pytest.raises(DomainError, match="no longer a lost reason"):
        services.opportunity_close_lost(opportunity, actor=owner, reason=retired, now=now)


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_closing_completes_the_open_next_step(opportunity, owner, manager, lost_reason, now, outcome):
    step = services.next_step_set(opportunity, actor=owner, description="Send contract", due_date=now.date(), now=now)
    later = now + DAY
    if outcome == "won":
        services.opportunity_close_won(opportunity, actor=manager, override_reason="Signed", now=later)
    else:
        services.opportunity_close_lost(opportunity, actor=manager, reason=lost_reason, now=later)

    step.refresh_from_db()
    assert step.completed_at == later
    assert step.completed_by == manager
    assert fresh(opportunity).next_step is None
    assert not NextStep.objects.filter(opportunity=opportunity, completed_at__isnull=True).exists()


def test_closing_a_closed_deal_is_refused(opportunity, owner, lost_reason, now):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    with unchanged(), pytest.raises(DomainError, match="closed lost"):
        services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    with unchanged(), pytest.raises(DomainError, match="closed lost"):
        services.opportunity_close_won(opportunity, actor=owner, now=now)


@pytest.fixture
def closed(opportunity, owner, lost_reason, now):
    services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, notes="No budget", now=now)
    return fresh(opportunity)


def test_a_closed_deal_cannot_be_moved(closed, owner, manager, process, now):
    for actor in (owner, manager):
        with unchanged(), pytest.raises(DomainError, match="reopen it before you move it"):
            services.opportunity_move(
                closed, actor=actor, to_stage=stage(process, "Discover"), override_reason="x", now=now
            )


def test_a_closed_deal_cannot_have_milestones_ticked_or_unticked(closed, owner, process, now):
    m = milestone(process, "Qualify", "Check 1")
    with unchanged(), pytest.raises(DomainError, match="reopen it before you tick milestones"):
        services.milestone_tick(closed, actor=owner, milestone=m, now=now)
    with unchanged(), pytest.raises(DomainError, match="reopen it before you untick milestones"):
        services.milestone_untick(closed, actor=owner, milestone=m, now=now)


def test_a_closed_deal_takes_no_next_steps(closed, owner, now):
    with unchanged(), pytest.raises(DomainError, match="reopen it"):
        services.next_step_set(closed, actor=owner, description="Call", due_date=now.date(), now=now)


@pytest.mark.parametrize("actor_name", ["manager", "admin"])
def test_manager_or_admin_reopens(request, closed, now, actor_name):
    actor = request.getfixturevalue(actor_name)
    later = now + 7 * DAY
    with recorded() as ev:
        services.opportunity_reopen(
            closed, actor=actor, next_description="Call them", next_due_date=later.date(), now=later
        )

    opp = fresh(closed)
    assert opp.status == OpportunityStatus.OPEN
    assert opp.closed_on is None
    assert opp.closed_stage is None
    assert opp.lost_reason is None
    assert opp.stage_entered_at == later
    assert opp.version == closed.version + 2  # reopened, and its next step committed
    assert opp.next_step.description == "Call them" and opp.next_step.owner == closed.owner
    assert ev.verbs == [EventVerb.REOPENED, EventVerb.NEXT_STEP_SET]
    assert {e.actor for e in ev.events} == {actor}
    assert ev.events[0].data == {"was": "lost", "closed_on": now.date().isoformat()}


@pytest.mark.parametrize("actor_name", ["teammate", "outsider", "other_manager"])
def test_others_cannot_reopen(request, closed, now, actor_name):
    actor = request.getfixturevalue(actor_name)
    with unchanged(), pytest.raises(AccessDenied):
        services.opportunity_reopen(closed, actor=actor, waiting_until=now.date() + DAY, now=now)


def test_reopening_an_open_deal_is_refused(opportunity, manager, now):
    with unchanged(), pytest.raises(DomainError, match="already open"):
        services.opportunity_reopen(opportunity, actor=manager, waiting_until=now.date() + DAY, now=now)


# --- editing details ----------------------------------------------------------------------------------------


def test_concurrent_edit_is_refused_and_explained(opportunity, owner, manager, now):
    first = Opportunity.objects.get(pk=opportunity.pk)
    second = Opportunity.objects.get(pk=opportunity.pk)
    loaded = first.version

    services.opportunity_update(first, actor=owner, expected_version=loaded, amount="60000", now=now)
    with unchanged(), pytest.raises(ConcurrentEdit) as exc:
        services.opportunity_update(
            second, actor=manager, expected_version=second.version, name="Renamed", amount="1", now=now
        )

    assert exc.value.changes == ["Olivia Owner: Amount changed from 50000.00 to 60000.00"]
    assert exc.value.current_version == loaded + 1
    assert "nothing was saved" in exc.value.message
    opp = fresh(opportunity)
    assert opp.name == "Acme rollout"
    assert opp.amount == Decimal("60000.00")


def test_changing_the_amount_is_recorded_with_old_and_new(opportunity, owner, now):
    version = opportunity.version
    with recorded() as ev:
        services.opportunity_update(opportunity, actor=owner, expected_version=version, amount="75000.5", now=now)

    opp = fresh(opportunity)
    assert opp.amount == Decimal("75000.50")
    assert opp.version == version + 1
    assert ev.verbs == [EventVerb.AMOUNT_CHANGED]
    assert ev.event.actor == owner
    assert ev.event.data == {"old": "50000.00", "new": "75000.50"}
    assert ev.event.version == opp.version


def test_an_update_that_changes_nothing_writes_nothing(opportunity, owner, now):
    with unchanged():
        services.opportunity_update(
            opportunity,
            actor=owner,
            expected_version=opportunity.version,
            name="Acme rollout",
            amount="50000.00",
            expected_close_date=opportunity.expected_close_date,
            owner=owner,
            now=now,
        )


def test_only_a_manager_or_admin_changes_what_a_closed_deal_was_worth(closed, owner, manager, admin, now):
    later = now.date() + 10 * DAY
    for changes in ({"amount": "1"}, {"expected_close_date": later}):
        with unchanged(), pytest.raises(DomainError, match="only its manager or an admin"):
            services.opportunity_update(closed, actor=owner, expected_version=closed.version, now=now, **changes)
    # Renaming stays with the owner; the same values are no change at all.
    services.opportunity_update(
        closed, actor=owner, expected_version=closed.version, name="Renamed", amount=str(closed.amount), now=now
    )
    for actor, amount in ((manager, "1"), (admin, "2")):
        version = fresh(closed).version
        services.opportunity_update(closed, actor=actor, expected_version=version, amount=amount, now=now)
        assert fresh(closed).amount == Decimal(amount)


def test_renaming_is_recorded(opportunity, owner, now):
    with recorded() as ev:
        services.opportunity_update(opportunity, actor=owner, expected_version=1, name=" Acme, phase 2 ", now=now)
    assert fresh(opportunity).name == "Acme, phase 2"
    assert ev.verbs == [EventVerb.EDITED]
    assert ev.event.data == {"changes": {"name": {"old": "Acme rollout", "new": "Acme, phase 2"}}}


def test_pushing_the_close_date_later_counts_and_pulling_it_in_does_not(opportunity, owner, now):
    original = opportunity.expected_close_date
    later = original + 14 * DAY

    with recorded() as ev:
        services.opportunity_update(opportunity, actor=owner, expected_version=1, expected_close_date=later, now=now)
    opp = fresh(opportunity)
    assert opp.expected_close_date == later
    assert opp.close_date_push_count == 1
    assert ev.verbs == [EventVerb.CLOSE_DATE_CHANGED]
    assert ev.event.actor == owner
    assert ev.event.data == {
        "old": original.isoformat(),
        "new": later.isoformat(),
        "pushed_later": True,
        "push_count": 1,
    }

    earlier = original - 7 * DAY
    with recorded() as ev:
        services.opportunity_update(opportunity, actor=owner, expected_version=2, expected_close_date=earlier, now=now)
    opp = fresh(opportunity)
    assert opp.expected_close_date == earlier
    assert opp.close_date_push_count == 1
    assert ev.event.data == {
        "old": later.isoformat(),
        "new": earlier.isoformat(),
        "pushed_later": False,
        "push_count": 1,
    }

    services.opportunity_update(opportunity, actor=owner, expected_version=3, expected_close_date=later, now=now)
    assert fresh(opportunity).close_date_push_count == 2


def test_several_changes_write_one_event_each(opportunity, owner, now):
    with recorded() as ev:
        services.opportunity_update(
            opportunity,
            actor=owner,
            expected_version=1,
            name="Bigger",
            amount="90000",
            expected_close_date=opportunity.expected_close_date + DAY,
            now=now,
        )
    assert ev.verbs == [EventVerb.EDITED, EventVerb.AMOUNT_CHANGED, EventVerb.CLOSE_DATE_CHANGED]
    assert [e.version for e in ev.events] == [2, 3, 4]
    assert fresh(opportunity).version == 4


def test_a_bad_field_refuses_the_whole_update(opportunity, owner, now):
    # The name is valid and would be written first: the refusal must roll it back too.
    with unchanged(), pytest.raises(DomainError, match="cannot be negative"):
        services.opportunity_update(opportunity, actor=owner, expected_version=1, name="Renamed", amount="-5", now=now)


# --- owners ---------------------------------------------------------------------------------------------------


def test_manager_reassigns_within_their_team(opportunity, owner, teammate, manager, now):
    step = services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    with recorded() as ev:
        services.opportunity_reassign(opportunity, actor=manager, owner=teammate, now=now)

    opp = fresh(opportunity)
    assert opp.owner == teammate
    assert ev.verbs == [EventVerb.OWNER_CHANGED]
    assert ev.event.actor == manager
    assert ev.event.data == {
        "old": owner.pk,
        "new": teammate.pk,
        "old_name": "Olivia Owner",
        "new_name": "Tom Teammate",
    }
    # The open next step belonged to the old owner: it goes with the deal.
    step.refresh_from_db()
    assert step.owner == teammate


def test_a_next_step_owned_by_someone_else_keeps_its_owner(opportunity, owner, teammate, manager, admin, now):
    step = services.next_step_set(
        opportunity, actor=owner, description="Legal review", due_date=now.date(), owner=admin, now=now
    )
    services.opportunity_reassign(opportunity, actor=manager, owner=teammate, now=now)
    step.refresh_from_db()
    assert step.owner == admin


def test_reassigning_through_the_edit_form(opportunity, teammate, manager, now):
    with recorded() as ev:
        services.opportunity_update(opportunity, actor=manager, expected_version=1, owner=teammate, now=now)
    assert fresh(opportunity).owner == teammate
    assert fresh(opportunity).version == 2
    assert ev.verbs == [EventVerb.OWNER_CHANGED]


def test_manager_cannot_reassign_outside_their_teams(opportunity, manager, outsider, now):
    with unchanged(), pytest.raises(AccessDenied, match="teams you manage"):
        services.opportunity_reassign(opportunity, actor=manager, owner=outsider, now=now)


def test_manager_of_another_team_cannot_reassign(opportunity, other_manager, outsider, now):
    with unchanged(), pytest.raises(AccessDenied):
        services.opportunity_reassign(opportunity, actor=other_manager, owner=outsider, now=now)


def test_a_rep_cannot_reassign(opportunity, owner, teammate, now):
    with unchanged(), pytest.raises(AccessDenied, match="Only managers and admins"):
        services.opportunity_reassign(opportunity, actor=owner, owner=teammate, now=now)
    with unchanged(), pytest.raises(AccessDenied, match="Only managers and admins"):
        services.opportunity_update(opportunity, actor=owner, expected_version=1, owner=teammate, now=now)


def test_admin_reassigns_to_anyone(opportunity, admin, outsider, now):
    services.opportunity_reassign(opportunity, actor=admin, owner=outsider, now=now)
    assert fresh(opportunity).owner == outsider


def test_reassigning_to_an_inactive_user_is_refused(opportunity, manager, teammate, now):
    teammate.is_active = False
    teammate.save()
    with unchanged(), pytest.raises(DomainError, match="not an active user"):
        services.opportunity_reassign(opportunity, actor=manager, owner=teammate, now=now)


def test_reassigning_to_the_current_owner_does_nothing(opportunity, owner, manager, now):
    with unchanged():
        services.opportunity_reassign(opportunity, actor=manager, owner=owner, now=now)


# --- next steps --------------------------------------------------------------------------------------------------


def test_setting_a_next_step(opportunity, owner, now):
    due = now.date() + 7 * DAY
    with recorded() as ev:
        step = services.next_step_set(opportunity, actor=owner, description=" Send proposal ", due_date=due, now=now)

    opp = fresh(opportunity)
    assert opp.next_step == step
    assert opp.version == 2
    assert step.kind == NextStepKind.ACTION
    assert step.description == "Send proposal"
    assert step.due_date == due
    assert step.owner == owner
    assert step.created_by == owner
    assert step.is_open
    assert ev.verbs == [EventVerb.NEXT_STEP_SET]
    assert ev.event.actor == owner
    assert ev.event.data["replaced"] is None


def test_a_new_next_step_replaces_the_open_one_which_is_kept(opportunity, owner, now):
    first = services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    later = now + DAY
    with recorded() as ev:
        second = services.next_step_set(
            opportunity, actor=owner, description="Demo", due_date=later.date() + DAY, now=later
        )

    first.refresh_from_db()
    assert first.completed_at == later
    assert first.completed_by == owner
    assert fresh(opportunity).next_step == second
    assert list(NextStep.objects.filter(opportunity=opportunity, completed_at__isnull=True)) == [second]
    assert NextStep.objects.filter(opportunity=opportunity).count() == 2
    assert ev.verbs == [EventVerb.NEXT_STEP_SET]
    assert ev.event.data["replaced"] == first.pk


def test_a_next_step_due_today_is_fine_but_not_yesterday(opportunity, owner, now):
    with unchanged(), pytest.raises(DomainError, match="Due date cannot be before 2026-03-02"):
        services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date() - DAY, now=now)
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)


@pytest.mark.parametrize("description", ["", "  "])
def test_an_action_needs_a_description(opportunity, owner, now, description):
    with unchanged(), pytest.raises(DomainError, match="Next step is required"):
        services.next_step_set(opportunity, actor=owner, description=description, due_date=now.date(), now=now)


def test_waiting_on_the_buyer_must_end_after_today(opportunity, owner, now):
    with unchanged(), pytest.raises(DomainError, match="Waiting until cannot be before 2026-03-03"):
        services.next_step_set(opportunity, actor=owner, waiting_until=now.date(), now=now)

    step = services.next_step_set(opportunity, actor=owner, waiting_until=now.date() + DAY, now=now)
    assert step.kind == NextStepKind.WAITING
    assert step.description == "Waiting on buyer"
    assert step.due_date == now.date() + DAY
    assert str(step) == "Waiting on buyer until 2026-03-03"


def test_completing_a_next_step_commits_the_following_one(opportunity, owner, now):
    first = services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    later = now + DAY
    with recorded() as ev:
        second = services.next_step_complete(
            opportunity, actor=owner, next_description="Send proposal", next_due_date=later.date() + DAY, now=later
        )

    first.refresh_from_db()
    assert first.completed_at == later
    assert first.completed_by == owner
    assert second.description == "Send proposal"
    assert list(NextStep.objects.filter(opportunity=opportunity, completed_at__isnull=True)) == [second]
    assert fresh(opportunity).next_step == second
    assert ev.verbs == [EventVerb.NEXT_STEP_COMPLETED, EventVerb.NEXT_STEP_SET]
    assert {e.actor for e in ev.events} == {owner}
    assert ev.events[0].data["description"] == "Call"


def test_completing_a_next_step_by_waiting_on_the_buyer(opportunity, owner, now):
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    step = services.next_step_complete(opportunity, actor=owner, waiting_until=now.date() + 3 * DAY, now=now)
    assert step.kind == NextStepKind.WAITING
    assert NextStep.objects.filter(opportunity=opportunity, completed_at__isnull=True).count() == 1


def test_completing_needs_the_following_step(opportunity, owner, now):
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    with unchanged(), pytest.raises(DomainError, match="Say what happens next"):
        services.next_step_complete(opportunity, actor=owner, now=now)
    with unchanged(), pytest.raises(DomainError, match="Say what happens next"):
        services.next_step_complete(opportunity, actor=owner, next_description="  ", next_due_date=now.date(), now=now)


def test_a_bad_following_step_leaves_the_current_one_open(opportunity, owner, now):
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    with unchanged(), pytest.raises(DomainError, match="Due date cannot be before"):
        services.next_step_complete(
            opportunity, actor=owner, next_description="Late", next_due_date=now.date() - DAY, now=now
        )
    with unchanged(), pytest.raises(DomainError, match="Due date is required"):
        services.next_step_complete(opportunity, actor=owner, next_description="Undated", now=now)


def test_completing_without_an_open_step_is_refused(opportunity, owner, now):
    with unchanged(), pytest.raises(DomainError, match="no open next step"):
        services.next_step_complete(
            opportunity, actor=owner, next_description="Call", next_due_date=now.date(), now=now
        )


# --- activities -------------------------------------------------------------------------------------------------


def test_logging_an_activity_on_a_deal(opportunity, owner, contact, now):
    occurred = now - 2 * dt.timedelta(hours=1)
    with recorded() as ev:
        activity = services.activity_log(
            actor=owner,
            opportunity=opportunity,
            kind=ActivityKind.MEETING,
            subject=" Kick-off ",
            notes="Went well",
            occurred_at=occurred,
            contacts=[contact],
            now=now,
        )

    assert activity.account == opportunity.account
    assert activity.opportunity == opportunity
    assert activity.subject == "Kick-off"
    assert activity.created_by == owner
    assert activity.created_at == now
    assert list(activity.contacts.all()) == [contact]
    assert fresh(opportunity).last_activity_at == occurred
    assert ev.verbs == [EventVerb.ACTIVITY_LOGGED]
    assert ev.event.actor == owner
    assert ev.event.describe() == "Logged meeting: Kick-off"


def test_the_last_activity_never_moves_backwards_or_into_the_future(opportunity, owner, now):
    services.activity_log(actor=owner, opportunity=opportunity, kind="call", subject="Today", now=now)
    services.activity_log(
        actor=owner, opportunity=opportunity, kind="call", subject="Last week", occurred_at=now - 7 * DAY, now=now
    )
    services.activity_log(
        actor=owner, opportunity=opportunity, kind="meeting", subject="Planned", occurred_at=now + 7 * DAY, now=now
    )
    assert fresh(opportunity).last_activity_at == now


@pytest.mark.parametrize("actor_name", ["owner", "teammate", "outsider"])
def test_logging_an_account_only_activity(request, account, contact, opportunity, now, actor_name):
    actor = request.getfixturevalue(actor_name)
    with recorded() as ev:
        activity = services.activity_log(
            actor=actor, account=account, kind=ActivityKind.EMAIL, subject="Newsletter", contacts=[contact], now=now
        )
    assert activity.opportunity is None
    assert activity.account == account
    assert activity.occurred_at == now
    assert ev.verbs == []
    assert fresh(opportunity).last_activity_at is None


def test_contacts_of_an_activity_must_work_at_the_account(opportunity, owner, contact, now):
    stranger = ContactFactory(first_name="Sam", last_name="Stranger")
    with unchanged(), pytest.raises(DomainError, match="Sam Stranger do not work at Acme Corp") as exc:
        services.activity_log(
            actor=owner, opportunity=opportunity, kind="call", subject="Call", contacts=[contact, stranger], now=now
        )
    assert exc.value.field == "contacts"
    with unchanged(), pytest.raises(DomainError, match="do not work at"):
        services.activity_log(
            actor=owner, account=opportunity.account, kind="call", subject="Call", contacts=[stranger], now=now
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "carrier_pigeon"}, "is not a kind of activity"),
        ({"subject": " "}, "Subject is required"),
        ({"occurred_at": dt.datetime(1999, 12, 31, tzinfo=dt.UTC)}, "not sensible"),
        ({"occurred_at": dt.datetime(2027, 6, 1, tzinfo=dt.UTC)}, "not sensible"),
    ],
)
def test_bad_activities_are_refused(opportunity, owner, now, fields, message):
    with unchanged(), pytest.raises(DomainError, match=message):
        services.activity_log(
            actor=owner, opportunity=opportunity, now=now, **({"kind": "call", "subject": "Hi"} | fields)
        )


def test_an_activity_needs_an_account_or_a_deal(owner, now):
    with unchanged(), pytest.raises(DomainError, match="belongs to an account or an opportunity"):
        services.activity_log(actor=owner, kind="call", subject="Hi", now=now)


# --- the buying team -----------------------------------------------------------------------------------------------


def test_adding_a_contact_with_several_roles(opportunity, owner, contact, now):
    with recorded() as ev:
        member = services.buying_team_add(
            opportunity, actor=owner, contact=contact, roles=["champion", "economic_buyer", "champion"], now=now
        )

    assert member.roles == ["champion", "economic_buyer"]
    assert member.role_labels() == ["Champion", "Economic buyer"]
    assert member.added_at == now
    assert ev.verbs == [EventVerb.BUYING_TEAM_CHANGED]
    assert ev.event.actor == owner
    assert ev.event.data["action"] == "added"
    assert ev.event.data["roles"] == ["Champion", "Economic buyer"]


def test_changing_roles_is_recorded_and_the_same_roles_are_a_no_op(opportunity, owner, contact, now):
    services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"], now=now)
    with unchanged():
        services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"], now=now)
    with recorded() as ev:
        services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["blocker"], now=now)
    assert BuyingTeamMember.objects.get(opportunity=opportunity, contact=contact).roles == ["blocker"]
    assert ev.verbs == [EventVerb.BUYING_TEAM_CHANGED]
    assert ev.event.data["action"] == "changed roles of"


@pytest.mark.parametrize(("roles", "message"), [(["king"], "Unknown buying role: king."), ([], "at least one role")])
def test_bad_roles_are_refused(opportunity, owner, contact, now, roles, message):
    with unchanged(), pytest.raises(DomainError, match=message):
        services.buying_team_add(opportunity, actor=owner, contact=contact, roles=roles, now=now)


def test_a_contact_of_another_account_is_refused(opportunity, owner, now):
    stranger = ContactFactory()
    with unchanged(), pytest.raises(DomainError, match="does not work at Acme Corp"):
        services.buying_team_add(opportunity, actor=owner, contact=stranger, roles=["champion"], now=now)


def test_removing_from_the_buying_team_is_recorded(opportunity, owner, contact, now):
    services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"], now=now)
    with recorded() as ev:
        services.buying_team_remove(opportunity, actor=owner, contact=contact, now=now)
    assert not BuyingTeamMember.objects.filter(opportunity=opportunity).exists()
    assert ev.verbs == [EventVerb.BUYING_TEAM_CHANGED]
    assert ev.event.data["action"] == "removed"
    with unchanged(), pytest.raises(DomainError, match="is not on the buying team"):
        services.buying_team_remove(opportunity, actor=owner, contact=contact, now=now)


# --- who may write -------------------------------------------------------------------------------------------------


@pytest.fixture
def busy(opportunity, owner, teammate, process, contact, lost_reason, now):
    """A deal in Qualify with Qualify's milestones ticked, an open next step and a buying team,
    so that every write below would succeed for someone allowed to make it."""
    tick_required(opportunity, actor=owner, now=now, stages=["Qualify"])
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"], now=now)
    return SimpleNamespace(
        opp=fresh(opportunity), process=process, contact=contact, reason=lost_reason, now=now, teammate=teammate
    )


WRITES = {
    "update": lambda a, x: services.opportunity_update(
        x.opp, actor=a, expected_version=x.opp.version, amount="1", now=x.now
    ),
    "reassign": lambda a, x: services.opportunity_reassign(x.opp, actor=a, owner=x.teammate, now=x.now),
    "move": lambda a, x: services.opportunity_move(x.opp, actor=a, to_stage=stage(x.process, "Discover"), now=x.now),
    "close_won": lambda a, x: services.opportunity_close_won(x.opp, actor=a, override_reason="ok", now=x.now),
    "close_lost": lambda a, x: services.opportunity_close_lost(x.opp, actor=a, reason=x.reason, now=x.now),
    "tick": lambda a, x: services.milestone_tick(
        x.opp, actor=a, milestone=milestone(x.process, "Discover", "Check 1"), now=x.now
    ),
    "untick": lambda a, x: services.milestone_untick(
        x.opp, actor=a, milestone=milestone(x.process, "Qualify", "Check 1"), now=x.now
    ),
    "next_step_set": lambda a, x: services.next_step_set(
        x.opp, actor=a, description="Demo", due_date=x.now.date(), now=x.now
    ),
    "next_step_complete": lambda a, x: services.next_step_complete(
        x.opp, actor=a, next_description="Demo", next_due_date=x.now.date(), now=x.now
    ),
    "activity_log": lambda a, x: services.activity_log(
        actor=a, opportunity=x.opp, kind="call", subject="Hi", now=x.now
    ),
    "buying_team_add": lambda a, x: services.buying_team_add(
        x.opp, actor=a, contact=x.contact, roles=["blocker"], now=x.now
    ),
    "buying_team_remove": lambda a, x: services.buying_team_remove(x.opp, actor=a, contact=x.contact, now=x.now),
}


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("actor_name", ["teammate", "outsider"])
def test_those_who_may_not_change_the_deal_get_access_denied(request, busy, write, actor_name):
    actor = request.getfixturevalue(actor_name)
    with unchanged(), pytest.raises(AccessDenied):
        WRITES[write](actor, busy)


@pytest.mark.parametrize("write", WRITES)
def test_the_manager_may_make_every_write(manager, busy, write):
    # The counterpart of the refusals above: the arrangement is valid, only the actor differs.
    with recorded() as ev:
        WRITES[write](manager, busy)
    assert ev.events
    assert {e.actor for e in ev.events} == {manager}


# --- one transaction -----------------------------------------------------------------------------------------------


def _boom(*args, **kwargs):
    raise RuntimeError("the event could not be written")


def test_an_event_failure_rolls_back_the_create(owner, account, process, now, monkeypatch):
    monkeypatch.setattr(services, "_record", _boom)
    with unchanged(), pytest.raises(RuntimeError):
        create(owner, account, process, now)


def test_an_event_failure_rolls_back_the_tick(opportunity, owner, process, now, monkeypatch):
    monkeypatch.setattr(services, "_record", _boom)
    with unchanged(), pytest.raises(RuntimeError):
        services.milestone_tick(opportunity, actor=owner, milestone=milestone(process, "Qualify", "Check 1"), now=now)


def test_an_event_failure_rolls_back_the_next_step(opportunity, owner, now, monkeypatch):
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    monkeypatch.setattr(services, "_record", _boom)
    with unchanged(), pytest.raises(RuntimeError):
        services.next_step_set(opportunity, actor=owner, description="Demo", due_date=now.date(), now=now)


def test_an_event_failure_rolls_back_the_close(opportunity, owner, lost_reason, now, monkeypatch):
    services.next_step_set(opportunity, actor=owner, description="Call", due_date=now.date(), now=now)
    monkeypatch.setattr(services, "_record", _boom)
    with unchanged(), pytest.raises(RuntimeError):
        services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)


def test_an_event_failure_rolls_back_the_buying_team(opportunity, owner, contact, now, monkeypatch):
    monkeypatch.setattr(services, "_record", _boom)
    with unchanged(), pytest.raises(RuntimeError):
        services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"], now=now)


# --- accounts and contacts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor_name", ["owner", "manager", "admin"])
def test_account_and_contact_editors(request, account, contact, actor_name):
    actor = request.getfixturevalue(actor_name)
    services.account_update(account, actor=actor, name="Acme Inc", status=AccountStatus.CUSTOMER)
    services.contact_update(contact, actor=actor, title="CFO")
    account.refresh_from_db()
    contact.refresh_from_db()
    assert (account.name, account.status) == ("Acme Inc", AccountStatus.CUSTOMER)
    assert contact.title == "CFO"
    assert contact.first_name == "Carla"


@pytest.mark.parametrize("actor_name", ["teammate", "outsider"])
def test_other_reps_may_not_edit_accounts_or_contacts(request, account, contact, actor_name):
    actor = request.getfixturevalue(actor_name)
    with unchanged(), pytest.raises(AccessDenied):
        services.account_update(account, actor=actor, name="Hijacked")
    with unchanged(), pytest.raises(AccessDenied):
        services.contact_update(contact, actor=actor, title="Hijacked")


def test_account_and_contact_updates_are_validated(account, contact, owner):
    with unchanged(), pytest.raises(DomainError, match="not a valid status"):
        services.account_update(account, actor=owner, status="bankrupt")
    with unchanged(), pytest.raises(DomainError, match="Name is required"):
        services.account_update(account, actor=owner, name="")
    with unchanged(), pytest.raises(DomainError, match="not a valid email address"):
        services.contact_update(contact, actor=owner, email="not-an-email")


def test_ticking_a_milestone_counts_as_work_on_the_deal_without_a_new_version(opportunity, owner, process, now):
    later = now + dt.timedelta(days=3)
    milestone = process.stages.order_by("order").first().milestones.first()
    version = fresh(opportunity).version
    services.milestone_tick(opportunity, actor=owner, milestone=milestone, now=later)
    assert fresh(opportunity).updated_at == later
    assert fresh(opportunity).version == version
