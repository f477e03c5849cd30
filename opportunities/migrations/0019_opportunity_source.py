"""Where each deal came from: a blank-default column, a catalogue change on PostgreSQL (no rewrite)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0018_account_plans"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("inbound", "Inbound"),
                    ("outbound", "Outbound"),
                    ("referral", "Referral"),
                    ("partner", "Partner"),
                    ("event", "Event"),
                    ("existing_customer", "Existing customer"),
                ],
                db_default="",
                default="",
                max_length=20,
                verbose_name="lead source",
            ),
        ),
    ]
