"""Pipeline health: which flags *should* be open, defined once, in hand-written SQL.

`expected_open_flags_sql()` is the definition. The sweep (`services.pipeline_sweep`) and the
immediate re-evaluation after a user action (`services.flags_reevaluate`) both run it, and tests
and benchmarks compare the `pipeline_flag` table against it. It returns one row
(opportunity_id, kind, detail) per flag that ought to be open at `now`:

* **idle** — open, and the deal's last touch (the latest of `updated_at`, `last_activity_at` and
  `stage_entered_at`) is more than `stage.idle_after_days` days before `now`;
* **stuck** — open, and `stage_entered_at` is more than `stage.stuck_after_days` days before `now`;
* **no_next_step** — open, and `next_step_id` is null;
* **next_step_overdue** — open, and its next step (still open) has a `due_date` before today;
* **close_date_slipped** — open, and `expected_close_date` is before today, or
  `close_date_push_count` is more than `stage.slip_push_limit`.

Boundaries: "more than N days" is strict. A deal touched exactly N days ago is not yet idle; one
touched N days and one second (on SQLite: one millisecond) ago is. Dates compare with *today*,
the installation's local date of `now` (`TIME_ZONE`): a next step due today is not overdue, a
close date of today has not slipped. A day is 24 hours: the database connection works in UTC.

`detail` explains the flag in words relative to `now` ("idle 23 days"); it changes as time
passes, which is why the sweep refreshes the detail of flags that stay open.

Date arithmetic is the one thing PostgreSQL and SQLite spell differently, so the SQL is written
through the two tiny dialects below. On SQLite, Django stores datetimes as text in more than one
shape (with and without microseconds), so instants are compared as whole milliseconds
(`julianday() * 86400000`, rounded), never as strings.
"""

import datetime as dt

from django.db import connection as default_connection
from django.utils import timezone

from opportunities.models import OpportunityStatus

from .models import FlagKind

MS_PER_DAY = 86_400_000


class _Postgres:
    now = "CAST(%(now)s AS timestamptz)"

    def older_than(self, instant: str, days: str) -> str:
        return f"{instant} < {self.now} - {days} * INTERVAL '24 hours'"

    def whole_days_since(self, instant: str) -> str:
        # The difference of two instants comes back justified into days and hours (50 hours is
        # "2 days 02:00"), so its day field is the whole days. date_part() answers in a double,
        # where EXTRACT() computes in numeric: a fifth of the definition's time at a million deals.
        return f"CAST(date_part('day', {self.now} - {instant}) AS INTEGER)"

    def days_before_today(self, date: str) -> str:
        return f"(CAST(%(today)s AS date) - {date})"

    def date_text(self, date: str) -> str:
        return f"to_char({date}, 'YYYY-MM-DD')"

    def latest(self, *instants: str) -> str:
        return f"GREATEST({', '.join(instants)})"


class _SQLite:
    @staticmethod
    def _ms(instant: str) -> str:
        return f"CAST(ROUND(julianday({instant}) * 86400000.0) AS INTEGER)"

    def older_than(self, instant: str, days: str) -> str:
        return f"{self._ms(instant)} < {self._ms('%(now)s')} - {days} * {MS_PER_DAY}"

    def whole_days_since(self, instant: str) -> str:
        return f"(({self._ms('%(now)s')} - {self._ms(instant)}) / {MS_PER_DAY})"

    def days_before_today(self, date: str) -> str:
        return f"CAST(julianday(%(today)s) - julianday({date}) AS INTEGER)"

    def date_text(self, date: str) -> str:
        return date  # stored as ISO text already

    def latest(self, *instants: str) -> str:
        # Multi-argument MAX() is SQLite's GREATEST; callers pass no NULLs.
        return f"MAX({', '.join(instants)})"


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


def sql_params(*, now: dt.datetime, connection=None, **extra) -> dict:
    """The parameters every health statement takes, adapted for the connection's database."""
    ops = (connection or default_connection).ops
    return {
        "now": ops.adapt_datetimefield_value(now),
        "today": ops.adapt_datefield_value(timezone.localdate(now)),
        **extra,
    }


