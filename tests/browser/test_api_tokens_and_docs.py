"""A rep makes an API token on their profile at a phone's width and uses it; the API docs render
in real Chromium from the vendored Swagger UI and Redoc under the pages' Content-Security-Policy."""

import pytest
from playwright.sync_api import Page, expect

from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_make_use_and_revoke_a_token_at_phone_width_and_read_the_docs(page: Page, transactional_db):
    UserFactory(
        username="rita", first_name="Rita", last_name="Rep", role=Role.REP, team=TeamFactory(), password=PASSWORD
    )
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_viewport_size(PHONE)
    sign_in(page, "rita")

    page.goto("/profile/")
    page.get_by_label("Name").fill("Spreadsheet sync")
    page.get_by_label("Read only").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Your new token").input_value()
    assert secret.startswith("lst_")
    expect(page.get_by_role("cell", name="Spreadsheet sync", exact=True)).to_be_visible()
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth)
             .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)"""
    )
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, wide

    answer = page.request.get("/api/opportunities/", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200
    page.get_by_role("button", name="Revoke Spreadsheet sync").click()
    expect(page.get_by_text("Token revoked")).to_be_visible()
    assert page.request.get("/api/opportunities/", headers={"Authorization": f"Bearer {secret}"}).status == 403

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/api/docs/")
    expect(page.get_by_text("Lockstep API").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    page.goto("/api/docs/reference/")
    expect(page.get_by_role("heading", name="Lockstep API").first).to_be_visible(timeout=15000)
    # Redoc's sidebar credit ("API docs by Redocly") always asks Redocly's CDN for its logo and
    # hides the picture when that fails: the policy refusing it is the no-CDN rule at work. Any
    # other refusal would be an asset of ours that the page cannot load.
    refused = [e for e in errors if "Content Security Policy" in e or "Refused" in e]
    assert [e for e in refused if "https://cdn.redoc.ly/redoc/logo-mini.svg" not in e] == []
