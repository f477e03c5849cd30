"""The demo company's sales-aid library: a few dozen aids, playbooks, shares, through the services."""

from io import StringIO

import pytest
from django.core.management import call_command

from aids.models import Aid, AidKind, AidStatus, Playbook, Share
from opportunities.models import Activity, ActivityKind, Competitor
from tests import demo_checks

pytestmark = pytest.mark.django_db


def test_the_demo_seed_has_a_library_playbooks_and_shares(now):
    call_command("seed_demo", "--opportunities", "300", "--quiet", "--force-demo-users", stdout=StringIO())
    assert Aid.objects.filter(status=AidStatus.PUBLISHED).count() >= 24
    assert set(Aid.objects.values_list("status", flat=True)) == set(AidStatus.values)
    assert set(Aid.objects.values_list("kind", flat=True)) == set(AidKind.values)
    # A battle card against every competitor on the list.
    assert Aid.objects.filter(kind=AidKind.BATTLE_CARD).count() == Competitor.objects.filter(is_active=True).count()
    assert Playbook.objects.count() >= 6
    assert Share.objects.count() >= 10
    assert Activity.objects.filter(kind=ActivityKind.CONTENT_SHARED).count() >= 10
    # Sharing logs activities on the deals: the company still passes every demo check.
    for check in demo_checks.CHECKS:
        check(now)
