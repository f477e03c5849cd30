"""Pipeline changes between two dates (`pipeline.changes`, `pipeline.views_changes`).

One history is built day by day with the clock frozen at each step, through the real services,
and every category is checked against the answers known by construction. The period is the end
of Fri 20 Feb 2026 to the end of Fri 27 Feb 2026; "today" is Mon 2 Mar 2026 (the `now` fixture).

    deal              owner     what happens (10:00 UTC unless said)                     category
    Advance           owner     Qualify → Propose on 23 Feb; back to Qualify 1 Mar      advanced
    Back              owner     → Propose 12 Feb; → Discover 24 Feb                     moved back
    Bigger            owner     10k → 20k 23 Feb → 25k 25 Feb                           amount up +15k
    Smaller           owner     30k → 12k 24 Feb                                        amount down −18k
    Slip              owner     close 26 Feb, pushed to 20 Mar on 25 Feb                slipped
    Slip within       owner     close 21 Feb, pushed to 26 Feb on 22 Feb                —
    Overdue pushed    owner     close 15 Feb (overdue at the start), → 10 Mar 23 Feb    slipped
    Pulled in         owner     close 31 Mar, → 27 Feb on 25 Feb                        —
    Win               owner     40k, won 26 Feb                                         won
    Lose              owner     20k, lost 24 Feb                                        lost
    Won before        owner     won 15 Feb, activity logged 23 Feb                      —
    Round trip        owner     15k and Discover on 23 Feb, back on 25 Feb              —
    Reopen            owner     lost 15 Feb, reopened 24 Feb                            reopened
    Lost then won     owner     lost 15 Feb, reopened 23 Feb, won 26 Feb                won
    New open          owner     created 23 Feb                                          new
    New and won       owner     5k, created 23 Feb, won 26 Feb                          new, won
    New then moved    owner     created 21 Feb 00:00:30, → Discover 22 Feb             new
    Late              owner     created 1 Mar                                           —
    Edge before       owner     → 11k at 20 Feb 23:59:59                                —
    Edge after        owner     → 9k at 27 Feb 23:59:59; → Discover 28 Feb 00:00:01     amount down −1k
    Handed over       owner     reassigned to outsider 24 Feb; 10k → 12k 25 Feb         owner: reassigned out
    Handed to owner   teammate  reassigned to owner 24 Feb; → Discover 25 Feb           owner: reassigned in, advanced
    Beta deal         outsider  → Discover 23 Feb                                       advanced (Team Beta)
    Renewal           owner     other process, created 23 Feb                           new
    Teammate new      teammate  created 23 Feb                                          new
"""

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities import services
from people.models import OrgSettings, Visibility
from pipeline.reports.changes import CATEGORY_KEYS, pipeline_changes
from tests.factories import AccountFactory, LostReasonFactory, UserFactory, make_process

START, END = dt.date(2026, 2, 20), dt.date(2026, 2, 27)
URL = "/changes/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def at(day: int, hour: int = 10, minute: int = 0, second: int = 0, month: int = 2) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=dt.UTC)


def do(moment: dt.datetime, service, *args, **kwargs):
    """Call `service` with the clock frozen at `moment` (and `now=moment`)."""
    with time_machine.travel(moment, tick=False):
        return service(*args, now=moment, **kwargs)


