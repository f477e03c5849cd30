"""Writes that belong to people and sign-in: the sign-in throttle."""

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import LoginFailure


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
