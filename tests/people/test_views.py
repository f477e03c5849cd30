"""Project-level views: sign-in (with its throttle), sign-out, health, home, and the security
headers every response carries."""

import datetime as dt
import json

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from people.models import LoginFailure
from tests.factories import PASSWORD

COOLOFF_MESSAGE = "Too many failed sign-ins."
WRONG_MESSAGE = "Please enter a correct username and password."


def login(client: Client, username: str, password: str, address: str = "127.0.0.1", **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(username: str, times: int, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        response = login(Client(), username, "wrong", address)
        assert response.status_code == 200
        assert WRONG_MESSAGE in response.content.decode()


# --- sign in -----------------------------------------------------------------------------------------------


def test_login_page_renders_without_login(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body and 'name="password"' in body
    assert 'for="id_username"' in body and 'for="id_password"' in body


def test_login_signs_in_and_goes_to_my_deals(client, owner):
    response = login(client, "owner", PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("opportunities:my_deals")
    assert signed_in(client)
    assert client.get(reverse("opportunities:my_deals")).status_code == 200


def test_login_follows_a_safe_next_but_not_an_external_one(client, owner):
    response = login(client, "owner", PASSWORD, next="/accounts/")
    assert response.url == "/accounts/"
    other = Client()
    response = login(other, "owner", PASSWORD, next="https://evil.example/")
    assert response.url == reverse("opportunities:my_deals")


def test_signed_in_user_visiting_login_is_sent_on(client_for, owner):
    response = client_for(owner).get(reverse("login"))
    assert response.status_code == 302
    assert response.url == reverse("opportunities:my_deals")


def test_wrong_password_shows_an_error_and_records_the_failure(client, owner):
    response = login(client, "owner", "wrong")
    assert response.status_code == 200
    assert WRONG_MESSAGE in response.content.decode()
    assert not signed_in(client)
    assert LoginFailure.objects.filter(username="owner", ip_address="127.0.0.1").count() == 1


def test_inactive_user_cannot_sign_in(client, owner):
    owner.is_active = False
    owner.save()
    response = login(client, "owner", PASSWORD)
    assert response.status_code == 200
    assert not signed_in(client)


def test_login_wrong_method_is_405(client, db):
    assert client.put(reverse("login")).status_code == 405
    assert client.delete(reverse("login")).status_code == 405


def test_admin_login_uses_the_same_throttled_form(client, admin, now):
    fail("admin", settings.LOGIN_FAILURE_LIMIT, address="10.0.0.9")
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD}, REMOTE_ADDR="10.0.0.8")
    assert COOLOFF_MESSAGE in response.content.decode()
    assert not signed_in(client)


# --- the throttle -------------------------------------------------------------------------------------------


def test_after_the_limit_the_right_password_is_refused_for_that_username(client, owner, now):
    # Failures from several addresses: the username is what is being guessed.
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        fail("owner", 1, address=f"10.0.0.{i + 1}")

    response = login(client, "owner", PASSWORD, address="10.0.1.1")

    assert response.status_code == 200
    body = response.content.decode()
    assert COOLOFF_MESSAGE in body
    minutes = settings.LOGIN_COOLOFF_SECONDS // 60
    assert f"Wait {minutes} minutes and try again." in body
    assert not signed_in(client)
    # Another user from a fresh address is not affected.
    assert login(Client(), "teammate", PASSWORD, address="10.0.1.2").status_code in (200, 302)


def test_username_throttle_ignores_case(client, owner, now):
    fail("OWNER", settings.LOGIN_FAILURE_LIMIT, address="10.0.0.1")
    response = login(client, "owner", PASSWORD, address="10.0.1.1")
    assert COOLOFF_MESSAGE in response.content.decode()


def test_one_below_the_limit_still_signs_in_and_forgives(client, owner, now):
    fail("owner", settings.LOGIN_FAILURE_LIMIT - 1)
    response = login(client, "owner", PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)
    assert not LoginFailure.objects.filter(username="owner").exists()


def test_after_the_limit_from_one_address_other_usernames_are_refused_there(client, owner, teammate, now):
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        fail(f"guess{i}", 1, address="203.0.113.7")

    response = login(client, "owner", PASSWORD, address="203.0.113.7")
    assert COOLOFF_MESSAGE in response.content.decode()
    assert not signed_in(client)

    elsewhere = Client()
    assert login(elsewhere, "owner", PASSWORD, address="198.51.100.1").status_code == 302
    assert signed_in(elsewhere)


def test_refused_attempts_during_the_cooloff_do_not_extend_it(client, owner, now):
    fail("owner", settings.LOGIN_FAILURE_LIMIT)
    count = LoginFailure.objects.count()
    login(client, "owner", "wrong-again")
    login(client, "owner", PASSWORD)
    assert LoginFailure.objects.count() == count


def test_the_right_password_works_again_after_the_window(client, owner, now):
    fail("owner", settings.LOGIN_FAILURE_LIMIT)
    assert COOLOFF_MESSAGE in login(Client(), "owner", PASSWORD).content.decode()

    with time_machine.travel(now + dt.timedelta(seconds=settings.LOGIN_COOLOFF_SECONDS - 1), tick=False):
        assert COOLOFF_MESSAGE in login(Client(), "owner", PASSWORD).content.decode()

    with time_machine.travel(now + dt.timedelta(seconds=settings.LOGIN_COOLOFF_SECONDS + 1), tick=False):
        response = login(client, "owner", PASSWORD)
        assert response.status_code == 302
        assert signed_in(client)


def test_address_throttle_also_expires(client, owner, now):
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        fail(f"guess{i}", 1, address="203.0.113.7")
    with time_machine.travel(now + dt.timedelta(seconds=settings.LOGIN_COOLOFF_SECONDS + 1), tick=False):
        assert login(client, "owner", PASSWORD, address="203.0.113.7").status_code == 302


# --- sign out -----------------------------------------------------------------------------------------------


def test_logout_is_post_only(client_for, owner):
    client = client_for(owner)
    assert client.get(reverse("logout")).status_code == 405
    assert signed_in(client)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert not signed_in(client)


def test_logout_form_is_on_every_page(client_for, owner):
    body = client_for(owner).get(reverse("opportunities:account_list")).content.decode()
    assert f'<form method="post" action="{reverse("logout")}">' in body


def test_anonymous_logout_goes_to_login(client, db):
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- health and home ----------------------------------------------------------------------------------------


def test_health_is_json_without_login(client, db):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok"}


def test_health_answers_head_and_refuses_writes(client, db):
    assert client.head(reverse("health")).status_code == 200
    assert client.post(reverse("health")).status_code == 405


def test_health_reports_an_unavailable_database(client, db):
    from unittest import mock

    from django.db import connection

    with mock.patch.object(connection, "cursor", side_effect=RuntimeError("database is gone")):
        response = client.get(reverse("health"))
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "error", "database": "unavailable"}


def test_home_redirects_to_my_deals(client_for, owner):
    response = client_for(owner).get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("opportunities:my_deals")


def test_home_wrong_method_is_405(client_for, owner):
    assert client_for(owner).post(reverse("home")).status_code == 405


@pytest.mark.parametrize(("url", "login_url"), [("/", "/login/"), ("/deals/", "/login/"), ("/admin/", "/admin/login/")])
def test_anonymous_is_sent_to_login(client, db, url, login_url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{login_url}?next={url}"


# --- security headers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "owner"])
@pytest.mark.parametrize("url", ["/login/", "/health/", "/deals/", "/accounts/", "/nowhere/"])
def test_security_headers_on_every_response(request, db, who, url):
    client = Client()
    if who == "owner":
        client.force_login(request.getfixturevalue("owner"))
    response = client.get(url)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_login_page_is_not_cached(client, db):
    response = client.get(reverse("login"))
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
