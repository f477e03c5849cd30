"""A closed deal's post-mortem in real Chromium: the rep closes a deal, writes and submits its
review, the manager accepts it, and the lesson shows on another open deal in the same stage."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from opportunities import services
from opportunities.models import LostReason
from people.models import Role
from postmortem.models import Reason
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
def world(transactional_db):
    team = TeamFactory(name="Team North")
    rep = UserFactory(username="rita", first_name="Rita", last_name="Rep", role=Role.REP, team=team, password=PASSWORD)
    UserFactory(
        username="mona", first_name="Mona", last_name="Manager", role=Role.MANAGER, manages=[team], password=PASSWORD
    )
    process = SalesProcessFactory(name="New business")
    qualify = StageFactory(process=process, name="Qualify", order=10, win_probability=10)
    StageFactory(process=process, name="Propose", order=20, win_probability=60)
    MilestoneFactory(stage=qualify, name="Budget confirmed", is_required=False, order=1)
    # The flush of a transactional test empties the rows data migrations installed.
    LostReason.objects.update_or_create(name="Price", defaults={"is_active": True})
    Reason.objects.update_or_create(outcome="lost", name="Price", defaults={"is_active": True})
    account = AccountFactory(owner=rep, name="Globex")
    deals = [
        services.opportunity_create(
            actor=rep,
            account=account,
            process=process,
            name=name,
            amount="1000",
            expected_close_date=dt.date.today() + dt.timedelta(days=30),
        )
        for name in ("Globex pilot", "Globex rollout")
    ]
    return {"closing": deals[0], "other": deals[1]}


def test_close_review_accept_and_learn(world, page: Page, new_context):
    sign_in(page, "rita")
    page.goto(f"/deals/{world['closing'].pk}/")
    page.get_by_label("Lost reason").select_option(label="Price")
    page.get_by_role("button", name="Close lost").click()
    expect(page.get_by_text("Closed lost.")).to_be_visible()

    # The review waits in the rep's queue, pre-filled with the deal's history.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Post-mortems").click()
    page.get_by_role("link", name="Globex pilot").click()
    expect(page.get_by_role("heading", name="What the deal's history says")).to_be_visible()
    page.get_by_label("Primary reason").select_option(label="Price")
    page.get_by_label("Decisive milestone").select_option(label="Qualify: Budget confirmed")
    page.get_by_label("Went right").fill("A quick first call")
    page.get_by_label("Went wrong").fill("Nobody confirmed the budget")
    page.locator("#id_lessons-0-text").fill("Confirm the budget in the first call")
    page.locator("#id_lessons-0-stage").select_option(label="Qualify")
    page.get_by_role("button", name="Submit to manager").click()
    expect(page.get_by_text("Submitted to your manager.")).to_be_visible()

    # The manager accepts it from their queue.
    manager = new_context().new_page()
    sign_in(manager, "mona")
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="Post-mortems").click()
    manager.get_by_role("link", name="Globex pilot").click()
    manager.get_by_label("Comments").fill("Good lesson")
    manager.get_by_role("button", name="Accept").click()
    expect(manager.get_by_text("Accepted: its lessons now show on matching deals.")).to_be_visible()

    # The lesson shows on the rep's other open deal in the same stage.
    page.goto(f"/deals/{world['other'].pk}/")
    lessons = page.get_by_role("region", name="Lessons from closed deals")
    expect(lessons.get_by_text("Confirm the budget in the first call")).to_be_visible()
