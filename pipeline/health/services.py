"""Writes of pipeline health: the sweep that opens and resolves flags and notifies people, and the
re-evaluation of one deal's flags when it changes."""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from . import definition as health

logger = logging.getLogger(__name__)


# --- pipeline health: flags and notifications ------------------------------------------------------
#
# Which flags should be open is defined once, in `health.expected_open_flags_sql()`. The sweep
# makes the flag table agree with it in a fixed number of set-based statements, whatever the
# number of deals: no per-deal loop, no save(), no task per deal.

# Any constant works; it only has to be the same for every process that sweeps.
SWEEP_LOCK_KEY = 0x4C6F636B53776570  # "LockSwep"


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did. Counts are by flag kind; kinds with nothing to report are left out."""

    now: dt.datetime
    opened: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    details_refreshed: int = 0
    notified: int = 0
    # True when another sweep held the lock, so this one did nothing at all.
    skipped: bool = False

    @property
    def changed(self) -> bool:
        """Whether the sweep opened, resolved or sent anything (refreshed details don't count:
        "idle 23 days" becoming "idle 24 days" is the same flag, not news)."""
        return bool(self.opened or self.resolved or self.notified)

    def as_dict(self) -> dict:
        """JSON-safe, for the task's return value and logs."""
        return {
            "now": self.now.isoformat(),
            "opened": self.opened,
            "resolved": self.resolved,
            "details_refreshed": self.details_refreshed,
            "notified": self.notified,
            "skipped": self.skipped,
        }


def _by_kind(rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (kind,) in rows:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _take_sweep_lock(cursor) -> bool:
    """On PostgreSQL, one sweep at a time: a second one started meanwhile (two beats, a manual
    run during the scheduled one) returns at once instead of waiting to redo the same work. The
    lock is released when the transaction ends, however it ends. SQLite needs no lock: its
    IMMEDIATE transactions already run writers one after the other, and the second then finds
    nothing left to do."""
    if cursor.db.vendor != "postgresql":
        return True
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SWEEP_LOCK_KEY])
    return bool(cursor.fetchone()[0])


def _deal_url_parts() -> tuple[str, str]:
    marker = 987654321
    prefix, suffix = reverse("opportunities:detail", args=[marker]).split(str(marker))
    return prefix, suffix


def _skip_locked(vendor: str, opportunity_id_param: str) -> str:
    """Restrict an UPDATE of one deal's open flags to the rows nobody else holds (PostgreSQL).

    A user action resolves flags inside its own transaction, which already holds the deal's row
    lock; if a running sweep holds one of those flag rows, waiting for it could deadlock (the
    sweep's inserts wait for the deal's row). Skipping is safe: the sweep then settles that flag
    itself, now or at its next run.
    """
    if vendor != "postgresql":
        return ""
    return (
        "AND pipeline_flag.id IN (SELECT id FROM pipeline_flag WHERE opportunity_id = "
        f"{opportunity_id_param} AND resolved_at IS NULL FOR UPDATE SKIP LOCKED)"
    )


# One deal's re-evaluation (`flags_reevaluate`) compares the expected set with the flag table
# through EXCEPT, never through a correlated NOT EXISTS: a set operation reads both sides once
# (hash or sort) whatever the planner believes about table sizes. `only` restricts the flag side
# to one deal; `lock` is `_skip_locked`'s clause. They end in RETURNING and are counted by their
# rows: Python's sqlite3 reports no rowcount for a statement that starts with WITH.


def _resolve_sql(expected: str, only: str = "", lock: str = "") -> str:
    return f"""
WITH expected AS ({expected}),
gone AS (
    SELECT opportunity_id, kind FROM pipeline_flag WHERE resolved_at IS NULL {only}
    EXCEPT
    SELECT opportunity_id, kind FROM expected
)
UPDATE pipeline_flag SET resolved_at = %(now)s
  FROM gone
 WHERE pipeline_flag.resolved_at IS NULL {only} {lock}
   AND pipeline_flag.opportunity_id = gone.opportunity_id AND pipeline_flag.kind = gone.kind
RETURNING pipeline_flag.kind"""


def _refresh_sql(expected: str, only: str = "", lock: str = "") -> str:
    return f"""
WITH expected AS ({expected}),
changed AS (
    SELECT opportunity_id, kind, detail, since FROM expected
    EXCEPT
    SELECT opportunity_id, kind, detail, since FROM pipeline_flag WHERE resolved_at IS NULL {only}
)
UPDATE pipeline_flag SET detail = changed.detail, since = changed.since
  FROM changed
 WHERE pipeline_flag.resolved_at IS NULL {only} {lock}
   AND pipeline_flag.opportunity_id = changed.opportunity_id AND pipeline_flag.kind = changed.kind
RETURNING pipeline_flag.kind"""


