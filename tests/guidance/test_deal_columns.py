"""My deals' signal columns (`guidance.panel.deal_signal_columns`, registered through
`opportunities.hooks.DealColumns`): each open deal's stored win probability, viability, ICP fit
and priority, "—" for a deal without a stored signal, only on rows the user may see, and the
sorts by priority and by win probability, on the page and in the API."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from guidance.models import DealSignal
from opportunities.models import OpportunityStatus
from tests.factories import OpportunityFactory

FIGURES = ("Win %", "Viability", "ICP fit", "Priority")


def signal(deal, *, win: int, viability: int = 50, icp: int = 40, priority: float = 100.0, reason: str = ""):
    return DealSignal.objects.create(
        opportunity=deal,
        win_probability=win,
        viability=viability,
        icp_score=icp,
        priority=priority,
        reason=reason or f"Reason of {deal.name}",
    )


def rows(client, params: dict | None = None) -> dict[str, dict[str, str]]:
    """{deal name: {column: what its cell says}} of the My deals page, in the page's order."""
    response = client.get(reverse("opportunities:my_deals"), params or {})
    assert response.status_code == 200
    table = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    shown = {}
    for row in table.split("<tr>")[1:]:
        name = re.search(r'<td><a href="/deals/\d+/">([^<]*)</a>', row)
        if name:
            cells = dict(re.findall(r'<td[^>]*data-label="([^"]+)">\s*([^<]*?)\s*</td>', row))
            shown[name[1]] = {label: cells[label] for label in FIGURES}
    return shown


def api_names(client, params: dict) -> list[str]:
    response = client.get(reverse("api:opportunity_list"), params)
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.fixture
def deals(owner, teammate, process, now):
    stage = process.stages.order_by("order").first()

    def deal(name, who=owner, **fields):
        return OpportunityFactory(name=name, owner=who, process=process, stage=stage, furthest_stage=stage, **fields)

    scored = deal("Scored")
    signal(scored, win=63, viability=70, icp=55, priority=900.5, reason="Closes in 12 days")
    urgent = deal("Urgent")
    signal(urgent, win=20, viability=30, icp=10, priority=5000.0, reason="Its next step is overdue")
    fresh = deal("Fresh")  # not scored yet
    closed = deal("Closed", status=OpportunityStatus.WON, closed_on=now.date() - dt.timedelta(days=1))
    signal(closed, win=99, priority=9999.0, reason="Scored while it was open")  # removed by the next scoring
    theirs = deal("Teammate deal", who=teammate)
    signal(theirs, win=41, viability=42, icp=43, priority=44.0, reason="Theirs to work")
    return {"scored": scored, "urgent": urgent, "fresh": fresh, "closed": closed, "theirs": theirs}


def test_my_deals_show_each_deal_s_stored_signals(deals, client_for, owner):
    shown = rows(client_for(owner))
    assert shown["Scored"] == {"Win %": "63%", "Viability": "70", "ICP fit": "55", "Priority": "Closes in 12 days"}
    assert shown["Urgent"] == {
        "Win %": "20%",
        "Viability": "30",
        "ICP fit": "10",
        "Priority": "Its next step is overdue",
    }
    assert "Teammate deal" not in shown  # my deals only


def test_a_deal_without_a_stored_signal_shows_dashes(deals, client_for, owner):
    dashes = dict.fromkeys(FIGURES, "—")
    assert rows(client_for(owner))["Fresh"] == dashes
    # A closed deal keeps its row until the nightly scoring removes it; it shows none.
    assert rows(client_for(owner), {"status": ""})["Closed"] == dashes


def test_the_headers_name_the_columns(deals, client_for, owner):
    page = client_for(owner).get(reverse("opportunities:my_deals")).content.decode()
    head = page.split("<thead>")[1].split("</thead>")[0]
    for label in FIGURES:
        assert f">{label}</th>" in head


def test_the_columns_show_only_deals_the_user_may_see(deals, client_for, teammate, outsider):
    everything = {"scope": "all", "status": ""}
    outsider_page = client_for(outsider).get(reverse("opportunities:my_deals"), everything).content.decode()
    assert rows(client_for(outsider), everything) == {}
    for words in ("Closes in 12 days", "Its next step is overdue", "Theirs to work", "63%"):
        assert words not in outsider_page
    # A teammate may read the owner's deals, and sees their figures with them.
    shown = rows(client_for(teammate), everything)
    assert shown["Scored"]["Win %"] == "63%" and shown["Teammate deal"]["Priority"] == "Theirs to work"


def test_sorting_by_priority_puts_the_highest_first_and_unscored_deals_last(deals, client_for, owner):
    assert list(rows(client_for(owner), {"sort": "priority"})) == ["Urgent", "Scored", "Fresh"]


def test_sorting_by_win_probability_puts_the_likeliest_first(deals, client_for, owner):
    assert list(rows(client_for(owner), {"sort": "win"})) == ["Scored", "Urgent", "Fresh"]
    # A closed deal's leftover signal (shown as none) does not count either.
    all_mine = {"sort": "win", "status": ""}
    assert list(rows(client_for(owner), all_mine)) == ["Scored", "Urgent", "Fresh", "Closed"]
    assert list(rows(client_for(owner), {**all_mine, "sort": "priority"})) == ["Urgent", "Scored", "Fresh", "Closed"]


def test_the_sort_menu_offers_the_signal_sorts(deals, client_for, owner):
    page = client_for(owner).get(reverse("opportunities:my_deals"), {"sort": "priority"}).content.decode()
    assert '<option value="priority" selected>Priority, highest first</option>' in page
    assert '<option value="win">Win probability, highest first</option>' in page


def test_the_api_orders_by_the_same_sorts(deals, api_for, owner, teammate):
    assert api_names(api_for(owner), {"ordering": "priority", "status": "open", "owner": "me"}) == [
        "Urgent",
        "Scored",
        "Fresh",
    ]
    assert api_names(api_for(teammate), {"ordering": "win", "status": "open"}) == [
        "Scored",
        "Teammate deal",
        "Urgent",
        "Fresh",
    ]
