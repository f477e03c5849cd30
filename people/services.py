"""Writes that belong to people and sign-in: the sign-in lock and the forgiving of failures
(django-axes counts the failures; its hooks are in signin.py)."""

from collections.abc import Iterator
from contextlib import contextmanager

from axes.models import AccessAttempt
from django.db import connection, transaction

from . import signin, tokens
from .errors import PeopleError
from .models import ApiToken, TokenScope

# Enough for every integration a person runs; a bound keeps a leaked session from minting thousands.
MAX_ACTIVE_TOKENS = 20

# Any constant that fits in 32 bits: the two-key advisory locks are a key space of their own,
# apart from the sweep's one-key lock.
SIGNIN_LOCK_CLASS = 0x5369676E  # "Sign"


@contextmanager
def signin_serialized(*, username: str | None) -> Iterator[None]:
    """Run one sign-in attempt for `username` at a time, inside a transaction.

    django-axes asks "locked out?", the password is checked, then axes records a failure: three
    steps. Run side by side, 20 attempts would all pass the first before any reached the third,
    and each would get its password checked. Holding a lock per username (case-insensitive, as
    the throttle counts) across the three makes the fifth failure visible to the sixth attempt.
    On SQLite every transaction takes the database's write lock at BEGIN (IMMEDIATE), which
    serializes the attempts just the same.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    [SIGNIN_LOCK_CLASS, signin.throttle_username_from(username) or ""],
                )
        yield


def signin_failures_forgive(*, username: str) -> int:
    """A successful sign-in forgives that username's failures, from whatever address. Failures
    counted against an address for other usernames stay: someone guessing many names is not
    forgiven because one of them, perhaps their own, signs in."""
    deleted, _ = AccessAttempt.objects.filter(username=signin.throttle_username_from(username)).delete()
    return deleted


def api_token_create(*, actor, name: str, scope: str, now) -> tuple[ApiToken, str]:
    """Issue a token to `actor`; returns it and its secret, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise PeopleError("Give the token a name, so you can tell it apart later.", field="name")
    if scope not in TokenScope.values:
        raise PeopleError("Choose read only or read and write.", field="scope")
    if ApiToken.objects.active().filter(user=actor).count() >= MAX_ACTIVE_TOKENS:
        raise PeopleError(f"You have {MAX_ACTIVE_TOKENS} tokens already; revoke one you no longer use first.")
    secret = tokens.new_secret()
    token = ApiToken.objects.create(
        user=actor,
        name=name[:100],
        scope=scope,
        prefix=tokens.visible_prefix(secret),
        digest=tokens.digest(secret),
        created_at=now,
    )
    return token, secret


def api_token_revoke(*, actor, token_id: int, now) -> None:
    """Revoke one of `actor`'s own tokens; it stops working at once."""
    updated = ApiToken.objects.active().filter(user=actor, pk=token_id).update(revoked_at=now)
    if not updated:
        raise PeopleError("That token does not exist or is already revoked.")
