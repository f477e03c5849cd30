"""Replaying the event history into state intervals.

Every `OpportunityEvent` records a change. `event_states_rebuild` replays them in order, per
opportunity, and writes on each event the deal's state right after it (stage, amount, close
date, owner, status) and `valid_to`, the time of the next event. The state is computed from the
history alone — never copied from the live row — so the live row and the replay can be checked
against each other, and "as of <date>" questions become interval lookups:
`created_at <= T < valid_to` picks exactly one event per deal that existed at T.

One set-based statement per call, on PostgreSQL and SQLite (window functions, UPDATE … FROM). It
writes only the events whose state or `valid_to` the replay changes: after a write to a deal,
usually the new event and the one before it, not the whole history again.
"""

from django.db import connection

from .models import EventVerb, OpportunityEvent

# Which verbs carry which part of the state, and where in the event it is.
_STAGE_VERBS = (EventVerb.CREATED, EventVerb.STAGE_MOVED, EventVerb.REOPENED)
_AMOUNT = {EventVerb.CREATED: "amount", EventVerb.AMOUNT_CHANGED: "new"}
_CLOSE_DATE = {EventVerb.CREATED: "expected_close_date", EventVerb.CLOSE_DATE_CHANGED: "new"}
_OWNER = {EventVerb.CREATED: "owner_id", EventVerb.OWNER_CHANGED: "new"}
_STATUS = {
    EventVerb.CREATED: "open",
    EventVerb.REOPENED: "open",
    EventVerb.CLOSED_WON: "won",
    EventVerb.CLOSED_LOST: "lost",
}


def _json_text(key: str) -> str:
    if connection.vendor == "postgresql":
        return f"(e.data ->> '{key}')"
    return f"json_extract(e.data, '$.{key}')"


def _case(mapping: dict[str, str], *, literal: bool = False) -> str:
    whens = " ".join(
        f"WHEN e.verb = '{verb}' THEN {repr(value) if literal else _json_text(value)}"
        for verb, value in mapping.items()
    )
    return f"CASE {whens} ELSE NULL END"


def _rebuild_sql(where: str) -> str:
    stage_verbs = ", ".join(f"'{v}'" for v in _STAGE_VERBS)
    # Inequality where NULL equals NULL (SQLite spells it `IS NOT`).
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    casts = {
        "amount": "CAST(%s AS NUMERIC)" if connection.vendor == "postgresql" else "CAST(%s AS DECIMAL)",
        "close_date": "CAST(%s AS DATE)" if connection.vendor == "postgresql" else "%s",
        "owner": "CAST(%s AS BIGINT)" if connection.vendor == "postgresql" else "CAST(%s AS INTEGER)",
    }
    # "Last non-null value so far" in portable SQL: count the non-null values up to each row to
    # number the groups, then every row of a group takes the group's one non-null value.
    return f"""
    WITH raw AS (
        SELECT e.id, e.opportunity_id, e.created_at,
               CASE WHEN e.verb IN ({stage_verbs}) THEN e.to_stage_id END AS stage_v,
               {casts["amount"] % _case(_AMOUNT)} AS amount_v,
               {casts["close_date"] % _case(_CLOSE_DATE)} AS close_v,
               {casts["owner"] % _case(_OWNER)} AS owner_v,
               {_case(_STATUS, literal=True)} AS status_v
        FROM opportunities_opportunityevent e
        WHERE {where}
    ),
    grouped AS (
        SELECT raw.*,
               COUNT(stage_v) OVER w AS g_stage, COUNT(amount_v) OVER w AS g_amount,
               COUNT(close_v) OVER w AS g_close, COUNT(owner_v) OVER w AS g_owner,
               COUNT(status_v) OVER w AS g_status,
               LEAD(created_at) OVER w AS next_at
        FROM raw
        WINDOW w AS (PARTITION BY opportunity_id ORDER BY created_at, id)
    ),
    replayed AS (
        SELECT id,
               MAX(stage_v) OVER (PARTITION BY opportunity_id, g_stage) AS s_stage,
               MAX(amount_v) OVER (PARTITION BY opportunity_id, g_amount) AS s_amount,
               MAX(close_v) OVER (PARTITION BY opportunity_id, g_close) AS s_close,
               MAX(owner_v) OVER (PARTITION BY opportunity_id, g_owner) AS s_owner,
               MAX(status_v) OVER (PARTITION BY opportunity_id, g_status) AS s_status,
               next_at
        FROM grouped
    )
    UPDATE opportunities_opportunityevent
    SET state_stage_id = replayed.s_stage,
        state_amount = replayed.s_amount,
        state_close_date = replayed.s_close,
        state_owner_id = replayed.s_owner,
        state_status = COALESCE(replayed.s_status, ''),
        valid_to = replayed.next_at
    FROM replayed
    WHERE opportunities_opportunityevent.id = replayed.id
      AND (state_stage_id {differs} replayed.s_stage
           OR state_amount {differs} replayed.s_amount
           OR state_close_date {differs} replayed.s_close
           OR state_owner_id {differs} replayed.s_owner
           OR state_status {differs} COALESCE(replayed.s_status, '')
           OR valid_to {differs} replayed.next_at)
    """


def event_states_rebuild(*, opportunity_ids: list[int] | None = None) -> int:
    """Replay the history of the given opportunities (or all) into each event's state columns;
    returns how many events it had to change."""
    if opportunity_ids is not None and not opportunity_ids:
        return 0
    with connection.cursor() as cursor:
        if opportunity_ids is None:
            cursor.execute(_rebuild_sql("1 = 1"))
        else:
            placeholders = ", ".join(["%s"] * len(opportunity_ids))
            cursor.execute(_rebuild_sql(f"e.opportunity_id IN ({placeholders})"), list(opportunity_ids))
        if cursor.rowcount >= 0:
            return cursor.rowcount
        # SQLite's driver does not count the rows of an UPDATE that starts with WITH.
        cursor.execute("SELECT changes()")
        return cursor.fetchone()[0]


def as_of(moment):
    """The events that describe each deal's state at `moment` (one per deal that existed)."""
    from django.db.models import Q

    return OpportunityEvent.objects.filter(created_at__lte=moment).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=moment)
    )
