"""The kanban board: column totals against answers worked out by hand, the card limit and "Load
more", the filters (and what happens to bad ones), who sees which deals, a constant number of
queries live and as of a past day, and moving a card — refused with the missing milestones
named, allowed once they are ticked — with the view quintet for every URL.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities import services
from opportunities.models import EventVerb, Opportunity, OpportunityEvent
from people.models import OrgSettings, Visibility
from pipeline.board.queries import CARDS_PER_COLUMN, BoardQuery, board_build
from pipeline.models import Flag, FlagKind
from tests.factories import AccountFactory, make_process

HTMX = {"HTTP_HX_REQUEST": "true"}
DAY = dt.timedelta(days=1)


# --- helpers ---------------------------------------------------------------------------------------------


def text(response) -> str:
    return response.content.decode()


def assert_partial(response) -> None:
    body = text(response).lower()
    assert "<html" not in body and "<body" not in body, "an htmx request must get the partial, not the page"


def board_url(process, **params) -> str:
    url = reverse("board:process", args=[process.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def stages_of(process) -> list:
    return list(process.stages.order_by("order", "id"))


def advance(opp, *, actor, to: int, now=None):
    """Tick the required milestones of the stages left behind and move to stage index `to`."""
    stages = stages_of(opp.process)
    here = next(i for i, s in enumerate(stages) if s.pk == opp.stage_id)
    for i in range(here, to):
        for milestone in stages[i].milestones.filter(is_required=True):
            if not opp.milestone_completions.filter(milestone=milestone).exists():
                services.milestone_tick(opp, actor=actor, milestone=milestone, now=now)
        opp = services.opportunity_move(opp, actor=actor, to_stage=stages[i + 1], now=now)
    return opp


def make_deal(owner, process, amount, *, stage: int = 0, close=None, account=None, name=None, now=None):
    opp = services.opportunity_create(
        actor=owner,
        account=account or AccountFactory(owner=owner),
        process=process,
        name=name or f"Deal {amount}",
        amount=amount,
        expected_close_date=close or (now or dt.datetime.now(dt.UTC)).date() + 30 * DAY,
        now=now,
    )
    return advance(opp, actor=owner, to=stage, now=now) if stage else opp


def columns(response) -> dict[str, tuple[int, Decimal, Decimal]]:
    return {c.stage.name: (c.count, c.total, c.weighted) for c in response.context["board"].columns}


def cards(response) -> dict[str, list[str]]:
    return {c.stage.name: [card.name for card in c.cards] for c in response.context["board"].columns}


def card_names(response) -> set[str]:
    return {name for names in cards(response).values() for name in names}


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def known(owner, teammate, outsider, process, now, lost_reason):
    """Deals with totals worked out by hand (Qualify 10 %, Discover 20 %, Propose 30 %):

    Qualify   owner 1,000.00 + owner 2,500.50 + teammate 4,000.00
    Discover  owner 10,000.00
    Propose   owner 333.33
    closed    owner 7,777.00 won, in Discover (never on the board)
    outsider  5,000.00 in Qualify (another team)
    another process: owner 9,999.00
    """
    deals = {
        "q1": make_deal(owner, process, "1000.00", name="Q one", now=now, close=now.date() + 10 * DAY),
        "q2": make_deal(owner, process, "2500.50", name="Q two", now=now, close=now.date() + 5 * DAY),
        "qt": make_deal(teammate, process, "4000.00", name="Q teammate", now=now, close=now.date() + 40 * DAY),
        "d1": make_deal(owner, process, "10000.00", stage=1, name="D one", now=now),
        "p1": make_deal(owner, process, "333.33", stage=2, name="P one", now=now),
        "won": make_deal(owner, process, "7777.00", stage=1, name="Won one", now=now),
        "qo": make_deal(outsider, process, "5000.00", name="Q outsider", now=now),
    }
    services.opportunity_close_lost(deals["won"], actor=owner, reason=lost_reason, now=now)
    other = make_process(stages=2, milestones=1, name="Renewals")
    deals["other"] = make_deal(owner, other, "9999.00", name="Renewal one", now=now)
    return deals


# --- the board's numbers -----------------------------------------------------------------------------------


def test_column_totals_match_the_hand_worked_answers(client_for, manager, known, process, now):
    response = client_for(manager).get(board_url(process))
    assert response.status_code == 200
    assert columns(response) == {
        # 1,000 + 2,500.50 + 4,000 = 7,500.50; × 10 % = 750.05
        "Qualify": (3, Decimal("7500.50"), Decimal("750.05")),
        # 10,000 × 20 % = 2,000
        "Discover": (1, Decimal("10000.00"), Decimal("2000.00")),
        # 333.33 × 30 % = 99.999, rounded once at the end: 100.00
        "Propose": (1, Decimal("333.33"), Decimal("100.00")),
    }
    board = response.context["board"]
    assert (board.count, board.total, board.weighted) == (5, Decimal("17833.83"), Decimal("2850.05"))
    html = text(response)
    assert "7,501" in html and "2,000" in html  # shown rounded to the unit


def test_cards_come_closing_soonest_first_and_show_their_facts(client_for, owner, known, process, now):
    step_due = now.date() + 2 * DAY
    services.next_step_set(known["q1"], actor=owner, description="Send the proposal", due_date=step_due, now=now)
    Flag.objects.create(opportunity=known["q1"], kind=FlagKind.IDLE, detail="idle 20 days")
    Flag.objects.create(opportunity=known["q1"], kind=FlagKind.STUCK, detail="old", resolved_at=now)
    response = client_for(owner).get(board_url(process))
    assert cards(response)["Qualify"] == ["Q two", "Q one", "Q teammate"]
    card = response.context["board"].columns[0].cards[1]
    assert (card.account_name, card.amount, card.close, card.owner) == (
        known["q1"].account.name,
        Decimal("1000.00"),
        now.date() + 10 * DAY,
        known["q1"].owner,
    )
    assert card.step_state == "later" and [f.kind for f in card.flags] == [FlagKind.IDLE]
    html = text(response)
    assert "Step planned" in html and "No next step" in html and "Idle" in html and "Stuck in stage" not in html


def test_a_column_shows_the_first_cards_and_loads_the_rest_on_demand(client_for, owner, process, now):
    account = AccountFactory(owner=owner)
    for i in range(CARDS_PER_COLUMN + 5):
        make_deal(
            owner,
            process,
            f"{1000 + i}.00",
            account=account,
            name=f"Bulk {i:02d}",
            now=now,
            close=now.date() + (1 + i % 3) * DAY,
        )
    client = client_for(owner)
    response = client.get(board_url(process))
    shown = cards(response)["Qualify"]
    assert len(shown) == CARDS_PER_COLUMN and columns(response)["Qualify"][0] == CARDS_PER_COLUMN + 5
    expected = sorted(
        Opportunity.objects.filter(name__startswith="Bulk"), key=lambda o: (o.expected_close_date, -o.amount, o.pk)
    )
    assert shown == [o.name for o in expected[:CARDS_PER_COLUMN]]
    qualify = stages_of(process)[0]
    more_url = reverse("board:column", args=[process.pk, qualify.pk])
    assert f'href="{more_url}?offset={CARDS_PER_COLUMN}"' in text(response)

    # htmx: the remaining cards and no further "Load more".
    rest = client.get(more_url, {"offset": CARDS_PER_COLUMN}, **HTMX)
    assert_partial(rest)
    assert [c.name for c in rest.context["cards"]] == [o.name for o in expected[CARDS_PER_COLUMN:]]
    assert "Load more" not in text(rest)
    # A first page through the same URL offers the next one.
    first = client.get(more_url, {"offset": 0}, **HTMX)
    assert len(first.context["cards"]) == CARDS_PER_COLUMN and f"offset={CARDS_PER_COLUMN}" in text(first)

    # Without JS: a page of its own, with the board's filters kept.
    page = client.get(more_url, {"offset": CARDS_PER_COLUMN, "quarter": "2026-Q1"})
    assert page.status_code == 200 and "<html" in text(page)
    assert "Back to the board" in text(page) and "quarter=2026-Q1" in text(page)


def test_a_column_never_loads_every_card(client_for, owner, process, now):
    """Each column shows its first cards and counts the rest, live and as of a day, in as many
    queries with twice the deals."""
    account = AccountFactory(owner=owner)

    def add(n: int) -> None:
        for i in range(n):
            make_deal(owner, process, "100.00", account=account, name=f"Many {i}", now=now)

    def queries(**query) -> int:
        with CaptureQueriesContext(connection) as ctx:
            board = board_build(BoardQuery(user=owner, process=process, **query))
        assert [len(c.cards) for c in board.columns][0] == CARDS_PER_COLUMN
        assert board.columns[0].next_offset == CARDS_PER_COLUMN
        return len(ctx.captured_queries)

    add(CARDS_PER_COLUMN + 3)
    queries()  # the first read of the organisation settings creates them
    live, as_of = queries(), queries(as_of=now.date())
    add(CARDS_PER_COLUMN + 3)
    assert board_build(BoardQuery(user=owner, process=process)).columns[0].count == 2 * (CARDS_PER_COLUMN + 3)
    assert (queries(), queries(as_of=now.date())) == (live, as_of)


@pytest.mark.postgresql  # SQLite has no INCLUDE; the embedded default is small
def test_live_columns_are_read_in_board_order_from_an_index(owner, process):
    """On PostgreSQL the open deals are indexed in board order per stage (declared on
    Opportunity), which is what lets each column's first cards be a short index read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'board_open_card_order_idx'")
        (definition,) = cursor.fetchone()
    assert "(stage_id, expected_close_date, amount DESC, id) INCLUDE (owner_id)" in definition
    assert "WHERE ((status)::text = 'open'::text)" in definition


