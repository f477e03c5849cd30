"""The rows the win/loss analysis counts without joining the deals (a deal's competitors in play,
its current review) carry the deal's filing (status, close day, owner, process) through every
write that changes it, and the analysis counts them as a join of the deals would."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db.models import Count, Q

from opportunities import services as deal_services
from opportunities.models import DealCompetitor, DealCompetitorStatus, Opportunity
from postmortem import services, winloss
from postmortem.models import Review
from tests.demo_checks import unfollowed_filings
from tests.factories import make_process

from .conftest import fill

DAY = dt.timedelta(days=1)


def reload(opp) -> Opportunity:
    return Opportunity.objects.get(pk=opp.pk)


def test_every_write_that_refiles_a_deal_is_followed(opportunity, owner, teammate, manager, lost_reason, rival, now):
    deal_services.deal_competitor_set(
        opportunity, actor=owner, competitor=rival, status=DealCompetitorStatus.EVALUATING, now=now
    )
    assert unfollowed_filings() == []
    row = DealCompetitor.objects.get()
    assert (row.deal_status, row.deal_closed_on, row.deal_owner, row.deal_process) == (
        "open",
        None,
        owner,
        opportunity.process,
    )

    # Moved to another process while open.
    other = make_process(stages=2, milestones=1, name="Renewals")
    deal = reload(opportunity)
    deal_services.opportunity_update(
        deal,
        actor=manager,
        expected_version=deal.version,
        process=other,
        stage=other.stages.order_by("order").first(),
        override_reason="Filed under the wrong process",
        now=now,
    )
    assert unfollowed_filings() == []
    assert DealCompetitor.objects.get().deal_process == other

    deal_services.opportunity_close_lost(reload(opportunity), actor=owner, reason=lost_reason, lost_to=rival, now=now)
    assert unfollowed_filings() == []
    review = Review.objects.current().get()
    assert (review.deal_status, review.deal_closed_on) == ("lost", now.date())

    # A closed deal handed to another rep: its rows follow the new owner.
    deal_services.opportunity_reassign(reload(opportunity), actor=manager, owner=teammate, now=now + DAY)
    assert unfollowed_filings() == []
    assert DealCompetitor.objects.get().deal_owner == teammate

    # Reopened: the unfinished review is cancelled, the competitor rows say open again.
    deal_services.opportunity_reopen(
        reload(opportunity),
        actor=manager,
        next_description="Call the new CFO",
        next_due_date=now.date() + 3 * DAY,
        now=now + 2 * DAY,
    )
    assert unfollowed_filings() == []
    assert not Review.objects.current().exists()
    assert DealCompetitor.objects.get().deal_status == "open"

    deal_services.opportunity_close_won(
        reload(opportunity), actor=manager, override_reason="Signed", beaten=[rival], now=now + 3 * DAY
    )
    assert unfollowed_filings() == []
    assert Review.objects.current().get().deal_closed_on == (now + 3 * DAY).date()
    assert Review.objects.current().get().deal_process == other


def test_a_finished_review_of_a_reopened_deal_is_no_closed_deals_review(opportunity, owner, manager, lost_reason, now):
    deal_services.opportunity_close_lost(opportunity, actor=owner, reason=lost_reason, now=now)
    review = Review.objects.current().get()
    fill(review, owner, now=now)
    services.review_submit(Review.objects.get(pk=review.pk), actor=owner, now=now)
    services.review_accept(Review.objects.get(pk=review.pk), actor=manager, now=now)
    assert list(Review.objects.of_closed_deals()) == [review]

    deal_services.opportunity_reopen(
        reload(opportunity), actor=manager, next_description="Call", next_due_date=now.date() + DAY, now=now + DAY
    )
    # It stays current (what it taught still holds) but its deal is open again.
    assert Review.objects.current().get() == review
    assert unfollowed_filings() == []
    assert not Review.objects.of_closed_deals().exists()


def joined_counts(user, filters) -> tuple[dict, dict]:
    """The reason and competitor breakdowns counted by joining the deals, as the analysis did
    before the rows carried their deal's filing."""
    deals = winloss.closed_deals(user, filters)
    won, lost = Count("pk", filter=Q(status="won")), Count("pk", filter=Q(status="lost"))
    reasons = winloss._with_current_review(deals).values_list("current_review__primary_reason_id")
    competitors = deals.filter(competitors__isnull=False).values_list("competitors__competitor_id")
    return (
        {key: (w, lo) for key, w, lo in reasons.annotate(won=won, lost=lost).order_by()},
        {key: (w, lo) for key, w, lo in competitors.annotate(won=won, lost=lost).order_by()},
    )


