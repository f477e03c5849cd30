"""Pipeline health: which flags *should* be open, defined once, in hand-written SQL.

`expected_open_flags_sql()` is the definition. The sweep (`services.pipeline_sweep`) and the
immediate re-evaluation after a user action (`services.flags_reevaluate`) both run it, and tests
and benchmarks compare the `pipeline_flag` table against it. Between two full sweeps the sweep
runs it over some deals only: those changed since the previous sweep, and those the passing of
time may have changed (`crossed_thresholds_sql`), which holds while what else it reads stays
the same (`config_fingerprint`). It returns one row (opportunity_id, kind, detail) per flag that
ought to be open at `now`:

* **idle** — open, and the deal's last touch (the latest of `updated_at`, `last_activity_at` and
  `stage_entered_at`) is more than `stage.idle_after_days` days before `now`;
* **stuck** — open, and `stage_entered_at` is more than `stage.stuck_after_days` days before `now`;
* **no_next_step** — open, and `next_step_id` is null;
* **next_step_overdue** — open, and its next step (still open) has a `due_date` before today;
* **close_date_slipped** — open, and `expected_close_date` is before today, or
  `close_date_push_count` is more than `stage.slip_push_limit`;
* **single_threaded** — open, and exactly one contact is engaged: on its buying team or on one
  of its logged activities;
* **role_missing** — open, and a buying role required (enforced or warned) by its stage or an
  earlier one of its process (`StageRoleRequirement`) is played by nobody on its buying team;
* **member_not_contacted** — open, its stage's `buying_team_touch_days` is not 0, and a member
  of its buying team added more than that many days ago is on none of its activities since.

The last three read like `opportunities.coverage.deal_coverage`, the deal page's warnings, and
the tests hold the two to each other.

Boundaries: "more than N days" is strict. A deal touched exactly N days ago is not yet idle; one
touched N days and one second (on SQLite: one millisecond) ago is. Dates compare with *today*,
the installation's local date of `now` (`TIME_ZONE`): a next step due today is not overdue, a
close date of today has not slipped. A day is 24 hours: the database connection works in UTC.

Each row also carries `detail`, words that stay true while the flag is open ("pushed 3 times",
"in Qualify (limit 30)"), and `since`, what the flag's count of days runs from (the last touch,
the stage entry, the next step's due day at 00:00 UTC; NULL for the kinds without a count). The
days themselves ("idle 23 days") are counted when the flag is shown (`Flag.explain`, and
`explanation_sql` for notifications): were they part of the row, every open flag would change
each day and the sweep would rewrite them all for nothing but the passing of time.

Date arithmetic is the one thing PostgreSQL and SQLite spell differently, so the SQL is written
through the two tiny dialects below. On SQLite, Django stores datetimes as text in more than one
shape (with and without microseconds), so instants are compared as whole milliseconds
(`julianday() * 86400000`, rounded), never as strings.
"""

import datetime as dt
import hashlib

from django.conf import settings
from django.db import connection as default_connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from opportunities.models import Activity, BuyingRole, BuyingTeamMember, NextStep, Opportunity, OpportunityStatus
from stages.models import Stage, StageRoleRequirement

from ..models import Flag, FlagKind

MS_PER_DAY = 86_400_000