class History:
    """Builds deals step by step; `deals[name]` is the opportunity."""

    def __init__(self, process):
        self.process = process
        self.stages = {s.name: s for s in process.stages.all()}
        self.deals = {}
        self.reason = LostReasonFactory(name="Price")

    def create(self, name, owner, when, *, amount="10000", close=dt.date(2026, 3, 31), process=None):
        account = AccountFactory(name=f"{name} Inc", owner=owner)
        opp = do(
            when,
            services.opportunity_create,
            actor=owner,
            account=account,
            process=process or self.process,
            name=name,
            amount=amount,
            expected_close_date=close,
        )
        self.deals[name] = opp
        return opp

    def _fresh(self, name):
        opp = self.deals[name]
        opp.refresh_from_db()
        return opp

    def move(self, name, stage, when, actor):
        do(when, services.opportunity_move, self._fresh(name), actor=actor, to_stage=self.stages[stage])

    def update(self, name, when, actor, **fields):
        opp = self._fresh(name)
        do(when, services.opportunity_update, opp, actor=actor, expected_version=opp.version, **fields)

    def won(self, name, when, actor):
        do(when, services.opportunity_close_won, self._fresh(name), actor=actor)

    def lost(self, name, when, actor):
        do(when, services.opportunity_close_lost, self._fresh(name), actor=actor, reason=self.reason)

    def reopen(self, name, when, actor):
        # Reopening asks for the next step; waiting on the buyer changes nothing the report counts.
        wait = when.date() + dt.timedelta(days=7)
        do(when, services.opportunity_reopen, self._fresh(name), actor=actor, waiting_until=wait)

    def reassign(self, name, to, when, actor):
        do(when, services.opportunity_reassign, self._fresh(name), actor=actor, owner=to)

    def activity(self, name, when, actor):
        do(when, services.activity_log, actor=actor, opportunity=self._fresh(name), kind="call", subject="Check-in")


@pytest.fixture
def history(owner, teammate, manager, outsider, admin):
    process = make_process(stages=4, milestones=0, name="Changes")
    renewal = make_process(stages=2, milestones=0, name="Renewal")
    h = History(process)
    b = at(10)
    h.create("Advance", owner, b)
    h.move("Advance", "Propose", at(23), owner)
    h.move("Advance", "Qualify", at(1, month=3), owner)
    h.create("Back", owner, b)
    h.move("Back", "Propose", at(12), owner)
    h.move("Back", "Discover", at(24), owner)
    h.create("Bigger", owner, b)
    h.update("Bigger", at(23), owner, amount="20000")
    h.update("Bigger", at(25), owner, amount="25000")
    h.create("Smaller", owner, b, amount="30000")
    h.update("Smaller", at(24), owner, amount="12000")
    h.create("Slip", owner, b, close=dt.date(2026, 2, 26))
    h.update("Slip", at(25), owner, expected_close_date=dt.date(2026, 3, 20))
    h.create("Slip within", owner, b, close=dt.date(2026, 2, 21))
    h.update("Slip within", at(22), owner, expected_close_date=dt.date(2026, 2, 26))
    h.create("Overdue pushed", owner, b, close=dt.date(2026, 2, 15))
    h.update("Overdue pushed", at(23), owner, expected_close_date=dt.date(2026, 3, 10))
    h.create("Pulled in", owner, b)
    h.update("Pulled in", at(25), owner, expected_close_date=dt.date(2026, 2, 27))
    h.create("Win", owner, b, amount="40000")
    h.won("Win", at(26), owner)
    h.create("Lose", owner, b, amount="20000")
    h.lost("Lose", at(24), owner)
    h.create("Won before", owner, b)
    h.won("Won before", at(15), owner)
    h.activity("Won before", at(23), owner)
    h.create("Round trip", owner, b)
    h.update("Round trip", at(23), owner, amount="15000")
    h.move("Round trip", "Discover", at(23, 11), owner)
    h.update("Round trip", at(25), owner, amount="10000")
    h.move("Round trip", "Qualify", at(25, 11), owner)
    h.create("Reopen", owner, b)
    h.lost("Reopen", at(15), owner)
    h.reopen("Reopen", at(24), manager)
    h.create("Lost then won", owner, b, amount="7000")
    h.lost("Lost then won", at(15), owner)
    h.reopen("Lost then won", at(23), manager)
    h.won("Lost then won", at(26), owner)
    h.create("New open", owner, at(23))
    h.create("New and won", owner, at(23), amount="5000")
    h.won("New and won", at(26), owner)
    h.create("New then moved", owner, at(21, 0, 0, 30))
    h.move("New then moved", "Discover", at(22), owner)
    h.create("Late", owner, at(1, month=3))
    h.create("Edge before", owner, b)
    h.update("Edge before", at(20, 23, 59, 59), owner, amount="11000")
    h.create("Edge after", owner, b)
    h.update("Edge after", at(27, 23, 59, 59), owner, amount="9000")
    h.move("Edge after", "Discover", at(28, 0, 0, 1), owner)
    h.create("Handed over", owner, b)
    h.reassign("Handed over", outsider, at(24), admin)
    h.update("Handed over", at(25), outsider, amount="12000")
    h.create("Handed to owner", teammate, b)
    h.reassign("Handed to owner", owner, at(24), manager)
    h.move("Handed to owner", "Discover", at(25), owner)
    h.create("Beta deal", outsider, b)
    h.move("Beta deal", "Discover", at(23), outsider)
    h.create("Renewal", owner, at(23), process=renewal)
    h.create("Teammate new", teammate, at(23))
    h.renewal = renewal
    return h


