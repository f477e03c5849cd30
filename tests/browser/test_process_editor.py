"""The process editor in real Chromium: an admin adds a milestone to a stage, moves it up (with
the keyboard), removes another, all through htmx without a page load; at a phone's width nothing
scrolls sideways; a rep sees the same process read-only."""

import pytest
from playwright.sync_api import Page, expect

from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import TeamFactory, UserFactory, make_process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def process(transactional_db):
    UserFactory(username="ada", first_name="Ada", last_name="Admin", role=Role.ADMIN, password=PASSWORD)
    UserFactory(
        username="rita", first_name="Rita", last_name="Rep", role=Role.REP, team=TeamFactory(), password=PASSWORD
    )
    return make_process(stages=2, milestones=2, optional=1, name="New business")


def milestone_names(page: Page, stage: str) -> list[str]:
    return page.get_by_role("list", name=f"Milestones of {stage}").locator(".milestone-name").all_inner_texts()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_an_admin_edits_milestones_and_a_rep_reads(process, page: Page, new_context, viewport):
    page.set_viewport_size(viewport)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "ada")
    page.goto("/processes/")
    expect(page.get_by_role("heading", name="Sales processes", level=1)).to_be_visible()
    page.get_by_role("link", name="New business").click()
    expect(page.get_by_role("heading", name="New business", level=1)).to_be_visible()

    page.get_by_label("New milestone for Qualify").fill("Budget confirmed")
    qualify = process.stages.get(name="Qualify")
    page.locator(f"#stage-{qualify.pk}").get_by_role("button", name="Add milestone").click()
    expect(page.locator("#messages")).to_contain_text("Added the milestone “Budget confirmed” to “Qualify”.")
    assert milestone_names(page, "Qualify") == ["Check 1", "Check 2", "Optional 1", "Budget confirmed"]
    # Four is the most a stage has: its add form is gone.
    expect(page.get_by_label("New milestone for Qualify")).to_have_count(0)

    up = page.get_by_role("button", name="Move milestone Budget confirmed of Qualify up")
    up.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text("Moved “Budget confirmed” up.")
    assert milestone_names(page, "Qualify") == ["Check 1", "Check 2", "Budget confirmed", "Optional 1"]
    # The keyboard stays with the milestone just moved, on its new row.
    focused = page.evaluate("() => document.activeElement.closest('li') && document.activeElement.closest('li').id")
    assert focused == page.locator("li[id^=milestone-]", has_text="Budget confirmed").get_attribute("id")

    page.get_by_role("button", name="Remove milestone Optional 1 of Qualify").click()
    expect(page.locator("#messages")).to_contain_text("Removed the milestone “Optional 1”.")
    assert milestone_names(page, "Qualify") == ["Check 1", "Check 2", "Budget confirmed"]
    assert page.evaluate("(m => m.scrollWidth <= m.clientWidth)(document.querySelector('main'))")

    rep = new_context().new_page()
    rep.set_viewport_size(viewport)
    sign_in(rep, "rita")
    rep.goto(f"/processes/{process.pk}/")
    expect(rep.get_by_text("You can view this process; only admins change it.")).to_be_visible()
    assert milestone_names(rep, "Qualify") == ["Check 1", "Check 2", "Budget confirmed"]
    expect(rep.get_by_role("button", name="Add milestone")).to_have_count(0)
    expect(rep.get_by_role("button", name="Remove milestone Check 1 of Qualify")).to_have_count(0)