class _Postgres:
    now = "CAST(%(now)s AS timestamptz)"

    def older_than(self, instant: str, days: str) -> str:
        return f"{instant} < {self.now} - {days} * INTERVAL '24 hours'"

    def instant(self, instant: str) -> str:
        """`instant` as `days_before` values compare with it."""
        return instant

    def days_before(self, moment: str, days: str) -> str:
        """The instant `days` days before the parameter `moment` ("now", "previous")."""
        return f"CAST(%({moment})s AS timestamptz) - {days} * INTERVAL '24 hours'"

    def whole_days_since(self, instant: str) -> str:
        # The difference of two instants comes back justified into days and hours (50 hours is
        # "2 days 02:00"), so its day field is the whole days. date_part() answers in a double,
        # where EXTRACT() computes in numeric, much slower over every open deal (bench/README.md).
        return f"CAST(date_part('day', {self.now} - {instant}) AS INTEGER)"

    def days_before_today(self, date: str) -> str:
        return f"(CAST(%(today)s AS date) - {date})"

    def date_text(self, date: str) -> str:
        return f"to_char({date}, 'YYYY-MM-DD')"

    def latest(self, *instants: str) -> str:
        return f"GREATEST({', '.join(instants)})"

    def utc_midnight(self, date: str) -> str:
        return f"(CAST({date} AS timestamp) AT TIME ZONE 'UTC')"

    def utc_date(self, instant: str) -> str:
        return f"CAST({instant} AT TIME ZONE 'UTC' AS date)"

    def has_role(self, roles: str, role: str) -> str:
        return f"{roles} @> jsonb_build_array({role})"

    def joined_distinct(self, text: str, rest: str) -> str:
        """The distinct values of `text` over `FROM …` `rest`, sorted and joined with ", "."""
        return f"(SELECT string_agg(DISTINCT {text}, ', ' ORDER BY {text}) {rest})"


class _SQLite:
    @staticmethod
    def _ms(instant: str) -> str:
        return f"CAST(ROUND(julianday({instant}) * 86400000.0) AS INTEGER)"

    def older_than(self, instant: str, days: str) -> str:
        return f"{self._ms(instant)} < {self._ms('%(now)s')} - {days} * {MS_PER_DAY}"

    def instant(self, instant: str) -> str:
        return self._ms(instant)

    def days_before(self, moment: str, days: str) -> str:
        return f"{self._ms(f'%({moment})s')} - {days} * {MS_PER_DAY}"

    def whole_days_since(self, instant: str) -> str:
        return f"(({self._ms('%(now)s')} - {self._ms(instant)}) / {MS_PER_DAY})"

    def days_before_today(self, date: str) -> str:
        return f"CAST(julianday(%(today)s) - julianday({date}) AS INTEGER)"

    def date_text(self, date: str) -> str:
        return date  # stored as ISO text already

    def latest(self, *instants: str) -> str:
        # Multi-argument MAX() is SQLite's GREATEST; callers pass no NULLs.
        return f"MAX({', '.join(instants)})"

    def utc_midnight(self, date: str) -> str:
        return f"({date} || ' 00:00:00')"  # Django's text for a datetime in UTC

    def utc_date(self, instant: str) -> str:
        return f"date({instant})"

    def has_role(self, roles: str, role: str) -> str:
        return f"EXISTS (SELECT 1 FROM json_each({roles}) j WHERE j.value = {role})"

    def joined_distinct(self, text: str, rest: str) -> str:
        # group_concat keeps the order of its ordered sub-select.
        return f"(SELECT group_concat(t, ', ') FROM (SELECT DISTINCT {text} AS t {rest} ORDER BY 1))"


def dialect(connection=None):
    vendor = (connection or default_connection).vendor
    if vendor == "postgresql":
        return _Postgres()
    if vendor == "sqlite":
        return _SQLite()
    raise NotImplementedError(f"Pipeline health SQL is written for PostgreSQL and SQLite, not {vendor}.")


def _counted(n: str, one: str, many: str) -> str:
    """`3 days` / `1 day`, in SQL."""
    return f"CAST({n} AS TEXT) || CASE WHEN {n} = 1 THEN ' {one}' ELSE ' {many}' END"


def sql_params(*, now: dt.datetime, previous: dt.datetime | None = None, connection=None, **extra) -> dict:
    """The parameters every health statement takes, adapted for the connection's database; with
    `previous` (the moment of the previous sweep), those of `crossed_thresholds_sql` too."""
    ops = (connection or default_connection).ops
    params = {
        "now": ops.adapt_datetimefield_value(now),
        "today": ops.adapt_datefield_value(timezone.localdate(now)),
        **extra,
    }
    if previous is not None:
        params["previous"] = ops.adapt_datetimefield_value(previous)
        params["previous_today"] = ops.adapt_datefield_value(timezone.localdate(previous))
    return params


