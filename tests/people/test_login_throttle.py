"""Sign-in throttling at the service level: per username, per address, cool-off, forgiveness.

The login view's use of these (messages, recording failures) is tested in test_views.py.
"""

import datetime as dt

import pytest
import time_machine

from people import services
from people.models import LoginFailure

LIMIT = 3
COOLOFF = 900


@pytest.fixture(autouse=True)
def throttle_settings(settings):
    settings.LOGIN_FAILURE_LIMIT = LIMIT
    settings.LOGIN_COOLOFF_SECONDS = COOLOFF


def fail(times: int, *, username: str = "owner", ip: str | None = "10.0.0.1", now=None) -> None:
    for _ in range(times):
        services.login_failure_record(username=username, ip_address=ip, now=now)


def throttled(*, username: str = "owner", ip: str | None = "10.0.0.1", now=None) -> bool:
    return services.login_is_throttled(username=username, ip_address=ip, now=now)


def test_a_few_failures_are_tolerated(db, now):
    fail(LIMIT - 1, now=now)
    assert not throttled(now=now)


def test_the_limit_of_failures_for_a_username_throttles_it_from_any_address(db, now):
    for i in range(LIMIT):
        fail(1, username="owner", ip=f"10.0.0.{i}", now=now)

    assert throttled(username="owner", ip="192.168.1.1", now=now)
    assert throttled(username="OWNER", ip="192.168.1.1", now=now)  # usernames compare case-insensitively
    assert throttled(username="owner", ip=None, now=now)
    assert not throttled(username="teammate", ip="192.168.1.1", now=now)


def test_the_limit_of_failures_from_an_address_throttles_every_username(db, now):
    for i in range(LIMIT):
        fail(1, username=f"guess{i}", ip="203.0.113.9", now=now)

    assert throttled(username="owner", ip="203.0.113.9", now=now)
    assert throttled(username="", ip="203.0.113.9", now=now)
    assert not throttled(username="owner", ip="203.0.113.10", now=now)


def test_failures_without_a_username_or_address_do_not_throttle_everyone(db, now):
    fail(LIMIT, username="", ip=None, now=now)
    assert not throttled(username="", ip=None, now=now)
    assert not throttled(username="owner", ip="10.0.0.1", now=now)


def test_the_default_limit_comes_from_settings(db, now, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    fail(4, now=now)
    assert not throttled(now=now)
    fail(1, now=now)
    assert throttled(now=now)


def test_the_cool_off_expires(db, now):
    fail(LIMIT, now=now)
    assert throttled(now=now + dt.timedelta(seconds=COOLOFF))  # the window includes its start
    assert not throttled(now=now + dt.timedelta(seconds=COOLOFF + 1))


def test_the_cool_off_expires_on_the_frozen_clock(db, now):
    # Neither call is given `now`: both read the clock, as the login view does.
    fail(LIMIT)
    assert LoginFailure.objects.filter(created_at=now).count() == LIMIT
    assert throttled()
    with time_machine.travel(now + dt.timedelta(seconds=COOLOFF - 1), tick=False):
        assert throttled()
    with time_machine.travel(now + dt.timedelta(seconds=COOLOFF + 1), tick=False):
        assert not throttled()


def test_only_recent_failures_count(db, now):
    fail(LIMIT - 1, now=now - dt.timedelta(seconds=COOLOFF + 60))
    fail(1, now=now)
    assert not throttled(now=now)
    fail(LIMIT - 1, now=now - dt.timedelta(seconds=60))
    assert throttled(now=now)


def test_success_clears_the_usernames_failures(db, now):
    fail(LIMIT, username="owner", ip="10.0.0.1", now=now)
    fail(1, username="teammate", ip="10.0.0.2", now=now)

    services.login_failures_clear(username="Owner", ip_address="10.0.0.1")

    assert not throttled(username="owner", ip="10.0.0.99", now=now)
    assert not LoginFailure.objects.filter(username__iexact="owner").exists()
    assert LoginFailure.objects.filter(username="teammate").count() == 1


def test_success_does_not_forgive_the_address(db, now):
    # Someone guessing many usernames from one address is not forgiven because one of them,
    # perhaps their own, signs in.
    fail(LIMIT - 1, username="victim", ip="203.0.113.9", now=now)
    fail(1, username="attacker", ip="203.0.113.9", now=now)

    services.login_failures_clear(username="attacker", ip_address="203.0.113.9")

    assert LoginFailure.objects.filter(ip_address="203.0.113.9").count() == LIMIT - 1
    fail(1, username="attacker", ip="203.0.113.9", now=now)
    assert throttled(username="anyone", ip="203.0.113.9", now=now)


def test_failures_are_recorded_as_given(db, now):
    failure = services.login_failure_record(username="x" * 200, ip_address="2001:db8::1", now=now)
    failure.refresh_from_db()
    assert failure.username == "x" * 150
    assert failure.ip_address == "2001:db8::1"
    assert failure.created_at == now


def test_purge_deletes_failures_older_than_a_day(db, now):
    fail(2, now=now - dt.timedelta(days=1, seconds=1))
    fail(1, now=now - dt.timedelta(days=1))
    fail(1, now=now)
    assert services.login_failures_purge(now=now) == 2
    assert LoginFailure.objects.count() == 2
    assert services.login_failures_purge(now=now) == 0
