"""The pipeline's hand-written SQL: only the statements whose plan the ORM cannot express.

Everything else the pipeline reads and writes goes through the ORM. Each statement here is a
named constant or function with named parameters (`%(name)s`) and table names taken from the
models' `_meta`, and a test checks its result against an ORM or Python computation over the same
rows (tests/pipeline/test_sql.py, and the sweep's tests in tests/pipeline/test_health.py).

The sections follow the features (pipeline health, the dashboard), so that each can move with
its feature.

SQLite: the statements need SQLite 3.35 or later (RETURNING and `AS MATERIALIZED` arrived in
3.35, UPDATE … FROM in 3.33, window functions in 3.25). `pipeline.apps` checks the version at
start-up (`MIN_SQLITE_VERSION`).
"""

import re

from opportunities.models import EventVerb, MilestoneCompletion, Opportunity, OpportunityEvent
from stages.models import Stage

from .models import Flag, Notification, Team, User

MIN_SQLITE_VERSION = (3, 35, 0)

COMPLETIONS = MilestoneCompletion._meta.db_table
EVENTS = OpportunityEvent._meta.db_table
FLAGS = Flag._meta.db_table
NOTIFICATIONS = Notification._meta.db_table
OPPORTUNITIES = Opportunity._meta.db_table
STAGES = Stage._meta.db_table
TEAM_MANAGERS = Team.managers.through._meta.db_table
USERS = User._meta.db_table

_POSITIONAL = re.compile(r"(?<!%)%s")


def named(sql: str, params, prefix: str) -> tuple[str, dict]:
    """A compiled queryset's SQL (positional `%s` parameters) with its parameters renamed
    `%(<prefix>_<n>)s`, so that it can be embedded in a statement with named parameters."""
    values = list(params)
    names = iter(range(len(values)))
    renamed = _POSITIONAL.sub(lambda _: f"%({prefix}_{next(names)})s", sql)
    return renamed, {f"{prefix}_{i}": value for i, value in enumerate(values)}


# === Pipeline health: the sweep =====================================================================
#
# Which flags should be open is defined once, in `health.expected_open_flags_sql()`. The sweep
# (`services.pipeline_sweep`) makes the flag table agree with it in a fixed number of set-based
# statements under one lock, whatever the number of deals: the ORM has no FULL JOIN, no
# UPDATE … FROM a set difference and no INSERT … SELECT … RETURNING, which is what keeps the work
# to the differences.

# Any constant works; it only has to be the same for every process that sweeps.
SWEEP_LOCK_KEY = 0x4C6F636B53776570  # "LockSwep"

# One sweep at a time on PostgreSQL; released when the transaction ends, however it ends.
SWEEP_LOCK_SQL = "SELECT pg_try_advisory_xact_lock(%(key)s)"


def skip_locked(vendor: str) -> str:
    """Restrict an UPDATE of one deal's open flags (`%(opportunity_id)s`) to the rows nobody else
    holds (PostgreSQL).

    A user action resolves flags inside its own transaction, which already holds the deal's row
    lock; if a running sweep holds one of those flag rows, waiting for it could deadlock (the
    sweep's inserts wait for the deal's row). Skipping is safe: the sweep then settles that flag
    itself, now or at its next run.
    """
    if vendor != "postgresql":
        return ""
    return (
        f"AND {FLAGS}.id IN (SELECT id FROM {FLAGS} WHERE opportunity_id = "
        "%(opportunity_id)s AND resolved_at IS NULL FOR UPDATE SKIP LOCKED)"
    )


# One deal's re-evaluation (`flags_reevaluate`) compares the expected set with the flag table
# through EXCEPT, never through a correlated NOT EXISTS: a set operation reads both sides once
# (hash or sort) whatever the planner believes about table sizes. `only` restricts the flag side
# to one deal; `lock` is `skip_locked`'s clause. They end in RETURNING and are counted by their
# rows: Python's sqlite3 reports no rowcount for a statement that starts with WITH.

ONE_DEAL = f"AND {FLAGS}.opportunity_id = %(opportunity_id)s"


def resolve_gone_sql(expected: str, only: str = "", lock: str = "") -> str:
    """Resolve (at `%(now)s`) the open flags that `expected` no longer holds; returns their kinds."""
    return f"""
WITH expected AS ({expected}),
gone AS (
    SELECT opportunity_id, kind FROM {FLAGS} WHERE resolved_at IS NULL {only}
    EXCEPT
    SELECT opportunity_id, kind FROM expected
)
UPDATE {FLAGS} SET resolved_at = %(now)s
  FROM gone
 WHERE {FLAGS}.resolved_at IS NULL {only} {lock}
   AND {FLAGS}.opportunity_id = gone.opportunity_id AND {FLAGS}.kind = gone.kind
RETURNING {FLAGS}.kind"""


