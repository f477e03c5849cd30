"""A GiST index on the open deals' state intervals, for the board "as of" a past day.

"Which deals were open at T" is `created_at <= T < valid_to` over the event history. A B-tree on
(state_status, valid_to, created_at) has to walk every interval that ends after T — for a day a
month back, every event since then — to find the few alive at T; a GiST index on the interval
as a range finds them directly, and with the state columns included it answers index-only.

PostgreSQL only (SQLite has no range types; the embedded default is small). It indexes a table
of the opportunities app but lives here, with its reader (`pipeline.board`); the statement is
written by hand rather than declared in `Meta.indexes`, because a GiST index on an expression
with a partial condition must not be attempted on SQLite.
"""

from django.db import migrations

NAME = "event_open_interval_gist"

CREATE = f"""
CREATE INDEX IF NOT EXISTS {NAME} ON opportunities_opportunityevent
USING gist (tstzrange(created_at, valid_to))
INCLUDE (id, opportunity_id, state_stage_id, state_amount, state_close_date, state_owner_id, created_at, valid_to)
WHERE state_status = 'open'
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0003_quota"),
        ("opportunities", "0003_event_state_intervals"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