def names(changes, key) -> list[str]:
    return sorted(d.name for d in changes[key].deals)


def categories(changes) -> dict[str, list[str]]:
    return {key: names(changes, key) for key in CATEGORY_KEYS if changes[key].count}


OWNER_VIEW = {
    "new": ["New and won", "New open", "New then moved", "Renewal"],
    "won": ["Lost then won", "New and won", "Win"],
    "lost": ["Lose"],
    "advanced": ["Advance", "Handed to owner"],
    "moved_back": ["Back"],
    "slipped": ["Overdue pushed", "Slip"],
    "amount_up": ["Bigger"],
    "amount_down": ["Edge after", "Smaller"],
    "reopened": ["Reopen"],
    "reassigned_in": ["Handed to owner"],
    "reassigned_out": ["Handed over"],
}


# --- the categories, from the history ---------------------------------------------------------------------------


def test_each_category_holds_the_deals_that_changed_that_way(history, owner, now):
    changes = pipeline_changes(owner, start=START, end=END, owner_id=owner.pk)
    assert categories(changes) == OWNER_VIEW


def test_totals_count_amount_and_net_change(history, owner, now):
    changes = pipeline_changes(owner, start=START, end=END, owner_id=owner.pk)
    assert changes["won"].count == 3 and changes["won"].amount == Decimal("52000")
    assert changes["lost"].amount == Decimal("20000")
    assert changes["new"].amount == Decimal("35000")  # 10k + 5k + 10k + 10k
    assert (changes["amount_up"].delta, changes["amount_up"].amount) == (Decimal("15000"), Decimal("25000"))
    assert (changes["amount_down"].delta, changes["amount_down"].amount) == (Decimal("-19000"), Decimal("21000"))
    assert changes["reassigned_out"].amount == Decimal("10000")  # as last seen, at the start
    assert changes["won"].delta is None
    # the deals behind a category carry both states
    bigger = changes["amount_up"].deals[0]
    assert (bigger.before.amount, bigger.after.amount, bigger.delta) == (Decimal("10000"), Decimal("25000"), 15000)
    slip = next(d for d in changes["slipped"].deals if d.name == "Slip")
    assert (slip.before.close, slip.after.close) == (dt.date(2026, 2, 26), dt.date(2026, 3, 20))
    back = changes["moved_back"].deals[0]
    assert (back.before.stage_name, back.after.stage_name) == ("Propose", "Discover")
    handed = changes["reassigned_in"].deals[0]
    assert (handed.before.owner_name, handed.after.owner_name) == ("Tom Teammate", "Olivia Owner")


def test_open_pipeline_at_both_ends(history, owner, now):
    changes = pipeline_changes(owner, start=START, end=END, owner_id=owner.pk)
    # start: Advance Back Bigger Smaller(30k) Slip "Slip within" "Overdue pushed" "Pulled in" Win(40k) Lose(20k)
    #        "Round trip" "Edge before"(11k) "Edge after" "Handed over"
    assert changes.open_at_start == (14, Decimal("10000") * 10 + 30000 + 40000 + 20000 + 11000)
    # end: Advance Back Bigger(25k) Smaller(12k) Slip "Slip within" "Overdue pushed" "Pulled in" "Round trip"
    #      Reopen "New open" "New then moved" "Edge before"(11k) "Edge after"(9k) "Handed to owner" Renewal
    assert changes.open_at_end == (16, Decimal("10000") * 12 + 25000 + 12000 + 11000 + 9000)