def _last_touch(d) -> str:
    """The deal's last touch, what idle counts from: its latest change, activity or stage entry."""
    return d.latest("o.updated_at", "o.stage_entered_at", "COALESCE(o.last_activity_at, o.updated_at)")


def _coverage_kinds(d) -> list[tuple[str, str, str, str]]:
    """The buying-team coverage kinds: correlated sub-selects over the deal's buying team and its
    activities' contacts, each only evaluated on the rows of its own kind."""
    team = BuyingTeamMember._meta.db_table
    activities = Activity._meta.db_table
    activity_contacts = Activity.contacts.through._meta.db_table
    requirements = StageRoleRequirement._meta.db_table
    stages = Stage._meta.db_table
    engaged = f"""(SELECT COUNT(*) FROM (
        SELECT b.contact_id FROM {team} b WHERE b.opportunity_id = o.id
         UNION SELECT ac.contact_id FROM {activity_contacts} ac JOIN {activities} a ON a.id = ac.activity_id
         WHERE a.opportunity_id = o.id) e)"""
    missing_roles = f"""FROM {requirements} r JOIN {stages} rs ON rs.id = r.stage_id
         WHERE rs.process_id = o.process_id AND rs."order" <= s."order"
           AND NOT EXISTS (SELECT 1 FROM {team} b
                            WHERE b.opportunity_id = o.id AND {d.has_role("b.roles", "r.role")})"""
    label = "CASE r.role " + " ".join(f"WHEN '{v}' THEN '{lbl.lower()}'" for v, lbl in BuyingRole.choices) + " END"
    quiet = f"""FROM {team} b WHERE b.opportunity_id = o.id AND {d.older_than("b.added_at", "s.buying_team_touch_days")}
           AND NOT EXISTS (SELECT 1 FROM {activity_contacts} ac JOIN {activities} a ON a.id = ac.activity_id
                            WHERE a.opportunity_id = o.id AND ac.contact_id = b.contact_id
                              AND NOT ({d.older_than("a.occurred_at", "s.buying_team_touch_days")}))"""
    quiet_count = f"(SELECT COUNT(*) {quiet})"
    return [
        (FlagKind.SINGLE_THREADED, f"{engaged} = 1", "'one engaged contact'", "NULL"),
        (
            FlagKind.ROLE_MISSING,
            f"EXISTS (SELECT 1 {missing_roles})",
            "'no ' || " + d.joined_distinct(label, missing_roles),
            "NULL",
        ),
        (
            FlagKind.MEMBER_NOT_CONTACTED,
            f"s.buying_team_touch_days > 0 AND EXISTS (SELECT 1 {quiet})",
            _counted(quiet_count, "member", "members")
            + " || ' not contacted in ' || CAST(s.buying_team_touch_days AS TEXT) || ' days'",
            "NULL",
        ),
    ]


def _flag_kinds(d) -> list[tuple[str, str, str, str]]:
    """(kind, condition, detail, since) of each flag, as SQL over `o` (an open deal), `s` (its
    stage) and `ns` (its next step, NULL when it has none)."""
    today = "%(today)s"
    last_touch = _last_touch(d)
    close_passed = f"o.expected_close_date < {today}"
    pushed_over = "o.close_date_push_count > s.slip_push_limit"
    passed_text = f"'close date ' || {d.date_text('o.expected_close_date')} || ' passed'"
    pushed_text = "'pushed ' || " + _counted("o.close_date_push_count", "time", "times")
    return [
        (FlagKind.IDLE, d.older_than(last_touch, "s.idle_after_days"), "''", last_touch),
        (
            FlagKind.STUCK,
            d.older_than("o.stage_entered_at", "s.stuck_after_days"),
            "'in ' || s.name || ' (limit ' || CAST(s.stuck_after_days AS TEXT) || ')'",
            "o.stage_entered_at",
        ),
        (FlagKind.NO_NEXT_STEP, "o.next_step_id IS NULL", "'no next step'", "NULL"),
        (
            FlagKind.NEXT_STEP_OVERDUE,
            f"ns.due_date < {today}",
            f"'due ' || {d.date_text('ns.due_date')}",
            d.utc_midnight("ns.due_date"),
        ),
        (
            FlagKind.CLOSE_DATE_SLIPPED,
            f"({close_passed} OR {pushed_over})",
            f"CASE WHEN {close_passed} AND {pushed_over} THEN {passed_text} || '; ' || {pushed_text}"
            f" WHEN {close_passed} THEN {passed_text} ELSE {pushed_text} END",
            "NULL",
        ),
        *_coverage_kinds(d),
    ]


