"""The pipeline-health sweep and the immediate resolution of flags, against the real database.

Boundaries (see pipeline/health/definition.py): "more than N days" is strict — exactly N days after the last
touch a deal is not yet idle, one second later it is. Dates compare with today: a next step due
today is not overdue, a close date of today has not slipped.

Time: the `now` fixture freezes the clock at NOW; later moments are passed as `now=`.
"""

import datetime as dt
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from opportunities import services as opp_services
from opportunities.models import Opportunity
from pipeline.health import definition as health
from pipeline.health import services, sql
from pipeline.models import Flag, FlagKind, HealthSweep, Notification
from tests.factories import AccountFactory, OpportunityFactory, StageFactory, UserFactory

DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
IDLE, STUCK, NO_STEP, OVERDUE, SLIPPED = (
    FlagKind.IDLE,
    FlagKind.STUCK,
    FlagKind.NO_NEXT_STEP,
    FlagKind.NEXT_STEP_OVERDUE,
    FlagKind.CLOSE_DATE_SLIPPED,
)


def open_flags(opp=None, at=None) -> dict[str, str]:
    """{kind: the flag in words at `at`} of the open flags (of `opp`)."""
    flags = Flag.objects.open()
    if opp is not None:
        flags = flags.filter(opportunity=opp)
    return {flag.kind: flag.explain(at) for flag in flags}


def kinds(opp) -> set[str]:
    return set(open_flags(opp))


def make_deal(owner, process, now, *, step_due: dt.date | None = None, close_in: int = 60, amount="1000", **kw):
    """A deal created through the service at `now`, with a next step due `step_due` if given."""
    return opp_services.opportunity_create(
        actor=owner,
        account=AccountFactory(owner=owner),
        process=process,
        name=kw.get("name", "Deal"),
        amount=amount,
        expected_close_date=now.date() + dt.timedelta(days=close_in),
        next_step_description="Call" if step_due else "",
        next_step_due_date=step_due,
        now=now,
    )


def assert_matches_definition(now):
    """The flag table holds exactly what health.expected_open_flags_sql() says."""
    assert health.actual_open_flags() == health.expected_open_flags(now=now)


# --- each flag opens and resolves, at the edges of its threshold ----------------------------------------


def test_idle_opens_strictly_after_the_stages_idle_days(opportunity, now):
    services.pipeline_sweep(now=now + 14 * DAY)
    assert IDLE not in kinds(opportunity)

    result = services.pipeline_sweep(now=now + 14 * DAY + SECOND)

    assert open_flags(opportunity, now + 14 * DAY + SECOND)[IDLE] == "idle 14 days"
    assert result.opened == {IDLE: 1}
    assert_matches_definition(now + 14 * DAY + SECOND)


def test_idle_counts_from_the_latest_of_change_activity_and_stage_entry(owner, opportunity, now):
    opp_services.activity_log(actor=owner, opportunity=opportunity, kind="call", subject="Hi", now=now + 10 * DAY)
    services.pipeline_sweep(now=now + 24 * DAY)
    assert IDLE not in kinds(opportunity)  # 14 days after the activity, not more

    services.pipeline_sweep(now=now + 24 * DAY + SECOND)
    assert open_flags(opportunity, now + 24 * DAY + SECOND)[IDLE] == "idle 14 days"

    # Written around the services (which never set a stage entry by itself): a full sweep sees it.
    Opportunity.objects.filter(pk=opportunity.pk).update(stage_entered_at=now + 20 * DAY)
    services.pipeline_sweep(now=now + 30 * DAY, full=True)
    assert IDLE not in kinds(opportunity)  # moved 10 days ago


def test_idle_resolves_at_once_when_an_activity_is_logged(owner, opportunity, now):
    later = now + 20 * DAY
    services.pipeline_sweep(now=later)
    flag = Flag.objects.get(opportunity=opportunity, kind=IDLE)

    opp_services.activity_log(actor=owner, opportunity=opportunity, kind="call", subject="Checked in", now=later)

    flag.refresh_from_db()
    assert flag.resolved_at == later
    assert IDLE not in kinds(opportunity)