@pytest.mark.parametrize(
    ("due_in_days", "state", "label"),
    [(None, "none", "No next step"), (-1, "overdue", "Step overdue"), (0, "today", "Step due today"),
     (3, "later", "Step planned")],
)  # fmt: skip
def test_a_cards_next_step_badge_agrees_with_the_deal(client_for, owner, process, now, due_in_days, state, label):
    opp = make_deal(owner, process, "100.00", name="Stepped", now=now)
    if due_in_days is not None:
        due = now.date() + due_in_days * DAY
        services.next_step_set(opp, actor=owner, description="Call", due_date=due, now=now - 5 * DAY)
    opp.refresh_from_db()
    with time_machine.travel(now, tick=False):
        response = client_for(owner).get(board_url(process))
    (card,) = response.context["board"].columns[0].cards
    assert card.step_state == opp.next_step_state(now.date()) == state
    assert f'<span class="step step-{state}">{label}</span>' in text(response)


# --- filters ---------------------------------------------------------------------------------------------


def test_filters_by_owner_team_and_close_quarter(client_for, manager, owner, teammate, known, process, now):
    client = client_for(manager)
    by_owner = client.get(board_url(process, owner=teammate.pk))
    assert card_names(by_owner) == {"Q teammate"}
    assert not by_owner.context["filter_errors"]

    by_team = client.get(board_url(process, team=owner.team_id))
    assert card_names(by_team) == {"Q one", "Q two", "Q teammate", "D one", "P one"}

    # NOW is 2026-03-02: Q one and Q two close in 2026-Q1, everything else in Q2.
    q1 = client.get(board_url(process, quarter="2026-Q1"))
    assert card_names(q1) == {"Q one", "Q two"}
    assert columns(q1)["Qualify"] == (2, Decimal("3500.50"), Decimal("350.05"))
    assert card_names(client.get(board_url(process, quarter="2026q2"))) == {"Q teammate", "D one", "P one"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"quarter": "2026-Q5"}, "“2026-Q5” is not a quarter; write it like 2026-Q3."),
        ({"quarter": "next"}, "is not a quarter"),
        ({"as_of": "yesterday"}, "Enter a date like 2026-01-31."),
        ({"as_of": "2026-03-03"}, "2026-03-03 is in the future"),
        ({"owner": "999999"}, "Choose a rep from the list."),
        ({"owner": "abc"}, "Choose a rep from the list."),
        ({"team": "999999"}, "Choose a team from the list."),
    ],
)
def test_bad_filters_are_reported_and_the_board_still_renders(client_for, owner, known, process, now, params, message):
    response = client_for(owner).get(board_url(process, **params))
    assert response.status_code == 200
    assert any(message in problem for problem in response.context["filter_errors"])
    assert message.replace("“", "&ldquo;")[:10] in text(response) or message[:10] in text(response)
    assert response.context["board"].query.is_live
    assert "Q one" in card_names(response)


