"""Sharing a sales aid in real Chromium, at phone width: the rep opens a deal, finds the battle
card against the competitor in play in the "For this step" panel, shares it with the economic
buyer, and sees it in the deal's roles × aids matrix."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from aids import services as aid_services
from aids.models import AidKind, AidSource, Share
from opportunities import services
from opportunities.models import BuyingRole, Competitor, DealCompetitor
from people.models import Role
from tests.browser.signing_in import PASSWORD, sign_in
from tests.factories import (
    AccountFactory,
    ContactFactory,
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
    manager = UserFactory(username="mona", role=Role.MANAGER, manages=[team], password=PASSWORD)
    process = SalesProcessFactory(name="New business")
    qualify = StageFactory(process=process, name="Qualify", order=10, win_probability=10)
    MilestoneFactory(stage=qualify, name="Budget confirmed", is_required=False, order=1)
    account = AccountFactory(owner=rep, name="Globex")
    deal = services.opportunity_create(
        actor=rep,
        account=account,
        process=process,
        name="Globex rollout",
        amount="20000",
        expected_close_date=dt.date.today() + dt.timedelta(days=30),
    )
    rival = Competitor.objects.create(name="SalesForge")
    DealCompetitor.objects.create(opportunity=deal, competitor=rival)
    erin = ContactFactory(account=account, first_name="Erin", last_name="Evans", email="erin@globex.example")
    cody = ContactFactory(account=account, first_name="Cody", last_name="Champ", email="cody@globex.example")
    services.buying_team_add(deal, actor=rep, contact=erin, roles=[BuyingRole.ECONOMIC_BUYER])
    services.buying_team_add(deal, actor=rep, contact=cody, roles=[BuyingRole.CHAMPION])
    aid_services.aid_create(
        actor=manager,
        title="Battle card: SalesForge",
        kind=AidKind.BATTLE_CARD,
        source=AidSource.TEXT,
        body="**We win on** time to value.",
        publish=True,
        competitors=[rival],
        buyer_roles=[BuyingRole.ECONOMIC_BUYER],
    )
    return {"deal": deal, "erin": erin}


def test_share_a_battle_card_with_the_economic_buyer(world, page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "rita")
    page.goto(f"/deals/{world['deal'].pk}/")
    panel = page.locator("#for-this-step")
    expect(panel.get_by_role("heading", name="Battle cards")).to_be_visible()
    # From the economic buyer's row: the form comes with her ticked.
    share = panel.get_by_role("link", name="Share Battle card: SalesForge with Erin Evans")
    share.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Share an aid")).to_be_visible()
    expect(page.get_by_label("Aid")).to_have_value(str(share_aid_pk()))
    expect(page.get_by_label("Erin Evans (Economic buyer)")).to_be_checked()
    expect(page.get_by_label("Cody Champ (Champion)")).not_to_be_checked()
    page.get_by_label("Recorded (sent from my own mail)").check()
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("heading", name="Who received what")).to_be_visible()
    expect(page.get_by_text("Shared “Battle card: SalesForge” with Erin Evans.")).to_be_visible()
    row = page.locator("table.matrix").get_by_role("row", name="Erin Evans")
    expect(row).to_contain_text("✓ v1")
    expect(page.get_by_text("Nothing yet: Cody Champ")).to_be_visible()
    assert Share.objects.get().contact == world["erin"]


def share_aid_pk() -> int:
    from aids.models import Aid

    return Aid.objects.get().pk
