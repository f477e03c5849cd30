"""The sign-in throttle (django-axes): per username and per address, a generic lockout, the cool-off,
forgiveness; one throttle on every password check (login form, admin login, password change, no
HTTP Basic on the API); atomic under concurrent guesses; client addresses behind trusted proxies.
"""

import base64
import datetime as dt
import subprocess
import sys
import threading
import time
from unittest import mock

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from people.models import User
from tests.factories import PASSWORD, UserFactory
from tests.test_deploy import ROOT, clean_env

LOCKOUT_MESSAGE = "Too many failed sign-ins. Wait 15 minutes and try again."
WRONG_MESSAGE = "Please enter a correct username and password."
LIMIT = 5  # the default LOGIN_FAILURE_LIMIT
COOLOFF = dt.timedelta(seconds=900)  # the default LOGIN_COOLOFF_SECONDS


def login(client: Client, username: str, password: str, address: str = "127.0.0.1", path: str = "/login/", **meta):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **meta)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(username: str, times: int, address: str = "127.0.0.1", **meta) -> None:
    """`times` wrong passwords, each from a fresh client; none may sign in."""
    for _ in range(times):
        response = login(Client(), username, "wrong", address, **meta)
        assert response.status_code in (200, 429)
        assert "_auth_user_id" not in response.client.session


def locked_out(response) -> bool:
    return response.status_code == 429 and LOCKOUT_MESSAGE in response.content.decode()


@pytest.fixture
def check_password_calls():
    """How many times a password was actually checked (thread-safe), while the test runs."""
    original = User.check_password
    calls = []
    guard = threading.Lock()

    def counting(self, raw_password):
        with guard:
            calls.append(self.username)
        # Widens the gap between "is it locked?" and "record the failure", as a slow password
        # hasher does in production, so that an unguarded check-then-record shows its race.
        time.sleep(0.02)
        return original(self, raw_password)

    with mock.patch.object(User, "check_password", counting):
        yield calls


def test_the_settings_map_to_django_axes():
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    assert settings.AXES_COOLOFF_TIME == COOLOFF
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


# --- per username ---------------------------------------------------------------------------------------------


def test_one_below_the_limit_still_signs_in_and_forgives_the_username(client, owner, now):
    fail("owner", LIMIT - 1)
    response = login(client, "owner", PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)
    assert not AccessAttempt.objects.filter(username="owner").exists()


def test_the_limiting_failure_already_says_so(owner, now):
    fail("owner", LIMIT - 1)
    response = login(Client(), "owner", "wrong")
    assert locked_out(response)
    assert WRONG_MESSAGE not in response.content.decode()


def test_after_the_limit_the_right_password_is_refused_from_any_address(client, owner, teammate, now):
    # Failures from several addresses: the username is what is being guessed.
    for i in range(LIMIT):
        fail("owner", 1, address=f"10.0.0.{i + 1}")

    response = login(client, "owner", PASSWORD, address="10.0.1.1")

    assert locked_out(response)
    assert not signed_in(client)
    # Another user from a fresh address is not affected.
    other = Client()
    assert login(other, "teammate", PASSWORD, address="10.0.1.2").status_code == 302
    assert signed_in(other)


def test_the_username_is_counted_without_case_or_surrounding_space(client, owner, now):
    fail("OWNER", 2, address="10.0.0.1")
    fail(" Owner ", LIMIT - 2, address="10.0.0.2")
    assert locked_out(login(client, "owner", PASSWORD, address="10.0.1.1"))


def test_the_lockout_does_not_tell_whether_the_username_exists(owner, now):
    def errors(response) -> list[str]:
        return [str(e) for e in response.context["form"].non_field_errors()]

    # Wrong passwords read alike for a user who exists and one who does not ...
    wrong_for_existing = errors(login(Client(), "owner", "wrong", address="10.0.0.1"))
    assert wrong_for_existing == errors(login(Client(), "nobody", "wrong", address="10.0.0.2"))
    assert WRONG_MESSAGE in wrong_for_existing[0]
    # ... and so do the lockouts.
    fail("owner", LIMIT - 1, address="10.0.0.1")
    fail("nobody", LIMIT - 1, address="10.0.0.2")
    existing = login(Client(), "owner", PASSWORD, address="10.0.1.1")
    missing = login(Client(), "nobody", PASSWORD, address="10.0.1.2")
    assert locked_out(existing) and locked_out(missing)
    assert errors(existing) == errors(missing) == [LOCKOUT_MESSAGE]


