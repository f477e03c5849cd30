"""Your own account: the profile page, changing your password, and resetting a forgotten one by
email (Django's views and tokens in the app's templates)."""

import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

NEW_PASSWORD = "a-much-longer-passphrase-42"
LOCKOUT_MESSAGE = "Too many failed sign-ins."


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def can_sign_in(username: str, password: str) -> bool:
    client = Client()
    client.post(reverse("login"), {"username": username, "password": password})
    return signed_in(client)


# --- access -------------------------------------------------------------------------------------------------

SIGNED_IN_PAGES = ["profile", "password_change"]
ANONYMOUS_PAGES = ["password_reset", "password_reset_done", "password_reset_complete"]


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_anonymous_is_sent_to_sign_in(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse(name)}"


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_every_role_has_its_own_pages(client_for, name, owner, manager, admin):
    for user in (owner, manager, admin):
        assert client_for(user).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_reset_pages_need_no_sign_in(client, db, name):
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize(
    ("name", "methods"),
    [
        ("profile", ["post", "put", "delete"]),
        ("password_change", ["put", "delete"]),
        ("password_reset", ["put", "delete"]),
        ("password_reset_done", ["post", "put"]),
        ("password_reset_complete", ["post", "put"]),
    ],
)
def test_wrong_method_is_405(client_for, owner, name, methods):
    client = client_for(owner)
    for method in methods:
        assert getattr(client, method)(reverse(name)).status_code == 405


def test_reset_confirm_wrong_method_is_405(client, db):
    assert client.put(reverse("password_reset_confirm", args=["MQ", "x-y"])).status_code == 405


# --- profile ------------------------------------------------------------------------------------------------


def test_profile_shows_name_email_team_role_and_the_password_link(client_for, owner):
    owner.email = "olivia@example.com"
    owner.save()
    body = client_for(owner).get(reverse("profile")).content.decode()
    for fact in ("Olivia Owner", "olivia@example.com", "Team Alpha", "Rep"):
        assert fact in body
    assert f'href="{reverse("password_change")}"' in body


def test_profile_of_a_manager_lists_the_teams_managed(client_for, manager, other_team):
    other_team.managers.add(manager)
    body = client_for(manager).get(reverse("profile")).content.decode()
    assert "Manager" in body
    assert "Team Alpha, Team Beta" in body


def test_profile_without_email_says_reset_needs_one(client_for, owner):
    owner.email = ""
    owner.save()
    assert "Without an email address" in client_for(owner).get(reverse("profile")).content.decode()


def test_the_header_links_to_the_profile(client_for, owner):
    body = client_for(owner).get(reverse("opportunities:my_deals")).content.decode()
    assert f'href="{reverse("profile")}"' in body


# --- change password ----------------------------------------------------------------------------------------


def change(client: Client, old: str, new1: str, new2: str | None = None, path: str | None = None):
    data = {"old_password": old, "new_password1": new1, "new_password2": new1 if new2 is None else new2}
    return client.post(path or reverse("password_change"), data)


def test_change_password_keeps_you_signed_in_and_the_new_one_works(client_for, owner):
    client = client_for(owner)
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("profile")
    assert signed_in(client)
    assert client.get(reverse("profile")).status_code == 200
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert can_sign_in("owner", NEW_PASSWORD)
    assert not can_sign_in("owner", PASSWORD)


def test_change_password_shows_a_message_after_the_redirect(client_for, owner):
    client = client_for(owner)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password has been changed." in response.content.decode()


def test_change_password_ends_your_other_sessions(client_for, owner):
    elsewhere = client_for(owner)
    change(client_for(owner), PASSWORD, NEW_PASSWORD)
    assert elsewhere.get(reverse("profile")).status_code == 302


def test_change_password_with_a_wrong_old_password_changes_nothing_and_counts(client_for, owner):
    response = change(client_for(owner), "not-it", NEW_PASSWORD)
    assert response.status_code == 400
    assert "Your old password was entered incorrectly." in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    assert AccessAttempt.objects.get(username="owner").failures_since_start == 1