def test_a_team_the_user_may_not_see_is_refused_as_a_filter(client_for, manager, outsider, known, process):
    response = client_for(manager).get(board_url(process, team=outsider.team_id))
    assert "Team: Choose a team from the list." in response.context["filter_errors"]
    assert "Q outsider" not in card_names(response)
    response = client_for(manager).get(board_url(process, owner=outsider.pk))
    assert "Rep: Choose a rep from the list." in response.context["filter_errors"]


def test_process_tabs_default_to_the_first_active_process(client_for, owner, known, process):
    inactive = make_process(stages=1, milestones=0, name="Aardvark legacy", is_active=False)
    response = client_for(owner).get(reverse("board:index"))
    # "New business" and "Renewals" are active; the inactive "Aardvark…" sorts first but is no default.
    assert response.context["process"] == process
    assert [p.name for p in response.context["processes"]] == ["New business", "Renewals"]
    renewals = client_for(owner).get(board_url(known["other"].process))
    assert card_names(renewals) == {"Renewal one"}
    old = client_for(owner).get(board_url(inactive))
    assert old.status_code == 200 and "(inactive)" in text(old)


def test_unknown_process_or_stage_is_404(client_for, owner, known, process):
    client = client_for(owner)
    assert client.get(reverse("board:process", args=[999999])).status_code == 404
    other_stage = known["other"].process.stages.first()
    assert client.get(reverse("board:column", args=[process.pk, other_stage.pk])).status_code == 404


