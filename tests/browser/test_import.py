"""An admin imports deals in real Chromium: upload → map columns → map values → preview → commit,
at phone width, by keyboard where a form is filled; axe finds no serious problem on any step."""

import pytest
from playwright.sync_api import Page, expect

from opportunities.models import LostReason, Opportunity
from people.models import Role
from tests.browser.axe import serious_problems
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import SalesProcessFactory, StageFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILE = (
    "Opportunity Name;Account Name;Amount;Stage;Close Date;Loss Reason\n"
    "Globex pilot;Globex;1.500,00;Prospecting;2030-01-31;\n"
    "Initech;Initech;900;Closed Lost;2024-03-01;Too expensive\n"
).encode("latin-1")


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    UserFactory(username="ada", role=Role.ADMIN, is_staff=True, is_superuser=True, password=PASSWORD)
    process = SalesProcessFactory(name="New business")
    StageFactory(process=process, name="Qualify", order=10, win_probability=10)
    StageFactory(process=process, name="Propose", order=20, win_probability=60)
    LostReason.objects.update_or_create(name="Price", defaults={"is_active": True})
    return process


def test_upload_map_preview_commit(world, page: Page, tmp_path):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "ada")
    page.goto("/imports/")
    problems = serious_problems(page)
    page.get_by_label("The file holds").select_option("deals")
    upload = tmp_path / "salesforce.csv"
    upload.write_bytes(FILE)
    page.get_by_label("File", exact=True).set_input_files(str(upload))
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    # Suggested from Salesforce's names; the process is the only one.
    expect(page.get_by_label("Deal name")).to_have_value("Opportunity Name")
    expect(page.get_by_label("Lost reason")).to_have_value("Loss Reason")
    problems += serious_problems(page)
    page.get_by_role("button", name="Next: map values").click()

    expect(page.get_by_role("heading", name="Map values")).to_be_visible()
    page.get_by_label("Stage “Prospecting”").select_option(label="Qualify")
    expect(page.get_by_label("Stage “Closed Lost”")).to_have_value("lost")
    problems += serious_problems(page)
    page.get_by_label("Lost reason “Too expensive”").focus()
    page.keyboard.press("End")  # Price, the only reason, is the last option
    page.get_by_role("button", name="Next: check every row").click()

    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.get_by_text("0 problems")).to_be_visible()
    problems += serious_problems(page)
    page.get_by_role("button", name="Import 2 rows").click()

    expect(page.get_by_text("Imported 2 rows.")).to_be_visible()
    expect(page.get_by_role("button", name="Undo this import")).to_be_visible()
    problems += serious_problems(page)
    assert not problems, "\n".join(problems)
    assert sorted(Opportunity.objects.values_list("name", "status")) == [("Globex pilot", "open"), ("Initech", "lost")]
    assert str(Opportunity.objects.get(name="Globex pilot").amount) == "1500.00"
