"""The opportunities app's hand-written SQL: the replay of the event history into state intervals.

The ORM cannot write it: "the last non-null value so far" needs window functions over window
functions, and the result is written back with UPDATE … FROM in the same statement. Named
parameters (`%(name)s`), table names from the models' `_meta`. tests/opportunities/test_history.py
checks the replay against a Python replay of the same events. It needs SQLite 3.35 or later
(window functions and UPDATE … FROM; `pipeline.apps` checks the version at start-up).
"""

from .models import EventVerb, OpportunityEvent, OpportunityStatus

EVENTS = OpportunityEvent._meta.db_table

# Which verbs carry which part of the state, and where in the event's data it is.
STAGE_VERBS = (EventVerb.CREATED, EventVerb.STAGE_MOVED, EventVerb.REOPENED)
AMOUNT_KEYS = {EventVerb.CREATED: "amount", EventVerb.AMOUNT_CHANGED: "new"}
CLOSE_DATE_KEYS = {EventVerb.CREATED: "expected_close_date", EventVerb.CLOSE_DATE_CHANGED: "new"}
OWNER_KEYS = {EventVerb.CREATED: "owner_id", EventVerb.OWNER_CHANGED: "new"}
STATUS_OF = {
    EventVerb.CREATED: OpportunityStatus.OPEN,
    EventVerb.REOPENED: OpportunityStatus.OPEN,
    EventVerb.CLOSED_WON: OpportunityStatus.WON,
    EventVerb.CLOSED_LOST: OpportunityStatus.LOST,
}

# The statement's parameters for the verbs and statuses it names: {"verb_created": "created", …}.
PARAMS = {
    **{f"verb_{verb.value}": verb.value for verb in EventVerb},
    **{f"status_{status.value}": status.value for status in OpportunityStatus},
}


def _json_text(vendor: str, key: str) -> str:
    # `key` is one of the constant keys above, never user input.
    if vendor == "postgresql":
        return f"(e.data ->> '{key}')"
    return f"json_extract(e.data, '$.{key}')"


def _from_data(vendor: str, keys: dict) -> str:
    whens = " ".join(
        f"WHEN e.verb = %(verb_{verb.value})s THEN {_json_text(vendor, key)}" for verb, key in keys.items()
    )
    return f"CASE {whens} ELSE NULL END"


def event_states_rebuild_sql(vendor: str, *, some_deals: bool) -> str:
    """Write on each event the deal's state right after it (stage, amount, close date, owner,
    status) and `valid_to`, the time of the next event, replayed from the history alone.

    With `some_deals`, only the events of the deals in %(opportunity_ids)s: a list on PostgreSQL,
    a JSON array (text) on SQLite. Otherwise every event.

    "Last non-null value so far" in portable SQL: count the non-null values up to each row to
    number the groups, then every row of a group takes the group's one non-null value.

    Only the events whose stored state or `valid_to` differs from the replay are written: after
    a write to a deal, usually the new event and the one before it (its `valid_to`).
    """
    pg = vendor == "postgresql"
    # Inequality where NULL equals NULL (SQLite spells it `IS NOT`).
    differs = "IS DISTINCT FROM" if pg else "IS NOT"
    casts = {
        "amount": "CAST({} AS NUMERIC)" if pg else "CAST({} AS DECIMAL)",
        "close_date": "CAST({} AS DATE)" if pg else "{}",
        "owner": "CAST({} AS BIGINT)" if pg else "CAST({} AS INTEGER)",
    }
    stage_verbs = ", ".join(f"%(verb_{verb.value})s" for verb in STAGE_VERBS)
    status = " ".join(f"WHEN e.verb = %(verb_{verb.value})s THEN %(status_{s.value})s" for verb, s in STATUS_OF.items())
    if not some_deals:
        where = "1 = 1"
    elif pg:
        where = "e.opportunity_id = ANY(%(opportunity_ids)s)"
    else:
        where = "e.opportunity_id IN (SELECT value FROM json_each(%(opportunity_ids)s))"
    return f"""
    WITH raw AS (
        SELECT e.id, e.opportunity_id, e.created_at,
               CASE WHEN e.verb IN ({stage_verbs}) THEN e.to_stage_id END AS stage_v,
               {casts["amount"].format(_from_data(vendor, AMOUNT_KEYS))} AS amount_v,
               {casts["close_date"].format(_from_data(vendor, CLOSE_DATE_KEYS))} AS close_v,
               {casts["owner"].format(_from_data(vendor, OWNER_KEYS))} AS owner_v,
               CASE {status} ELSE NULL END AS status_v
        FROM {EVENTS} e
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
    UPDATE {EVENTS}
    SET state_stage_id = replayed.s_stage,
        state_amount = replayed.s_amount,
        state_close_date = replayed.s_close,
        state_owner_id = replayed.s_owner,
        state_status = COALESCE(replayed.s_status, ''),
        valid_to = replayed.next_at
    FROM replayed
    WHERE {EVENTS}.id = replayed.id
      AND (state_stage_id {differs} replayed.s_stage
           OR state_amount {differs} replayed.s_amount
           OR state_close_date {differs} replayed.s_close
           OR state_owner_id {differs} replayed.s_owner
           OR state_status {differs} COALESCE(replayed.s_status, '')
           OR valid_to {differs} replayed.next_at)
    """
