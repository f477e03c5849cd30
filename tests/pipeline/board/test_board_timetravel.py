"""Time travel: the board "as of" a past day equals the board that was live that day.

A small pipeline is lived through day by day with the clock frozen, acting only through the
services (create, tick and move, change amounts and close dates, close, reassign, reopen). At
the end of each day the live board is captured as several people see it; days later, the board
as of each of those days — rebuilt from the event history alone — must be exactly the same:
columns (count, total, weighted) and cards (deal, stage, amount, close date, owner).
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from opportunities import services
from opportunities.models import Opportunity
from tests.factories import AccountFactory, UserFactory

DAY1 = dt.datetime(2026, 2, 2, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def snapshot(response) -> dict:
    assert response.status_code == 200
    assert not response.context["filter_errors"], response.context["filter_errors"]
    board = response.context["board"]
    return {
        col.stage.name: {
            "totals": (col.count, col.total, col.weighted),
            "cards": [(c.pk, c.stage_id, c.amount, c.close, c.owner.pk) for c in col.cards],
        }
        for col in board.columns
    }


def tick_all(opp, stage, actor):
    for milestone in stage.milestones.filter(is_required=True):
        services.milestone_tick(opp, actor=actor, milestone=milestone)


@pytest.fixture
def people(owner, teammate, manager, admin, outsider):
    return {"owner": owner, "teammate": teammate, "manager": manager, "admin": admin, "outsider": outsider}


def test_the_board_as_of_each_past_day_equals_the_board_live_that_day(
    client_for, people, owner, teammate, manager, outsider, process, lost_reason
):
    qualify, discover, propose = process.stages.order_by("order", "id")
    clients = {name: client_for(user) for name, user in people.items()}
    url = reverse("board:process", args=[process.pk])
    views = {  # (who, filters)
        "owner": ("owner", {}),
        "teammate": ("teammate", {}),
        "manager": ("manager", {}),
        "manager, teammate's deals": ("manager", {"owner": teammate.pk}),
        "manager, team": ("manager", {"team": owner.team_id}),
        "admin, 2026-Q1": ("admin", {"quarter": "2026-Q1"}),
        "admin": ("admin", {}),
        "outsider": ("outsider", {}),
    }
    live: dict[dt.date, dict] = {}

    def capture(day: dt.date) -> None:
        live[day] = {name: snapshot(clients[who].get(url, params)) for name, (who, params) in views.items()}

    deals: dict[str, Opportunity] = {}

    def reload(key: str) -> Opportunity:
        deals[key] = Opportunity.objects.get(pk=deals[key].pk)
        return deals[key]

    def create(key, actor, amount, close):
        deals[key] = services.opportunity_create(
            actor=actor,
            account=AccountFactory(owner=actor),
            process=process,
            name=key,
            amount=amount,
            expected_close_date=close,
        )

    # Day 1: three deals open in Qualify; one belongs to another team.
    with time_machine.travel(DAY1, tick=False):
        create("A", owner, "1000.00", dt.date(2026, 3, 15))
        create("B", owner, "2000.00", dt.date(2026, 4, 20))
        create("C", teammate, "3000.00", dt.date(2026, 3, 31))
        create("X", outsider, "9000.00", dt.date(2026, 5, 1))
        capture(DAY1.date())

    # Day 2: A is qualified and moves on; B grows; C's close date slips into Q2.
    with time_machine.travel(DAY1 + DAY, tick=False):
        tick_all(deals["A"], qualify, owner)
        services.opportunity_move(reload("A"), actor=owner, to_stage=discover)
        services.opportunity_update(reload("B"), actor=owner, expected_version=deals["B"].version, amount="2500.00")
        services.opportunity_update(
            reload("C"), actor=teammate, expected_version=deals["C"].version, expected_close_date=dt.date(2026, 6, 30)
        )
        capture((DAY1 + DAY).date())

    # Day 3: A is lost; D arrives; X moves on (another team: only the admin sees it).
    with time_machine.travel(DAY1 + 2 * DAY, tick=False):
        services.opportunity_close_lost(reload("A"), actor=owner, reason=lost_reason)
        create("D", owner, "4000.00", dt.date(2026, 3, 20))
        tick_all(deals["X"], qualify, outsider)
        services.opportunity_move(reload("X"), actor=outsider, to_stage=discover)
        capture((DAY1 + 2 * DAY).date())

    # Day 4: the manager hands B to the teammate; C goes two stages ahead at once.
    with time_machine.travel(DAY1 + 3 * DAY, tick=False):
        services.opportunity_reassign(reload("B"), actor=manager, owner=teammate)
        tick_all(deals["C"], qualify, teammate)
        tick_all(deals["C"], discover, teammate)
        services.opportunity_move(reload("C"), actor=teammate, to_stage=propose)
        capture((DAY1 + 3 * DAY).date())

    # Day 5: the manager reopens A; C falls back to Discover; D shrinks and its date moves.
    with time_machine.travel(DAY1 + 4 * DAY, tick=False):
        services.opportunity_reopen(reload("A"), actor=manager, waiting_until=(DAY1 + 9 * DAY).date())
        services.opportunity_move(reload("C"), actor=teammate, to_stage=discover)
        services.opportunity_update(
            reload("D"),
            actor=owner,
            expected_version=deals["D"].version,
            amount="3500.00",
            expected_close_date=dt.date(2026, 4, 2),
        )
        capture((DAY1 + 4 * DAY).date())

    # The days really differ from one another, so the comparison below has teeth.
    assert len({repr(board) for board in live.values()}) == len(live)
    assert live[DAY1.date()]["manager"]["Qualify"]["totals"][0] == 3

    # Day 8, later in the day: look back at each of the five days.
    with time_machine.travel(DAY1 + 7 * DAY + dt.timedelta(hours=5), tick=False):
        for day, boards in live.items():
            for name, (who, params) in views.items():
                response = clients[who].get(url, {**params, "as_of": day.isoformat()})
                assert response.context["board"].query.as_of == day
                assert snapshot(response) == boards[name], f"{name}, as of {day}"
        # And "as of today" is today's live board.
        today = (DAY1 + 7 * DAY).date().isoformat()
        for name, (who, params) in views.items():
            as_of_today = snapshot(clients[who].get(url, {**params, "as_of": today}))
            assert as_of_today == snapshot(clients[who].get(url, params)), name


def test_as_of_visibility_follows_the_owner_at_that_time(client_for, owner, teammate, manager, process, other_team):
    """A deal reassigned to another team later still shows on the old team's past boards."""
    elsewhere = UserFactory(username="elsewhere", team=other_team)
    admin = UserFactory(admin=True)
    with time_machine.travel(DAY1, tick=False):
        opp = services.opportunity_create(
            actor=owner,
            account=AccountFactory(owner=owner),
            process=process,
            name="Moves away",
            amount="100.00",
            expected_close_date=dt.date(2026, 3, 1),
        )
    with time_machine.travel(DAY1 + DAY, tick=False):
        services.opportunity_reassign(opp, actor=admin, owner=elsewhere)
    with time_machine.travel(DAY1 + 3 * DAY, tick=False):
        url = reverse("board:process", args=[process.pk])
        client = client_for(manager)
        then = client.get(url, {"as_of": DAY1.date().isoformat()}).context["board"]
        now = client.get(url).context["board"]
        assert [c.name for c in then.columns[0].cards] == ["Moves away"]
        assert then.columns[0].cards[0].owner == owner
        assert now.count == 0
