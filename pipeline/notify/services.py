"""Writes of the notifications: marking them read. (The sweep creates them: pipeline.health.)"""

import datetime as dt

from django.utils import timezone

from opportunities.errors import AccessDenied

from ..models import Notification


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
