"""The deal page's "For this step" panel: tagging decides which aids show, in a fixed number of
queries; playbooks show for milestones the owner has rarely completed."""

import pytest
from django.urls import reverse

from aids import services
from aids.models import AidKind
from aids.panel import RARELY, deal_aids_panel
from opportunities import services as deal_services
from opportunities.models import BuyingRole, Competitor, DealCompetitor, MilestoneCompletion
from tests.aids.world import team_member, text_aid
from tests.factories import OpportunityFactory, make_process


def titles(aids):
    return sorted(a.title for a in aids)


@pytest.fixture
def deal(opportunity, owner):
    """The owner's deal in its first stage, its first milestone ticked, a competitor in play and
    an economic buyer on its buying team."""
    stage = opportunity.stage
    deal_services.milestone_tick(opportunity, actor=owner, milestone=stage.milestones.order_by("order").first())
    rival = Competitor.objects.create(name="Rival")
    DealCompetitor.objects.create(opportunity=opportunity, competitor=rival)
    team_member(opportunity, actor=owner, roles=[BuyingRole.ECONOMIC_BUYER])
    opportunity.refresh_from_db()
    return opportunity


def test_tagging_decides_which_aids_show(deal, manager, owner, process):
    stage = deal.stage
    later = process.stages.order_by("order")[1]
    ticked, unticked = list(stage.milestones.order_by("order")[:2])
    rival = Competitor.objects.get(name="Rival")
    other = Competitor.objects.create(name="Elsewhere")
    other_process = make_process(stages=1, name="Renewals")
    text_aid(manager, title="Stage aid", stages=[stage])
    text_aid(manager, title="Later stage aid", stages=[later])
    text_aid(manager, title="Open milestone aid", milestones=[unticked])
    text_aid(manager, title="Ticked milestone aid", milestones=[ticked])
    text_aid(manager, title="Card vs Rival", kind=AidKind.BATTLE_CARD, competitors=[rival])
    text_aid(manager, title="Card vs Elsewhere", kind=AidKind.BATTLE_CARD, competitors=[other])
    text_aid(manager, title="For economic buyers", buyer_roles=[BuyingRole.ECONOMIC_BUYER])
    text_aid(manager, title="For champions", buyer_roles=[BuyingRole.CHAMPION])
    text_aid(manager, title="Healthcare only", stages=[stage], industries=["Healthcare"])
    text_aid(manager, title="Enterprise only", stages=[stage], size_bands=["enterprise"])
    text_aid(manager, title="Medium deals", stages=[stage], size_bands=["medium"])
    text_aid(manager, title="Other process only", stages=[stage], processes=[other_process])
    text_aid(owner, title="A draft", stages=[stage], publish=False)
    retired = text_aid(manager, title="Retired", stages=[stage])
    services.aid_retire(retired, actor=manager)

    panel = deal_aids_panel(deal, owner)

    assert titles(panel["step"]) == ["Medium deals", "Open milestone aid", "Stage aid"]
    assert titles(panel["battle_cards"]) == ["Card vs Rival"]
    [member] = panel["members"]
    assert titles(member["aids"]) == ["For economic buyers"]
    assert member["roles"] == ["Economic buyer"]


def test_industry_tags_match_the_account(deal, manager, owner):
    deal.account.industry = "Healthcare"
    deal.account.save()
    text_aid(manager, title="Healthcare only", stages=[deal.stage], industries=["healthcare"])
    assert titles(deal_aids_panel(deal, owner)["step"]) == ["Healthcare only"]


def test_the_panel_runs_a_fixed_number_of_queries(deal, manager, owner, django_assert_num_queries):
    rival = Competitor.objects.get(name="Rival")

    def add(n):
        for i in range(n):
            text_aid(manager, title=f"Aid {i}", stages=[deal.stage], buyer_roles=[BuyingRole.ECONOMIC_BUYER])
            text_aid(manager, title=f"Card {i}", kind=AidKind.BATTLE_CARD, competitors=[rival])

    def panel_of_fresh_deal():
        # Alone, the panel reads the stage's checklist (2 queries), the buying team and the
        # competitors, which the deal page hands over (as `page_rows`).
        fresh = type(deal).objects.select_related("stage", "account").get(pk=deal.pk)
        with django_assert_num_queries(4 + 2 + 2):
            alone = deal_aids_panel(fresh, owner)
        fresh.page_rows = {
            "buying_team": list(fresh.buying_team.select_related("contact")),
            "competitors": list(fresh.competitors.all()),
        }
        with django_assert_num_queries(4 + 2):
            on_the_page = deal_aids_panel(fresh, owner)
        assert [a.pk for a in on_the_page["step"]] == [a.pk for a in alone["step"]]
        return on_the_page

    add(1)
    panel_of_fresh_deal()
    add(10)
    panel = panel_of_fresh_deal()
    assert len(panel["battle_cards"]) == 11


def test_playbooks_show_for_milestones_the_owner_rarely_completed(deal, admin, owner, process, account):
    unticked = deal.stage.milestones.order_by("order")[1]
    services.playbook_save(actor=admin, milestone=unticked, how_to_run="Open with their goal", avoid="Demoing early")
    panel = deal_aids_panel(deal, owner)
    assert [(p.milestone, p.times) for p in panel["playbooks"]] == [(unticked, 0)]
    # It says how often the owner has done it; once RARELY times on other deals, it no longer shows.
    for times in range(1, RARELY + 1):
        other = OpportunityFactory(owner=owner, account=account, process=process, stage=deal.stage)
        MilestoneCompletion.objects.create(opportunity=other, milestone=unticked, completed_by=owner)
        shown = [(p.milestone, p.times) for p in deal_aids_panel(deal, owner)["playbooks"]]
        assert shown == ([(unticked, times)] if times < RARELY else [])


def test_the_deal_page_shows_the_panel_with_share_links(deal, manager, owner, client_for):
    aid = text_aid(manager, title="Stage aid", stages=[deal.stage])
    page = client_for(owner).get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    # The panel loads right after the page (a lazy panel); without JavaScript, a link asks for it.
    assert "For this step" in page and "Stage aid" not in page and "?panel=for-this-step" in page
    page = (
        client_for(owner).get(reverse("opportunities:detail", args=[deal.pk]) + "?panel=for-this-step").content.decode()
    )
    assert "Stage aid" in page
    assert f"{reverse('aids:share', args=[deal.pk])}?aid={aid.pk}" in page


def test_readers_get_the_panel_without_share_links(deal, manager, teammate, client_for):
    text_aid(manager, title="Stage aid", stages=[deal.stage])
    url = reverse("opportunities:panel", args=[deal.pk, "for-this-step"])
    page = client_for(teammate).get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Stage aid" in page and reverse("aids:share", args=[deal.pk]) not in page


def test_closed_deals_get_no_panel(opportunity, owner):
    opportunity.status = "won"
    assert deal_aids_panel(opportunity, owner) is None


def test_the_lazy_panel_is_only_for_those_who_see_the_deal(deal, manager, outsider, client_for):
    text_aid(manager, title="Stage aid", stages=[deal.stage])
    url = reverse("opportunities:panel", args=[deal.pk, "for-this-step"])
    response = client_for(outsider).get(url, headers={"HX-Request": "true"})
    assert response.status_code == 404 and b"Stage aid" not in response.content