def test_stuck_opens_strictly_after_the_stages_limit_and_an_activity_does_not_clear_it(owner, opportunity, now):
    opp_services.activity_log(actor=owner, opportunity=opportunity, kind="call", subject="Hi", now=now + 29 * DAY)
    services.pipeline_sweep(now=now + 30 * DAY)
    assert STUCK not in kinds(opportunity)

    services.pipeline_sweep(now=now + 30 * DAY + SECOND)
    assert open_flags(opportunity, now + 30 * DAY + SECOND)[STUCK] == "30 days in Qualify (limit 30)"
    assert IDLE not in kinds(opportunity)

    opp_services.activity_log(actor=owner, opportunity=opportunity, kind="call", subject="Again", now=now + 31 * DAY)
    assert STUCK in kinds(opportunity)


def test_stuck_resolves_at_once_when_the_deal_moves(admin, opportunity, process, now):
    later = now + 31 * DAY
    services.pipeline_sweep(now=later)
    assert STUCK in kinds(opportunity)

    second = process.stages.order_by("order")[1]
    opp_services.opportunity_move(opportunity, actor=admin, to_stage=second, override_reason="Test", now=later)

    assert STUCK not in kinds(opportunity)
    assert IDLE not in kinds(opportunity)


def test_no_next_step_opens_at_the_first_sweep_and_resolves_when_one_is_set(owner, opportunity, now):
    services.pipeline_sweep(now=now)
    assert open_flags(opportunity) == {NO_STEP: "no next step"}

    later = now + 2 * DAY
    opp_services.next_step_set(opportunity, actor=owner, description="Demo", due_date=later.date(), now=later)

    flag = Flag.objects.get(opportunity=opportunity, kind=NO_STEP)
    assert flag.resolved_at == later  # resolved at once, and kept
    assert kinds(opportunity) == set()


def test_next_step_overdue_opens_the_day_after_it_was_due(owner, account, process, now):
    opp = make_deal(owner, process, now, step_due=now.date() + 3 * DAY)
    services.pipeline_sweep(now=now + 3 * DAY)  # due today
    assert OVERDUE not in kinds(opp)

    services.pipeline_sweep(now=now + 4 * DAY)
    assert open_flags(opp, now + 4 * DAY)[OVERDUE] == f"next step 1 day overdue (due {now.date() + 3 * DAY:%Y-%m-%d})"

    services.pipeline_sweep(now=now + 6 * DAY)
    assert open_flags(opp, now + 6 * DAY)[OVERDUE].startswith("next step 3 days overdue")


def test_next_step_overdue_resolves_at_once_when_the_step_is_completed(owner, process, now):
    opp = make_deal(owner, process, now, step_due=now.date() + DAY)
    later = now + 3 * DAY
    services.pipeline_sweep(now=later)
    assert OVERDUE in kinds(opp)

    opp_services.next_step_complete(
        opp, actor=owner, next_description="Send proposal", next_due_date=later.date() + DAY, now=later
    )

    assert OVERDUE not in kinds(opp)
    assert Flag.objects.filter(opportunity=opp, kind=OVERDUE, resolved_at=later).count() == 1


def test_close_date_slips_the_day_after_it_passes(owner, process, now):
    opp = make_deal(owner, process, now, step_due=now.date() + 90 * DAY, close_in=5)
    services.pipeline_sweep(now=now + 5 * DAY)
    assert SLIPPED not in kinds(opp)

    services.pipeline_sweep(now=now + 6 * DAY)
    assert open_flags(opp)[SLIPPED] == f"close date {now.date() + 5 * DAY:%Y-%m-%d} passed"


def test_close_date_slips_when_pushed_more_than_the_stages_limit(owner, process, now):
    opp = make_deal(owner, process, now, step_due=now.date() + 90 * DAY, close_in=5)
    for pushes in (1, 2):
        opp = opp_services.opportunity_update(
            opp,
            actor=owner,
            expected_version=opp.version,
            expected_close_date=now.date() + dt.timedelta(days=5 + pushes),
            now=now,
        )
    services.pipeline_sweep(now=now)
    assert SLIPPED not in kinds(opp)  # pushed twice: not more than 2

    opp = opp_services.opportunity_update(
        opp, actor=owner, expected_version=opp.version, expected_close_date=now.date() + 20 * DAY, now=now
    )
    assert SLIPPED not in kinds(opp)  # opening is the sweep's job, not the action's
    services.pipeline_sweep(now=now)
    assert open_flags(opp)[SLIPPED] == "pushed 3 times"

    services.pipeline_sweep(now=now + 21 * DAY)
    assert open_flags(opp)[SLIPPED] == f"close date {now.date() + 20 * DAY:%Y-%m-%d} passed; pushed 3 times"


