"""axe-core (vendored, static/js/axe.min.js) on every main page, on a desktop and at a phone's
width, signed in as a manager (who sees the most controls) and signed out (the sign-in page):
no serious or critical violation anywhere."""

import pytest
from playwright.sync_api import Page

from people.models import Role
from tests.browser.axe import serious_problems
from tests.browser.everyday import build_world, main_pages
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    return build_world()


def test_no_serious_accessibility_problems_on_any_main_page(world, page: Page):
    problems = []
    page.goto("/login/")
    problems += serious_problems(page)
    sign_in(page, "mia")
    long_deal = world["long_deal"].pk
    aid_pages = ["/aids/", "/aids/new/", "/aids/playbooks/", "/aids/use/", f"/aids/deals/{long_deal}/matrix/"]
    process = world["process"].pk
    focus_pages = ["/focus/", "/focus/team/", "/focus/model/", f"/deals/{long_deal}/signals/"]
    pages = [*main_pages(world), "/quotas/", "/admin/", *aid_pages, f"/aids/deals/{long_deal}/share/", *focus_pages]
    pages += ["/processes/", f"/processes/{process}/"]
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for url in pages:
            page.goto(url)
            problems += [f"{width} px {problem}" for problem in serious_problems(page)]
    assert not problems, "\n".join(problems)


def test_no_serious_accessibility_problems_in_the_process_editor(world, page: Page):
    """As an admin, who sees every control of the editor."""
    UserFactory(username="ada", first_name="Ada", last_name="Admin", role=Role.ADMIN, password=PASSWORD)
    process = world["process"]
    stage = process.stages.order_by("order").first()
    milestone = stage.milestones.order_by("order").first()
    sign_in(page, "ada")
    pages = ["/processes/", f"/processes/{process.pk}/", f"/processes/stages/{stage.pk}/edit/"]
    if milestone is not None:
        pages.append(f"/processes/milestones/{milestone.pk}/edit/")
    problems = []
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for url in pages:
            page.goto(url)
            problems += [f"{width} px {url} {problem}" for problem in serious_problems(page)]
    assert not problems, "\n".join(problems)
