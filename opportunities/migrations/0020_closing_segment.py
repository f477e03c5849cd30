"""A closed deal keeps its account's segment (industry, size, region) as it closed, for the win/loss
analysis to group by from the deal's own row; the closed deals' covering index carries the three
columns (and the stage a deal closed in and the competitor it was lost to), so that the analysis
reads them from the index alone.

The columns have database defaults, so adding them rewrites nothing; the deals already closed are
given their account's segment as it is now (the closest to "as it closed" that is known). The new
index is built before the old one is dropped, both without blocking writes on PostgreSQL.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery

from opportunities.operations import AddIndexConcurrently, RemoveIndexConcurrently

SEGMENT = {"closed_industry": "industry", "closed_employee_band": "employee_band", "closed_region": "region"}


def copy_segments(apps, schema_editor):
    Opportunity = apps.get_model("opportunities", "Opportunity")
    Account = apps.get_model("opportunities", "Account")
    account = Account.objects.filter(pk=OuterRef("account_id"))
    Opportunity.objects.filter(Q(status="won") | Q(status="lost")).update(
        **{field: Subquery(account.values(source)[:1]) for field, source in SEGMENT.items()}
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("opportunities", "0019_opportunity_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="closed_employee_band",
            field=models.CharField(
                blank=True,
                choices=[
                    ("1-10", "1–10"),
                    ("11-50", "11–50"),
                    ("51-200", "51–200"),
                    ("201-1000", "201–1,000"),
                    ("1001+", "1,001+"),
                ],
                db_default="",
                default="",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="opportunity",
            name="closed_industry",
            field=models.CharField(blank=True, db_default="", default="", max_length=100),
        ),
        migrations.AddField(
            model_name="opportunity",
            name="closed_region",
            field=models.CharField(blank=True, db_default="", default="", max_length=100),
        ),
        migrations.RunPython(copy_segments, migrations.RunPython.noop, atomic=True),
        AddIndexConcurrently(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("status", "won"), ("status", "lost"), _connector="OR"),
                fields=["closed_on"],
                include=(
                    "status",
                    "process",
                    "owner",
                    "amount",
                    "id",
                    "account",
                    "created_at",
                    "closed_industry",
                    "closed_employee_band",
                    "closed_region",
                    "closed_stage",
                    "lost_to",
                ),
                name="opportunity_closed_facts_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="opportunity", name="opportunity_closed_idx"),
    ]