# The sweep computes the definition once, in the statement that compares it with the open flags,
# and keeps only the differences, in a temporary table: one row per flag to open (flag_id NULL),
# to resolve (opportunity_id NULL) or to reword (both set: its detail or since changed, which
# the passing of time alone never does). When nothing changed it is empty and
# the statements after it cost next to nothing. On PostgreSQL a full outer join of the two sets,
# hashed, reads each once; its SELECT may run in parallel workers (a CREATE TABLE AS may, an
# UPDATE or INSERT may not), and the definition is what parallelism pays for. SQLite's embedded
# default is small, and older SQLite lacks FULL JOIN: there, two left joins.
_DIFF_TABLE = "pipeline_sweep_diff"

_OPEN_FLAGS = "SELECT id, opportunity_id, kind, detail, since FROM pipeline_flag WHERE resolved_at IS NULL"


def _diff_sql(expected: str, vendor: str) -> str:
    if vendor == "postgresql":
        return f"""
CREATE TEMPORARY TABLE {_DIFF_TABLE} ON COMMIT DROP AS
SELECT f.id AS flag_id, e.opportunity_id, e.kind, e.detail, e.since
  FROM ({expected}) e
  FULL JOIN ({_OPEN_FLAGS}) f ON f.opportunity_id = e.opportunity_id AND f.kind = e.kind
 WHERE f.id IS NULL OR e.opportunity_id IS NULL OR f.detail <> e.detail OR f.since IS DISTINCT FROM e.since"""
    return f"""
CREATE TEMPORARY TABLE {_DIFF_TABLE} AS
WITH e AS MATERIALIZED ({expected}), f AS ({_OPEN_FLAGS})
SELECT f.id AS flag_id, e.opportunity_id, e.kind, e.detail, e.since
  FROM e LEFT JOIN f ON f.opportunity_id = e.opportunity_id AND f.kind = e.kind
 WHERE f.id IS NULL OR f.detail <> e.detail OR f.since IS NOT e.since
UNION ALL
SELECT f.id, NULL, NULL, NULL, NULL
  FROM f LEFT JOIN e ON e.opportunity_id = f.opportunity_id AND e.kind = f.kind
 WHERE e.opportunity_id IS NULL"""


# `resolved_at IS NULL` again in the updates: a user action may have resolved the flag since the
# comparison (on PostgreSQL the UPDATE re-checks a row changed meanwhile and then skips it).
_RESOLVE_SQL = f"""
UPDATE pipeline_flag SET resolved_at = %(now)s
  FROM {_DIFF_TABLE} d
 WHERE d.opportunity_id IS NULL AND pipeline_flag.id = d.flag_id AND pipeline_flag.resolved_at IS NULL
RETURNING pipeline_flag.kind"""

_REFRESH_SQL = f"""
UPDATE pipeline_flag SET detail = d.detail, since = d.since
  FROM {_DIFF_TABLE} d
 WHERE d.flag_id IS NOT NULL AND d.opportunity_id IS NOT NULL
   AND pipeline_flag.id = d.flag_id AND pipeline_flag.resolved_at IS NULL
RETURNING pipeline_flag.kind"""

# A plain INSERT, without ON CONFLICT: only the sweep opens flags (user actions only resolve
# them) and sweeps run one at a time (the advisory lock on PostgreSQL, IMMEDIATE transactions on
# SQLite), so a flag to open cannot meet an open one; were it to happen, the partial unique index
# one_open_flag_per_kind fails the sweep, which rolls back whole, rather than skip it quietly.
# (ON CONFLICT DO NOTHING, a speculative insertion per row, made opening and notifying the flags
# of a million deals half as slow again.)
_OPEN_SQL = f"""
INSERT INTO pipeline_flag (opportunity_id, kind, detail, since, opened_at, resolved_at)
SELECT opportunity_id, kind, detail, since, %(now)s, NULL FROM {_DIFF_TABLE} WHERE flag_id IS NULL
RETURNING kind"""


