"""The win/loss analysis equals a direct count over a fixture with known answers, every figure
links to exactly the deals behind it, and the page, its CSV and its deal lists keep to what the
viewer may see."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from opportunities.models import Account, Competitor, DealCompetitor, EmployeeBand, Opportunity
from postmortem import winloss
from postmortem.models import Reason, Review
from tests.factories import AccountFactory, OpportunityFactory

DAY = dt.timedelta(days=1)


@pytest.fixture
def closed(owner, teammate, process, now):
    """Eight closed deals (and one open) with known industries, regions, competitors, reasons."""
    stages = list(process.stages.order_by("order"))
    rival = Competitor.objects.create(name="Rival")
    other = Competitor.objects.create(name="Other")
    price = Reason.objects.get(outcome="lost", name="Price")
    fit = Reason.objects.get(outcome="won", name="Product fit")
    spec = [
        # (owner, status, industry, region, band, days ago closed, cycle days, competitors, lost_to, reason, stage)
        (owner, "won", "Retail", "EU", EmployeeBand.SMALL, 10, 20, [rival], None, fit, 2),
        (owner, "won", "Retail", "US", EmployeeBand.SMALL, 20, 40, [], None, fit, 2),
        (owner, "lost", "Retail", "EU", EmployeeBand.LARGE, 30, 10, [rival], rival, price, 1),
        (owner, "lost", "Banking", "EU", EmployeeBand.LARGE, 40, 30, [rival, other], rival, price, 1),
        (teammate, "won", "Banking", "US", EmployeeBand.LARGE, 50, 60, [other], None, None, 2),
        (teammate, "lost", "Banking", "", EmployeeBand.SMALL, 60, 20, [], None, None, 0),
        (teammate, "lost", "", "EU", "", 70, 10, [other], other, price, 0),
        (owner, "won", "Retail", "EU", EmployeeBand.SMALL, 400, 10, [], None, None, 2),  # outside the year
    ]
    deals = []
    for who, status, industry, region, band, ago, cycle, competitors, lost_to, reason, stage in spec:
        account = AccountFactory(owner=who, industry=industry, region=region, employee_band=band)
        closed_on = now.date() - ago * DAY
        deal = OpportunityFactory(
            owner=who,
            account=account,
            process=process,
            stage=stages[stage],
            closed_stage=stages[stage],
            status=status,
            closed_on=closed_on,
            created_at=now - (ago + cycle) * DAY,
            lost_to=lost_to,
            amount=Decimal("1000"),
        )
        # Written around the services, so with the deal's filing as they copy it.
        for c in competitors:
            DealCompetitor.objects.create(opportunity=deal, competitor=c, **deal.filing())
        if reason:
            Review.objects.create(
                **deal.filing(),
                opportunity=deal,
                outcome=status,
                author=who,
                due_on=closed_on,
                primary_reason=reason,
                decisive_milestone=stages[stage].milestones.first(),
            )
        deals.append(deal)
    OpportunityFactory(owner=owner, account=AccountFactory(owner=owner), process=process, stage=stages[0])
    return deals


def table(result, name):
    block = next(b for b in result["breakdowns"] if b["dimension"].name == name)
    return {r["label"]: (r["won"], r["lost"]) for r in block["rows"]}


def filters(now):
    return winloss.WinLossFilterForm(today=now.date()).usable()


def test_a_deal_stays_in_the_segment_it_closed_in_when_its_account_changes(closed, admin, now):
    from opportunities.models import Account

    Account.objects.filter(industry="Retail").update(industry="Banking", region="US")
    result = winloss.analysis(admin, filters(now))
    assert table(result, "industry") == {"Retail": (2, 1), "Banking": (1, 2), "Not set": (0, 1)}
    assert table(result, "region") == {"EU": (1, 3), "US": (2, 0), "Not set": (0, 1)}
    behind = winloss.deals_behind(admin, filters(now), selections={"industry": "Retail"}, outcome=None)
    assert behind.count() == 3


def test_the_figures_equal_a_direct_count(closed, admin, now):
    result = winloss.analysis(admin, filters(now))
    assert (result["overall"]["won"], result["overall"]["lost"]) == (3, 4)
    assert result["overall"]["win_rate"] == round(100 * 3 / 7, 1)
    assert table(result, "industry") == {"Retail": (2, 1), "Banking": (1, 2), "Not set": (0, 1)}
    assert table(result, "region") == {"EU": (1, 3), "US": (2, 0), "Not set": (0, 1)}
    assert table(result, "size") == {"11–50": (2, 1), "201–1,000": (1, 2), "Not set": (0, 1)}
    assert table(result, "competitor") == {"Rival": (1, 2), "Other": (1, 2)}
    assert table(result, "reason") == {"Product fit": (2, 0), "Price": (0, 3), "Not reviewed yet": (1, 1)}
    assert table(result, "owner") == {"Olivia Owner": (2, 2), "Tom Teammate": (1, 2)}
    # Cycle: won 20, 40, 60 → 40; lost 10, 30, 20, 10 → 17.5.
    assert result["cycle"] == {"won": 40.0, "lost": 17.5}
    assert [(r["stage"], r["competitor"], r["count"]) for r in result["lost_to_by_stage"]] == [
        ("Qualify", "Other", 1),
        ("Discover", "Rival", 2),
    ]
    assert {r["label"]: (r["won"], r["lost"]) for r in result["decisive"]} == {
        "Propose: Check 1": (2, 0),
        "Discover: Check 1": (0, 2),
        "Qualify: Check 1": (0, 1),
    }


def test_each_figure_lists_exactly_its_deals(closed, admin, now):
    result = winloss.analysis(admin, filters(now))
    for block in result["breakdowns"]:
        for row in block["rows"]:
            for outcome, expected in (("won", row["won"]), ("lost", row["lost"])):
                deals = winloss.deals_behind(
                    admin, filters(now), selections={row["dimension"]: row["value"]}, outcome=outcome
                )
                assert deals.count() == expected, (row, outcome)
    lost = result["lost_to_by_stage"][1]
    deals = winloss.deals_behind(
        admin,
        filters(now),
        selections={"lost_stage": str(lost["stage_id"]), "lost_to": str(lost["competitor_id"])},
        outcome="lost",
    )
    assert deals.count() == 2


def test_a_rep_sees_only_their_own_deals(closed, owner, now, settings):
    from people.models import OrgSettings, Visibility

    org = OrgSettings.current()
    org.visibility = Visibility.OWN
    org.save()
    result = winloss.analysis(owner, filters(now))
    assert (result["overall"]["won"], result["overall"]["lost"]) == (2, 2)


def test_the_page_csv_and_deal_list(client_for, closed, manager, outsider, team, now):
    client = client_for(manager)
    page = client.get(reverse("postmortem:winloss"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "By industry" in html and "/win-loss/deals/?" in html and "<svg" in html
    csv = client.get(reverse("postmortem:winloss"), {"format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    assert "industry,Retail,2,1,3,66.7" in csv.content.decode().replace("\r", "")
    deals = client.get(reverse("postmortem:winloss_deals"), {"industry": "Retail", "outcome": "won"})
    assert len(re.findall(r'href="/deals/\d+/"', deals.content.decode())) == 2
    # Another team is not the outsider's: 404, as on the dashboard.
    assert client_for(outsider).get(reverse("postmortem:winloss"), {"team": team.pk}).status_code == 404
    assert client_for(outsider).get(reverse("postmortem:winloss")).status_code == 200
    # Bad filter input falls back to defaults instead of failing.
    assert client.get(reverse("postmortem:winloss"), {"start": "nonsense", "end": "2000-01-01"}).status_code == 200


def test_the_rep_filter_narrows_and_an_invisible_rep_is_404(client_for, closed, manager, owner, outsider, now):
    client = client_for(manager)
    assert client.get(reverse("postmortem:winloss"), {"rep": outsider.pk}).status_code == 404
    page = client.get(reverse("postmortem:winloss"), {"rep": owner.pk}).content.decode()
    assert f'<option value="{owner.pk}" selected>' in page
    result = winloss.analysis(manager, {**filters(now), "rep": owner.pk})
    assert (result["overall"]["won"], result["overall"]["lost"]) == (2, 2)


def test_the_breakdowns_counted_in_one_pass_equal_a_count_per_deal(closed, admin, now):
    # `PASSES` groups several breakdowns in one query and sums them in Python: each must still
    # equal its own count, the quarters in order.
    result = winloss.analysis(admin, filters(now))
    deals = list(winloss.closed_deals(admin, filters(now)).select_related("process", "owner"))

    def direct(label) -> dict:
        counted = {}
        for deal in deals:
            won, lost = counted.get(label(deal), (0, 0))
            counted[label(deal)] = (won + (deal.status == "won"), lost + (deal.status == "lost"))
        return counted

    quarters = next(b for b in result["breakdowns"] if b["dimension"].name == "quarter")["rows"]
    by_quarter = direct(lambda deal: f"{deal.closed_on.year}-Q{(deal.closed_on.month - 1) // 3 + 1}")
    assert [(r["label"], r["won"], r["lost"]) for r in quarters] == [(q, *n) for q, n in sorted(by_quarter.items())]
    assert table(result, "process") == direct(lambda deal: deal.process.name)
    assert table(result, "owner") == direct(lambda deal: str(deal.owner))
    assert sum(won + lost for won, lost in table(result, "reason").values()) == len(deals)


def test_a_reason_and_a_decisive_milestone_together_list_their_deals(closed, admin, now):
    # Both read the current review: selecting by both must join it without losing or doubling deals.
    result = winloss.analysis(admin, filters(now))
    price = next(
        r for b in result["breakdowns"] if b["dimension"].name == "reason" for r in b["rows"] if r["label"] == "Price"
    )
    discover = next(r for r in result["decisive"] if r["label"] == "Discover: Check 1")
    deals = winloss.deals_behind(
        admin,
        filters(now),
        selections={"reason": price["value"], "decisive_milestone": discover["value"]},
        outcome="lost",
    )
    assert deals.count() == 2


def test_the_csv_quotes_a_label_a_spreadsheet_would_run(client_for, closed, manager):
    # An industry is typed by users: in the CSV it must stay text, never a formula.
    Account.objects.filter(pk=closed[0].account_id).update(industry="=HYPERLINK(1)")
    Opportunity.objects.filter(pk=closed[0].pk).update(closed_industry="=HYPERLINK(1)")
    body = client_for(manager).get(reverse("postmortem:winloss"), {"format": "csv"}).content.decode()
    assert "industry,'=HYPERLINK(1),1,0,1,100.0" in body.replace("\r", "")
