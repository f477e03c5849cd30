"""A rep changes their password in real Chromium and signs in with the new one."""

import re

import pytest
from playwright.sync_api import Page, expect

from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-much-longer-passphrase-42"


def test_change_password_then_sign_in_with_the_new_one(page: Page, transactional_db):
    UserFactory(
        username="rita", first_name="Rita", last_name="Rep", role=Role.REP, team=TeamFactory(), password=PASSWORD
    )
    sign_in(page, "rita")

    page.get_by_role("link", name=re.compile("^Rita Rep")).click()
    expect(page.get_by_role("heading", name="Your profile", level=1)).to_be_visible()
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label(re.compile(r"^New password\W*$")).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.goto("/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password.")

    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My deals", level=1)).to_be_visible()
