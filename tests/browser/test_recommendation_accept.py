"""Accepting a recommendation in real Chromium: the rep opens a deal, the recommendations panel
loads after the page with its evidence, and one click makes the recommended step the deal's next
step, with focus on it."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from people.models import Role
from recommendations.models import Feedback
from tests.browser.axe import serious_problems
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import TeamFactory, UserFactory
from tests.recommendations.world import recommendation_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    team = TeamFactory(name="Team North")
    rep = UserFactory(username="rita", first_name="Rita", last_name="Rep", role=Role.REP, team=team, password=PASSWORD)
    _, deal = recommendation_world(owner=rep, now=timezone.now())
    return {"deal": deal}


def test_accept_a_recommendation_as_the_next_step(world, page: Page):
    sign_in(page, "rita")
    page.goto(f"/deals/{world['deal'].pk}/")
    panel = page.locator("#recommendations")
    expect(panel.get_by_text("Set up a reference call")).to_be_visible()
    expect(
        panel.get_by_text("A reference call before leaving Discover: 12 of 12 won deals, 0 of 12 lost.")
    ).to_be_visible()
    panel.get_by_text("Dismiss…").click()  # the dismiss form open too, for the accessibility check
    assert serious_problems(page) == []
    panel.get_by_role("button", name="Make it the next step").click()
    step = page.locator("#next-step-now")
    expect(step).to_contain_text("Set up a reference call")
    expect(step).to_be_focused()
    # The accepted step is no longer recommended on the deal.
    expect(page.locator("#recommendations")).not_to_contain_text("Make it the next step")
    assert Feedback.objects.filter(opportunity=world["deal"], verdict="accepted").count() == 1