# --- per address ----------------------------------------------------------------------------------------------


def test_after_the_limit_from_one_address_other_usernames_are_refused_there(client, owner, now):
    for i in range(LIMIT):
        fail(f"guess{i}", 1, address="203.0.113.7")

    assert locked_out(login(client, "owner", PASSWORD, address="203.0.113.7"))
    assert not signed_in(client)

    elsewhere = Client()
    assert login(elsewhere, "owner", PASSWORD, address="198.51.100.1").status_code == 302
    assert signed_in(elsewhere)


def test_a_sign_in_does_not_forgive_the_address(owner, teammate, now):
    # Someone guessing many usernames from one address is not forgiven because one of them,
    # perhaps their own, signs in.
    for i in range(LIMIT - 1):
        fail(f"victim{i}", 1, address="203.0.113.9")
    assert login(Client(), "teammate", PASSWORD, address="203.0.113.9").status_code == 302

    assert locked_out(login(Client(), "attacker", "wrong", address="203.0.113.9"))
    assert locked_out(login(Client(), "owner", PASSWORD, address="203.0.113.9"))


# --- the cool-off ---------------------------------------------------------------------------------------------


def test_refused_attempts_during_the_cooloff_do_not_extend_it(client, owner, now):
    fail("owner", LIMIT)
    with time_machine.travel(now + COOLOFF - dt.timedelta(seconds=1), tick=False):
        assert locked_out(login(Client(), "owner", "wrong-again"))
        assert locked_out(login(Client(), "owner", PASSWORD))
    assert AccessAttempt.objects.get(username="owner").failures_since_start == LIMIT

    with time_machine.travel(now + COOLOFF + dt.timedelta(seconds=1), tick=False):
        response = login(client, "owner", PASSWORD)
        assert response.status_code == 302
        assert signed_in(client)


def test_the_address_lockout_also_expires(client, owner, now):
    for i in range(LIMIT):
        fail(f"guess{i}", 1, address="203.0.113.7")
    with time_machine.travel(now + COOLOFF + dt.timedelta(seconds=1), tick=False):
        assert login(client, "owner", PASSWORD, address="203.0.113.7").status_code == 302


def test_the_limit_and_cooloff_follow_the_settings(client, owner, now, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=3)
    fail("owner", 1)
    response = login(client, "owner", "wrong")
    assert response.status_code == 429
    assert "Wait 3 minutes and try again." in response.content.decode()


# --- every password check goes through it ---------------------------------------------------------------------


def test_the_admin_login_shares_the_throttle(client, admin, now):
    fail("admin", LIMIT - 1, address="10.0.0.9")
    # The last failure, through the admin's login, counts with the others ...
    assert locked_out(login(Client(), "admin", "wrong", address="10.0.0.8", path="/admin/login/"))
    # ... and the lockout holds on both.
    assert locked_out(login(client, "admin", PASSWORD, address="10.0.0.7", path="/admin/login/"))
    assert locked_out(login(client, "admin", PASSWORD, address="10.0.0.7"))
    assert not signed_in(client)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_the_api_refuses_http_basic_even_with_the_right_password(client, owner, check_password_calls):
    response = client.get(reverse("api:opportunity_list"), HTTP_AUTHORIZATION=basic("owner", PASSWORD))
    assert response.status_code in (401, 403)
    assert check_password_calls == []


def test_a_locked_out_user_gets_in_nowhere_and_no_password_is_checked(owner, admin, now, check_password_calls):
    fail("owner", LIMIT, address="10.0.0.1")
    fail("admin", LIMIT, address="10.0.0.2")
    check_password_calls.clear()

    client = Client()
    assert locked_out(login(client, "owner", PASSWORD, address="10.0.1.1"))
    assert locked_out(login(client, "admin", PASSWORD, address="10.0.1.1", path="/admin/login/"))
    api = client.get(reverse("api:opportunity_list"), HTTP_AUTHORIZATION=basic("owner", PASSWORD))
    assert api.status_code in (401, 403)
    assert client.get(reverse("admin:index")).status_code == 302  # to the login page
    assert not signed_in(client)
    assert check_password_calls == []