def test_change_password_refuses_a_mismatch(client_for, owner):
    response = change(client_for(owner), PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert response.status_code == 400
    assert "The two password fields didn’t match." in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short1", "This password is too short."),
        ("password123", "This password is too common."),
        ("4815162342", "This password is entirely numeric."),
        ("oliviaowner", "The password is too similar to the"),
    ],
)
def test_change_password_applies_the_validators(client_for, owner, new, message):
    response = change(client_for(owner), PASSWORD, new)
    assert response.status_code == 400
    assert message in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_guessing_the_old_password_is_throttled_like_sign_in(client_for, owner, now):
    client = client_for(owner)
    for _ in range(4):
        assert change(client, "guess", NEW_PASSWORD).status_code == 400
    response = change(client, "guess", NEW_PASSWORD)
    assert response.status_code == 429
    assert LOCKOUT_MESSAGE in response.content.decode()
    # Now even the right old password is refused, and signing in too.
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 429
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    assert not can_sign_in("owner", PASSWORD)


def test_the_admin_password_change_is_the_same_throttled_page(client_for, admin):
    client = client_for(admin)
    assert client.get("/admin/password_change/").templates[0].name == "people/password_change.html"
    assert change(client, "guess", NEW_PASSWORD, path="/admin/password_change/").status_code == 400
    assert AccessAttempt.objects.get(username="admin").failures_since_start == 1


# --- reset by email -----------------------------------------------------------------------------------------


@pytest.fixture
def with_email(owner):
    owner.email = "olivia@example.com"
    owner.save()
    return owner


def ask_reset(client: Client, email: str):
    return client.post(reverse("password_reset"), {"email": email})


def reset_link() -> str:
    (message,) = mail.outbox
    return re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body).group(1)


def test_reset_sends_a_link_to_the_accounts_email(client, with_email, settings):
    response = ask_reset(client, "OLIVIA@example.com")
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    (message,) = mail.outbox
    assert message.to == ["olivia@example.com"]
    assert message.subject == "Reset your Lockstep password"
    assert f"{settings.SITE_URL}/password-reset/" in message.body
    assert "Olivia" in message.body


def test_reset_answers_the_same_for_an_unknown_email(with_email):
    known = ask_reset(Client(), "olivia@example.com")
    unknown = ask_reset(Client(), "nobody@example.com")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert len(mail.outbox) == 1  # only the real account got one
    done = Client().get(known.url).content.decode()
    assert "If an account has that email address" in done


def test_reset_with_a_malformed_email_rerenders_the_form(client, db):
    response = ask_reset(client, "not an email")
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


def test_reset_end_to_end(client, with_email, now):
    ask_reset(client, "olivia@example.com")
    link = reset_link()

    # Django swaps the token for a session and redirects to the form.
    response = client.get(link)
    assert response.status_code == 302
    form_url = response.url
    assert "Choose a new password" in client.get(form_url).content.decode()

    mismatch = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": "other-" + NEW_PASSWORD})
    assert "The two password fields didn’t match." in mismatch.content.decode()
    weak = client.post(form_url, {"new_password1": "1234", "new_password2": "1234"})
    assert "This password is too short." in weak.content.decode()

    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")
    assert can_sign_in("owner", NEW_PASSWORD)
    assert not can_sign_in("owner", PASSWORD)

    # The link works once.
    again = Client().get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_a_tampered_link_is_refused(client, with_email):
    ask_reset(client, "olivia@example.com")
    link = reset_link()
    tampered = link[:-3] + ("a" if link[-3] != "a" else "b") + link[-2:]
    response = client.get(tampered, follow=True)
    assert "This link no longer works" in response.content.decode()


def test_a_reset_lifts_the_lockout_of_that_username(client, with_email, now):
    for i in range(5):
        Client().post(reverse("login"), {"username": "owner", "password": "guess"}, REMOTE_ADDR=f"10.9.0.{i}")
    assert not can_sign_in("owner", PASSWORD)

    ask_reset(client, "olivia@example.com")
    form_url = client.get(reset_link()).url
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert can_sign_in("owner", NEW_PASSWORD)