def analysed(user, filters) -> tuple[dict, dict]:
    result = winloss.analysis(user, filters)
    blocks = {b["dimension"].name: b["rows"] for b in result["breakdowns"]}
    reasons = {None if r["value"] == winloss.NONE else int(r["value"]): (r["won"], r["lost"]) for r in blocks["reason"]}
    competitors = {int(r["value"]): (r["won"], r["lost"]) for r in blocks["competitor"]}
    return reasons, competitors


@pytest.mark.parametrize("who", ["admin", "manager", "owner", "teammate"])
def test_the_analysis_counts_reviews_and_competitors_as_a_join_of_the_deals_would(
    request, who, owner, teammate, manager, outsider, account, process, lost_reason, rival, now
):
    """Deals of three people closed, reviewed, reassigned and reopened through the services."""
    request.getfixturevalue("admin")
    deals = []
    for n, person in enumerate([owner, owner, teammate, teammate, outsider, owner]):
        deal = deal_services.opportunity_create(
            actor=person,
            account=account,
            process=process,
            name=f"Deal {n}",
            amount="1000",
            expected_close_date=now.date() + 30 * DAY,
            now=now,
        )
        if n % 2:
            deal_services.deal_competitor_set(deal, actor=person, competitor=rival, now=now)
        deals.append((deal, person))
    for n, (deal, person) in enumerate(deals[:5]):
        if n % 2:
            deal_services.opportunity_close_won(
                reload(deal),
                actor=manager if person != outsider else person,
                override_reason="Signed",
                now=now + n * DAY,
            )
        else:
            deal_services.opportunity_close_lost(reload(deal), actor=person, reason=lost_reason, now=now + n * DAY)
    review = Review.objects.current().get(opportunity=deals[0][0])
    fill(review, owner, now=now)
    deal_services.opportunity_reassign(reload(deals[1][0]), actor=manager, owner=teammate, now=now + 6 * DAY)
    deal_services.opportunity_reopen(
        reload(deals[2][0]),
        actor=manager,
        next_description="Call",
        next_due_date=now.date() + 9 * DAY,
        now=now + 7 * DAY,
    )
    assert unfollowed_filings() == []

    user = request.getfixturevalue(who)
    filters = winloss.WinLossFilterForm(today=(now + 10 * DAY).date()).usable()
    for extra in ({}, {"rep": teammate.pk}, {"team": owner.team_id}, {"process": process.pk}):
        wanted_reasons, wanted_competitors = joined_counts(user, filters | extra)
        reasons, competitors = analysed(user, filters | extra)
        assert competitors == wanted_competitors
        assert {k: v for k, v in reasons.items() if v != (0, 0)} == wanted_reasons


def test_the_migrations_give_the_rows_written_before_them_their_deals_filing(
    opportunity, owner, lost_reason, rival, now
):
    deal_services.deal_competitor_set(opportunity, actor=owner, competitor=rival, now=now)
    deal_services.opportunity_close_lost(reload(opportunity), actor=owner, reason=lost_reason, now=now)
    blank = {"deal_status": "open", "deal_closed_on": None, "deal_owner": None, "deal_process": None}
    DealCompetitor.objects.update(**blank)
    Review.objects.update(**blank)
    assert len(unfollowed_filings()) == 2

    importlib.import_module("opportunities.migrations.0022_deal_competitor_filing").copy_filing(apps, None)
    importlib.import_module("postmortem.migrations.0003_review_deal_filing").copy_filing(apps, None)

    assert unfollowed_filings() == []
