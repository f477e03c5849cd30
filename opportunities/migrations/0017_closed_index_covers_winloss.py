"""The closed deals' covering index carries their account and creation time as well, for the
win/loss analysis: `opportunity_closed_on_idx` becomes `opportunity_closed_idx`. The new one is
built before the old one is dropped, both without blocking writes on PostgreSQL, so the dashboard
never goes without."""

from django.db import migrations, models

from opportunities.operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("opportunities", "0016_contact_name_order_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("status", "won"), ("status", "lost"), _connector="OR"),
                fields=["closed_on"],
                include=("status", "process", "owner", "amount", "id", "account", "created_at"),
                name="opportunity_closed_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="opportunity", name="opportunity_closed_on_idx"),
    ]