def test_moving_a_passed_close_date_forward_resolves_the_slip_at_once(owner, process, now):
    opp = make_deal(owner, process, now, step_due=now.date() + 90 * DAY, close_in=1)
    later = now + 3 * DAY
    services.pipeline_sweep(now=later)
    assert SLIPPED in kinds(opp)

    opp_services.opportunity_update(
        opp, actor=owner, expected_version=opp.version, expected_close_date=later.date() + 10 * DAY, now=later
    )

    assert SLIPPED not in kinds(opp)


def test_closing_a_deal_resolves_all_its_flags_at_once_and_keeps_them(owner, opportunity, lost_reason, now):
    later = now + 40 * DAY
    services.pipeline_sweep(now=later)
    assert kinds(opportunity) == {IDLE, STUCK, NO_STEP, SLIPPED}

    opp_services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=later)

    assert kinds(opportunity) == set()
    assert Flag.objects.filter(opportunity=opportunity, resolved_at=later).count() == 4
    assert services.pipeline_sweep(now=later + DAY).opened == {}


def test_closed_deals_flags_are_resolved_by_the_full_sweep_too(opportunity, now):
    services.pipeline_sweep(now=now)
    # A write that bypassed the services (an admin's bulk edit, a script): the full sweep repairs
    # it (an incremental one does not see it: tests/pipeline/health/test_incremental_sweep.py).
    Opportunity.objects.filter(pk=opportunity.pk).update(status="won")

    result = services.pipeline_sweep(now=now + SECOND, full=True)

    assert result.resolved == {NO_STEP: 1}
    assert Flag.objects.get(opportunity=opportunity).resolved_at == now + SECOND


# --- per-stage thresholds ----------------------------------------------------------------------------------


def test_each_stage_has_its_own_thresholds(owner, now):
    quick = StageFactory(idle_after_days=3, stuck_after_days=5, slip_push_limit=0)
    slow = StageFactory(idle_after_days=30, stuck_after_days=60, slip_push_limit=5)
    fast_deal = OpportunityFactory(
        stage=quick, owner=owner, stage_entered_at=now, updated_at=now, close_date_push_count=1
    )
    slow_deal = OpportunityFactory(
        stage=slow, owner=owner, stage_entered_at=now, updated_at=now, close_date_push_count=1
    )

    services.pipeline_sweep(now=now + 5 * DAY + SECOND)

    assert kinds(fast_deal) == {IDLE, STUCK, NO_STEP, SLIPPED}
    assert open_flags(fast_deal)[SLIPPED] == "pushed 1 time"
    assert kinds(slow_deal) == {NO_STEP}


def test_raising_a_stage_threshold_resolves_the_flag_at_the_next_sweep(opportunity, now):
    later = now + 20 * DAY
    services.pipeline_sweep(now=later)
    assert IDLE in kinds(opportunity)

    opportunity.stage.__class__.objects.filter(pk=opportunity.stage_id).update(idle_after_days=30)
    result = services.pipeline_sweep(now=later + SECOND)

    assert result.resolved == {IDLE: 1}
    assert Flag.objects.filter(opportunity=opportunity, kind=IDLE).get().resolved_at == later + SECOND


def test_a_flag_that_clears_and_comes_back_is_a_new_flag(owner, opportunity, now):
    services.pipeline_sweep(now=now)
    later = now + DAY
    opp_services.next_step_set(opportunity, actor=owner, description="Demo", due_date=later.date(), now=later)
    step = opportunity.__class__.objects.get(pk=opportunity.pk).next_step
    opportunity.__class__.objects.filter(pk=opportunity.pk).update(next_step=None)
    step.delete()

    services.pipeline_sweep(now=later + SECOND, full=True)  # the step went around the services

    flags = Flag.objects.filter(opportunity=opportunity, kind=NO_STEP).order_by("opened_at")
    assert [(f.opened_at, f.resolved_at) for f in flags] == [(now, later), (later + SECOND, None)]


# --- details ----------------------------------------------------------------------------------------------


def test_the_words_follow_the_clock_without_a_write(opportunity, now):
    services.pipeline_sweep(now=now + 15 * DAY)
    assert open_flags(opportunity, now + 15 * DAY)[IDLE] == "idle 15 days"
    notifications = Notification.objects.count()

    result = services.pipeline_sweep(now=now + 16 * DAY)

    assert open_flags(opportunity, now + 16 * DAY)[IDLE] == "idle 16 days"
    assert result.details_refreshed == 0  # the days are counted when shown: nothing to rewrite
    assert not result.changed
    assert Notification.objects.count() == notifications


