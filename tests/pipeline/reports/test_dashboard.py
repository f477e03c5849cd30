"""The dashboard's aggregates against answers worked out by hand from a small history.

The history (all in 2026, events at 09:00 UTC; "now" is 2 March 10:00, in Q1). Stages of the
`process` fixture: Qualify (10 %, pipeline), Discover (20 %, best case), Propose (30 %, commit).

    A owner     1000  close 03-20  created 01-05 Qualify → Discover 01-15 → Propose 02-04 → won 02-14
                                    (every required milestone and Qualify's optional one ticked)
    B owner     2000  close 03-25  created 01-10 Qualify → Discover 01-20 → lost 02-19
    C teammate  3000  close 04-15  created 02-01 Qualify → Discover 02-21, open
    D owner     4000  close 05-10  created 02-10 Qualify, open
    E outsider  5000  close 03-30  created 01-20 Qualify → Discover 01-25 → Propose 02-04, open
    F owner     6000  close 02-28  created 2025-11-01 Qualify → Discover 01-11, open
    G owner      500  close 03-10  created 01-02 Qualify → won 01-20 (override; moved to Propose on
                                    closing) → reopened 02-01 in Propose → won 02-25 (override)

Flags: F stuck (opened 02-01), F no next step (02-05, resolved 02-25), D idle (02-20), C idle (02-22).
Quotas for 2026-Q1: owner 10000, teammate 5000.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opportunities import services
from opportunities.models import OpportunityEvent
from pipeline.models import Flag, FlagKind, Quota
from pipeline.reports.dashboard import Dashboard, Filters, owner_ids_for, people_for
from stages.models import ForecastCategory, Milestone
from tests.factories import AccountFactory


def at(month: int, day: int, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, 9, 0, tzinfo=dt.UTC)


class History:
    def __init__(self, *, process, owner, teammate, outsider, manager, lost_reason):
        self.process = process
        self.stages = list(process.stages.order_by("order"))
        qualify, discover, propose = self.stages
        discover.forecast_category = ForecastCategory.BEST_CASE
        discover.save()
        propose.forecast_category = ForecastCategory.COMMIT
        propose.save()
        self.manager = manager
        self.lost_reason = lost_reason
        self.deals = {}

        self.deals["A"] = a = self.create(owner, 1000, dt.date(2026, 3, 20), at(1, 5))
        self.tick(a, qualify, at(1, 15), optional=True)
        self.move(a, discover, at(1, 15))
        self.tick(a, discover, at(2, 4))
        self.move(a, propose, at(2, 4))
        self.tick(a, propose, at(2, 14))
        services.opportunity_close_won(a, actor=owner, now=at(2, 14))

        self.deals["B"] = b = self.create(owner, 2000, dt.date(2026, 3, 25), at(1, 10))
        self.tick(b, qualify, at(1, 20))
        self.move(b, discover, at(1, 20))
        services.opportunity_close_lost(b, actor=owner, reason=lost_reason, now=at(2, 19))

        self.deals["C"] = c = self.create(teammate, 3000, dt.date(2026, 4, 15), at(2, 1))
        self.tick(c, qualify, at(2, 21))
        self.move(c, discover, at(2, 21))

        self.deals["D"] = self.create(owner, 4000, dt.date(2026, 5, 10), at(2, 10))

        self.deals["E"] = e = self.create(outsider, 5000, dt.date(2026, 3, 30), at(1, 20))
        self.tick(e, qualify, at(1, 25))
        self.move(e, discover, at(1, 25))
        self.tick(e, discover, at(2, 4))
        self.move(e, propose, at(2, 4))

        self.deals["F"] = f = self.create(owner, 6000, dt.date(2026, 2, 28), at(11, 1, 2025))
        self.tick(f, qualify, at(1, 11))
        self.move(f, discover, at(1, 11))

        self.deals["G"] = g = self.create(owner, 500, dt.date(2026, 3, 10), at(1, 2))
        services.opportunity_close_won(g, actor=manager, override_reason="Signed early", now=at(1, 20))
        services.opportunity_reopen(
            g, actor=manager, next_description="Rework the order", next_due_date=dt.date(2026, 2, 10), now=at(2, 1)
        )
        services.opportunity_close_won(g, actor=manager, override_reason="Signed again", now=at(2, 25))

        Flag.objects.create(opportunity=f, kind=FlagKind.STUCK, detail="stuck", opened_at=at(2, 1))
        Flag.objects.create(
            opportunity=f, kind=FlagKind.NO_NEXT_STEP, detail="none", opened_at=at(2, 5), resolved_at=at(2, 25)
        )
        Flag.objects.create(opportunity=self.deals["D"], kind=FlagKind.IDLE, detail="idle", opened_at=at(2, 20))
        Flag.objects.create(opportunity=c, kind=FlagKind.IDLE, detail="idle", opened_at=at(2, 22))
        Quota.objects.create(user=owner, year=2026, quarter=1, amount=Decimal("10000"))
        Quota.objects.create(user=teammate, year=2026, quarter=1, amount=Decimal("5000"))

    def create(self, owner, amount, close, when):
        account = AccountFactory(owner=owner)
        return services.opportunity_create(
            actor=owner,
            account=account,
            process=self.process,
            name=f"Deal {amount}",
            amount=amount,
            expected_close_date=close,
            now=when,
        )

    def tick(self, opp, stage, when, *, optional=False):
        for milestone in stage.milestones.all():
            if milestone.is_required or optional:
                services.milestone_tick(opp, actor=opp.owner, milestone=milestone, now=when)

    def move(self, opp, stage, when):
        services.opportunity_move(opp, actor=opp.owner, to_stage=stage, now=when)


@pytest.fixture
def history(process, owner, teammate, outsider, manager, lost_reason, now):
    return History(
        process=process, owner=owner, teammate=teammate, outsider=outsider, manager=manager, lost_reason=lost_reason
    )


def board_for(user, now, *, as_of=None, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31), **filters):
    """The dashboard as the view builds it: deals read by the ids of the people in view."""
    people = people_for(user)
    filters.setdefault("owner_ids", owner_ids_for(user, people))
    return Dashboard(
        Filters(user=user, now=now, period_start=start, period_end=end, as_of=as_of, **filters), people=people
    )


def rows(table, *keys):
    index = [c.key for c in table.columns]
    return [tuple(row[index.index(k)] for k in keys) for row in table.rows]


D = Decimal


# --- live -------------------------------------------------------------------------------------------


def test_pipeline_by_stage_owner_and_month(history, manager, now):
    board = board_for(manager, now)
    assert rows(board.by_stage, "stage", "deals", "amount", "weighted") == [
        ("Qualify", 1, D(4000), D(400)),
        ("Discover", 2, D(9000), D(1800)),
        ("Propose", 0, D(0), D(0)),
    ]
    assert rows(board.by_owner, "owner", "deals", "amount", "weighted") == [
        ("Olivia Owner", 2, D(10000), D(1600)),
        ("Tom Teammate", 1, D(3000), D(600)),
    ]
    assert rows(board.by_month, "month", "deals", "amount", "weighted") == [
        ("2026-02", 1, D(6000), D(1200)),
        ("2026-04", 1, D(3000), D(600)),
        ("2026-05", 1, D(4000), D(400)),
    ]
    assert board.summary["deals"] == 3 and board.summary["amount"] == D(13000)
    assert board.summary["weighted"] == D(2200)


def test_forecast_by_category_with_quota_and_attainment(history, manager, now):
    board = board_for(manager, now)
    assert rows(board.forecast, "category", "deals_2026q1", "amount_2026q1", "deals_2026q2", "amount_2026q2") == [
        ("Closed won", 2, D(1500), 0, D(0)),  # A, and G counted once although it was won twice
        ("Commit", 0, D(0), 0, D(0)),
        ("Best case", 1, D(6000), 1, D(3000)),
        ("Pipeline", 0, D(0), 1, D(4000)),
    ]
    assert rows(board.attainment, "who", "quarter", "quota", "won", "attainment") == [
        ("Everyone in view", "2026-Q1", D(15000), D(1500), 10.0),
        ("Everyone in view", "2026-Q2", None, D(0), None),
        ("Olivia Owner", "2026-Q1", D(10000), D(1500), 15.0),
        ("Olivia Owner", "2026-Q2", None, D(0), None),
        ("Tom Teammate", "2026-Q1", D(5000), D(0), 0.0),
        ("Tom Teammate", "2026-Q2", None, D(0), None),
    ]
    assert board.summary["attainment"] == 10.0


def test_conversion_of_the_period_cohort(history, manager, now):
    board = board_for(manager, now)
    assert rows(board.conversion, "stage", "entered", "next", "conversion", "won", "win_rate") == [
        ("Qualify", 5, 4, 80.0, 2, 40.0),
        ("Discover", 4, 2, 50.0, 2, 50.0),  # G entered every stage on its way to being won
        ("Propose", 2, None, None, 2, 100.0),
    ]


def test_days_in_stage_median_and_average(history, manager, now):
    board = board_for(manager, now)
    assert rows(board.durations, "stage", "stays", "median", "average") == [
        ("Qualify", 5, 18.0, 25.8),  # 10, 10, 18, 20, 71
        ("Discover", 2, 25.0, 25.0),  # 20, 30
        ("Propose", 3, 10.0, 11.33),  # 0 (G, won as it arrived), 10, 24 (G, reopened to won)
    ]


def test_days_in_stage_of_exits_recorded_without_their_way_in(history, manager, now):
    # Exits written without `stage_entered_at` (imported, say) find the way in from the history.
    OpportunityEvent.objects.update(stage_entered_at=None)
    board = board_for(manager, now)
    assert rows(board.durations, "stage", "stays", "median", "average") == [
        ("Qualify", 5, 18.0, 25.8),
        ("Discover", 2, 25.0, 25.0),
        ("Propose", 3, 10.0, 11.33),
    ]


def test_milestone_win_rates(history, manager, now):
    board = board_for(manager, now)
    # Closed in Q1: A won (all required + Qualify's optional), B lost (Qualify's required), G won (none).
    assert rows(
        board.milestones,
        "stage",
        "milestone",
        "closed_with",
        "win_rate_with",
        "closed_without",
        "win_rate_without",
        "difference",
    ) == [
        ("Qualify", "Check 1", 2, 50.0, 1, 100.0, -50.0),
        ("Qualify", "Check 2", 2, 50.0, 1, 100.0, -50.0),
        ("Qualify", "Optional 1", 1, 100.0, 2, 50.0, 50.0),
        ("Discover", "Check 1", 1, 100.0, 2, 50.0, 50.0),
        ("Discover", "Check 2", 1, 100.0, 2, 50.0, 50.0),
        ("Discover", "Optional 1", 0, None, 3, 66.7, None),
        ("Propose", "Check 1", 1, 100.0, 2, 50.0, 50.0),
        ("Propose", "Check 2", 1, 100.0, 2, 50.0, 50.0),
        ("Propose", "Optional 1", 0, None, 3, 66.7, None),
    ]


def test_milestone_win_rates_keep_retired_milestones_only_where_ticked(history, manager, now):
    # Retiring (the history keeps them): Qualify's optional one, which a deal closed in the period
    # ticked, stays; Discover's, which none did, is gone with the milestones no longer in force.
    for stage in ("Qualify", "Discover"):
        Milestone.objects.filter(stage__name=stage, name="Optional 1").update(retired_at=now)
    shown = rows(board_for(manager, now).milestones, "stage", "milestone")
    assert ("Qualify", "Optional 1") in shown
    assert ("Discover", "Optional 1") not in shown
    assert ("Propose", "Optional 1") in shown


def test_flag_counts_by_kind_and_owner(history, manager, owner, teammate, now):
    board = board_for(manager, now)
    assert rows(board.flags_by_kind, "kind", "deals") == [
        ("Idle", 2),
        ("Stuck in stage", 1),
        ("No next step", 0),
        ("Next step overdue", 0),
        ("Close date slipped", 0),
        ("Single-threaded", 0),
        ("Buying role missing", 0),
        ("Buying-team member not contacted", 0),
    ]
    assert board.flags_by_kind.links[0] == "/attention/?kind=idle"
    assert rows(board.flags_by_owner, "owner", "idle", "stuck", "total") == [
        ("Olivia Owner", 1, 1, 2),
        ("Tom Teammate", 1, 0, 1),
    ]
    assert board.flags_by_owner.links == [f"/attention/?rep={owner.pk}", f"/attention/?rep={teammate.pk}"]


# --- as of a past day ---------------------------------------------------------------------------------


def test_as_of_rebuilds_the_pipeline_from_history(history, manager, now):
    board = board_for(manager, now, as_of=dt.date(2026, 2, 10))
    assert rows(board.by_stage, "stage", "deals", "amount", "weighted") == [
        ("Qualify", 2, D(7000), D(700)),  # C, D (created that morning)
        ("Discover", 2, D(8000), D(1600)),  # B, F
        ("Propose", 2, D(1500), D(450)),  # A, G (reopened 02-01 in Propose, where it was won)
    ]
    assert rows(board.by_owner, "owner", "deals", "amount", "weighted") == [
        ("Olivia Owner", 5, D(13500), D(2450)),
        ("Tom Teammate", 1, D(3000), D(300)),
    ]
    assert rows(board.by_month, "month", "deals", "amount") == [
        ("2026-02", 1, D(6000)),
        ("2026-03", 3, D(3500)),
        ("2026-04", 1, D(3000)),
        ("2026-05", 1, D(4000)),
    ]
    assert rows(board.forecast, "category", "amount_2026q1", "amount_2026q2") == [
        ("Closed won", D(0), D(0)),  # G's first win was undone by the reopen on 02-01
        ("Commit", D(1500), D(0)),
        ("Best case", D(8000), D(0)),
        ("Pipeline", D(0), D(7000)),
    ]
    assert rows(board.conversion, "stage", "entered", "next", "won") == [
        ("Qualify", 5, 3, 0),
        ("Discover", 3, 2, 0),
        ("Propose", 2, None, 0),
    ]
    assert rows(board.durations, "stage", "stays", "median", "average") == [
        ("Qualify", 4, 14.0, 27.25),  # 10, 10, 18, 71
        ("Discover", 1, 20.0, 20.0),
        ("Propose", 1, 0.0, 0.0),  # G, won on arrival 01-20
    ]
    assert {r[2]: r[4] + r[6] for r in board.milestones.rows} == {"Check 1": 0, "Check 2": 0, "Optional 1": 0}
    assert rows(board.flags_by_kind, "kind", "deals")[:3] == [("Idle", 0), ("Stuck in stage", 1), ("No next step", 1)]


def test_as_of_closed_won_counts_the_last_win_in_the_quarter(history, manager, now):
    before_reopen = board_for(manager, now, as_of=dt.date(2026, 1, 25))
    assert rows(before_reopen.forecast, "category", "deals_2026q1", "amount_2026q1")[0] == ("Closed won", 1, D(500))
    after_second_win = board_for(manager, now, as_of=dt.date(2026, 2, 26))
    assert rows(after_second_win.forecast, "category", "deals_2026q1", "amount_2026q1")[0] == (
        "Closed won",
        2,
        D(1500),
    )
    # Milestones as of 02-26: A and G won, B lost, all closed in the period.
    assert rows(after_second_win.milestones, "milestone", "closed_with", "closed_without")[0] == ("Check 1", 2, 1)


def test_as_of_today_agrees_with_live(history, manager, admin, now):
    for user in (manager, admin):
        live = board_for(user, now)
        past = board_for(user, now, as_of=now.date())
        for name in Dashboard.TABLES:
            assert live.table(name).rows == past.table(name).rows, name


def test_as_of_follows_the_owner_at_that_moment(history, manager, owner, outsider, admin, now):
    deal = history.deals["D"]
    services.opportunity_update(deal, actor=admin, expected_version=deal.version, owner=outsider, now=now)
    live = board_for(manager, now)
    assert rows(live.by_owner, "owner", "deals") == [("Olivia Owner", 1), ("Tom Teammate", 1)]
    before = board_for(manager, now, as_of=dt.date(2026, 3, 1))
    assert rows(before.by_owner, "owner", "deals") == [("Olivia Owner", 2), ("Tom Teammate", 1)]


# --- scope -------------------------------------------------------------------------------------------


def test_a_rep_sees_only_their_own_deals(history, owner, teammate, outsider, now):
    mine = board_for(owner, now, owner_id=owner.pk)
    assert rows(mine.by_owner, "owner", "deals") == [("Olivia Owner", 2)]
    theirs = board_for(teammate, now, owner_id=teammate.pk)
    assert rows(theirs.by_stage, "stage", "deals") == [("Qualify", 0), ("Discover", 1), ("Propose", 0)]
    assert rows(theirs.attainment, "who", "quota")[:1] == [("Everyone in view", D(5000))]
    other = board_for(outsider, now, owner_id=outsider.pk)
    assert rows(other.by_stage, "stage", "amount") == [("Qualify", D(0)), ("Discover", D(0)), ("Propose", D(5000))]


def test_a_manager_sees_their_teams_and_can_narrow_to_a_rep(history, manager, teammate, team, now):
    board = board_for(manager, now, owner_id=teammate.pk)
    assert rows(board.by_owner, "owner", "deals") == [("Tom Teammate", 1)]
    assert rows(board.attainment, "who", "quota")[:1] == [("Everyone in view", D(5000))]
    whole_team = board_for(manager, now, team_id=team.pk)
    assert whole_team.by_owner.rows == board_for(manager, now).by_owner.rows
    assert "Oscar Outsider" not in [r[0] for r in board_for(manager, now).by_owner.rows]


@pytest.mark.parametrize("as_of", [None, dt.date(2026, 3, 1)])
def test_reading_by_the_ids_of_the_people_in_view_shows_what_the_visibility_rule_shows(
    history, manager, owner, outsider, admin, now, as_of
):
    # D moves to the outsider: live it leaves the manager's view, as of 03-01 it is still in it.
    deal = history.deals["D"]
    services.opportunity_update(deal, actor=admin, expected_version=deal.version, owner=outsider, now=now)
    # As the view does, a rep's dashboard is narrowed to their own deals.
    for user, mine in ((manager, None), (owner, owner.pk), (outsider, outsider.pk)):
        by_ids = board_for(user, now, as_of=as_of, owner_id=mine)
        by_rule = board_for(user, now, as_of=as_of, owner_id=mine, owner_ids=None)
        assert by_ids.f.owner_ids == tuple(p.pk for p in people_for(user))
        for name in Dashboard.TABLES:
            assert by_ids.table(name).rows == by_rule.table(name).rows, (user, name)


def test_an_admin_sees_everyone(history, admin, now):
    board = board_for(admin, now)
    assert rows(board.by_stage, "stage", "deals", "amount") == [
        ("Qualify", 1, D(4000)),
        ("Discover", 2, D(9000)),
        ("Propose", 1, D(5000)),
    ]
    # E (the outsider's) joins the cohort and the stays.
    assert rows(board.conversion, "stage", "entered", "next", "won") == [
        ("Qualify", 6, 5, 2),
        ("Discover", 5, 3, 2),
        ("Propose", 3, None, 2),
    ]
    assert rows(board.durations, "stage", "stays", "median", "average") == [
        ("Qualify", 6, 14.0, 22.33),  # 5, 10, 10, 18, 20, 71
        ("Discover", 3, 20.0, 20.0),  # 10, 20, 30
        ("Propose", 3, 10.0, 11.33),  # 0, 10, 24
    ]


def test_the_process_filter(history, manager, now):
    from tests.factories import make_process

    other = make_process(stages=2, name="Renewals")
    board = board_for(manager, now, process_id=other.pk)
    assert [r[1] for r in board.by_stage.rows] == ["Qualify", "Discover"]
    assert sum(r[3] for r in board.by_stage.rows) == 0
    assert board.milestones.rows and all(r[0] == "Renewals" for r in board.milestones.rows)


def test_a_chart_of_people_keeps_the_largest_and_the_table_keeps_everyone(history, admin, now):
    import re

    from pipeline.reports.dashboard import CHART_PEOPLE, Column, Table

    board = board_for(admin, now)
    people = CHART_PEOPLE + 5
    table = Table("flags_by_owner", "Open flags by owner", [Column("owner", "Owner"), Column("total", "Total", "int")])
    # In name order, as the page lists them; person 07 has the most flags, person 00 the fewest.
    table.rows = [[f"Person {i:02d}", (i * 7) % people] for i in range(people)]
    board.__dict__["flags_by_owner"] = table
    charted = board.charted("flags_by_owner")
    assert len(charted.rows) == people
    assert f"the {CHART_PEOPLE} largest of {people}" in charted.chart
    assert f"the {CHART_PEOPLE} largest of {people}; the table lists everyone" in charted.note
    bars = re.findall(r'text-anchor="end" fill="#1d2330">(Person \d+)</text>', charted.chart)
    expected = sorted(table.rows, key=lambda r: -r[1])[:CHART_PEOPLE]
    assert bars == [r[0] for r in expected]
    # A short list is charted whole.
    assert "largest of" not in board.charted("by_owner").chart


# --- query counts ----------------------------------------------------------------------------------------


def _count_queries(user, now, **kwargs) -> int:
    user.refresh_from_db()
    with CaptureQueriesContext(connection) as ctx:
        board = board_for(user, now, **kwargs)
        for name in Dashboard.TABLES:
            board.charted(name)
        board.summary  # noqa: B018
    return len(ctx.captured_queries)


@pytest.mark.parametrize("as_of", [None, dt.date(2026, 2, 20)])
def test_query_count_is_constant_at_two_data_sizes(history, manager, owner, teammate, now, as_of):
    small = _count_queries(manager, now, as_of=as_of)
    for i in range(6):
        extra = History.create(history, owner if i % 2 else teammate, 100 * (i + 1), dt.date(2026, 3, 31), at(1, 3 + i))
        history.tick(extra, history.stages[0], at(1, 12 + i))
        history.move(extra, history.stages[1], at(1, 12 + i))
        Flag.objects.create(opportunity=extra, kind=FlagKind.IDLE, detail="idle", opened_at=at(2, 1))
    large = _count_queries(manager, now, as_of=as_of)
    assert small == large
    # people, teams (managed team ids), stages, milestones, 3 pipeline, 2 forecast, quotas,
    # conversion, durations, 2 milestone, flags
    assert large <= 16


def test_team_attainment_counts_only_the_people_with_a_quota(history, manager, owner, now):
    """One quota among several sellers must not divide everyone's wins ("11068.6 %")."""
    Quota.objects.filter(user=owner).delete()  # the teammate keeps theirs: 5000, nothing won
    board = board_for(manager, now)
    team = board.team_attainment((2026, 1))
    assert (team.quota, team.won, team.attainment, team.without_quota) == (D(5000), D(0), 0.0, 1)
    assert rows(board.attainment, "who", "quarter", "quota", "won", "attainment", "without_quota")[:2] == [
        ("Everyone in view", "2026-Q1", D(5000), D(1500), 0.0, 1),
        ("Everyone in view", "2026-Q2", None, D(0), None, 2),
    ]
    assert board.summary["attainment"] == 0.0 and board.summary["without_quota"] == 1


def test_the_dashboard_says_how_many_sellers_have_no_quota(client, history, manager, owner, now):
    Quota.objects.filter(user=owner).delete()
    client.force_login(manager)
    page = client.get("/dashboard/?period_start=2026-01-01&period_end=2026-03-31")
    assert "1 seller without a quota, not counted" in page.content.decode()
