"""A rep drags a card across the board in real Chromium: refused while the required milestones
are open (named on the card, which goes back to its column), allowed once they are ticked.

Controls are found by role and accessible name, as a screen-reader user finds them.
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from opportunities import services
from opportunities.models import Opportunity
from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import (
    AccountFactory,
    MilestoneFactory,
    SalesProcessFactory,
    StageFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deal(transactional_db):
    rep = UserFactory(
        username="rita",
        first_name="Rita",
        last_name="Rep",
        role=Role.REP,
        team=TeamFactory(name="North"),
        password=PASSWORD,
    )
    process = SalesProcessFactory(name="New business")
    qualify = StageFactory(process=process, name="Qualify", order=10, win_probability=10)
    StageFactory(process=process, name="Discover", order=20, win_probability=30)
    StageFactory(process=process, name="Propose", order=30, win_probability=60)
    MilestoneFactory(stage=qualify, name="Budget confirmed", is_required=True, order=1)
    MilestoneFactory(stage=qualify, name="Pain identified", is_required=True, order=2)
    MilestoneFactory(stage=qualify, name="Intro call held", is_required=False, order=3)
    return services.opportunity_create(
        actor=rep,
        account=AccountFactory(name="Globex", owner=rep),
        process=process,
        name="Globex rollout",
        amount="120000",
        expected_close_date=timezone.localdate() + dt.timedelta(days=45),
    )


def column(page: Page, stage: str):
    return page.get_by_role("list", name=f"Deals in {stage}")


def totals(page: Page, stage: str):
    return page.locator("section.board-col").filter(has=page.get_by_role("heading", name=stage)).locator(".col-totals")


def test_a_rep_drags_a_card_refused_then_allowed_after_ticking(deal, page: Page):
    problems = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    sign_in(page, "rita")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Board", exact=True).click()
    expect(page.get_by_role("heading", name="Pipeline board", level=1)).to_be_visible()
    qualify, discover = column(page, "Qualify"), column(page, "Discover")
    card = qualify.get_by_role("listitem").filter(has_text="Globex rollout")
    expect(card).to_contain_text("Globex")
    expect(card).to_contain_text("120,000")
    expect(totals(page, "Discover")).to_contain_text("Deals 0")

    # Drag to Discover: refused, the missing milestones named on the card, back in Qualify.
    card.drag_to(discover)
    refusal = qualify.get_by_role("alert")
    expect(refusal).to_contain_text("Cannot move to Discover")
    expect(refusal).to_contain_text("Qualify: Budget confirmed")
    expect(refusal).to_contain_text("Qualify: Pain identified")
    expect(qualify).to_contain_text("Globex rollout")
    expect(discover).not_to_contain_text("Globex rollout")
    expect(page.get_by_text("could not be saved")).to_have_count(0)
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Qualify"

    # Tick both required milestones on the deal page.
    qualify.get_by_role("link", name="Globex rollout").click()
    expect(page.get_by_role("heading", name="Globex rollout", level=1)).to_be_visible()
    for milestone in ("Budget confirmed", "Pain identified"):
        page.get_by_role("button", name=f"Tick {milestone}", exact=True).click()
        expect(page.get_by_role("button", name=f"Untick {milestone}", exact=True)).to_be_visible()

    # Back on the board, the same drag goes through and the columns' totals follow.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Board", exact=True).click()
    qualify.get_by_role("listitem").filter(has_text="Globex rollout").drag_to(discover)
    expect(discover).to_contain_text("Globex rollout")
    expect(qualify).not_to_contain_text("Globex rollout")
    expect(page.get_by_role("status")).to_contain_text("Moved Globex rollout to Discover.")
    expect(totals(page, "Discover")).to_contain_text("Deals 1")
    expect(totals(page, "Discover")).to_contain_text("Amount 120,000")
    expect(totals(page, "Discover")).to_contain_text("Weighted 36,000")
    expect(totals(page, "Qualify")).to_contain_text("Deals 0")
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Discover"
    assert not problems, problems