def refresh_changed_sql(expected: str, only: str = "", lock: str = "") -> str:
    """Bring the detail and since of the open flags up to `expected`; returns their kinds."""
    return f"""
WITH expected AS ({expected}),
changed AS (
    SELECT opportunity_id, kind, detail, since FROM expected
    EXCEPT
    SELECT opportunity_id, kind, detail, since FROM {FLAGS} WHERE resolved_at IS NULL {only}
)
UPDATE {FLAGS} SET detail = changed.detail, since = changed.since
  FROM changed
 WHERE {FLAGS}.resolved_at IS NULL {only} {lock}
   AND {FLAGS}.opportunity_id = changed.opportunity_id AND {FLAGS}.kind = changed.kind
RETURNING {FLAGS}.kind"""


# The sweep computes the definition once, in the statement that compares it with the open flags,
# and keeps only the differences, in a temporary table: one row per flag to open (flag_id NULL),
# to resolve (opportunity_id NULL) or to reword (both set: its detail or since changed, which
# the passing of time alone never does). When nothing changed it is empty and
# the statements after it cost next to nothing. On PostgreSQL a full outer join of the two sets,
# hashed, reads each once; its SELECT may run in parallel workers (a CREATE TABLE AS may, an
# UPDATE or INSERT may not), and the definition is what parallelism pays for. SQLite's embedded
# default is small, and SQLite before 3.39 lacks FULL JOIN: there, two left joins.
DIFF_TABLE = "pipeline_sweep_diff"

_OPEN_FLAGS = f"SELECT id, opportunity_id, kind, detail, since FROM {FLAGS} WHERE resolved_at IS NULL"


def diff_sql(expected: str, vendor: str) -> str:
    """Create `DIFF_TABLE`: the differences between `expected` and the open flags."""
    if vendor == "postgresql":
        return f"""
CREATE TEMPORARY TABLE {DIFF_TABLE} ON COMMIT DROP AS
SELECT f.id AS flag_id, e.opportunity_id, e.kind, e.detail, e.since
  FROM ({expected}) e
  FULL JOIN ({_OPEN_FLAGS}) f ON f.opportunity_id = e.opportunity_id AND f.kind = e.kind
 WHERE f.id IS NULL OR e.opportunity_id IS NULL OR f.detail <> e.detail OR f.since IS DISTINCT FROM e.since"""
    return f"""
CREATE TEMPORARY TABLE {DIFF_TABLE} AS
WITH e AS MATERIALIZED ({expected}), f AS ({_OPEN_FLAGS})
SELECT f.id AS flag_id, e.opportunity_id, e.kind, e.detail, e.since
  FROM e LEFT JOIN f ON f.opportunity_id = e.opportunity_id AND f.kind = e.kind
 WHERE f.id IS NULL OR f.detail <> e.detail OR f.since IS NOT e.since
UNION ALL
SELECT f.id, NULL, NULL, NULL, NULL
  FROM f LEFT JOIN e ON e.opportunity_id = f.opportunity_id AND e.kind = f.kind
 WHERE e.opportunity_id IS NULL"""


DROP_DIFF_SQL = f"DROP TABLE {DIFF_TABLE}"

# `resolved_at IS NULL` again in the updates: a user action may have resolved the flag since the
# comparison (on PostgreSQL the UPDATE re-checks a row changed meanwhile and then skips it).
RESOLVE_SQL = f"""
UPDATE {FLAGS} SET resolved_at = %(now)s
  FROM {DIFF_TABLE} d
 WHERE d.opportunity_id IS NULL AND {FLAGS}.id = d.flag_id AND {FLAGS}.resolved_at IS NULL
RETURNING {FLAGS}.kind"""

REFRESH_SQL = f"""
UPDATE {FLAGS} SET detail = d.detail, since = d.since
  FROM {DIFF_TABLE} d
 WHERE d.flag_id IS NOT NULL AND d.opportunity_id IS NOT NULL
   AND {FLAGS}.id = d.flag_id AND {FLAGS}.resolved_at IS NULL
RETURNING {FLAGS}.kind"""

