"""The dashboard's hand-written SQL: only the statements whose plan the ORM cannot express.

Everything else the dashboard reads goes through the ORM (`dashboard.py`, `snapshot.py`). Each
statement here is a named constant or function with named parameters (`%(name)s`) and table names
taken from the models' `_meta`, and a test checks its result against an ORM or Python computation
over the same rows (tests/pipeline/reports/test_sql.py).

SQLite: these statements run on SQLite 3.35 or later, the version `pipeline.apps` checks at
start-up (`MIN_SQLITE_VERSION`); the medians, which SQLite cannot compute, are added up in Python
there.
"""

import re

from opportunities.models import EventVerb, MilestoneCompletion, OpportunityEvent
from stages.models import Stage

COMPLETIONS = MilestoneCompletion._meta.db_table
EVENTS = OpportunityEvent._meta.db_table
STAGES = Stage._meta.db_table

_POSITIONAL = re.compile(r"(?<!%)%s")


def named(sql: str, params, prefix: str) -> tuple[str, dict]:
    """A compiled queryset's SQL (positional `%s` parameters) with its parameters renamed
    `%(<prefix>_<n>)s`, so that it can be embedded in a statement with named parameters."""
    values = list(params)
    names = iter(range(len(values)))
    renamed = _POSITIONAL.sub(lambda _: f"%({prefix}_{next(names)})s", sql)
    return renamed, {f"{prefix}_{i}": value for i, value in enumerate(values)}


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
