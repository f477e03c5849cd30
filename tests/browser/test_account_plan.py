"""The account plan in real Chromium, at desktop width and at a phone's (390 × 844): find the
account without a next step on the accounts list, write its objectives, commit its next step,
put a contact on its known buying team, and open a deal from it that starts with that team."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import AccountFactory, ContactFactory, TeamFactory, UserFactory, make_process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rita(transactional_db):
    rep = UserFactory(
        username="rita", first_name="Rita", last_name="Rep", role=Role.REP, team=TeamFactory(), password=PASSWORD
    )
    account = AccountFactory(name="Initech", owner=rep, industry="Software")
    ContactFactory(account=account, first_name="Peter", last_name="Gibbons", title="VP Operations")
    make_process(stages=2, milestones=1, name="New business")
    return rep


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("(m => m.scrollWidth <= m.clientWidth)(document.querySelector('main'))")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_plan_an_account_and_open_a_deal_with_its_team(rita, page: Page, viewport):
    page.set_viewport_size(viewport)
    sign_in(page, "rita")
    today = timezone.localdate()

    page.goto("/accounts/")
    page.get_by_label("No next step").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="Initech")).to_be_visible()
    assert no_sideways_scroll(page)
    page.get_by_role("link", name="Initech").click()

    plan = page.locator("#plan")
    expect(plan.get_by_role("heading", name="Account plan")).to_be_visible()
    plan.get_by_text("Edit the objectives").click()
    plan.get_by_label("Objectives").fill("Land the operations pilot this quarter.")
    plan.get_by_role("button", name="Save objectives").click()
    expect(page.locator("#plan .objectives")).to_have_text("Land the operations pilot this quarter.")

    plan = page.locator("#plan")
    plan.get_by_label("What happens next").fill("Discovery call with Peter")
    plan.get_by_label("Due", exact=True).fill(today.isoformat())
    plan.get_by_role("button", name="Commit").click()
    expect(page.locator("#account-step-now")).to_contain_text("Discovery call with Peter")

    plan = page.locator("#plan")
    plan.get_by_text("Add someone to the buying team").click()
    plan.get_by_label("Existing contact").select_option(label="Peter Gibbons (VP Operations)")
    plan.get_by_label("Champion").check()
    plan.get_by_role("button", name="Add to buying team").click()
    expect(page.locator("#account-team")).to_contain_text("Peter Gibbons")
    expect(page.locator("#account-team")).to_contain_text("Champion")
    assert no_sideways_scroll(page)

    page.locator("#main").get_by_role("link", name="New deal").click()
    expect(page.get_by_role("heading", name="New deal at Initech")).to_be_visible()
    expect(page.locator("#main form")).to_contain_text("Peter Gibbons")
    page.get_by_label("Sales process").select_option(label="New business")
    page.get_by_label("Name", exact=True).fill("Initech pilot")
    page.get_by_label("Amount").fill("12000")
    page.get_by_label("Expected close date").fill((today + dt.timedelta(days=45)).isoformat())
    page.get_by_role("button", name="Create deal").click()
    expect(page.get_by_role("heading", name="Initech pilot")).to_be_visible()
    expect(page.locator("#buying-team")).to_contain_text("Peter Gibbons")
    expect(page.locator("#buying-team")).to_contain_text("Champion")