def test_without_any_process_the_board_says_so(client_for, owner):
    response = client_for(owner).get(reverse("board:index"))
    assert response.status_code == 200 and "no sales processes yet" in text(response)


# --- scope -------------------------------------------------------------------------------------------------


def test_a_manager_sees_their_teams_deals_only(client_for, manager, known, process):
    assert card_names(client_for(manager).get(board_url(process))) == {"Q one", "Q two", "Q teammate", "D one", "P one"}


def test_a_rep_sees_own_and_teams_deals_read_only(client_for, owner, known, process):
    response = client_for(owner).get(board_url(process))
    assert card_names(response) == {"Q one", "Q two", "Q teammate", "D one", "P one"}
    by_name = {c.name: c for col in response.context["board"].columns for c in col.cards}
    assert by_name["Q one"].can_edit and not by_name["Q teammate"].can_edit
    html = text(response)
    assert f'id="move-{known["q1"].pk}"' in html and f'id="move-{known["qt"].pk}"' not in html
    assert re.search(rf'id="card-{known["qt"].pk}"[^>]*draggable', html) is None
    assert re.search(rf'id="card-{known["q1"].pk}"[^>]*draggable="true"', html)


def test_a_rep_sees_only_their_own_when_visibility_is_own(client_for, owner, known, process):
    OrgSettings.objects.update_or_create(pk=1, defaults={"visibility": Visibility.OWN})
    assert card_names(client_for(owner).get(board_url(process))) == {"Q one", "Q two", "D one", "P one"}


def test_an_admin_sees_everyone(client_for, admin, known, process):
    names = card_names(client_for(admin).get(board_url(process)))
    assert names == {"Q one", "Q two", "Q teammate", "D one", "P one", "Q outsider"}


