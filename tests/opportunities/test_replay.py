"""A write replays only the events it changed, and is announced once."""

import datetime as dt
from decimal import Decimal

import pytest

from opportunities import history, services
from opportunities.models import OpportunityEvent
from opportunities.signals import opportunity_changed

DAY = dt.timedelta(days=1)


def update(opportunity, actor, **fields):
    return services.opportunity_update(opportunity, actor=actor, expected_version=opportunity.version, **fields)


@pytest.fixture
def replays(monkeypatch):
    """How many events each replay of the services changed, in order."""
    changed: list[int] = []

    def counting(**kwargs) -> int:
        n = history.event_states_rebuild(**kwargs)
        changed.append(n)
        return n

    monkeypatch.setattr(services, "event_states_rebuild", counting)
    return changed


@pytest.fixture
def announced():
    calls: list[int] = []

    def listener(sender, *, opportunity_id, **kwargs):
        calls.append(opportunity_id)

    opportunity_changed.connect(listener, dispatch_uid="test_replay.announced")
    yield calls
    opportunity_changed.disconnect(dispatch_uid="test_replay.announced")


def test_replaying_an_unchanged_history_writes_nothing(opportunity, owner, now):
    for i in range(4):
        opportunity = update(opportunity, owner, amount=str(1000 * (i + 1)), now=now + i * DAY)
    assert OpportunityEvent.objects.filter(opportunity=opportunity).count() == 5
    assert history.event_states_rebuild(opportunity_ids=[opportunity.pk]) == 0


def test_a_replay_repairs_only_the_event_that_is_wrong(opportunity, owner, now):
    opportunity = update(opportunity, owner, amount="7", now=now)
    first = OpportunityEvent.objects.filter(opportunity=opportunity).order_by("id").first()
    OpportunityEvent.objects.filter(pk=first.pk).update(state_amount="1")
    assert history.event_states_rebuild(opportunity_ids=[opportunity.pk]) == 1
    assert OpportunityEvent.objects.get(pk=first.pk).state_amount == first.state_amount == Decimal("50000.00")
    assert history.event_states_rebuild() == 0


def test_a_write_to_a_long_history_rewrites_the_new_event_and_the_one_before(opportunity, owner, now, replays):
    for i in range(6):
        opportunity = update(opportunity, owner, amount=str(100 + i), now=now + i * DAY)
    assert replays[-1] == 2  # the new event's state, and the previous event's end (`valid_to`)


def test_creating_a_deal_with_its_first_next_step_is_replayed_and_announced_once(
    owner, account, process, now, replays, announced
):
    opp = services.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name="With a step",
        amount="100",
        expected_close_date=now.date() + 30 * DAY,
        next_step_description="Call",
        next_step_due_date=now.date() + DAY,
        now=now,
    )
    assert opp.next_step is not None
    assert announced == [opp.pk] and len(replays) == 1
    assert history.event_states_rebuild(opportunity_ids=[opp.pk]) == 0