@pytest.mark.parametrize("kind", [IDLE, STUCK, OVERDUE, SLIPPED, NO_STEP])
@pytest.mark.parametrize("days_later", [0, 1, 2, 45])
def test_notifications_word_a_flag_as_the_flag_does(owner, process, now, kind, days_later):
    """`health.explanation_sql` (the notifications' words) and `Flag.explain` (every page's) agree."""
    deal = make_deal(owner, process, now, step_due=now.date() + 2 * DAY, close_in=3)
    opened_at = now + 40 * DAY + SECOND
    services.pipeline_sweep(now=opened_at)
    flag = Flag.objects.get(opportunity=deal, kind=kind) if kind != NO_STEP else None
    if flag is None:  # the deal has a step: word a flag without one
        flag = Flag.objects.create(opportunity=deal, kind=NO_STEP, detail="no next step", opened_at=opened_at)
    at = opened_at + days_later * DAY
    sql = f"SELECT {health.explanation_sql('f')} FROM pipeline_flag f WHERE f.id = %(id)s"
    with connection.cursor() as cursor:
        cursor.execute(sql, health.sql_params(now=at, id=flag.pk))
        assert cursor.fetchone()[0] == flag.explain(at)


def test_one_sweep_resolves_rewords_and_opens_at_once_and_notifies_only_the_new_flags(owner, manager, process, now):
    fresh, stale = make_deal(owner, process, now, name="Fresh"), make_deal(owner, process, now, name="Stale")
    services.pipeline_sweep(now=now)
    later = now + 20 * DAY
    # A flag whose condition no longer holds (bypassing the services, so nothing resolved it),
    # a flag in the words of an older release (no `since`), and flags that should open.
    opp_services.next_step_set(stale, actor=owner, description="Demo", due_date=later.date(), now=now)
    Flag.objects.create(opportunity=stale, kind=NO_STEP, detail="no next step", opened_at=now)
    Flag.objects.create(opportunity=fresh, kind=IDLE, detail="idle 1 day", opened_at=now)
    notifications = Notification.objects.count()

    result = services.pipeline_sweep(now=later, full=True)  # the flags were written around the services

    assert result.resolved == {NO_STEP: 1}
    assert result.details_refreshed == 1 and open_flags(fresh, later)[IDLE] == "idle 20 days"
    assert result.opened == {IDLE: 1}  # the stale deal, idle since its step was set
    assert Flag.objects.open().counts_by_kind() == {IDLE: 2, NO_STEP: 1}
    assert result.notified == Notification.objects.count() - notifications == 2  # owner and manager
    assert_matches_definition(later)


# --- idempotency, atomicity, concurrency --------------------------------------------------------------------


def test_a_second_sweep_right_after_the_first_opens_resolves_and_sends_nothing(owner, manager, process, now):
    for i in range(3):
        make_deal(owner, process, now - 40 * DAY, close_in=10 + i)
    later = now
    first = services.pipeline_sweep(now=later)
    assert first.opened and first.notified
    flags = list(Flag.objects.order_by("pk").values())
    notifications = list(Notification.objects.order_by("pk").values())
    totals = Flag.objects.open().counts_by_kind()

    for second_now in (later, later + SECOND, later + dt.timedelta(minutes=15)):
        second = services.pipeline_sweep(now=second_now)
        assert (second.opened, second.resolved, second.notified, second.details_refreshed) == ({}, {}, 0, 0)
        assert (second.full, second.evaluated) == (False, 0)  # nothing changed, no threshold crossed
        assert Flag.objects.open().counts_by_kind() == totals
    again = services.pipeline_sweep(now=later + dt.timedelta(minutes=15), full=True)
    assert (again.opened, again.resolved, again.notified, again.details_refreshed) == ({}, {}, 0, 0)
    assert list(Flag.objects.order_by("pk").values()) == flags
    assert list(Notification.objects.order_by("pk").values()) == notifications