def test_an_outsider_sees_none_of_the_other_teams_deals(client_for, outsider, known, process):
    response = client_for(outsider).get(board_url(process))
    assert card_names(response) == {"Q outsider"}
    assert columns(response)["Qualify"] == (1, Decimal("5000.00"), Decimal("500.00"))
    assert "Q one" not in text(response)


# --- as of a past day ---------------------------------------------------------------------------------------


def test_the_board_as_of_a_day_is_read_only(client_for, owner, process, now):
    import time_machine

    opp = make_deal(owner, process, "1000.00", name="Then", now=now - 3 * DAY)
    with time_machine.travel(now - 1 * DAY, tick=False):
        services.opportunity_update(opp, actor=owner, expected_version=opp.version, amount="2000.00")
    response = client_for(owner).get(board_url(process, as_of=(now - 2 * DAY).date().isoformat()))
    assert response.status_code == 200 and not response.context["filter_errors"]
    assert columns(response)["Qualify"] == (1, Decimal("1000.00"), Decimal("100.00"))
    html = text(response)
    assert "rebuilt from the deal history" in html and "Read-only" in html
    assert 'draggable="true"' not in html and 'class="card-move"' not in html and "data-drop" not in html
    # Before the deal existed, the board was empty.
    before = client_for(owner).get(board_url(process, as_of=(now - 4 * DAY).date().isoformat()))
    assert columns(before)["Qualify"] == (0, Decimal("0.00"), Decimal("0.00"))


@pytest.mark.postgresql  # SQLite has no range types
def test_the_open_intervals_have_the_gist_index_the_as_of_board_reads(owner, process, now):
    """On PostgreSQL the as-of rows are asked for as "interval contains the moment", which the
    GiST index of migration pipeline 0004 answers (its speed is checked by `make bench`)."""
    opp = make_deal(owner, process, "100.00", now=now - 2 * DAY)
    board = board_build(BoardQuery(user=owner, process=process, as_of=(now - DAY).date()))
    assert [card.pk for column in board.columns for card in column.cards] == [opp.pk]
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'event_open_interval_gist'")
        (definition,) = cursor.fetchone()
    assert "USING gist (tstzrange(created_at, valid_to))" in definition


# --- query counts ------------------------------------------------------------------------------------------


def _grow(process, owner, teammate, outsider, now, count):
    stages = stages_of(process)
    for i in range(count):
        who = (owner, teammate, outsider)[i % 3]
        opp = make_deal(who, process, f"{500 + i}.00", stage=i % len(stages), now=now - 3 * DAY)
        services.next_step_set(opp, actor=who, description=f"Call {i}", due_date=now.date() + DAY, now=now - 3 * DAY)
        Flag.objects.create(opportunity=opp, kind=FlagKind.IDLE, detail=f"idle {i}")


@pytest.mark.parametrize("as_of", [False, True], ids=["live", "as-of"])
def test_the_board_runs_a_constant_number_of_queries(
    client_for, manager, owner, teammate, outsider, process, now, as_of
):
    client = client_for(manager)
    params = {"as_of": (now - DAY).date().isoformat()} if as_of else {}
    url = board_url(process, **params)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return len(ctx), sum(len(c.cards) for c in response.context["board"].columns)

    _grow(process, owner, teammate, outsider, now, 3)
    client.get(url)  # warm-up: one-off rows such as the organisation settings
    small, small_cards = count()
    _grow(process, owner, teammate, outsider, now, 30)
    large, large_cards = count()
    assert large_cards > small_cards
    assert small == large, f"{small} queries with few deals, {large} with more (N+1)"
    # session, user, process, managed teams, tabs, stages, totals, cards, (flags when live),
    # owner and team choices, and the layout's notification bell.
    assert large <= 12


def test_load_more_runs_a_constant_number_of_queries(client_for, owner, teammate, outsider, process, now):
    client = client_for(owner)
    url = reverse("board:column", args=[process.pk, stages_of(process)[0].pk])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, {"offset": 0}, **HTMX)
        return len(ctx)

    _grow(process, owner, teammate, outsider, now, 3)
    client.get(url)
    small = count()
    _grow(process, owner, teammate, outsider, now, 30)
    assert count() == small


