"""The contacts list's order (`contact_name_order_idx`), built without blocking writes to the
contacts on PostgreSQL (CREATE INDEX CONCURRENTLY, so outside a transaction); a plain index on
other databases."""

import django.contrib.postgres.operations
from django.db import migrations, models


class AddIndexConcurrently(django.contrib.postgres.operations.AddIndexConcurrently):
    """Concurrently on PostgreSQL only: other backends have no such option."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("opportunities", "0015_competitors"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="contact",
            index=models.Index(fields=["last_name", "first_name", "id"], name="contact_name_order_idx"),
        ),
    ]
