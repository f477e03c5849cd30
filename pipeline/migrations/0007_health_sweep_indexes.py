"""Two partial covering indexes for the pipeline-health definition (`pipeline.health`).

Every sweep evaluates each open deal against its stage's thresholds and its next step's due
date. At 1,000,000 deals the 380,000 open ones lie on nearly every page of the deals table
(225 MB), and their next steps among 2.8 million (375 MB); these indexes hold just what the
definition reads (28 MB and 11 MB), so it runs index-only:

    opportunity_open_health_idx  the open deals, with the columns the flags depend on
    nextstep_open_due_idx        the open next steps' due dates (completing a step clears the
                                 deal's `next_step`, so the open ones are all the sweep joins)

The price: an update of an open deal that changes only `updated_at` or `last_activity_at` can no
longer be a HOT update. The deals table already has a dozen indexes; one person's edit writes a
few more index entries, where the sweep, every 15 minutes, saves reading 600 MB.

PostgreSQL only, like `0004_event_state_interval_gist` (SQLite has no INCLUDE, and the embedded
default is small). They index tables of the opportunities app but live here, with their reader.
"""

from django.db import migrations

STATEMENTS = {
    "opportunity_open_health_idx": """
        CREATE INDEX IF NOT EXISTS opportunity_open_health_idx ON opportunities_opportunity (id)
        INCLUDE (stage_id, next_step_id, updated_at, stage_entered_at, last_activity_at,
                 expected_close_date, close_date_push_count)
        WHERE status = 'open'
    """,
    "nextstep_open_due_idx": """
        CREATE INDEX IF NOT EXISTS nextstep_open_due_idx ON opportunities_nextstep (id)
        INCLUDE (due_date)
        WHERE completed_at IS NULL
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
        ("pipeline", "0006_board_open_card_order_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
