"""Needs attention says when the time-based flags were last computed: each sweep records its run."""

import datetime as dt

from django.urls import reverse

from pipeline.health import services
from pipeline.models import HealthSweep
from tests.factories import OpportunityFactory

URL = reverse("pipeline:needs_attention")


def test_each_sweep_records_its_run(owner, process, now):
    OpportunityFactory(owner=owner)  # no next step: one flag to open
    services.pipeline_sweep(now=now - dt.timedelta(hours=1))
    services.pipeline_sweep(now=now)
    runs = list(HealthSweep.objects.all())
    assert [r.ran_at for r in runs] == [now, now - dt.timedelta(hours=1)]
    assert runs[1].opened >= 1 and runs[0].opened == 0  # the second run found nothing new
    assert HealthSweep.last() == runs[0]


def test_needs_attention_says_when_the_flags_were_last_computed(client_for, owner, now):
    services.pipeline_sweep(now=now - dt.timedelta(minutes=20))
    body = client_for(owner).get(URL).content.decode()
    assert "Time-based flags last computed" in body
    assert "20\xa0minutes ago" in body


def test_needs_attention_says_when_the_sweep_never_ran(client_for, owner, now):
    body = client_for(owner).get(URL).content.decode()
    assert "the pipeline sweep has not run" in body
