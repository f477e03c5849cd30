"""Writes of pipeline health: the sweep that opens and resolves flags and notifies people, and the
re-evaluation of one deal's flags when it changes."""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from ..models import HealthSweep
from . import definition as health
from . import sql

logger = logging.getLogger(__name__)


# --- pipeline health: flags and notifications ------------------------------------------------------
#
# Which flags should be open is defined once, in `health.expected_open_flags_sql()`. The sweep
# makes the flag table agree with it in a fixed number of set-based statements (`pipeline.health.sql`),
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

    One transaction, at most nine statements whatever the size of the pipeline: take the lock and
    plan for parallel workers (PostgreSQL), compare the expected flags with the open ones into a
    temporary table of the differences, resolve, reword, open, notify, drop the table, and
    record the run (`HealthSweep`, what Needs attention dates its flags by).
    Idempotent: run again at the same moment, it opens, resolves and sends nothing. Killed
    half-way, the transaction rolls back (temporary table included) and the next sweep does the
    whole job.

    It does not count the flags left open (`Flag.objects.open().counts_by_kind()` does, for the
    command that prints them): the beat has no use for the figure, and counting them is a
    noticeable share of a large sweep (bench/README.md).
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
    HealthSweep.objects.create(
        ran_at=now, opened=sum(opened.values()), resolved=sum(resolved.values()), notified=notified
    )
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