# A plain INSERT, without ON CONFLICT: only the sweep opens flags (user actions only resolve
# them) and sweeps run one at a time (the advisory lock on PostgreSQL, IMMEDIATE transactions on
# SQLite), so a flag to open cannot meet an open one; were it to happen, the partial unique index
# one_open_flag_per_kind fails the sweep, which rolls back whole, rather than skip it quietly.
# (ON CONFLICT DO NOTHING is a speculative insertion per row: see bench/README.md.)
OPEN_SQL = f"""
INSERT INTO {FLAGS} (opportunity_id, kind, detail, since, opened_at, resolved_at)
SELECT opportunity_id, kind, detail, since, %(now)s, NULL FROM {DIFF_TABLE} WHERE flag_id IS NULL
RETURNING kind"""


def notify_sql(explanation: str) -> str:
    """Notify people of the flags this sweep opened; `explanation` is `health.explanation_sql("f")`.

    The flags this sweep opened are the open ones of the differences without a flag_id.
    Recipients: the deal's owner and the managers of the owner's team, if active; one
    notification per person and flag. The flags are new, so no notification can exist for them
    yet: a plain INSERT, with the unique constraint as the guard. Every join is to an index or to
    the small team-managers table: nothing re-reads a table per row. (The WITH comes after INSERT
    so that Python's sqlite3 reports the row count, which it does not for a statement that starts
    with WITH.) The message words the flag as `Flag.explain` does at the sweep's now.
    """
    return f"""
INSERT INTO {NOTIFICATIONS} (user_id, flag_id, message, url, created_at, read_at)
WITH opened AS (
    SELECT f.id, {explanation} AS detail,
           o.id AS opportunity_id, o.name, o.owner_id, ow.team_id
      FROM {DIFF_TABLE} d
      JOIN {FLAGS} f
        ON f.opportunity_id = d.opportunity_id AND f.kind = d.kind AND f.resolved_at IS NULL
      JOIN {OPPORTUNITIES} o ON o.id = d.opportunity_id
      JOIN {USERS} ow ON ow.id = o.owner_id
     WHERE d.flag_id IS NULL
), recipients AS (
    SELECT op.id AS flag_id, op.owner_id AS user_id, op.opportunity_id, op.name, op.detail FROM opened op
    UNION ALL
    SELECT op.id, tm.user_id, op.opportunity_id, op.name, op.detail
      FROM opened op JOIN {TEAM_MANAGERS} tm ON tm.team_id = op.team_id
     WHERE tm.user_id <> op.owner_id
)
SELECT r.user_id, r.flag_id, SUBSTR(r.name || ': ' || r.detail, 1, 300),
       %(url_prefix)s || CAST(r.opportunity_id AS TEXT) || %(url_suffix)s, %(now)s, NULL
  FROM recipients r
  JOIN {USERS} u ON u.id = r.user_id
 WHERE u.is_active"""


# === Dashboard ======================================================================================

# The event verbs the dashboard's statements take as parameters.
VERB_PARAMS = {
    "created": EventVerb.CREATED.value,
    "moved": EventVerb.STAGE_MOVED.value,
    "reopened": EventVerb.REOPENED.value,
    "won": EventVerb.CLOSED_WON.value,
    "lost": EventVerb.CLOSED_LOST.value,
}


def cohort_as_of_sql(in_view: str = "") -> str:
    """(process, furthest stage order, won 1/0, deals) of the deals created in [%(lo)s, %(hi)s],
    as they stood at %(moment)s, from the history; `in_view` is an extra condition on
    `e.opportunity_id` (its parameters named apart), or "".

    A deal was created in the period, so all its changes up to the moment are in one pass over
    the stage changes from %(lo)s to %(moment)s, grouped by deal: the furthest stage it reached,
    and whether its last win still stands (not undone by a later reopen). Those per-deal rows are
    then counted by group: an aggregate of an aggregate, which the ORM cannot write as one
    statement. The stage changes are index-only reads (`event_stage_change_idx`).
    """
    won_at = "MAX(CASE WHEN e.verb = %(won)s THEN e.created_at END)"
    reopened_at = "MAX(CASE WHEN e.verb = %(reopened)s THEN e.created_at END)"
    scope = f"AND {in_view}" if in_view else ""
    return f"""
SELECT d.process_id, d.furthest, d.won, COUNT(*) FROM (
    SELECT e.opportunity_id,
           MAX(st.process_id) AS process_id,
           MAX(CASE WHEN e.verb IN (%(created)s, %(moved)s) THEN st."order" END) AS furthest,
           CASE WHEN {won_at} IS NOT NULL AND ({reopened_at} IS NULL OR {won_at} > {reopened_at})
                THEN 1 ELSE 0 END AS won
    FROM {EVENTS} e
    LEFT JOIN {STAGES} st ON st.id = e.to_stage_id
    WHERE e.verb IN (%(created)s, %(moved)s, %(won)s, %(reopened)s)
      AND e.created_at >= %(lo)s AND e.created_at <= %(moment)s
      {scope}
    GROUP BY e.opportunity_id
    HAVING MAX(CASE WHEN e.verb = %(created)s AND e.created_at <= %(hi)s THEN 1 ELSE 0 END) = 1
) d GROUP BY d.process_id, d.furthest, d.won"""


