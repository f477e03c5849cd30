"""Everyday use in real Chromium, at a phone's 390×844 and on a desktop: no page scrolls sideways
(long unbroken names included), the phone menu and the board's stage switcher work, and keyboard
focus lands somewhere sensible after every htmx action — never on <body>.

Few tests on purpose: each signs in once and walks many pages.
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from guidance.models import DealSignal
from tests.browser.everyday import build_world, main_pages
from tests.browser.signing_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
NARROWEST = {"width": 360, "height": 740}


@pytest.fixture
def world(transactional_db):
    return build_world()


def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def focused(page: Page) -> dict:
    return page.evaluate(
        """() => { const el = document.activeElement;
             return { tag: el.tagName, id: el.id, text: (el.textContent || '').trim().slice(0, 80),
                      label: el.labels && el.labels[0] ? el.labels[0].textContent.trim() : '' }; }"""
    )


def test_every_page_fits_a_phone_with_its_menu_and_board(world, page: Page):
    page.set_viewport_size(PHONE)
    sign_in(page, "mia")

    long_deal = world["long_deal"].pk
    # My deals' signal columns: one deal scored with a long priority reason, one not scored ("—").
    # (The world's deals were scored once their creation committed: guidance.receivers.)
    DealSignal.objects.update_or_create(opportunity_id=long_deal, defaults={
        "win_probability": 64, "viability": 100, "icp_score": 100, "priority": 76543.21,
        "reason": "Worth 1,234,567,890 expected of 9,876,543,210",
    })  # fmt: skip
    DealSignal.objects.filter(opportunity__name="Globex rollout").delete()
    # Guided selling's pages and the process editor (read-only for a manager) too.
    later = ["/focus/", "/focus/team/", "/focus/model/", f"/deals/{long_deal}/signals/", "/recommendations/"]
    later += ["/processes/", f"/processes/{world['process'].pk}/"]
    for url in [*main_pages(world), *later]:
        for size in (PHONE, NARROWEST):
            page.set_viewport_size(size)
            page.goto(url)
            assert sideways_overflow(page) <= 0, f"{url} scrolls sideways at {size['width']} px"
    page.set_viewport_size(PHONE)

    # The header is one short row; the navigation opens behind a menu button.
    page.goto("/")
    header = page.locator("header.topbar").bounding_box()
    assert header["height"] < 0.15 * PHONE["height"]
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Board", exact=True).click()

    # The board: one column at a time, picked with the stage switcher.
    expect(page.get_by_role("heading", name="Pipeline board")).to_be_visible()
    expect(page.get_by_role("heading", name="Qualify", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name="Discover", level=2)).to_be_hidden()
    page.get_by_label("Show the stage").select_option(label="Discover (0 deals)")
    expect(page.get_by_role("heading", name="Discover", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name="Qualify", level=2)).to_be_hidden()

    # The team's deals: one card per deal, each value labelled.
    page.goto("/deals/?scope=all")
    row = page.get_by_role("row").filter(has_text="Globex rollout")
    box = row.bounding_box()
    assert box["width"] <= PHONE["width"]
    expect(page.get_by_role("status").filter(has_text="2 deals")).to_be_visible()
    expect(row.locator('td[data-label="Win %"]')).to_have_text("—")


def test_desktop_board_and_my_deals_fit_and_a_card_says_no_next_step_once(world, page: Page):
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "rita")
    # My deals with guided selling's columns fits a desktop row, down to a small laptop's.
    DealSignal.objects.update_or_create(
        opportunity=world["planned"], defaults={"win_probability": 35, "reason": "Closes in 40 days"}
    )
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/deals/")
        assert sideways_overflow(page) <= 0, f"My deals scrolls sideways at {width} px"
    expect(page.get_by_role("row").filter(has_text="Globex rollout").get_by_role("cell", name="35%")).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/board/")
    assert sideways_overflow(page) <= 0
    last = page.locator("section.board-col").last.bounding_box()
    assert last["x"] + last["width"] <= 1440
    card = page.locator("li.board-card").filter(has_text="Supercalifragilistic")
    expect(card.get_by_text("No next step")).to_have_count(1)
    expect(page.get_by_label("Show the stage")).to_be_hidden()

    # A refused move (a required milestone is missing): focus goes to the reason on the card.
    globex = page.locator("li.board-card").filter(has_text="Globex rollout")
    globex.get_by_label("Move Globex rollout to").select_option(label="Discover")
    globex.get_by_role("button", name="Move Globex rollout").click()
    expect(page.locator("li.board-card .card-error")).to_be_focused()
    expect(page.locator("li.board-card .card-error")).to_contain_text("Qualify check")


def test_keyboard_focus_follows_every_htmx_action(world, page: Page):
    deal = world["long_deal"]
    today = timezone.localdate()
    sign_in(page, "rita")

    # "Set a next step" (Needs attention) lands in the next step's first field.
    page.goto("/attention/")
    page.get_by_role("link", name="Set a next step").first.click()
    expect(page.get_by_role("textbox", name="What happens next")).to_be_focused()

    # A failed submit (no description, no date): focus moves to the error.
    next_step = page.get_by_role("region", name="Next step", exact=True)
    next_step.get_by_role("button", name="Commit", exact=True).click()
    expect(page.locator("#messages .msg-error").first).to_be_focused()

    # A good submit: focus on the new next step.
    next_step.get_by_role("textbox", name="What happens next").fill("Call the CFO")
    next_step.get_by_role("textbox", name="Due", exact=True).fill((today + dt.timedelta(days=2)).isoformat())
    next_step.get_by_role("button", name="Commit", exact=True).click()
    expect(next_step.get_by_role("strong")).to_have_text("Call the CFO")
    expect(page.locator("#next-step-now")).to_be_focused()

    # Ticking a milestone keeps focus on that milestone's button, now "Untick".
    page.get_by_role("button", name="Tick Qualify check", exact=True).click()
    expect(page.get_by_role("button", name="Untick Qualify check", exact=True)).to_be_focused()
    # A later stage is collapsed, but its milestones can still be ticked early.
    later = page.locator("details.checklist").filter(has_text="Propose")
    expect(later.get_by_role("button", name="Tick Propose check", exact=True)).to_be_hidden()
    later.locator("summary").click()
    later.get_by_role("button", name="Tick Propose check", exact=True).click()
    expect(page.get_by_role("button", name="Untick Propose check", exact=True)).to_be_focused()

    # Disclosures are buttons, found by role and name.
    add = page.get_by_role("button", name="Add someone")
    expect(add).to_have_attribute("aria-expanded", "false")
    add.click()
    expect(add).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Existing contact")).to_be_focused()

    # Move is under 15 key presses from the top of the deal: through the "Jump to" list.
    page.goto(f"/deals/{deal.pk}/")
    page.locator("#main").focus()
    presses = 0
    while presses < 15:
        page.keyboard.press("Tab")
        presses += 1
        if focused(page)["text"] == "Move or close":
            break
    page.keyboard.press("Enter")
    presses += 1
    expect(page.get_by_label("Move to stage")).to_be_focused()
    assert presses < 15

    # Changes: a To before From shows its error in place, empties the table, focuses the field.
    page.goto("/changes/")
    expect(page.locator("table.changes-summary")).to_be_visible()
    page.get_by_label("From (end of day)").fill((today - dt.timedelta(days=1)).isoformat())
    page.get_by_label("To (end of day)").fill((today - dt.timedelta(days=5)).isoformat())
    page.get_by_label("To (end of day)").press("Enter")
    expect(page.get_by_role("alert").filter(has_text="must be on or before")).to_have_count(2)
    expect(page.locator("table.changes-summary")).to_have_count(0)
    expect(page.get_by_label("From (end of day)")).to_be_focused()
    expect(page.get_by_label("From (end of day)")).to_have_attribute("aria-invalid", "true")


def test_without_javascript_the_phone_pages_still_work(world, browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "rita")
        # nojs.css: the navigation shows (no menu button to open it), disclosures are open,
        # every board column shows, and still nothing scrolls sideways.
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        page.goto(f"/deals/{world['long_deal'].pk}/")
        assert sideways_overflow(page) <= 0
        expect(page.get_by_label("Existing contact")).to_be_visible()
        page.goto("/board/")
        assert sideways_overflow(page) <= 0
        expect(page.get_by_role("heading", name="Discover", level=2)).to_be_visible()
    finally:
        context.close()
