"""Two partial indexes on the stage changes in the event history, for the dashboard.

Of the ~24 events a deal collects, about five change its stage or status (created, moved,
reopened, closed). The dashboard's conversion and time-in-stage read only those, for every deal
active in a period — at 100,000 deals a quarter can hold 70,000 stage exits. Without these
indexes each exit costs a visit to the heap for the stage it left and a scan of the deal's whole
history for when it entered that stage.

    event_stage_change_idx  every stage change by time, with what it changed: answers "the
                            changes in this period" (exits, creations, wins) index-only
    event_stage_entry_idx   each deal's ways into a stage by time: "when did this deal enter the
                            stage it is leaving" is one index-only probe

PostgreSQL only, like `0004_event_state_interval_gist` (SQLite has no INCLUDE, and the embedded
default is small). They index a table of the opportunities app but live here, with their reader
(`pipeline.dashboard`).
"""

from django.db import migrations

STATEMENTS = {
    "event_stage_change_idx": """
        CREATE INDEX IF NOT EXISTS event_stage_change_idx ON opportunities_opportunityevent (created_at)
        INCLUDE (opportunity_id, verb, from_stage_id, to_stage_id, id)
        WHERE verb IN ('created', 'stage_moved', 'reopened', 'closed_won', 'closed_lost')
    """,
    "event_stage_entry_idx": """
        CREATE INDEX IF NOT EXISTS event_stage_entry_idx
        ON opportunities_opportunityevent (opportunity_id, created_at, id)
        WHERE verb IN ('created', 'stage_moved', 'reopened')
    """,
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in STATEMENTS.values():
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in STATEMENTS:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0004_event_state_interval_gist"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