def explanation_sql(flag: str, connection=None) -> str:
    """SQL for `Flag.explain()` at %(now)s / %(today)s, over a row `flag` with kind, detail and since."""
    d = dialect(connection)
    days = _counted(d.whole_days_since(f"{flag}.since"), "day", "days")
    overdue = _counted(d.days_before_today(d.utc_date(f"{flag}.since")), "day", "days")
    return f"""CASE WHEN {flag}.since IS NULL THEN {flag}.detail
         WHEN {flag}.kind = '{FlagKind.IDLE.value}' THEN 'idle ' || {days}
         WHEN {flag}.kind = '{FlagKind.NEXT_STEP_OVERDUE.value}'
              THEN 'next step ' || {overdue} || ' overdue (' || {flag}.detail || ')'
         ELSE {days} || ' ' || {flag}.detail END"""


def _definition(d, only: str) -> str:
    kinds = _flag_kinds(d)
    each_kind = " UNION ALL ".join(f"SELECT '{kind.value}' AS kind" for kind, _, _, _ in kinds)
    condition = " ".join(f"WHEN '{kind.value}' THEN {sql}" for kind, sql, _, _ in kinds)
    detail = " ".join(f"WHEN '{kind.value}' THEN {sql}" for kind, _, sql, _ in kinds)
    since = " ".join(f"WHEN '{kind.value}' THEN {sql}" for kind, _, _, sql in kinds)
    return f"""
SELECT o.id AS opportunity_id, k.kind, CASE k.kind {detail} END AS detail, CASE k.kind {since} END AS since
  FROM {Opportunity._meta.db_table} o
  JOIN {Stage._meta.db_table} s ON s.id = o.stage_id
  LEFT JOIN {NextStep._meta.db_table} ns ON ns.id = o.next_step_id AND ns.completed_at IS NULL
 CROSS JOIN ({each_kind}) k
 WHERE o.status = '{OpportunityStatus.OPEN.value}' {only}
   AND CASE k.kind {condition} END
"""


def expected_open_flags_sql(
    *,
    now: dt.datetime | None = None,
    opportunity_id: int | None = None,
    among: str | None = None,
    connection=None,
) -> tuple[str, dict]:
    """The SQL (and its parameters) of every flag that should be open at `now`.

    Rows: (opportunity_id, kind, detail, since). With `opportunity_id`, only that deal's; with
    `among`, the name of a table of deal ids (column `opportunity_id`), only those deals' (the
    incremental sweep's candidates). Run it with `cursor.execute(sql, params)` on the same
    connection; it only reads.

    One pass over the open deals, each paired with the five kinds and kept where the kind's
    condition holds; the detail is only worded for the rows kept. On PostgreSQL the deal columns
    come from the covering index `opportunity_open_health_idx` and the next steps' due dates from
    `nextstep_open_due_idx` (migration pipeline 0007), index-only. Only the deal's step that is
    still open counts: completing a step clears `next_step`, so the two agree; saying so lets the
    partial index serve the join.
    """
    now = now or timezone.now()
    only = ""
    if opportunity_id is not None:
        only = "AND o.id = %(opportunity_id)s"
    elif among is not None:
        only = f"AND o.id IN (SELECT opportunity_id FROM {among})"
    extra = {"opportunity_id": opportunity_id} if opportunity_id is not None else {}
    return _definition(dialect(connection), only), sql_params(now=now, connection=connection, **extra)


