"""Writes that belong to people and sign-in, and the pipeline-health sweep and notifications."""

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from opportunities.errors import AccessDenied, DomainError

from . import health, sql
from .models import LoginFailure, Notification, Quota

logger = logging.getLogger(__name__)


def _window_start(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=settings.LOGIN_COOLOFF_SECONDS)


def login_is_throttled(*, username: str, ip_address: str | None, now: dt.datetime | None = None) -> bool:
    """Too many recent failures for this username, or from this address."""
    now = now or timezone.now()
    recent = LoginFailure.objects.filter(created_at__gte=_window_start(now))
    limit = settings.LOGIN_FAILURE_LIMIT
    by_name = recent.filter(username__iexact=username).count() if username else 0
    by_address = recent.filter(ip_address=ip_address).count() if ip_address else 0
    return by_name >= limit or by_address >= limit


def login_failure_record(*, username: str, ip_address: str | None, now: dt.datetime | None = None) -> LoginFailure:
    return LoginFailure.objects.create(
        username=(username or "")[:150], ip_address=ip_address, created_at=now or timezone.now()
    )


def login_failures_clear(*, username: str, ip_address: str | None) -> None:
    """A successful sign-in forgives that username's failures (not the address's)."""
    LoginFailure.objects.filter(Q(username__iexact=username)).delete()


def login_failures_purge(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = LoginFailure.objects.filter(created_at__lt=now - dt.timedelta(days=1)).delete()
    return deleted


# --- pipeline health: flags and notifications ------------------------------------------------------
#
# Which flags should be open is defined once, in `health.expected_open_flags_sql()`. The sweep
# makes the flag table agree with it in a fixed number of set-based statements (`pipeline.sql`),
# whatever the number of deals: no per-deal loop, no save(), no task per deal.

SWEEP_LOCK_KEY = sql.SWEEP_LOCK_KEY


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did. Counts are by flag kind; kinds with nothing to report are left out."""

    now: dt.datetime
    opened: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    details_refreshed: int = 0
    notified: int = 0
    # True when another sweep held the lock, so this one did nothing at all.
    skipped: bool = False

    @property
    def changed(self) -> bool:
        """Whether the sweep opened, resolved or sent anything (refreshed details don't count:
        "idle 23 days" becoming "idle 24 days" is the same flag, not news)."""
        return bool(self.opened or self.resolved or self.notified)

    def as_dict(self) -> dict:
        """JSON-safe, for the task's return value and logs."""
        return {
            "now": self.now.isoformat(),
            "opened": self.opened,
            "resolved": self.resolved,
            "details_refreshed": self.details_refreshed,
            "notified": self.notified,
            "skipped": self.skipped,
        }


def _by_kind(rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (kind,) in rows:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _take_sweep_lock(cursor) -> bool:
    """On PostgreSQL, one sweep at a time: a second one started meanwhile (two beats, a manual
    run during the scheduled one) returns at once instead of waiting to redo the same work. The
    lock is released when the transaction ends, however it ends. SQLite needs no lock: its
    IMMEDIATE transactions already run writers one after the other, and the second then finds
    nothing left to do."""
    if cursor.db.vendor != "postgresql":
        return True
    cursor.execute(sql.SWEEP_LOCK_SQL, {"key": SWEEP_LOCK_KEY})
    return bool(cursor.fetchone()[0])


def _deal_url_parts() -> tuple[str, str]:
    marker = 987654321
    prefix, suffix = reverse("opportunities:detail", args=[marker]).split(str(marker))
    return prefix, suffix


@transaction.atomic
def pipeline_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Make the open flags agree with `health.expected_open_flags_sql()` at `now`, and notify
    people of the flags it opened.

    One transaction, at most eight statements whatever the size of the pipeline: take the lock and
    plan for parallel workers (PostgreSQL), compare the expected flags with the open ones into a
    temporary table of the differences, resolve, reword, open, notify, drop the table.
    Idempotent: run again at the same moment, it opens, resolves and sends nothing. Killed
    half-way, the transaction rolls back (temporary table included) and the next sweep does the
    whole job.

    It does not count the flags left open (`Flag.objects.open().counts_by_kind()` does, for the
    command that prints them): the beat has no use for the figure (its cost at a million deals:
    bench/README.md).
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        if not _take_sweep_lock(cursor):
            return SweepResult(now=now, skipped=True)
        health.plan_for_all_deals(cursor)
        definition, params = health.expected_open_flags_sql(now=now)
        prefix, suffix = _deal_url_parts()
        params.update(url_prefix=prefix, url_suffix=suffix)
        cursor.execute(sql.diff_sql(definition, cursor.db.vendor), params)

        cursor.execute(sql.RESOLVE_SQL, params)
        resolved = _by_kind(cursor.fetchall())
        cursor.execute(sql.REFRESH_SQL, params)
        refreshed = len(cursor.fetchall())
        cursor.execute(sql.OPEN_SQL, params)
        opened = _by_kind(cursor.fetchall())
        notified = 0
        if opened:
            cursor.execute(sql.notify_sql(health.explanation_sql("f", cursor.db)), params)
            notified = cursor.rowcount
        cursor.execute(sql.DROP_DIFF_SQL)
    result = SweepResult(now=now, opened=opened, resolved=resolved, details_refreshed=refreshed, notified=notified)
    if result.changed:
        logger.info("pipeline sweep: %s", result.as_dict())
    return result


@transaction.atomic
def flags_reevaluate(*, opportunity_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Resolve the open flags of one deal whose condition no longer holds, and bring the details
    of the others up to date: the sweep's logic restricted to that deal. Returns the resolved
    counts by kind.

    It never opens flags (see `pipeline.signals`). Two statements, run inside the caller's
    transaction when called from a user action.
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        expected, params = health.expected_open_flags_sql(now=now, opportunity_id=opportunity_id)
        lock = sql.skip_locked(cursor.db.vendor)
        cursor.execute(sql.resolve_gone_sql(expected, sql.ONE_DEAL, lock), params)
        resolved = _by_kind(cursor.fetchall())
        cursor.execute(sql.refresh_changed_sql(expected, sql.ONE_DEAL, lock), params)
        cursor.fetchall()
    return resolved


def notification_mark_read(notification: Notification, *, actor, now: dt.datetime | None = None) -> Notification:
    """Mark one of `actor`'s notifications read (again is harmless)."""
    if notification.user_id != actor.pk:
        raise AccessDenied("This notification is not yours.")
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notifications_mark_all_read(*, actor, now: dt.datetime | None = None) -> int:
    """Mark every unread notification of `actor` read; returns how many were unread."""
    return Notification.objects.filter(user=actor, read_at__isnull=True).update(read_at=now or timezone.now())


# --- quotas -----------------------------------------------------------------------------------------

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
    quota, _ = Quota.objects.update_or_create(
        user=user,
        year=year,
        quarter=quarter,
        defaults={"amount": value, "set_by": actor, "updated_at": now or timezone.now()},
    )
    return quota
