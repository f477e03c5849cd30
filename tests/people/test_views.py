"""Project-level views: sign-in, sign-out, health, home, and the security headers every response
carries. The sign-in throttle has its own module, test_signin.py."""

import json

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

WRONG_MESSAGE = "Please enter a correct username and password."


def login(client: Client, username: str, password: str, address: str = "127.0.0.1", **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- sign in -----------------------------------------------------------------------------------------------


def test_login_page_renders_without_login(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body and 'name="password"' in body
    assert 'for="id_username"' in body and 'for="id_password"' in body
    assert f'href="{reverse("password_reset")}"' in body


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
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == ("owner", "127.0.0.1", 1)


def test_inactive_user_cannot_sign_in(client, owner):
    owner.is_active = False
    owner.save()
    response = login(client, "owner", PASSWORD)
    assert response.status_code == 200
    assert WRONG_MESSAGE in response.content.decode()
    assert not signed_in(client)


def test_login_wrong_method_is_405(client, db):
    assert client.put(reverse("login")).status_code == 405
    assert client.delete(reverse("login")).status_code == 405


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


@pytest.mark.parametrize(
    ("url", "login_url"),
    [("/", "/login/"), ("/deals/", "/login/"), ("/profile/", "/login/"), ("/admin/", "/admin/login/")],
)
def test_anonymous_is_sent_to_login(client, db, url, login_url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{login_url}?next={url}"


# --- security headers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "owner"])
@pytest.mark.parametrize(
    "url", ["/login/", "/health/", "/deals/", "/accounts/", "/nowhere/", "/profile/", "/password-reset/"]
)
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


# --- the admin site and the API schema ----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/", "/admin/people/user/", "/admin/logout/"])
def test_the_admin_refuses_a_signed_in_non_staff_user_instead_of_looping(client_for, owner, url):
    response = client_for(owner).get(url)
    assert response.status_code == 403


def test_the_admin_login_sends_a_signed_in_non_staff_user_on_to_the_refusal(client_for, owner):
    client = client_for(owner)
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert client.get(response.url).status_code == 403


def test_the_admin_works_for_staff(client_for, admin):
    assert client_for(admin).get("/admin/").status_code == 200
    assert client_for(admin).get("/admin/people/user/").status_code == 200


def test_the_api_schema_needs_sign_in(client, owner):
    response = client.get(reverse("api_schema"))
    assert response.status_code in (401, 403)
    assert b"/api/opportunities/" not in response.content
    client.force_login(owner)
    assert client.get(reverse("api_schema")).status_code == 200
