"""The global search in real Chromium: "/" focuses the header's box, Enter searches, a result
opens; at desktop width and at a phone's (390 × 844), by keyboard only."""

import pytest
from playwright.sync_api import Page, expect

from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import AccountFactory, ContactFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rita(transactional_db):
    rep = UserFactory(
        username="rita", first_name="Rita", last_name="Rep", role=Role.REP, team=TeamFactory(), password=PASSWORD
    )
    account = AccountFactory(name="Initech", owner=rep, website="https://initech.example")
    ContactFactory(account=account, first_name="Peter", last_name="Gibbons", email="peter@initech.example")
    return rep


def no_sideways_scroll(page: Page) -> bool:
    """Whether the page's content fits its width (tables may scroll inside their own box; the
    header's navigation is the phone layout's business)."""
    return page.evaluate("(m => m.scrollWidth <= m.clientWidth)(document.querySelector('main'))")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_slash_focuses_the_search_and_a_result_opens(rita, page: Page, viewport):
    page.set_viewport_size(viewport)
    sign_in(page, "rita")

    page.locator("body").click(position={"x": 5, "y": 300})  # nothing focused that takes "/"
    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Quick find")
    expect(box).to_be_focused()
    expect(box).to_have_value("")  # the "/" was not typed into it
    page.keyboard.type("gibbons")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Search", level=1)).to_be_visible()
    result = page.get_by_role("link", name="Peter Gibbons")
    expect(result).to_be_visible()
    assert no_sideways_scroll(page)
    result.focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Peter Gibbons", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="peter@initech.example")).to_be_visible()
    assert no_sideways_scroll(page)
    page.goto("/contacts/")
    assert no_sideways_scroll(page)


def test_slash_inside_a_field_is_typed_not_a_shortcut(rita, page: Page):
    sign_in(page, "rita")
    page.goto("/accounts/")
    field = page.get_by_label("Search", exact=True)
    field.click()
    page.keyboard.type("a/b")
    expect(field).to_have_value("a/b")
    expect(page.get_by_role("searchbox", name="Quick find")).not_to_be_focused()


def test_the_contact_page_edits_by_keyboard(rita, page: Page):
    sign_in(page, "rita")
    page.goto("/contacts/")
    page.get_by_role("link", name="Peter Gibbons").click()
    page.get_by_role("link", name="Edit contact").click()
    page.get_by_label("Title").fill("Programmer")
    page.get_by_label("Title").press("Enter")
    expect(page.get_by_role("heading", name="Peter Gibbons", level=1)).to_be_visible()
    expect(page.get_by_text("Programmer at Initech")).to_be_visible()