def test_a_sweep_that_dies_half_way_leaves_nothing_and_the_next_one_does_everything(monkeypatch, opportunity, now):
    later = now + 40 * DAY
    monkeypatch.setattr(sql, "notify_sql", lambda explanation: "SELECT no_such_column FROM pipeline_flag")
    with pytest.raises(Exception):  # noqa: B017 - whatever the database raises
        services.pipeline_sweep(now=later)
    assert Flag.objects.count() == 0
    assert Notification.objects.count() == 0

    monkeypatch.undo()
    result = services.pipeline_sweep(now=later)

    assert result.opened == {IDLE: 1, STUCK: 1, NO_STEP: 1, SLIPPED: 1}
    assert Notification.objects.count() == 4
    assert_matches_definition(later)


def test_an_open_flag_cannot_be_duplicated(opportunity, now):
    services.pipeline_sweep(now=now)
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        Flag.objects.create(opportunity=opportunity, kind=NO_STEP, detail="dup")


def test_back_to_back_sweeps_find_nothing_left_to_do(opportunity, now):
    """What SQLite relies on to keep sweeps apart (it serialises writers: IMMEDIATE transactions),
    and true on PostgreSQL too: the second of two sweeps changes nothing."""
    first = services.pipeline_sweep(now=now)
    second = services.pipeline_sweep(now=now)
    assert first.opened == {NO_STEP: 1}
    assert not second.changed and not second.skipped
    assert Flag.objects.count() == 1


@pytest.mark.postgresql  # advisory locks
def test_a_concurrent_sweep_does_nothing(opportunity, now):
    """While another session holds the sweep's advisory lock, a sweep returns at once having done
    nothing."""
    import psycopg2

    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [services.SWEEP_LOCK_KEY])
        started = time.monotonic()
        result = services.pipeline_sweep(now=now)
        assert time.monotonic() - started < 2
        assert result.skipped and not result.changed
        assert Flag.objects.count() == 0
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [services.SWEEP_LOCK_KEY])
    finally:
        other.close()
    assert services.pipeline_sweep(now=now).opened == {NO_STEP: 1}


# --- notifications -----------------------------------------------------------------------------------------


def test_new_flags_notify_the_owner_and_the_managers_of_the_owners_team_once(
    owner, teammate, manager, outsider, admin, opportunity, team, now
):
    idle_manager = UserFactory(manager=True, manages=[team], is_active=False)
    result = services.pipeline_sweep(now=now)

    assert result.notified == 2
    rows = Notification.objects.values_list("user__username", "message", "url", "flag__kind", "read_at")
    url = f"/deals/{opportunity.pk}/"
    assert sorted(rows) == [
        ("manager", "Acme rollout: no next step", url, NO_STEP, None),
        ("owner", "Acme rollout: no next step", url, NO_STEP, None),
    ]
    assert not Notification.objects.filter(user__in=[teammate, outsider, admin, idle_manager]).exists()


def test_a_manager_who_owns_a_deal_in_their_own_team_is_notified_once(team, process, now):
    boss = UserFactory(manager=True, manages=[team], team=team)
    make_deal(boss, process, now)

    assert services.pipeline_sweep(now=now).notified == 1


def test_resolved_flags_do_not_notify(owner, opportunity, now):
    services.pipeline_sweep(now=now)
    opp_services.next_step_set(opportunity, actor=owner, description="Demo", due_date=now.date(), now=now)
    before = Notification.objects.count()

    services.pipeline_sweep(now=now + SECOND)

    assert Notification.objects.count() == before


# --- set-based: statements do not grow with the pipeline ------------------------------------------------