def crossed_thresholds_sql(connection=None) -> str:
    """The ids of the deals for which the passing of time alone, from `%(previous)s` to `%(now)s`
    (`%(previous_today)s` to `%(today)s` for the dates), may have changed what the definition
    says of them (parameters: `sql_params(now=…, previous=…)`).

    The time-based conditions only ever turn true as time passes ("more than N days ago",
    "before today"), and the one detail that moves with time, the number of members not
    contacted, moves only when such a condition turns true for a member. So a deal whose own
    rows and whose configuration did not change needs evaluating again only when one of these
    fell in between, against its current stage's thresholds:

    * idle: its last touch, in [previous − idle days, now − idle days);
    * stuck: its stage entry, likewise with the stuck days;
    * close date slipped: its expected close date, in [previous today, today);
    * next step overdue: its open next step's due date, likewise;
    * member not contacted: a member's `added_at`, or the moment of one of its activities with
      contacts, in [previous − touch days, now − touch days).

    One statement. On PostgreSQL the first part reads the open deals' covering index
    (`opportunity_open_health_idx`, index-only); the others are ranges of the indexes on the
    next steps' due dates, the members' `added_at` and the activities' `occurred_at`. The last two
    are written once per distinct number of touch days among the stages (read here through the
    ORM; usually one or two), with that number in the SQL: a range whose bounds come from a join
    to the stages is one the planner cannot size, and it then reads every member and every
    activity rather than a few index entries. Deals may appear that turn out to need nothing: it
    is a superset, which the definition then judges.
    """
    d = dialect(connection)
    deals, stages = Opportunity._meta.db_table, Stage._meta.db_table
    team, activities = BuyingTeamMember._meta.db_table, Activity._meta.db_table
    activity_contacts = Activity.contacts.through._meta.db_table
    is_open = f"o.status = '{OpportunityStatus.OPEN.value}'"
    # Each stage's windows, computed once per stage rather than once per deal.
    windows = ", ".join(
        f"{d.days_before(moment, f's.{threshold}')} AS {name}"
        for name, moment, threshold in (
            ("idle_since", "previous", "idle_after_days"),
            ("idle_until", "now", "idle_after_days"),
            ("stuck_since", "previous", "stuck_after_days"),
            ("stuck_until", "now", "stuck_after_days"),
        )
    )
    parts = [
        f"""
SELECT o.id AS opportunity_id
  FROM {deals} o JOIN w ON w.stage_id = o.stage_id
 WHERE {is_open}
   AND (({_crossed(d, _last_touch(d), "w.idle_since", "w.idle_until")})
        OR ({_crossed(d, "o.stage_entered_at", "w.stuck_since", "w.stuck_until")})
        OR ({_date_crossed("o.expected_close_date")}))""",
        f"""
SELECT ns.opportunity_id FROM {NextStep._meta.db_table} ns
 WHERE ns.completed_at IS NULL AND {_date_crossed("ns.due_date")}""",
    ]
    touch_days = (
        Stage.objects.using((connection or default_connection).alias)
        .filter(buying_team_touch_days__gt=0)
        .order_by("buying_team_touch_days")
        .values_list("buying_team_touch_days", flat=True)
        .distinct()
    )
    for days in map(int, touch_days):
        since, until = d.days_before("previous", str(days)), d.days_before("now", str(days))
        parts += [
            f"""
SELECT o.id FROM {team} b
  JOIN {deals} o ON o.id = b.opportunity_id
  JOIN {stages} s ON s.id = o.stage_id AND s.buying_team_touch_days = {days}
 WHERE {_crossed(d, "b.added_at", since, until)} AND {is_open}""",
            f"""
SELECT o.id FROM {activities} a
  JOIN {deals} o ON o.id = a.opportunity_id
  JOIN {stages} s ON s.id = o.stage_id AND s.buying_team_touch_days = {days}
 WHERE a.opportunity_id IS NOT NULL AND {_crossed(d, "a.occurred_at", since, until)} AND {is_open}
   AND EXISTS (SELECT 1 FROM {activity_contacts} ac WHERE ac.activity_id = a.id)""",
        ]
    return f"WITH w AS MATERIALIZED (SELECT s.id AS stage_id, {windows} FROM {stages} s)" + "\nUNION".join(parts) + "\n"


