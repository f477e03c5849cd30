"""A manager works the dashboard in real Chromium: the filter bar narrows the page in place (htmx,
with the URL following), a bad date is shown next to its field, and a table downloads as CSV.

Controls are found by role and accessible name, as a screen-reader user finds them.
"""

import csv
import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from opportunities import services
from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import AccountFactory, SalesProcessFactory, StageFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team_deals(transactional_db):
    north = TeamFactory(name="North")
    UserFactory(
        username="mia", first_name="Mia", last_name="Manager", role=Role.MANAGER, manages=[north], password=PASSWORD
    )
    rita = UserFactory(username="rita", first_name="Rita", last_name="Rep", team=north, password=PASSWORD)
    sam = UserFactory(username="sam", first_name="Sam", last_name="Seller", team=north, password=PASSWORD)
    process = SalesProcessFactory(name="New business")
    StageFactory(process=process, name="Qualify", order=10, win_probability=10)
    StageFactory(process=process, name="Discover", order=20, win_probability=30)
    for rep, amount in ((rita, "120000"), (sam, "30000")):
        services.opportunity_create(
            actor=rep,
            account=AccountFactory(owner=rep),
            process=process,
            name=f"{rep.first_name}'s deal",
            amount=amount,
            expected_close_date=timezone.localdate() + dt.timedelta(days=20),
        )
    return rita


def tile(page: Page, label: str):
    """The value of the summary tile named `label`."""
    return page.locator(f"xpath=//dl[@aria-label='Summary']//dt[normalize-space()='{label}']/following-sibling::dd[1]")


def test_a_manager_narrows_the_dashboard_to_a_rep_and_downloads_a_table(team_deals, page: Page):
    rita = team_deals
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    sign_in(page, "mia")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(tile(page, "Open deals")).to_have_text("2")
    expect(tile(page, "Open pipeline")).to_contain_text("150,000")
    by_owner = page.locator("#by_owner")
    expect(by_owner).to_contain_text("Rita Rep")
    expect(by_owner).to_contain_text("Sam Seller")

    # Narrow to Rita: the body is swapped in place and the address keeps the filter.
    filters = page.get_by_role("search", name="Dashboard filters")
    filters.get_by_label("Rep").select_option(label="Rita Rep")
    filters.get_by_role("button", name="Apply").click()
    expect(tile(page, "Open deals")).to_have_text("1")
    expect(by_owner).not_to_contain_text("Sam Seller")
    expect(page).to_have_url(re.compile(rf"/dashboard/\?.*\brep={rita.pk}\b"))
    expect(filters.get_by_label("Rep")).to_have_value(str(rita.pk))

    # A date in the future: the field says so, the page stays live and nothing else changes.
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    filters.get_by_label("As of").fill(tomorrow)
    filters.get_by_role("button", name="Apply").click()
    as_of = page.get_by_label("As of")
    expect(as_of).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_as_of_error")).to_contain_text("cannot be in the future")
    expect(tile(page, "Open deals")).to_have_text("1")

    # The by-owner table downloads with the filters it was shown with.
    with page.expect_download() as download:
        by_owner.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0] == ["Owner", "Deals", "Amount", "Weighted"]
    assert [row[0] for row in rows[1:]] == ["Rita Rep"]
    assert not problems, problems
