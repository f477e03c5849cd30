"""The demo company's sales-aid library: a few dozen aids, playbooks, shares, through the services."""

from aids.models import Aid, AidKind, AidStatus, Playbook, Share
from opportunities.models import Activity, ActivityKind, Competitor


def expect_a_library_playbooks_and_shares():
    """Run on the demo company seeded once for every app (tests/test_demo_company.py)."""
    assert Aid.objects.filter(status=AidStatus.PUBLISHED).count() >= 24
    assert set(Aid.objects.values_list("status", flat=True)) == set(AidStatus.values)
    assert set(Aid.objects.values_list("kind", flat=True)) == set(AidKind.values)
    # A battle card against every competitor on the list.
    assert Aid.objects.filter(kind=AidKind.BATTLE_CARD).count() == Competitor.objects.filter(is_active=True).count()
    assert Playbook.objects.count() >= 6
    assert Share.objects.count() >= 10
    assert Activity.objects.filter(kind=ActivityKind.CONTENT_SHARED).count() >= 10