def _crossed(d, instant: str, since: str, until: str) -> str:
    """`instant` fell in [since, until): it was not "more than N days ago" at the previous sweep and
    is now, `since` and `until` being those two moments minus the N days (`d.days_before`). On
    PostgreSQL the bounds are on the bare column, so that a range of an index on it serves them."""
    moment = d.instant(instant)
    return f"{moment} >= {since} AND {moment} < {until}"


def _date_crossed(date: str) -> str:
    return f"{date} >= %(previous_today)s AND {date} < %(today)s"


def config_fingerprint(connection=None) -> str:
    """A hash of what the definition reads besides the deals' own rows and the clock: each stage's
    name, place (process and order) and thresholds, the required buying roles, the time zone that
    says what "today" is, and the definition's SQL itself, which a release may change. While it
    stays the same, a deal whose rows did not change is judged by the same rules as at the
    previous sweep; when it differs, every open deal must be judged again. A few small tables,
    read through the ORM."""
    stages = Stage.objects.order_by("pk").values_list(
        "pk",
        "process_id",
        "order",
        "name",
        "idle_after_days",
        "stuck_after_days",
        "slip_push_limit",
        "buying_team_touch_days",
    )
    requirements = StageRoleRequirement.objects.order_by("pk").values_list("pk", "stage_id", "role", "enforcement")
    text = repr((list(stages), list(requirements), settings.TIME_ZONE, _definition(dialect(connection), "")))
    return hashlib.sha256(text.encode()).hexdigest()


def expected_open_flags(*, now: dt.datetime | None = None, connection=None) -> set[tuple]:
    """Run the definition: {(opportunity_id, kind, detail, since)} that should be open at `now`."""
    conn = connection or default_connection
    sql, params = expected_open_flags_sql(now=now, connection=conn)
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return {_comparable(row) for row in cursor.fetchall()}


def actual_open_flags(*, connection=None) -> set[tuple]:
    """What the flag table holds: {(opportunity_id, kind, detail, since)} of every open flag."""
    conn = connection or default_connection
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT opportunity_id, kind, detail, since FROM {Flag._meta.db_table} WHERE resolved_at IS NULL"
        )
        return {_comparable(row) for row in cursor.fetchall()}


def plan_for_all_deals(cursor) -> None:
    """Before running the definition over every deal, inside a transaction (PostgreSQL; nothing
    elsewhere): let the planner hand the scan to parallel workers. It cannot know how few of the
    five kinds hold per deal and expects about four times the rows there are; with the default
    cost per row a Gather hands back, that makes a serial plan look cheaper, and the serial plan
    is the slower one at scale (bench/README.md). Only for this transaction (SET LOCAL)."""
    if cursor.db.vendor == "postgresql":
        cursor.execute("SET LOCAL parallel_tuple_cost = 0.01")


def _comparable(row) -> tuple:
    """A flag row with `since` as an aware datetime: SQLite hands back text from an expression
    and a naive UTC datetime from a column (PostgreSQL, an aware datetime from both)."""
    opportunity_id, kind, detail, since = row
    if isinstance(since, str):
        since = parse_datetime(since)
    if since is not None and timezone.is_naive(since):
        since = since.replace(tzinfo=dt.UTC)
    return (opportunity_id, kind, detail, since)
