"""Focus in real Chromium, at phone width: the rep opens Focus, opens the deal at its top and
ticks a qualification item in the deal's Signals panel (htmx, then checked after a reload)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from guidance import services as guidance
from guidance.models import QualificationTick
from opportunities import services
from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import AccountFactory, SalesProcessFactory, StageFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    team = TeamFactory(name="Team North")
    rep = UserFactory(username="rita", first_name="Rita", last_name="Rep", role=Role.REP, team=team, password=PASSWORD)
    process = SalesProcessFactory(name="New business")
    StageFactory(process=process, name="Qualify", order=10, win_probability=10)
    deal = services.opportunity_create(
        actor=rep,
        account=AccountFactory(owner=rep, name="Globex"),
        process=process,
        name="Globex rollout",
        amount="20000",
        expected_close_date=dt.date.today() + dt.timedelta(days=10),
    )
    guidance.qualification_items_seed(process=process)
    guidance.win_model_train()
    guidance.signals_score_all(now=timezone.now())
    return {"deal": deal}


def test_rep_opens_focus_then_the_deal_and_ticks_a_qualification_item(world, page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "rita")
    page.goto("/focus/")
    expect(page.get_by_role("heading", name="Focus", exact=True)).to_be_visible()
    item = page.locator(".focus-item").first
    expect(item).to_contain_text("Closes in 10 days")
    item.get_by_role("link", name="Globex rollout").click()
    panel = page.locator("#signals")
    expect(panel.get_by_role("heading", name="Signals")).to_be_visible()
    budget = panel.locator('button[data-item="Budget known"]')
    expect(budget).to_have_attribute("aria-pressed", "false")
    budget.focus()
    page.keyboard.press("Enter")
    expect(page.locator('#signals button[data-item="Budget known"]')).to_have_attribute("aria-pressed", "true")
    # The swapped-in checklist keeps the keyboard on the item just ticked.
    expect(page.locator('#signals button[data-item="Budget known"]')).to_be_focused()
    assert QualificationTick.objects.get().item.label == "Budget known"
    page.reload()
    expect(page.locator('#signals button[data-item="Budget known"]')).to_have_attribute("aria-pressed", "true")
