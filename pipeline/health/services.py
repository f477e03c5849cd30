"""Writes of pipeline health: the sweep that opens and resolves flags and notifies people, the
re-evaluation of one deal's flags when it changes, and the record of which deals changed since
the last sweep."""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from opportunities.models import Opportunity

from ..models import HealthChange, HealthSweep
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
    # Whether it evaluated every open deal, or only the changed and time-crossed ones; how many.
    full: bool = False
    evaluated: int = 0

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
            "full": self.full,
            "evaluated": self.evaluated,
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


def _incremental_since(*, now: dt.datetime, fingerprint: str) -> dt.datetime | None:
    """The moment of the previous sweep, from which this one may evaluate only the changed and
    time-crossed deals; None when it must evaluate every open deal: there is no previous sweep,
    time went back (the flags are as of a later moment than `now`), the configuration the flags
    read changed since, or the last full sweep is older than SWEEP_FULL_EVERY_HOURS (the
    reconciliation that catches writes made around the services)."""
    previous = HealthSweep.previous()
    if previous is None or now < previous.ran_at or previous.config_fingerprint != fingerprint:
        return None
    last_full = previous if previous.full else HealthSweep.previous(full=True)
    if last_full is None or now - last_full.ran_at >= dt.timedelta(hours=settings.SWEEP_FULL_EVERY_HOURS):
        return None
    return previous.ran_at


def _evaluate_all(cursor, *, now: dt.datetime, params: dict) -> int:
    """Fill the differences over every open deal (and consume every change row); how many deals."""
    cursor.execute(sql.CONSUME_CHANGES_SQL)
    health.plan_for_all_deals(cursor)
    definition, definition_params = health.expected_open_flags_sql(now=now)
    cursor.execute(sql.diff_sql(definition, cursor.db.vendor), {**params, **definition_params})
    return Opportunity.objects.open().count()


def _evaluate_candidates(cursor, *, now: dt.datetime, previous: dt.datetime, params: dict) -> int:
    """Fill the differences over the deals changed or time-crossed since `previous` (consuming the
    change rows it read); how many deals."""
    vendor = cursor.db.vendor
    crossed = health.crossed_thresholds_sql()
    for statement in sql.candidates_sql(crossed, vendor):
        cursor.execute(statement, health.sql_params(now=now, previous=previous))
    cursor.execute(sql.COUNT_CANDIDATES_SQL)
    (evaluated,) = cursor.fetchone()
    definition, definition_params = health.expected_open_flags_sql(now=now, among=sql.CANDIDATES_TABLE)
    cursor.execute(sql.diff_sql(definition, vendor, among=sql.CANDIDATES_TABLE), {**params, **definition_params})
    return evaluated


@transaction.atomic
def pipeline_sweep(*, now: dt.datetime | None = None, full: bool = False) -> SweepResult:
    """Make the open flags agree with `health.expected_open_flags_sql()` at `now`, and notify
    people of the flags it opened.

    Incremental when it can be: it evaluates only the deals announced as changed since the
    previous sweep (`HealthChange`) and those whose time thresholds fell between that sweep's
    moment and `now` (`health.crossed_thresholds_sql`): the others' flags cannot have changed.
    Full (every open deal, as asked with `full`) when there is no previous sweep, `now` is before
    it, the configuration the flags read changed since (`health.config_fingerprint`), or the last
    full sweep is SWEEP_FULL_EVERY_HOURS old: what a write that bypassed the services changed
    (raw SQL, a script, a bulk load) only a full sweep sees.

    One transaction, a fixed number of statements whatever the size of the pipeline: take the
    lock, read the configuration's fingerprint and the previous runs, choose the deals (all of
    them, planned for parallel workers on PostgreSQL; or the candidates, into a temporary table),
    compare the expected flags with their open ones into a temporary table of the differences,
    resolve, reword, open, notify, drop the tables, and record the run (`HealthSweep`, what
    Needs attention dates its flags by and the next run starts from).
    Idempotent: run again at the same moment, it opens, resolves and sends nothing. Killed
    half-way, the transaction rolls back (temporary tables and consumed changes included) and
    the next sweep does the whole job.

    It does not count the flags left open (`Flag.objects.open().counts_by_kind()` does, for the
    command that prints them): the beat has no use for the figure, and counting them is a
    noticeable share of a large sweep (bench/README.md).
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        if not _take_sweep_lock(cursor):
            return SweepResult(now=now, skipped=True)
        fingerprint = health.config_fingerprint()
        previous = None if full else _incremental_since(now=now, fingerprint=fingerprint)
        full = previous is None
        prefix, suffix = _deal_url_parts()
        params = health.sql_params(now=now, url_prefix=prefix, url_suffix=suffix)
        if full:
            evaluated = _evaluate_all(cursor, now=now, params=params)
        else:
            evaluated = _evaluate_candidates(cursor, now=now, previous=previous, params=params)

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
        if not full:
            cursor.execute(sql.DROP_CANDIDATES_SQL)
    HealthSweep.objects.create(
        ran_at=now,
        opened=sum(opened.values()),
        resolved=sum(resolved.values()),
        notified=notified,
        full=full,
        evaluated=evaluated,
        config_fingerprint=fingerprint,
    )
    result = SweepResult(
        now=now,
        opened=opened,
        resolved=resolved,
        details_refreshed=refreshed,
        notified=notified,
        full=full,
        evaluated=evaluated,
    )
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


def health_change_record(*, opportunity_id: int, now: dt.datetime | None = None) -> None:
    """Remember that a deal was written, for the next sweep to evaluate it (`HealthChange`). Called
    inside the writer's transaction, so the row commits or rolls back with the change; one
    INSERT, the whole of what pipeline health adds to a user's action besides resolving flags."""
    HealthChange.objects.create(opportunity_id=opportunity_id, changed_at=now or timezone.now())


def health_changes_record(*, opportunity_ids: Iterable[int], now: dt.datetime | None = None) -> None:
    """`health_change_record` for many deals at once: for writers that create deals in bulk
    without announcing each (an import)."""
    now = now or timezone.now()
    HealthChange.objects.bulk_create(
        (HealthChange(opportunity_id=pk, changed_at=now) for pk in opportunity_ids), batch_size=2000
    )
