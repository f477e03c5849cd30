"""A rep works a deal end to end in real Chromium, through the pages and htmx partials only.

Every control is found the way a screen-reader user finds it: by its label or its role and
accessible name. A control that cannot be found that way is a template bug, not a test problem.
"""

import datetime as dt
import os
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from opportunities.models import LostReason, Opportunity, OpportunityStatus
from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import (
    MilestoneFactory,
    SalesProcessFactory,
    StageFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    """Two teams with a rep each; one process whose first stage has two required milestones."""
    rep = UserFactory(
        username="rita",
        first_name="Rita",
        last_name="Rep",
        role=Role.REP,
        team=TeamFactory(name="Team North"),
        password=PASSWORD,
    )
    stranger = UserFactory(
        username="sam",
        first_name="Sam",
        last_name="South",
        role=Role.REP,
        team=TeamFactory(name="Team South"),
        password=PASSWORD,
    )
    process = SalesProcessFactory(name="New business")
    qualify = StageFactory(process=process, name="Qualify", order=10, win_probability=10)
    StageFactory(process=process, name="Discover", order=20, win_probability=30)
    StageFactory(process=process, name="Propose", order=30, win_probability=60)
    MilestoneFactory(stage=qualify, name="Budget confirmed", is_required=True, order=1)
    MilestoneFactory(stage=qualify, name="Pain identified", is_required=True, order=2)
    MilestoneFactory(stage=qualify, name="Intro call held", is_required=False, order=3)
    # get_or_create: a data migration may already have installed these defaults.
    for name in ("Price", "Timing"):
        LostReason.objects.update_or_create(name=name, defaults={"is_active": True})
    return {"rep": rep, "stranger": stranger}


def announced(page: Page, text: str):
    """The status message (role=status, polite live region) that says `text`."""
    return page.get_by_role("status").filter(has_text=text)


def test_rep_works_a_deal_from_account_to_closed_lost(world, page: Page, new_context):
    today = timezone.localdate()
    sign_in(page, "rita")
    nav = page.get_by_role("navigation", name="Main")

    # An account, through Accounts → New account.
    nav.get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="New account").click()
    page.get_by_label("Name").fill("Globex Corporation")
    page.get_by_label("Industry").fill("Manufacturing")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Globex Corporation", level=1)).to_be_visible()

    # A deal for it, through New deal.
    nav.get_by_role("link", name="New deal").click()
    page.get_by_label("Search accounts").fill("Globex")
    page.get_by_role("radio", name="Globex Corporation").check()
    page.get_by_label("Sales process").select_option(label="New business")
    page.get_by_role("textbox", name="Name", exact=True).fill("Globex plant rollout")
    page.get_by_label("Amount").fill("120000")
    page.get_by_label("Expected close date").fill((today + dt.timedelta(days=60)).isoformat())
    page.get_by_role("button", name="Create deal").click()
    expect(page.get_by_role("heading", name="Globex plant rollout", level=1)).to_be_visible()
    opportunity = Opportunity.objects.get(name="Globex plant rollout")
    assert page.url.endswith(f"/deals/{opportunity.pk}/")
    deal_url = f"/deals/{opportunity.pk}/"

    stage_path = page.get_by_role("navigation", name="Stages of New business")
    current_stage = stage_path.locator('[aria-current="step"]')
    expect(current_stage).to_contain_text("Qualify")
    moving = page.get_by_role("region", name="Move or close")

    # Advancing without the required milestones is refused, naming each missing one.
    expect(moving.get_by_label("Move to stage")).to_have_value(str(opportunity.process.stages.get(name="Discover").pk))
    moving.get_by_role("button", name="Move", exact=True).click()
    refusal = announced(page, "Cannot move to Discover")
    expect(refusal).to_contain_text("Budget confirmed")
    expect(refusal).to_contain_text("Pain identified")
    expect(current_stage).to_contain_text("Qualify")

    # Tick both; each Tick swaps #deal through htmx.
    for milestone in ("Budget confirmed", "Pain identified"):
        page.get_by_role("button", name=f"Tick {milestone}", exact=True).click()
        expect(page.get_by_role("button", name=f"Untick {milestone}", exact=True)).to_be_visible()

    # Now the move goes through.
    moving.get_by_role("button", name="Move", exact=True).click()
    expect(announced(page, "Moved to Discover.")).to_be_visible()
    expect(current_stage).to_have_count(1)
    expect(current_stage).to_contain_text("Discover")
    expect(stage_path.get_by_role("listitem").filter(has_text="Qualify")).not_to_have_attribute("aria-current", "step")

    # Commit a next step (htmx), then complete it: the form asks for the following one.
    next_step = page.get_by_role("region", name="Next step", exact=True)
    expect(next_step).to_contain_text("No next step committed.")
    next_step.get_by_role("textbox", name="What happens next").fill("Send the proposal")
    next_step.get_by_role("textbox", name="Due", exact=True).fill((today + dt.timedelta(days=7)).isoformat())
    next_step.get_by_role("button", name="Commit", exact=True).click()
    expect(next_step.get_by_role("strong")).to_have_text("Send the proposal")

    next_step.get_by_role("link", name="Complete…").click()
    expect(next_step).to_contain_text("Done with “Send the proposal”. What is the next step?")
    next_step.get_by_role("textbox", name="What happens next").fill("Book the security review")
    next_step.get_by_role("textbox", name="Due", exact=True).fill((today + dt.timedelta(days=14)).isoformat())
    next_step.get_by_role("button", name="Complete and commit the next one").click()
    expect(announced(page, "Done — and the next step is committed.")).to_be_visible()
    expect(next_step.get_by_role("strong")).to_have_text("Book the security review")
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("Completed next step: Send the proposal")

    # Two new contacts on the buying team, with roles.
    team = page.get_by_role("region", name="Buying team")
    for first, last, roles in (("Ann", "Archer", ["Economic buyer", "Decision maker"]), ("Ben", "Baker", ["Champion"])):
        team.get_by_role("button", name="Add someone").click()
        team.get_by_label("First name").fill(first)
        team.get_by_label("Last name").fill(last)
        for role in roles:
            team.get_by_role("checkbox", name=role).check()
        team.get_by_role("button", name="Add to buying team").click()
        expect(team.get_by_role("listitem").filter(has_text=f"{first} {last}")).to_contain_text(roles[0])

    # A demo with both of them.
    activity = page.get_by_role("region", name="Activity")
    activity.get_by_label("Kind").select_option(label="Demo")
    activity.get_by_label("Subject").fill("Line-side demo")
    took_part = activity.get_by_role("group", name="Who took part")
    took_part.get_by_role("checkbox", name="Ann Archer").check()
    took_part.get_by_role("checkbox", name="Ben Baker").check()
    activity.get_by_role("button", name="Log activity").click()
    demo = activity.get_by_role("listitem").filter(has_text="Line-side demo")
    expect(demo).to_contain_text("Demo")
    expect(demo).to_contain_text("with Ann Archer, Ben Baker")

    if os.environ.get("DEAL_SCREENSHOT"):
        page.screenshot(path=os.environ["DEAL_SCREENSHOT"], full_page=True)

    # Closed lost, with a reason.
    moving.get_by_label("Lost reason").select_option(label="Price")
    moving.get_by_label("Notes", exact=True).fill("Went with the incumbent on price.")
    moving.get_by_role("button", name="Close lost").click()
    expect(announced(page, "Closed lost.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lost")
    expect(page.get_by_role("definition").filter(has_text=re.compile(r"^Lost on "))).to_contain_text("Price")
    expect(history).to_contain_text("Closed lost in Discover: Price")
    opportunity.refresh_from_db()
    assert opportunity.status == OpportunityStatus.LOST

    # A rep of another team cannot even tell the deal exists.
    other = new_context().new_page()
    sign_in(other, "sam")
    response = other.goto(deal_url)
    assert response is not None and response.status == 404


def test_keyboard_alone_signs_in(world, page: Page):
    page.goto("/login/")
    username = page.get_by_label("Username")
    expect(username).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(username).to_be_focused()
    page.keyboard.type("rita")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My deals", level=1)).to_be_visible()
