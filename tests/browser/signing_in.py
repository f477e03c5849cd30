"""Signing in through the login form, as every browser test starts."""

from playwright.sync_api import Page, expect

# The browser tests' users get this password (a real-looking one: the login form is the one people use).
PASSWORD = "correct horse battery staple"


def sign_in(page: Page, username: str) -> None:
    """Sign `username` in with PASSWORD and wait for the landing page, My deals."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My deals", level=1)).to_be_visible()