# --- atomic under concurrent guesses -------------------------------------------------------------------------


def guess_in_parallel(username: str, guesses: int) -> list[int]:
    """`guesses` wrong passwords for `username` at once, each from its own address and thread."""
    start = threading.Barrier(guesses)
    statuses: list[int] = []

    def guess(i: int) -> None:
        try:
            start.wait()
            statuses.append(login(Client(), username, f"wrong{i}", address=f"10.1.{i}.1").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_parallel_guesses_get_no_more_password_checks_than_the_limit(transactional_db, check_password_calls):
    UserFactory(username="owner")

    statuses = guess_in_parallel("owner", 20)

    assert sorted(statuses) == [200] * (LIMIT - 1) + [429] * (20 - LIMIT + 1)
    assert len(check_password_calls) == LIMIT
    assert AccessAttempt.objects.filter(username="owner").count() == LIMIT


# --- the client's address behind proxies ---------------------------------------------------------------------

PROXY = "10.0.0.2"  # the reverse proxy's address: every request arrives from it


@pytest.fixture
def one_trusted_proxy(settings):
    """What settings.py makes of TRUSTED_PROXY_COUNT=1 (checked by the test after next)."""
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")


def read_settings(tmp_path, **env) -> dict:
    code = (
        "from django.conf import settings as s; print(repr((s.AXES_IPWARE_PROXY_COUNT,"
        " s.AXES_IPWARE_META_PRECEDENCE_ORDER, s.SECURE_PROXY_SSL_HEADER)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(tmp_path, SECRET_KEY="x" * 60, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (None, ("REMOTE_ADDR",), None)),
        ({"TRUSTED_PROXY_COUNT": "0"}, (None, ("REMOTE_ADDR",), None)),
        ({"BEHIND_PROXY": "true"}, (0, ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"), ("HTTP_X_FORWARDED_PROTO", "https"))),
        (
            {"TRUSTED_PROXY_COUNT": "1"},
            (0, ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"), ("HTTP_X_FORWARDED_PROTO", "https")),
        ),
        (
            {"BEHIND_PROXY": "true", "TRUSTED_PROXY_COUNT": "2"},
            (1, ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"), ("HTTP_X_FORWARDED_PROTO", "https")),
        ),
    ],
)
def test_trusted_proxy_count_decides_where_the_address_comes_from(tmp_path, env, expected):
    result = read_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(expected)


def test_behind_proxy_with_no_trusted_proxies_refuses_to_start(tmp_path):
    result = read_settings(tmp_path, BEHIND_PROXY="true", TRUSTED_PROXY_COUNT="0")
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in result.stderr


def test_behind_one_proxy_typos_from_one_client_do_not_lock_out_another(owner, now, one_trusted_proxy):
    for i in range(LIMIT):
        fail(f"typo{i}", 1, address=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")

    other = Client()
    response = login(other, "owner", PASSWORD, address=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 302
    assert signed_in(other)
    # The first client is locked out, whatever it puts ahead of the address the proxy appends.
    spoofed = "203.0.113.9, 198.51.100.7"
    assert locked_out(login(Client(), "owner", PASSWORD, address=PROXY, HTTP_X_FORWARDED_FOR=spoofed))


def test_without_trusted_proxies_the_forwarded_header_is_ignored(owner, now):
    # Each guess claims another address; all come from one connection address.
    for i in range(LIMIT):
        fail(f"guess{i}", 1, address="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    response = login(Client(), "owner", PASSWORD, address="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert locked_out(response)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_an_admin_sees_and_lifts_lockouts_in_the_admin(client_for, admin, owner, now):
    fail("owner", LIMIT)
    client = client_for(admin)
    listing = client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "owner" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="owner")
    response = client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert login(Client(), "owner", PASSWORD).status_code == 302