def _stays_sql(vendor: str, in_view: str) -> str:
    """One row (stage_id, days) per stay that ended in [%(lo)s, %(hi)s].

    Each way out of a stage in the period (a move, a close) names the stage it left and, written
    with it by the services, when the deal entered that stage: one index-only range over the
    period's exits (`event_stage_exit_idx`). An exit recorded without that time (by a data
    import, say) falls back to one probe for the deal's way in before it."""
    probe = f"""(
        SELECT e.created_at FROM {EVENTS} e
        WHERE e.opportunity_id = x.opportunity_id AND e.verb IN (%(created)s, %(moved)s, %(reopened)s)
          AND e.created_at <= x.created_at AND (e.created_at < x.created_at OR e.id < x.id)
        ORDER BY e.created_at DESC, e.id DESC LIMIT 1)"""
    entered_at = f"COALESCE(x.stage_entered_at, {probe})"
    # date_part, not EXTRACT: a double rather than a numeric, cheaper to add up and to sort.
    days = (
        f"date_part('epoch', x.created_at - {entered_at}) / 86400.0"
        if vendor == "postgresql"
        else f"(julianday(x.created_at) - julianday({entered_at}))"
    )
    scope = f"AND {in_view}" if in_view else ""
    return f"""
        SELECT x.from_stage_id AS stage_id, {days} AS days FROM {EVENTS} x
        WHERE x.verb IN (%(moved)s, %(won)s, %(lost)s) AND x.created_at >= %(lo)s AND x.created_at <= %(hi)s
          {scope}"""


def stage_stays_sql(vendor: str, in_view: str = "") -> str:
    """The stays that ended in [%(lo)s, %(hi)s] (`in_view`: an extra condition on
    `x.opportunity_id`, or "").

    PostgreSQL: (stage id, stays, average days, median days) for each stage of %(stage_ids)s
    (a list), stage by stage (LATERAL): each stage's exits are one range of
    `event_stage_exit_idx`, so nothing is sorted by stage; only the median sorts, within its
    stage. OFFSET 0 keeps the stays a subquery of their own, so that the three aggregates share
    one computation of each stay rather than inlining it three times. The ORM has neither
    LATERAL nor an ordered-set aggregate.

    SQLite has no percentile: (stage id, days), one row per stay, for the caller to add up.
    """
    stays = _stays_sql(vendor, in_view)
    if vendor != "postgresql":
        return f"SELECT stage_id, days FROM ({stays}) s"
    return f"""
SELECT s.id, a.n, a.average, a.median FROM {STAGES} s CROSS JOIN LATERAL (
    SELECT COUNT(days) AS n, AVG(days) AS average,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median
    FROM ({stays} AND x.from_stage_id = s.id OFFSET 0) y
) a
WHERE s.id = ANY(%(stage_ids)s)"""


def milestone_completions_as_of_sql(closed: str) -> str:
    """(milestone id, status, deals) of the milestones completed by %(moment)s on the deals of
    `closed`, a statement (its parameters named apart) with one row (s_opp, s_status) per deal
    closed in the period as of that moment.

    As of a moment a deal's status comes from its closing event, not from a column of the deal:
    the completions are joined to that derived table, which the ORM cannot join a model to
    (asked for as two IN lists instead, the database reads every completion there is)."""
    return f"""
SELECT mc.milestone_id, c.s_status, COUNT(*)
  FROM {COMPLETIONS} mc JOIN ({closed}) c ON c.s_opp = mc.opportunity_id
 WHERE mc.completed_at <= %(moment)s
 GROUP BY mc.milestone_id, c.s_status"""
