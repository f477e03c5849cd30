"""The contacts list's order (`contact_name_order_idx`), built without blocking writes to the
contacts on PostgreSQL (CREATE INDEX CONCURRENTLY, so outside a transaction); a plain index on
other databases."""

from django.db import migrations, models

from opportunities.operations import AddIndexConcurrently


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
