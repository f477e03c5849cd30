"""Reminders of the higher apps' (`opportunities.hooks.ReminderSource`, e.g. overdue
post-mortems) turned into notifications: the bell now, the daily digest each morning."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from opportunities.hooks import reminder_sources

from ..models import Notification


def reminders_notify(*, now: dt.datetime | None = None) -> int:
    """Notify everyone of the reminders due now; returns how many. Each source's reminders are
    written and marked notified in one transaction, so running twice notifies nobody twice."""
    now = now or timezone.now()
    count = 0
    for source in reminder_sources():
        with transaction.atomic():
            due = source.due(now)
            Notification.objects.bulk_create(
                [Notification(user_id=r.user_id, message=r.message[:300], url=r.url[:300], created_at=now) for r in due]
            )
            source.mark_notified(due, now)
        count += len(due)
    return count


def reminders_for_digest(user, now: dt.datetime) -> list:
    return [r for source in reminder_sources() for r in source.for_digest(user, now)]


def reminder_user_ids(now: dt.datetime) -> set[int]:
    ids = set()
    for source in reminder_sources():
        ids |= set(source.digest_user_ids(now))
    return ids
