from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from opportunities.errors import AccessDenied, DomainError
from pipeline.models import Quota
from pipeline.reports.services import quota_set

# --- the service ---------------------------------------------------------------------------------------


def test_a_manager_sets_and_replaces_a_team_members_quota(manager, owner, now):
    quota = quota_set(actor=manager, user=owner, year=2026, quarter=1, amount="12500.5", now=now)
    assert (quota.amount, quota.set_by, quota.updated_at) == (Decimal("12500.50"), manager, now)
    again = quota_set(actor=manager, user=owner, year=2026, quarter=1, amount=Decimal("9000"), now=now)
    assert again.pk == quota.pk
    assert Quota.objects.get().amount == Decimal("9000.00")


def test_an_admin_sets_anyones_quota(admin, outsider, now):
    assert quota_set(actor=admin, user=outsider, year=2026, quarter=4, amount=0).amount == Decimal("0.00")


@pytest.mark.parametrize("actor_name", ["owner", "teammate", "outsider"])
def test_reps_set_no_quota_not_even_their_own(request, actor_name, owner):
    actor = request.getfixturevalue(actor_name)
    with pytest.raises(AccessDenied):
        quota_set(actor=actor, user=owner, year=2026, quarter=1, amount=100)
    assert not Quota.objects.exists()


def test_a_manager_cannot_set_another_teams_quota(manager, outsider):
    with pytest.raises(AccessDenied):
        quota_set(actor=manager, user=outsider, year=2026, quarter=1, amount=100)


@pytest.mark.parametrize(
    ("year", "quarter", "amount", "message"),
    [
        (2026, 0, 100, "Quarter must be 1, 2, 3 or 4."),
        (2026, 5, 100, "Quarter must be 1, 2, 3 or 4."),
        (1999, 1, 100, "Year must be between 2000 and 2100."),
        (2026, 1, -1, "Quota cannot be negative."),
        (2026, 1, "abc", "Quota must be a number."),
        (2026, 1, "NaN", "Quota must be a number."),
        (2026, 1, "1e12", "Quota is too large."),
    ],
)
def test_bad_values_are_refused_with_a_message(manager, owner, year, quarter, amount, message):
    with pytest.raises(DomainError) as excinfo:
        quota_set(actor=manager, user=owner, year=year, quarter=quarter, amount=amount)
    assert excinfo.value.message == message
    assert not Quota.objects.exists()


def test_the_database_keeps_one_quota_per_person_and_quarter(owner):
    Quota.objects.create(user=owner, year=2026, quarter=1, amount=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Quota.objects.create(user=owner, year=2026, quarter=1, amount=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Quota.objects.create(user=owner, year=2026, quarter=5, amount=2)
