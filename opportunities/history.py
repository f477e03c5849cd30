"""Replaying the event history into state intervals.

Every `OpportunityEvent` records a change. `event_states_rebuild` replays them in order, per
opportunity, and writes on each event the deal's state right after it (stage, amount, close
date, owner, status) and `valid_to`, the time of the next event. The state is computed from the
history alone — never copied from the live row — so the live row and the replay can be checked
against each other, and "as of <date>" questions become interval lookups:
`created_at <= T < valid_to` picks exactly one event per deal that existed at T
(`OpportunityEvent.objects.alive_at(T)`).

One set-based statement per call, on PostgreSQL and SQLite (window functions, UPDATE … FROM),
written in `opportunities.sql`. It writes only the events whose state or `valid_to` the replay
changes: after a write to a deal, usually the new event and the one before it, not the whole
history again.
"""

import json

from django.db import connection

from . import sql


def event_states_rebuild(*, opportunity_ids: list[int] | None = None) -> int:
    """Replay the history of the given opportunities (or all) into each event's state columns
    (`sql.event_states_rebuild_sql`); returns how many events it had to change."""
    if opportunity_ids is not None and not opportunity_ids:
        return 0
    vendor = connection.vendor
    params = dict(sql.PARAMS)
    if opportunity_ids is not None:
        ids = [int(pk) for pk in opportunity_ids]
        params["opportunity_ids"] = ids if vendor == "postgresql" else json.dumps(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql.event_states_rebuild_sql(vendor, some_deals=opportunity_ids is not None), params)
        if cursor.rowcount >= 0:
            return cursor.rowcount
        # SQLite's driver does not count the rows of an UPDATE that starts with WITH.
        cursor.execute("SELECT changes()")
        return cursor.fetchone()[0]
