"""An index on the open deals in board order, for the kanban board's columns.

A board column shows its deals closing soonest first, the biggest first among equals (then by
id): `pipeline.board.CARD_ORDER`. With the open deals indexed by (stage, close date, amount
descending, id), each column's first cards are the first entries of its stage in the index — a
`LIMIT` reads a few dozen entries, where ranking the pipeline sorted every open deal of the
process (28,000 at 100,000 deals). With the owner included, the column counts and totals, and
the owner filters and visibility rules, are answered from the index alone.

PostgreSQL only, like `0004_event_state_interval_gist` (SQLite has no INCLUDE, and the embedded
default is small). It indexes a table of the opportunities app but lives here, with its reader
(`pipeline.board`).
"""

from django.db import migrations

NAME = "board_open_card_order_idx"

CREATE = f"""
CREATE INDEX IF NOT EXISTS {NAME} ON opportunities_opportunity
(stage_id, expected_close_date, amount DESC, id) INCLUDE (owner_id)
WHERE status = 'open'
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0005_event_stage_change_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