# --- moving a card ------------------------------------------------------------------------------------------


def move(client, opp, to_stage, htmx=False, **extra):
    data = {"opportunity": opp.pk, "to_stage": to_stage.pk, "version": opp.version, **extra}
    return client.post(reverse("board:move"), data, **(HTMX if htmx else {}))


def moved_events(opp) -> int:
    return OpportunityEvent.objects.filter(opportunity=opp, verb=EventVerb.STAGE_MOVED).count()


def test_a_refused_move_names_the_missing_milestones_and_changes_nothing(client_for, owner, opportunity, process):
    discover = stages_of(process)[1]
    before = Opportunity.objects.values().get(pk=opportunity.pk)
    response = move(client_for(owner), opportunity, discover, htmx=True)
    assert response.status_code == 200
    assert_partial(response)
    assert response["HX-Retarget"] == f"#card-{opportunity.pk}" and response["HX-Reswap"] == "outerHTML"
    html = text(response)
    assert 'class="board-card refused"' in html and 'role="alert"' in html
    assert "Cannot move to Discover" in html and "Qualify: Check 1" in html and "Qualify: Check 2" in html
    assert Opportunity.objects.values().get(pk=opportunity.pk) == before
    assert moved_events(opportunity) == 0


def test_a_refused_move_without_js_redirects_with_the_message(client_for, owner, opportunity, process):
    discover = stages_of(process)[1]
    client = client_for(owner)
    response = move(client, opportunity, discover, quarter="2026-Q2")
    assert response.status_code == 302
    assert response["Location"] == board_url(process, quarter="2026-Q2")
    page = client.get(response["Location"])
    assert "Acme rollout: Cannot move to Discover" in text(page) and "Qualify: Check 2" in text(page)
    assert Opportunity.objects.get(pk=opportunity.pk).stage_id == opportunity.stage_id


def test_the_move_is_allowed_once_the_milestones_are_ticked(client_for, owner, opportunity, process):
    qualify, discover, _ = stages_of(process)
    for milestone in qualify.milestones.filter(is_required=True):
        services.milestone_tick(opportunity, actor=owner, milestone=milestone)
    opportunity.refresh_from_db()
    response = move(client_for(owner), opportunity, discover, htmx=True)
    assert response.status_code == 200
    assert_partial(response)
    assert response["HX-Retarget"] == "#board"
    assert Opportunity.objects.get(pk=opportunity.pk).stage_id == discover.pk
    assert moved_events(opportunity) == 1
    assert columns(response)["Qualify"][0] == 0
    assert columns(response)["Discover"] == (1, Decimal("50000.00"), Decimal("10000.00"))
    assert "Moved Acme rollout to Discover." in text(response)


def test_the_move_without_js_redirects_to_the_board(client_for, owner, opportunity, process):
    qualify, discover, _ = stages_of(process)
    for milestone in qualify.milestones.filter(is_required=True):
        services.milestone_tick(opportunity, actor=owner, milestone=milestone)
    opportunity.refresh_from_db()
    client = client_for(owner)
    response = move(client, opportunity, discover)
    assert response.status_code == 302 and response["Location"] == board_url(process)
    assert "Moved Acme rollout to Discover." in text(client.get(response["Location"]))


def test_moving_back_needs_no_milestones(client_for, owner, opportunity, process):
    qualify, discover, _ = stages_of(process)
    opportunity = advance(opportunity, actor=owner, to=1)
    move(client_for(owner), opportunity, qualify, htmx=True)
    assert Opportunity.objects.get(pk=opportunity.pk).stage_id == qualify.pk


def test_a_manager_moves_their_teams_deal(client_for, manager, opportunity, process):
    response = move(client_for(manager), opportunity, stages_of(process)[1], htmx=True)
    assert "Cannot move to Discover" in text(response)  # reached the service's rules


