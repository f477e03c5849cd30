"""Pipeline health's hand-written SQL: the sweep's set difference under its lock, the incremental
sweep's candidates, and one deal's re-evaluation.

Which flags should be open is defined once, in `definition.expected_open_flags_sql()`. The sweep
(`services.pipeline_sweep`) makes the flag table agree with it in a fixed number of set-based
statements under one lock, whatever the number of deals: the ORM has no FULL JOIN, no
UPDATE … FROM a set difference, no INSERT … SELECT … RETURNING and no DELETE … RETURNING into
another table, which is what keeps the work to the differences (and, incremental, to the deals
that changed). Everything else pipeline health reads and writes goes through the ORM.

Each statement is a named constant or function with named parameters (`%(name)s`) and table
names taken from the models' `_meta`; the sweep's tests (tests/pipeline/health/test_health.py,
test_incremental_sweep.py) check the flag table they leave against the definition computed over
the same rows (`definition.expected_open_flags`).

SQLite: these statements need SQLite 3.35 or later (RETURNING and `AS MATERIALIZED` arrived in
3.35, UPDATE … FROM in 3.33). `pipeline.apps` checks the version at start-up
(`MIN_SQLITE_VERSION`).
"""

from opportunities.models import Opportunity
from people.models import Team, User

from ..models import Flag, HealthChange, Notification

CHANGES = HealthChange._meta.db_table
FLAGS = Flag._meta.db_table
NOTIFICATIONS = Notification._meta.db_table
OPPORTUNITIES = Opportunity._meta.db_table
TEAM_MANAGERS = Team.managers.through._meta.db_table
USERS = User._meta.db_table

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


def _open_flags(among: str | None) -> str:
    """The open flags, of the deals in the table `among` only if given."""
    only = f" AND opportunity_id IN (SELECT opportunity_id FROM {among})" if among else ""
    return f"SELECT id, opportunity_id, kind, detail, since FROM {FLAGS} WHERE resolved_at IS NULL{only}"


def diff_sql(expected: str, vendor: str, among: str | None = None) -> str:
    """Create `DIFF_TABLE`: the differences between `expected` and the open flags. With `among`
    (the incremental sweep's `CANDIDATES_TABLE`), only the open flags of those deals are
    compared, and `expected` must be restricted to them too
    (`definition.expected_open_flags_sql(among=…)`): the other deals' flags stay as they are."""
    open_flags = _open_flags(among)
    if vendor == "postgresql":
        return f"""
CREATE TEMPORARY TABLE {DIFF_TABLE} ON COMMIT DROP AS
SELECT f.id AS flag_id, e.opportunity_id, e.kind, e.detail, e.since
  FROM ({expected}) e
  FULL JOIN ({open_flags}) f ON f.opportunity_id = e.opportunity_id AND f.kind = e.kind
 WHERE f.id IS NULL OR e.opportunity_id IS NULL OR f.detail <> e.detail OR f.since IS DISTINCT FROM e.since"""
    return f"""
CREATE TEMPORARY TABLE {DIFF_TABLE} AS
WITH e AS MATERIALIZED ({expected}), f AS ({open_flags})
SELECT f.id AS flag_id, e.opportunity_id, e.kind, e.detail, e.since
  FROM e LEFT JOIN f ON f.opportunity_id = e.opportunity_id AND f.kind = e.kind
 WHERE f.id IS NULL OR f.detail <> e.detail OR f.since IS NOT e.since
UNION ALL
SELECT f.id, NULL, NULL, NULL, NULL
  FROM f LEFT JOIN e ON e.opportunity_id = f.opportunity_id AND e.kind = f.kind
 WHERE e.opportunity_id IS NULL"""


DROP_DIFF_SQL = f"DROP TABLE {DIFF_TABLE}"


# --- the incremental sweep: which deals to evaluate ------------------------------------------------
#
# An incremental sweep (`services.pipeline_sweep`) evaluates only its candidates, in a temporary
# table: the deals announced as changed since the previous sweep (the `HealthChange` rows, which
# it consumes) and those a time threshold crossed since (`definition.crossed_thresholds_sql`).
# The change rows it consumes are exactly the ones it reads. On PostgreSQL the DELETE … RETURNING
# that reads them sees only the rows committed when it starts: a change committed during the
# sweep stays for the next one, and a separate SELECT and DELETE could not promise that (a row
# committed between the two would be deleted unread). SQLite runs one writer at a time (IMMEDIATE
# transactions): nobody adds a row between its SELECT and its DELETE, and its CTEs cannot
# DELETE anyway.
CANDIDATES_TABLE = "pipeline_sweep_candidates"

# Every change row, read or not, when the sweep evaluates every deal: run first, before the
# definition, so that every change it deletes was committed before the definition read the deals.
CONSUME_CHANGES_SQL = f"DELETE FROM {CHANGES}"

COUNT_CANDIDATES_SQL = f"SELECT COUNT(*) FROM {CANDIDATES_TABLE}"

DROP_CANDIDATES_SQL = f"DROP TABLE {CANDIDATES_TABLE}"


def candidates_sql(crossed: str, vendor: str) -> list[str]:
    """The statements that fill `CANDIDATES_TABLE` with the changed deals and `crossed` (the SQL
    of `definition.crossed_thresholds_sql`) and consume the change rows, in order."""
    if vendor == "postgresql":
        return [
            f"CREATE TEMPORARY TABLE {CANDIDATES_TABLE} (opportunity_id bigint PRIMARY KEY) ON COMMIT DROP",
            f"""
WITH consumed AS (DELETE FROM {CHANGES} RETURNING opportunity_id)
INSERT INTO {CANDIDATES_TABLE} (opportunity_id)
SELECT opportunity_id FROM consumed UNION SELECT opportunity_id FROM ({crossed}) crossed""",
            # No autovacuum sees a temporary table: without its row count the planner guesses a
            # few thousand candidates and hashes every open next step to join a handful of deals.
            f"ANALYZE {CANDIDATES_TABLE}",
        ]
    return [
        f"CREATE TEMPORARY TABLE {CANDIDATES_TABLE} (opportunity_id integer PRIMARY KEY)",
        f"""
INSERT INTO {CANDIDATES_TABLE} (opportunity_id)
SELECT opportunity_id FROM {CHANGES} UNION SELECT opportunity_id FROM ({crossed}) crossed""",
        CONSUME_CHANGES_SQL,
    ]


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
    """Notify people of the flags this sweep opened; `explanation` is `definition.explanation_sql("f", connection)`.

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
