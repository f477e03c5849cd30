"""Writes of the reports: the quotas the dashboard's attainment divides by."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from opportunities.errors import AccessDenied, DomainError

from ..models import Quota, QuotaChange

QUOTA_YEARS = (2000, 2100)


def quota_may_set(actor, user) -> bool:
    """Admins set anyone's quota; managers set the quotas of the members of their teams."""
    return actor.is_admin or (actor.is_manager and actor.manages(user))


def _clean_quota_amount(amount) -> Decimal:
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise DomainError("Quota must be a number.", field="amount") from None
    if not value.is_finite():
        raise DomainError("Quota must be a number.", field="amount")
    if value < 0:
        raise DomainError("Quota cannot be negative.", field="amount")
    if value >= Decimal("1e12"):
        raise DomainError("Quota is too large.", field="amount")
    return value.quantize(Decimal("0.01"))


@transaction.atomic
def quota_set(*, actor, user, year: int, quarter: int, amount, now: dt.datetime | None = None) -> Quota:
    """Set what `user` should close won in `year` Q`quarter` (creating or replacing it)."""
    if not quota_may_set(actor, user):
        raise AccessDenied(f"You cannot set {user}'s quota.")
    if not isinstance(year, int) or not QUOTA_YEARS[0] <= year <= QUOTA_YEARS[1]:
        raise DomainError(f"Year must be between {QUOTA_YEARS[0]} and {QUOTA_YEARS[1]}.", field="year")
    if not isinstance(quarter, int) or not 1 <= quarter <= 4:
        raise DomainError("Quarter must be 1, 2, 3 or 4.", field="quarter")
    value = _clean_quota_amount(amount)
    now = now or timezone.now()
    # Locked, so the change row's old amount is the one this write replaces.
    old = Quota.objects.select_for_update().filter(user=user, year=year, quarter=quarter).first()
    if old is not None and old.amount == value:
        return old
    quota, _ = Quota.objects.update_or_create(
        user=user, year=year, quarter=quarter, defaults={"amount": value, "set_by": actor, "updated_at": now}
    )
    QuotaChange.objects.create(
        user=user,
        year=year,
        quarter=quarter,
        old_amount=old.amount if old else None,
        new_amount=value,
        actor=actor,
        created_at=now,
    )
    return quota