def test_a_period_of_one_day_and_an_empty_period(history, owner, now):
    one_day = pipeline_changes(owner, start=dt.date(2026, 2, 23), end=dt.date(2026, 2, 24), owner_id=owner.pk)
    assert categories(one_day) == {
        "moved_back": ["Back"],
        "amount_down": ["Smaller"],
        "lost": ["Lose"],
        "reopened": ["Reopen"],
        "reassigned_in": ["Handed to owner"],
        "reassigned_out": ["Handed over"],
    }
    last_day = pipeline_changes(owner, start=dt.date(2026, 2, 26), end=END, owner_id=owner.pk)
    assert categories(last_day) == {"amount_down": ["Edge after"]}
    assert categories(pipeline_changes(owner, start=END, end=END, owner_id=owner.pk)) == {}


def test_the_end_of_the_day_follows_the_installation_time_zone(owner, settings, now):
    h = History(make_process(stages=2, milestones=0, name="Zones"))
    h.create("Late evening", owner, at(10))
    h.update("Late evening", at(28, 2), owner, amount="20000")  # 27 Feb, 21:00 in New York
    assert categories(pipeline_changes(owner, start=START, end=END)) == {}
    settings.TIME_ZONE = "America/New_York"
    assert categories(pipeline_changes(owner, start=START, end=END)) == {"amount_up": ["Late evening"]}


# --- whose deals ---------------------------------------------------------------------------------------------------


def test_a_manager_sees_their_teams_deals_and_not_others(history, manager, now):
    expected = {key: value for key, value in OWNER_VIEW.items() if key != "reassigned_in"}
    # handed between two reps of the team: no reassignment as far as the team is concerned
    expected["new"] = ["New and won", "New open", "New then moved", "Renewal", "Teammate new"]
    assert categories(pipeline_changes(manager, start=START, end=END)) == expected


def test_an_admin_sees_everyone_and_reassignment_moves_nothing_out(history, admin, now):
    changes = pipeline_changes(admin, start=START, end=END)
    expected = {key: list(value) for key, value in OWNER_VIEW.items() if not key.startswith("reassigned")}
    expected["new"] = ["New and won", "New open", "New then moved", "Renewal", "Teammate new"]
    expected["advanced"] = ["Advance", "Beta deal", "Handed to owner"]
    expected["amount_up"] = ["Bigger", "Handed over"]
    assert categories(changes) == expected


def test_a_reassigned_deal_counts_for_its_owner_at_the_end(history, owner, outsider, admin, team, other_team, now):
    beta = pipeline_changes(outsider, start=START, end=END, owner_id=outsider.pk)
    assert categories(beta) == {
        "advanced": ["Beta deal"],
        "amount_up": ["Handed over"],
        "reassigned_in": ["Handed over"],
    }
    handed = beta["amount_up"].deals[0]
    assert (handed.before.owner_name, handed.after.owner_name) == ("Olivia Owner", "Oscar Outsider")
    # Team totals add up to the company's.
    company = pipeline_changes(admin, start=START, end=END)
    alpha = pipeline_changes(admin, start=START, end=END, team_id=team.pk)
    beta_team = pipeline_changes(admin, start=START, end=END, team_id=other_team.pk)
    for key in CATEGORY_KEYS:
        if not key.startswith("reassigned"):
            assert sorted(names(alpha, key) + names(beta_team, key)) == names(company, key), key
    assert names(alpha, "reassigned_out") == ["Handed over"] == names(beta_team, "reassigned_in")