def _flag_kinds(d) -> list[tuple[str, str, str]]:
    """(kind, condition, detail) of each flag, as SQL over `o` (an open deal), `s` (its stage) and
    `ns` (its next step, NULL when it has none)."""
    today = "%(today)s"
    last_touch = d.latest("o.updated_at", "o.stage_entered_at", "COALESCE(o.last_activity_at, o.updated_at)")
    idle_days = d.whole_days_since(last_touch)
    stage_days = d.whole_days_since("o.stage_entered_at")
    overdue_days = d.days_before_today("ns.due_date")
    close_passed = f"o.expected_close_date < {today}"
    pushed_over = "o.close_date_push_count > s.slip_push_limit"
    passed_text = f"'close date ' || {d.date_text('o.expected_close_date')} || ' passed'"
    pushed_text = "'pushed ' || " + _counted("o.close_date_push_count", "time", "times")
    return [
        (
            FlagKind.IDLE,
            d.older_than(last_touch, "s.idle_after_days"),
            "'idle ' || " + _counted(idle_days, "day", "days"),
        ),
        (
            FlagKind.STUCK,
            d.older_than("o.stage_entered_at", "s.stuck_after_days"),
            f"{_counted(stage_days, 'day', 'days')} || ' in ' || s.name"
            " || ' (limit ' || CAST(s.stuck_after_days AS TEXT) || ')'",
        ),
        (FlagKind.NO_NEXT_STEP, "o.next_step_id IS NULL", "'no next step'"),
        (
            FlagKind.NEXT_STEP_OVERDUE,
            f"ns.due_date < {today}",
            f"'next step ' || {_counted(overdue_days, 'day', 'days')} || ' overdue (due '"
            f" || {d.date_text('ns.due_date')} || ')'",
        ),
        (
            FlagKind.CLOSE_DATE_SLIPPED,
            f"({close_passed} OR {pushed_over})",
            f"CASE WHEN {close_passed} AND {pushed_over} THEN {passed_text} || '; ' || {pushed_text}"
            f" WHEN {close_passed} THEN {passed_text} ELSE {pushed_text} END",
        ),
    ]


def expected_open_flags_sql(
    *, now: dt.datetime | None = None, opportunity_id: int | None = None, connection=None
) -> tuple[str, dict]:
    """The SQL (and its parameters) of every flag that should be open at `now`.

    Rows: (opportunity_id, kind, detail). With `opportunity_id`, only that deal's. Run it with
    `cursor.execute(sql, params)` on the same connection; it only reads.

    One pass over the open deals, each paired with the five kinds and kept where the kind's
    condition holds; the detail is only worded for the rows kept. On PostgreSQL the deal columns
    come from the covering index `opportunity_open_health_idx` and the next steps' due dates from
    `nextstep_open_due_idx` (migration pipeline 0007), index-only. Only the deal's step that is
    still open counts: completing a step clears `next_step`, so the two agree; saying so lets the
    partial index serve the join.
    """
    now = now or timezone.now()
    d = dialect(connection)
    kinds = _flag_kinds(d)
    only = "AND o.id = %(opportunity_id)s" if opportunity_id is not None else ""
    each_kind = " UNION ALL ".join(f"SELECT '{kind.value}' AS kind" for kind, _, _ in kinds)
    condition = " ".join(f"WHEN '{kind.value}' THEN {sql}" for kind, sql, _ in kinds)
    detail = " ".join(f"WHEN '{kind.value}' THEN {sql}" for kind, _, sql in kinds)
    sql = f"""
SELECT o.id AS opportunity_id, k.kind, CASE k.kind {detail} END AS detail
  FROM opportunities_opportunity o
  JOIN stages_stage s ON s.id = o.stage_id
  LEFT JOIN opportunities_nextstep ns ON ns.id = o.next_step_id AND ns.completed_at IS NULL
 CROSS JOIN ({each_kind}) k
 WHERE o.status = '{OpportunityStatus.OPEN.value}' {only}
   AND CASE k.kind {condition} END
"""
    extra = {"opportunity_id": opportunity_id} if opportunity_id is not None else {}
    return sql, sql_params(now=now, connection=connection, **extra)


def expected_open_flags(*, now: dt.datetime | None = None, connection=None) -> set[tuple[int, str, str]]:
    """Run the definition: {(opportunity_id, kind, detail)} that should be open at `now`."""
    conn = connection or default_connection
    sql, params = expected_open_flags_sql(now=now, connection=conn)
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return {tuple(row) for row in cursor.fetchall()}


def actual_open_flags(*, connection=None) -> set[tuple[int, str, str]]:
    """What the flag table holds: {(opportunity_id, kind, detail)} of every open flag."""
    conn = connection or default_connection
    with conn.cursor() as cursor:
        cursor.execute("SELECT opportunity_id, kind, detail FROM pipeline_flag WHERE resolved_at IS NULL")
        return {tuple(row) for row in cursor.fetchall()}
