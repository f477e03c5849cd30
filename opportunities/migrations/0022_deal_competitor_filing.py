"""A deal's competitors carry the deal's filing (status, close day, owner, process), for the
win/loss analysis to count the competitors of the closed deals it filters without joining the
deals; an index carries them for the closed deals.

The columns are nullable or have database defaults, so adding them rewrites nothing; the rows
already there are given their deal's filing; the index is built without blocking writes on
PostgreSQL.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

from opportunities.operations import AddIndexConcurrently

FILING = {"deal_status": "status", "deal_closed_on": "closed_on", "deal_owner_id": "owner_id", "deal_process_id": "process_id"}


def copy_filing(apps, schema_editor):
    Opportunity = apps.get_model("opportunities", "Opportunity")
    DealCompetitor = apps.get_model("opportunities", "DealCompetitor")
    deal = Opportunity.objects.filter(pk=OuterRef("opportunity_id"))
    DealCompetitor.objects.update(**{field: Subquery(deal.values(source)[:1]) for field, source in FILING.items()})


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('opportunities', '0021_health_crossing_indexes'),
        ('stages', '0005_milestone_retired_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='dealcompetitor',
            name='deal_closed_on',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='dealcompetitor',
            name='deal_owner',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='dealcompetitor',
            name='deal_process',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stages.salesprocess'),
        ),
        migrations.AddField(
            model_name='dealcompetitor',
            name='deal_status',
            field=models.CharField(choices=[('open', 'Open'), ('won', 'Won'), ('lost', 'Lost')], db_default='open', default='open', max_length=10),
        ),
        migrations.RunPython(copy_filing, migrations.RunPython.noop, atomic=True),
        AddIndexConcurrently(
            model_name='dealcompetitor',
            index=models.Index(condition=models.Q(('deal_status', 'won'), ('deal_status', 'lost'), _connector='OR'), fields=['deal_closed_on'], include=('deal_status', 'deal_owner', 'deal_process', 'competitor'), name='dealcompetitor_closed_idx'),
        ),
    ]