def test_a_rep_filter_and_a_process_filter(history, manager, teammate, owner, now):
    tom = pipeline_changes(manager, start=START, end=END, owner_id=teammate.pk)
    assert categories(tom) == {"new": ["Teammate new"], "reassigned_out": ["Handed to owner"]}
    changes = pipeline_changes(owner, start=START, end=END, owner_id=owner.pk, process_id=history.process.pk)
    assert names(changes, "new") == ["New and won", "New open", "New then moved"]
    renewal = pipeline_changes(owner, start=START, end=END, owner_id=owner.pk, process_id=history.renewal.pk)
    assert categories(renewal) == {"new": ["Renewal"]}


def test_an_outsider_sees_nothing_of_owners_deals(history, outsider, now):
    # Even asking for owner's deals by id finds nothing: visibility is applied first.
    changes = pipeline_changes(outsider, start=START, end=END, owner_id=history.deals["Advance"].owner_id)
    assert categories(changes) == {}
    assert changes.open_at_start == (0, 0) and changes.open_at_end == (0, 0)


# --- the page --------------------------------------------------------------------------------------------------------

PERIOD = {"from": START.isoformat(), "to": END.isoformat()}


def test_page_works_shows_totals_legend_and_the_deals_of_a_category(history, client_for, owner, now):
    response = client_for(owner).get(URL, {**PERIOD, "category": "amount_down"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body and 'id="changes"' in body
    assert 'value="2026-02-20"' in body and 'value="2026-02-27"' in body
    for key, deals in OWNER_VIEW.items():
        row = body.split(f'id="total-{key}"')[1].split("</tr>")[0]
        assert f'<td class="num" data-count>{len(deals)}</td>' in row, key
    assert "open at both ends with a smaller amount at the end" in body  # the legend
    assert "−19,000" in body or "-19,000" in body
    deals = body.split('id="deals"')[1]
    assert "Smaller" in deals and "Edge after" in deals and "Bigger" not in deals
    assert f'href="/deals/{history.deals["Smaller"].pk}/"' in deals
    assert "30,000 → 12,000" in deals


def test_page_defaults_to_the_last_seven_days(client_for, owner, now):
    body = client_for(owner).get(URL).content.decode()
    assert 'value="2026-02-23"' in body and 'value="2026-03-02"' in body
    assert "<strong>Your deals</strong>,\n  from the end of <strong>Mon 23 Feb 2026</strong> to the end of" in body
    assert "to the end of <strong>Mon 2 Mar 2026</strong>" in body


def test_htmx_gets_the_partial(history, client_for, owner, now):
    response = client_for(owner).get(URL, {**PERIOD, "category": "won"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "Win" in body and 'id="total-won"' in body


def test_teammate_may_look_at_owners_changes(history, client_for, teammate, owner, now):
    client = client_for(teammate)
    own = client.get(URL, {**PERIOD, "category": "new"}).content.decode()
    assert "Teammate new" in own and "New open" not in own
    response = client.get(URL, {**PERIOD, "rep": owner.pk, "category": "new"})
    assert response.status_code == 200
    assert "New open" in response.content.decode() and "Teammate new" not in response.content.decode()


def test_outsider_asking_for_owners_changes_gets_404(history, client_for, outsider, owner, team, now):
    client = client_for(outsider)
    assert client.get(URL, {**PERIOD, "rep": owner.pk}).status_code == 404
    assert client.get(URL, {**PERIOD, "team": team.pk}).status_code == 404
    assert client.get(URL, {**PERIOD, "rep": 999999}).status_code == 404
    body = client.get(URL, {**PERIOD, "category": "advanced"}).content.decode()
    assert "Beta deal" in body and "Advance<" not in body and "Bigger" not in body


def test_with_own_visibility_a_teammate_cannot_pick_owner(history, client_for, teammate, owner, now):
    OrgSettings.objects.update_or_create(pk=1, defaults={"visibility": Visibility.OWN})
    assert client_for(teammate).get(URL, {**PERIOD, "rep": owner.pk}).status_code == 404


def test_manager_filters_by_team_and_rep(history, client_for, manager, teammate, team, other_team, now):
    client = client_for(manager)
    body = client.get(URL, {**PERIOD, "rep": teammate.pk, "category": "new"}).content.decode()
    assert "Teammate new" in body and "New open" not in body
    assert "<strong>Deals of Tom Teammate</strong>" in body
    assert "<strong>Every deal you can see</strong>" in client.get(URL, PERIOD).content.decode()
    assert client.get(URL, {**PERIOD, "team": team.pk}).status_code == 200
    assert client.get(URL, {**PERIOD, "team": other_team.pk}).status_code == 404


def test_the_page_is_read_only_so_writes_are_405(history, client_for, owner, viewer, now):
    # Nothing on this page changes data, so there is no write for a read-only viewer to be
    # refused (403): every method but GET is refused for everyone.
    for user in (owner, viewer):
        client = client_for(user)
        assert client.post(URL, PERIOD).status_code == 405
        assert client.put(URL).status_code == 405
        assert client.delete(URL).status_code == 405


def test_accepted_htmx_answers_leave_the_filter_form_alone(history, client_for, owner, now):
    # Sending the form back would overwrite what the user is typing in it meanwhile.
    body = client_for(owner).get(URL, PERIOD, **HTMX).content.decode()
    assert 'id="changes-filters"' not in body


def test_a_refused_period_over_htmx_empties_the_table_and_marks_the_field(history, client_for, owner, now):
    # A To before From: the answer (400, which htmx is configured to swap) holds the form with the
    # error on its field and no table, so nothing on screen belongs to another period.
    response = client_for(owner).get(URL, {"from": "2026-02-27", "to": "2026-02-20"}, **HTMX)

    assert response.status_code == 400
    body = response.content.decode()
    form = body[body.index('id="changes-filters"') : body.index("</form>")]
    assert 'hx-swap-oob="true"' in form
    assert 'class="field inline has-error"' in form and 'aria-invalid="true"' in form
    assert "must be on or before" in form
    assert 'id="total-new"' not in body and "changes-deals" not in body
    assert "Nothing is shown until the filters are fixed." in body


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-02-27", "to": "2026-02-20"}, "must be on or before"),
        ({"from": "2026-02-20", "to": "2026-03-03"}, "2026-03-03 is in the future"),
        ({"from": "2026-03-05"}, "2026-03-05 is in the future"),
        ({"from": "yesterday"}, "Enter a date like 2026-01-31."),
        ({"from": "1999-12-31", "to": "2000-01-05"}, "before 2000-01-01"),
        ({"category": "everything"}, "is not a category of change"),
        ({"process": "abc"}, "Choose a process from the list."),
        ({"process": "999999"}, "Choose a process from the list."),
        ({"rep": "me"}, "Choose a rep from the list."),
        ({"team": "-1"}, "Ensure this value is greater than or equal to 1."),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(client_for, owner, now, params, message):
    client = client_for(owner)
    response = client.get(URL, params)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'id="total-new"' not in body
    partial = client.get(URL, params, **HTMX)
    assert partial.status_code == 400 and message in partial.content.decode()


# --- CSV -----------------------------------------------------------------------------------------------------------


def rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_of_a_category(history, client_for, owner, now):
    response = client_for(owner).get(URL, {**PERIOD, "category": "amount_down", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="pipeline-changes-2026-02-20-to-2026-02-27-amount_down.csv"' in response["Content-Disposition"]
    data = rows(response)
    assert [(r["deal"], r["amount_from"], r["amount_to"], r["amount_change"]) for r in data] == [
        ("Smaller", "30000.00", "12000.00", "-18000.00"),
        ("Edge after", "10000.00", "9000.00", "-1000.00"),
    ]
    assert data[0]["url"].endswith(f"/deals/{history.deals['Smaller'].pk}/")
    assert {r["category"] for r in data} == {"amount_down"}


def test_csv_of_every_category(history, client_for, owner, now):
    data = rows(client_for(owner).get(URL, {**PERIOD, "format": "csv"}))
    assert {(r["category"], r["deal"]) for r in data} == {
        (key, name) for key, deals in OWNER_VIEW.items() for name in deals
    }
    out = next(r for r in data if r["category"] == "reassigned_out")
    assert (out["owner_from"], out["owner_to"], out["status_to"]) == ("Olivia Owner", "", "")


def test_csv_neutralises_formulas(client_for, owner, now):
    h = History(make_process(stages=2, milestones=0, name="=cmd|' /C calc'!A0"))
    h.create('=HYPERLINK("http://evil.example")', owner, at(25))
    h.create("+1+1", owner, at(25))
    h.create("@SUM(A1)", owner, at(25))
    h.create("-2-3", owner, at(25))
    owner.first_name = "=Olivia"
    owner.save()
    data = rows(client_for(owner).get(URL, {**PERIOD, "category": "new", "format": "csv"}))
    assert sorted(r["deal"] for r in data) == ["'+1+1", "'-2-3", '\'=HYPERLINK("http://evil.example")', "'@SUM(A1)"]
    assert {r["owner_to"] for r in data} == {"'=Olivia Owner"}
    assert {r["account"][0] for r in data} <= {"'"}
    assert {r["amount_to"] for r in data} == {"10000.00"}  # numbers stay numbers


# --- query counts ------------------------------------------------------------------------------------------------

_seq = itertools.count()


def busy_rep(team, process, manager, outsider, admin):
    """A rep with one deal of each kind of change, and one handed to and one from another team."""
    rep = UserFactory(team=team)
    h = History(process)
    n = next(_seq)
    for label in ("adv", "back", "up", "down", "slip", "won", "lost", "out", "in", "reopen"):
        h.create(f"{label} {n}", rep, at(10), close=dt.date(2026, 2, 25) if label == "slip" else dt.date(2026, 3, 31))
    h.move(f"back {n}", "Discover", at(12), rep)
    h.lost(f"reopen {n}", at(12), rep)
    h.move(f"adv {n}", "Propose", at(23), rep)
    h.move(f"back {n}", "Qualify", at(23), rep)
    h.update(f"up {n}", at(23), rep, amount="20000")
    h.update(f"down {n}", at(23), rep, amount="5000")
    h.update(f"slip {n}", at(23), rep, expected_close_date=dt.date(2026, 4, 1))
    h.won(f"won {n}", at(24), rep)
    h.lost(f"lost {n}", at(24), rep)
    h.reopen(f"reopen {n}", at(24), admin)
    h.reassign(f"out {n}", outsider, at(24), admin)
    h.reassign(f"in {n}", outsider, at(11), admin)
    h.reassign(f"in {n}", rep, at(24), admin)
    h.create(f"new {n}", rep, at(25))
    return rep


def count_queries(client, params, **extra) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params, **extra)
    assert response.status_code == 200
    return len(ctx)


@pytest.mark.parametrize("who", ["admin", "manager"])
def test_query_count_does_not_grow_with_deals(who, client_for, team, manager, outsider, admin, now):
    process = make_process(stages=4, milestones=0, name="Busy")
    viewer = {"admin": admin, "manager": manager}[who]
    client = client_for(viewer)
    views = [
        {**PERIOD},
        {**PERIOD, "category": "amount_up", "team": team.pk},
        {**PERIOD, "format": "csv"},
    ]

    busy_rep(team, process, manager, outsider, admin)
    for params in views:
        client.get(URL, params)  # warm-up: one-off rows such as the organisation settings
    small = [count_queries(client, params) for params in views] + [count_queries(client, PERIOD, **HTMX)]
    for _ in range(4):
        busy_rep(team, process, manager, outsider, admin)
    changes = pipeline_changes(viewer, start=START, end=END)
    assert changes["advanced"].count == 5 and changes["reassigned_in"].count == (5 if who == "manager" else 0)
    large = [count_queries(client, params) for params in views] + [count_queries(client, PERIOD, **HTMX)]
    assert small == large
    # session, user, the manager's teams; four snapshot queries (open at the end, closed in the
    # period, open at the start, the start of reopened and reassigned-in deals); the chosen team;
    # then, on the full page only, the bell and the choices of the process, team and rep filters
    page, csv_, partial = max(large[:2]), large[2], large[3]
    assert page <= 12 and csv_ <= 7 and partial <= 7, large
