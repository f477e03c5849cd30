"""Sign-in throttle hooks for django-axes (named in settings): how a username is counted, and
what a refused attempt answers. The lock and the forgiving of failures are in services.py."""

from django.conf import settings
from django.http import HttpResponse


def throttle_username_from(raw: str | None) -> str | None:
    """The form of a username the throttle counts: trimmed and case-folded, so that "Owner" and
    "owner " are one username to guess at."""
    return (raw or "").strip().lower()[:255] or None


def throttle_username(request, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username being tried, from the credentials checked or else
    the posted form."""
    if credentials:
        return throttle_username_from(credentials.get("username"))
    return throttle_username_from(request.POST.get("username"))


def lockout_message() -> str:
    """The same words whether or not the username exists: a lockout must not tell."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds()) // 60)
    return f"Too many failed sign-ins. Wait {minutes} minutes and try again."


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the page the form already rendered (it shows `lockout_message`),
    answered as 429 Too Many Requests; a plain 429 where there is no such page."""
    if original_response is not None and original_response.status_code in (200, 400):
        original_response.status_code = 429
        return original_response
    return HttpResponse(lockout_message(), status=429, content_type="text/plain; charset=utf-8")