# The flags this sweep opened are the open ones of the differences without a flag_id. Recipients:
# the deal's owner and the managers of the owner's team, if active; one notification per person
# and flag. The flags are new, so no notification can exist for them yet: a plain INSERT, with the
# unique constraint as the guard. Every join is to an index or to the small team-managers table:
# nothing re-reads a table per row. (The WITH comes after INSERT so that Python's sqlite3 reports
# the row count, which it does not for a statement that starts with WITH.) The message words the
# flag as `Flag.explain` does at the sweep's now.
def _notify_sql(connection) -> str:
    return f"""
INSERT INTO pipeline_notification (user_id, flag_id, message, url, created_at, read_at)
WITH opened AS (
    SELECT f.id, {health.explanation_sql("f", connection)} AS detail,
           o.id AS opportunity_id, o.name, o.owner_id, ow.team_id
      FROM {_DIFF_TABLE} d
      JOIN pipeline_flag f
        ON f.opportunity_id = d.opportunity_id AND f.kind = d.kind AND f.resolved_at IS NULL
      JOIN opportunities_opportunity o ON o.id = d.opportunity_id
      JOIN pipeline_user ow ON ow.id = o.owner_id
     WHERE d.flag_id IS NULL
), recipients AS (
    SELECT op.id AS flag_id, op.owner_id AS user_id, op.opportunity_id, op.name, op.detail FROM opened op
    UNION ALL
    SELECT op.id, tm.user_id, op.opportunity_id, op.name, op.detail
      FROM opened op JOIN pipeline_team_managers tm ON tm.team_id = op.team_id
     WHERE tm.user_id <> op.owner_id
)
SELECT r.user_id, r.flag_id, SUBSTR(r.name || ': ' || r.detail, 1, 300),
       %(url_prefix)s || CAST(r.opportunity_id AS TEXT) || %(url_suffix)s, %(now)s, NULL
  FROM recipients r
  JOIN pipeline_user u ON u.id = r.user_id
 WHERE u.is_active"""


@transaction.atomic
def pipeline_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Make the open flags agree with `health.expected_open_flags_sql()` at `now`, and notify
    people of the flags it opened.

    One transaction, at most eight statements whatever the size of the pipeline: take the lock and
    plan for parallel workers (PostgreSQL), compare the expected flags with the open ones into a
    temporary table of the differences, resolve, reword, open, notify, drop the table.
    Idempotent: run again at the same moment, it opens, resolves and sends nothing. Killed
    half-way, the transaction rolls back (temporary table included) and the next sweep does the
    whole job.

    It does not count the flags left open (`Flag.objects.open().counts_by_kind()` does, for the
    command that prints them): the beat has no use for the figure, and counting them is a
    noticeable share of a large sweep (bench/README.md).
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        if not _take_sweep_lock(cursor):
            return SweepResult(now=now, skipped=True)
        health.plan_for_all_deals(cursor)
        definition, params = health.expected_open_flags_sql(now=now)
        prefix, suffix = _deal_url_parts()
        params.update(url_prefix=prefix, url_suffix=suffix)
        cursor.execute(_diff_sql(definition, cursor.db.vendor), params)

        cursor.execute(_RESOLVE_SQL, params)
        resolved = _by_kind(cursor.fetchall())
        cursor.execute(_REFRESH_SQL, params)
        refreshed = len(cursor.fetchall())
        cursor.execute(_OPEN_SQL, params)
        opened = _by_kind(cursor.fetchall())
        notified = 0
        if opened:
            cursor.execute(_notify_sql(cursor.db), params)
            notified = cursor.rowcount
        cursor.execute(f"DROP TABLE {_DIFF_TABLE}")
    result = SweepResult(now=now, opened=opened, resolved=resolved, details_refreshed=refreshed, notified=notified)
    if result.changed:
        logger.info("pipeline sweep: %s", result.as_dict())
    return result


@transaction.atomic
def flags_reevaluate(*, opportunity_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Resolve the open flags of one deal whose condition no longer holds, and bring the details
    of the others up to date: the sweep's logic restricted to that deal. Returns the resolved
    counts by kind.

    It never opens flags (see `pipeline.signals`). Two statements, run inside the caller's
    transaction when called from a user action.
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        vendor = cursor.db.vendor
        expected, params = health.expected_open_flags_sql(now=now, opportunity_id=opportunity_id)
        only = "AND pipeline_flag.opportunity_id = %(opportunity_id)s"
        lock = _skip_locked(vendor, "%(opportunity_id)s")
        cursor.execute(_resolve_sql(expected, only, lock), params)
        resolved = _by_kind(cursor.fetchall())
        cursor.execute(_refresh_sql(expected, only, lock), params)
        cursor.fetchall()
    return resolved
