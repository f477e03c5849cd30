"""Data migration: the lost reasons every installation starts with.

Admins may rename, reorder or deactivate them afterwards; get_or_create keeps re-running (or a
reason an admin already added by hand) harmless.
"""

from django.db import migrations

DEFAULT_LOST_REASONS = [
    "Price",
    "Chose a competitor",
    "No decision / status quo",
    "Timing",
    "Missing capability",
    "Lost contact",
    "Other",
]


def create_default_lost_reasons(apps, schema_editor):
    LostReason = apps.get_model("opportunities", "LostReason")
    for order, name in enumerate(DEFAULT_LOST_REASONS, start=1):
        LostReason.objects.get_or_create(name=name, defaults={"order": order * 10})


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0003_event_state_intervals"),
    ]

    operations = [
        # Reversing leaves the rows: closed deals may already point at them (PROTECT).
        migrations.RunPython(create_default_lost_reasons, migrations.RunPython.noop),
    ]