def test_a_stale_card_is_not_moved(client_for, owner, opportunity, process):
    qualify, discover, _ = stages_of(process)
    for milestone in qualify.milestones.filter(is_required=True):
        services.milestone_tick(opportunity, actor=owner, milestone=milestone)
    stale_version = opportunity.version - 1
    response = client_for(owner).post(
        reverse("board:move"),
        {"opportunity": opportunity.pk, "to_stage": discover.pk, "version": stale_version},
        **HTMX,
    )
    assert "Someone else changed this opportunity meanwhile" in text(response)
    assert response["HX-Retarget"] == "#board"
    assert Opportunity.objects.get(pk=opportunity.pk).stage_id == qualify.pk


@pytest.mark.parametrize("to_stage", ["", "abc", "other-process"])
def test_a_bad_target_stage_is_refused_on_the_card(client_for, owner, opportunity, process, to_stage):
    if to_stage == "other-process":
        to_stage = make_process(stages=1, milestones=0, name="Elsewhere").stages.first().pk
    response = client_for(owner).post(
        reverse("board:move"), {"opportunity": opportunity.pk, "to_stage": to_stage}, **HTMX
    )
    assert "Choose one of the stages of New business to move to." in text(response)
    assert Opportunity.objects.get(pk=opportunity.pk).stage_id == opportunity.stage_id


def test_a_read_only_teammate_gets_403(client_for, viewer, opportunity, process):
    response = move(client_for(viewer), opportunity, stages_of(process)[1])
    assert response.status_code == 403
    assert moved_events(opportunity) == 0


def test_an_outsider_gets_404(client_for, outsider, opportunity, process):
    response = move(client_for(outsider), opportunity, stages_of(process)[1])
    assert response.status_code == 404
    assert client_for(outsider).post(reverse("board:move"), {"opportunity": "x"}).status_code == 404


def test_wrong_methods_get_405(client_for, owner, opportunity, process):
    client = client_for(owner)
    assert client.get(reverse("board:move")).status_code == 405
    assert client.post(board_url(process)).status_code == 405
    assert client.post(reverse("board:index")).status_code == 405
    assert client.post(reverse("board:column", args=[process.pk, stages_of(process)[0].pk])).status_code == 405


def test_anonymous_users_are_sent_to_sign_in(client, process):
    response = client.get(reverse("board:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- pages and partials -------------------------------------------------------------------------------------


def test_the_board_is_a_page_and_an_htmx_partial(client_for, owner, teammate, known, process):
    full = client_for(owner).get(board_url(process))
    assert "<html" in text(full) and 'id="board"' in text(full) and "js/board.js" in text(full)
    assert 'aria-current="page">Board<' in text(full).replace('"\n', '"') or "Board</a>" in text(full)
    partial = client_for(owner).get(board_url(process), **HTMX)
    assert_partial(partial)
    assert text(partial).lstrip().startswith('<div id="board"')
    # The teammate reads the same board.
    assert client_for(teammate).get(board_url(process)).status_code == 200


def test_board_markup_has_no_inline_script_or_style(client_for, owner, known, process):
    html = text(client_for(owner).get(board_url(process)))
    assert "<script>" not in html and "style=" not in html and " on" + "drop=" not in html


def test_user_strings_are_escaped_on_cards(client_for, owner, process, now):
    owner.first_name, owner.last_name = "Ann <i>", "& Co"
    owner.save()
    account = AccountFactory(owner=owner, name='Acme "<s>"')
    make_deal(owner, process, "10.00", name="<b>bold</b> & 'more'", account=account, now=now)
    name = "&lt;b&gt;bold&lt;/b&gt; &amp; &#x27;more&#x27;"  # escaped once, not twice
    for params in ({}, {"as_of": now.date().isoformat()}):
        html = text(client_for(owner).get(board_url(process, **params)))
        assert "<b>bold</b>" not in html and "<s>" not in html and "<i>" not in html
        assert f">{name}</a>" in html and "Acme &quot;&lt;s&gt;&quot;" in html and "Ann &lt;i&gt; &amp; Co" in html
    live = text(client_for(owner).get(board_url(process)))
    assert f'aria-label="Move {name}"' in live and f"Move {name} to</label>" in live
