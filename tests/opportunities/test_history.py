"""The replay of the event history (`opportunities.sql`) against a replay written in Python."""

import datetime as dt
from decimal import Decimal

import pytest

from opportunities import services
from opportunities.history import event_states_rebuild
from opportunities.models import EventVerb, Opportunity, OpportunityEvent
from tests.factories import AccountFactory

HOUR = dt.timedelta(hours=1)
FIELDS = ("state_stage_id", "state_amount", "state_close_date", "state_owner_id", "state_status", "valid_to")


def replayed_in_python(opportunity_id: int) -> dict[int, tuple]:
    """event id → the state after it, from each event's verb and data, read through the ORM."""
    events = list(OpportunityEvent.objects.filter(opportunity_id=opportunity_id).order_by("created_at", "id"))
    state = {"stage": None, "amount": None, "close": None, "owner": None, "status": ""}
    found = {}
    for i, e in enumerate(events):
        if e.verb in (EventVerb.CREATED, EventVerb.STAGE_MOVED, EventVerb.REOPENED):
            state["stage"] = e.to_stage_id
        if e.verb == EventVerb.CREATED:
            state["amount"] = Decimal(e.data["amount"])
            state["close"] = dt.date.fromisoformat(e.data["expected_close_date"])
            state["owner"] = int(e.data["owner_id"])
        elif e.verb == EventVerb.AMOUNT_CHANGED:
            state["amount"] = Decimal(e.data["new"])
        elif e.verb == EventVerb.CLOSE_DATE_CHANGED:
            state["close"] = dt.date.fromisoformat(e.data["new"])
        elif e.verb == EventVerb.OWNER_CHANGED:
            state["owner"] = int(e.data["new"])
        status = {"created": "open", "reopened": "open", "closed_won": "won", "closed_lost": "lost"}.get(e.verb)
        state["status"] = status or state["status"]
        valid_to = events[i + 1].created_at if i + 1 < len(events) else None
        found[e.pk] = (state["stage"], state["amount"], state["close"], state["owner"], state["status"], valid_to)
    return found


def stored(opportunity_id: int) -> dict[int, tuple]:
    rows = OpportunityEvent.objects.filter(opportunity_id=opportunity_id).values_list("pk", *FIELDS)
    return {pk: tuple(values) for pk, *values in rows}


@pytest.fixture
def busy_deal(owner, teammate, manager, process, lost_reason, now):
    """A deal with every kind of change in its history, and a quiet one beside it."""
    first, second, third = process.stages.order_by("order")
    deal = services.opportunity_create(
        actor=owner,
        account=AccountFactory(owner=owner),
        process=process,
        name="Busy",
        amount="1000.50",
        expected_close_date=now.date() + dt.timedelta(days=30),
        now=now,
    )
    for milestone in first.milestones.all():
        services.milestone_tick(deal, actor=owner, milestone=milestone, now=now + HOUR)
    services.opportunity_move(deal, actor=owner, to_stage=second, now=now + 2 * HOUR)
    deal.refresh_from_db()
    services.opportunity_update(
        deal,
        actor=owner,
        expected_version=deal.version,
        amount="2500",
        expected_close_date=now.date() + dt.timedelta(days=45),
        now=now + 3 * HOUR,
    )
    services.opportunity_reassign(deal, actor=manager, owner=teammate, now=now + 4 * HOUR)
    services.opportunity_close_won(deal, actor=manager, override_reason="Signed early", now=now + 5 * HOUR)
    services.opportunity_reopen(
        deal,
        actor=manager,
        next_description="Call back",
        next_due_date=now.date() + dt.timedelta(days=3),
        now=now + 6 * HOUR,
    )
    services.opportunity_close_lost(deal, actor=manager, reason=lost_reason, now=now + 7 * HOUR)
    quiet = services.opportunity_create(
        actor=owner,
        account=AccountFactory(owner=owner),
        process=process,
        name="Quiet",
        amount="10",
        expected_close_date=now.date() + dt.timedelta(days=10),
        now=now,
    )
    return deal, quiet


def test_the_replay_writes_what_a_python_replay_of_the_same_events_gives(busy_deal):
    deal, quiet = busy_deal
    verbs = set(OpportunityEvent.objects.filter(opportunity=deal).values_list("verb", flat=True))
    assert {"amount_changed", "close_date_changed", "owner_changed", "closed_won", "reopened", "closed_lost"} <= verbs
    # Wipe the states and replay every deal, then one deal alone.
    OpportunityEvent.objects.update(**dict.fromkeys(FIELDS[:-2]), state_status="", valid_to=None)
    event_states_rebuild()
    for opp in (deal, quiet):
        assert stored(opp.pk) == replayed_in_python(opp.pk)
    OpportunityEvent.objects.update(**dict.fromkeys(FIELDS[:-2]), state_status="", valid_to=None)
    event_states_rebuild(opportunity_ids=[deal.pk])
    assert stored(deal.pk) == replayed_in_python(deal.pk)
    assert set(OpportunityEvent.objects.filter(opportunity=quiet).values_list("state_status", flat=True)) == {""}


def test_the_last_state_is_the_live_row(busy_deal):
    deal, _ = busy_deal
    live = Opportunity.objects.get(pk=deal.pk)
    last = OpportunityEvent.objects.filter(opportunity=deal).latest("created_at", "id")
    assert (last.state_stage_id, last.state_amount, last.state_close_date, last.state_owner_id, last.state_status) == (
        live.stage_id,
        live.amount,
        live.expected_close_date,
        live.owner_id,
        live.status,
    )
    assert last.valid_to is None


@pytest.mark.parametrize("hours", [0.5, 2.5, 3.5, 5.5, 6.5, 7.5])
def test_alive_at_gives_each_deal_its_state_at_that_moment(busy_deal, now, hours):
    deal, quiet = busy_deal
    moment = now + dt.timedelta(hours=hours)
    alive = list(OpportunityEvent.objects.alive_at(moment).order_by("opportunity_id"))
    assert [e.opportunity_id for e in alive] == sorted([deal.pk, quiet.pk])
    for event in alive:  # the latest event up to the moment, in the replay's order
        latest = OpportunityEvent.objects.filter(opportunity_id=event.opportunity_id, created_at__lte=moment).latest(
            "created_at", "id"
        )
        assert event.pk == latest.pk
    status = {e.opportunity_id: e.state_status for e in alive}
    open_then = {pk for pk, s in status.items() if s == "open"}
    assert {e.opportunity_id for e in OpportunityEvent.objects.alive_at(moment, only_open=True)} == open_then
    assert (deal.pk in open_then) is (hours < 5 or 6 < hours < 7)


def test_nothing_is_alive_before_the_deals_existed(busy_deal, now):
    assert not OpportunityEvent.objects.alive_at(now - dt.timedelta(seconds=1)).exists()