def _sweep_statements(now, **kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        services.pipeline_sweep(now=now, **kwargs)
    return len(ctx)


def _start_over(team, process, now, count: int):
    Flag.objects.all().delete()
    Opportunity.objects.all().delete()
    HealthSweep.objects.all().delete()
    owner = UserFactory(team=team)
    return owner, [make_deal(owner, process, now - 40 * DAY, close_in=i + 1) for i in range(count)]


@pytest.mark.parametrize("scenario", ["open", "resolve", "nothing"])
def test_the_full_sweep_runs_the_same_statements_for_3_or_30_deals(team, process, now, scenario):
    def run(count: int) -> int:
        _, deals = _start_over(team, process, now, count)
        if scenario == "open":
            return _sweep_statements(now, full=True)
        services.pipeline_sweep(now=now)
        if scenario == "resolve":
            Opportunity.objects.filter(pk__in=[d.pk for d in deals]).update(status="won")
        return _sweep_statements(now + SECOND, full=True)

    small, large = run(3), run(30)
    assert small == large
    # lock, the configuration (stages, role requirements), consume the changes, plan,
    # differences, count the deals, resolve, refresh, open, notify, drop, the run's record,
    # a savepoint and its release
    assert large <= 15


@pytest.mark.parametrize("scenario", ["open", "resolve", "nothing"])
def test_the_incremental_sweep_runs_the_same_statements_for_3_or_30_changed_deals(
    team, process, lost_reason, now, scenario
):
    def run(count: int) -> int:
        owner, deals = _start_over(team, process, now, count)
        services.pipeline_sweep(now=now)
        services.pipeline_sweep(now=now + SECOND)  # incremental: the previous run is not the full one
        later = now + 2 * SECOND
        for deal in deals:
            if scenario == "open":
                opp_services.next_step_set(deal, actor=owner, description="Call", due_date=later.date(), now=later)
            elif scenario == "resolve":
                opp_services.opportunity_close_lost(deal, actor=owner, reason=lost_reason, now=later)
        if scenario == "open":
            Flag.objects.all().delete()  # around the services: the changed deals' flags to open again
        statements = _sweep_statements(later)
        assert HealthSweep.previous().evaluated == (0 if scenario == "nothing" else count)
        assert not HealthSweep.previous().full
        return statements

    small, large = run(3), run(30)
    assert small == large
    # lock, the configuration (stages, role requirements), the previous run and the last full
    # one, the stages' touch days, the candidates (create, fill, then analyze them on PostgreSQL
    # or consume the changes on SQLite, count), differences, resolve, refresh, open, notify, drop
    # both tables, the run's record, a savepoint and its release
    assert large <= 20


def test_the_sweep_counts_match_the_statements_effects(team, process, now):
    owner = UserFactory(team=team)
    for i in range(30):
        make_deal(owner, process, now - 40 * DAY, close_in=i + 1, step_due=(now - 40 * DAY).date() if i % 2 else None)

    result = services.pipeline_sweep(now=now)

    assert result.opened == {IDLE: 30, STUCK: 30, NO_STEP: 15, OVERDUE: 15, SLIPPED: 30}
    assert Flag.objects.open().counts_by_kind() == result.opened
    assert result.notified == Notification.objects.count() == 120
    assert_matches_definition(now)


def test_immediate_resolution_runs_two_statements_whatever_the_flags(opportunity, now):
    services.pipeline_sweep(now=now + 40 * DAY)
    with CaptureQueriesContext(connection) as ctx:
        resolved = services.flags_reevaluate(opportunity_id=opportunity.pk, now=now)
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2
    # 40 days earlier nothing but "no next step" held
    assert resolved == {IDLE: 1, STUCK: 1, SLIPPED: 1}


def test_immediate_resolution_touches_only_that_deal(owner, process, now):
    one, two = make_deal(owner, process, now), make_deal(owner, process, now)
    services.pipeline_sweep(now=now)

    opp_services.next_step_set(one, actor=owner, description="Demo", due_date=now.date(), now=now)

    assert kinds(one) == set()
    assert kinds(two) == {NO_STEP}


def test_the_definition_can_be_restricted_to_one_deal(owner, process, now):
    one, two = make_deal(owner, process, now), make_deal(owner, process, now)
    sql, params = health.expected_open_flags_sql(now=now, opportunity_id=one.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    assert [tuple(r) for r in rows] == [(one.pk, NO_STEP, "no next step", None)]
    assert {r[0] for r in health.expected_open_flags(now=now)} == {one.pk, two.pk}


def test_the_hand_written_sql_names_the_real_tables():
    from opportunities.models import NextStep
    from people.models import Team, User
    from stages.models import Stage

    assert (Opportunity._meta.db_table, Stage._meta.db_table, NextStep._meta.db_table) == (
        "opportunities_opportunity",
        "stages_stage",
        "opportunities_nextstep",
    )
    assert (Flag._meta.db_table, Notification._meta.db_table, User._meta.db_table) == (
        "pipeline_flag",
        "pipeline_notification",
        "pipeline_user",
    )
    assert Team.managers.through._meta.db_table == "pipeline_team_managers"


@pytest.mark.postgresql  # SQLite has no parallel workers: nothing to tune there (nothing is sent)
def test_the_sweep_lets_the_planner_use_parallel_workers(db):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        health.plan_for_all_deals(cursor)  # SET LOCAL: PostgreSQL drops it when the transaction ends
        assert len(queries.captured_queries) == 1
        cursor.execute("SHOW parallel_tuple_cost")
        assert cursor.fetchone()[0] == "0.01"
