"""The kanban board: one column per stage of a sales process, live or as of a past day.

Everything is read from `pipeline.snapshot.deal_states`, so the live board and the board "as of
<date>" are filtered the same way over the same `s_*` columns, and the as-of board is rebuilt
from the event history rather than from today's rows. A board costs a fixed number of queries
whatever the number of stages or deals: the stages; the columns' counts and totals; the cards
kept (live: one `ORDER BY … LIMIT` per column, read off an index in board order; as of a day:
one pass that ranks and totals every column); and — live only — their open flags.
"""

import datetime as dt
import functools
import operator
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from opportunities.models import Opportunity, OpportunityStatus
from people.access import visible_owner_q
from people.models import Team
from stages.models import SalesProcess, Stage

from ..models import Flag
from ..reports.quarters import quarter_bounds
from ..reports.snapshot import Scope, deal_states

CARDS_PER_COLUMN = 25
# Cards closing soonest come first, the biggest first among equals; the id keeps pages stable.
CARD_ORDER = (F("s_close").asc(), F("s_amount").desc(), F("s_opp").asc())
_MONEY = DecimalField(max_digits=20, decimal_places=2)
_CENTS = Decimal("0.01")


# --- what the board is about ----------------------------------------------------------------------


def visible_owners(user) -> QuerySet:
    """People whose deals `user` may read (the owner filter's choices)."""
    return get_user_model().objects.filter(visible_owner_q(user, None)).order_by("first_name", "last_name", "username")


def visible_teams(user) -> QuerySet:
    """Teams whose deals `user` may read as a whole (the team filter's choices)."""
    if user.is_admin:
        return Team.objects.order_by("name")
    team_ids = list(user.managed_team_ids())
    if user.sees_team_deals():
        team_ids.append(user.team_id)
    return Team.objects.filter(pk__in=team_ids).order_by("name")


@dataclass(frozen=True)
class BoardQuery:
    """Which board: whose eyes, which process, as of when (None: live) and the filters."""

    user: object
    process: SalesProcess
    as_of: dt.date | None = None
    owner_id: int | None = None
    team_id: int | None = None
    quarter: str = ""

    @property
    def is_live(self) -> bool:
        return self.as_of is None

    def scope(self) -> Scope:
        return Scope(
            user=self.user,
            as_of=self.as_of,
            process_id=self.process.pk,
            owner_id=self.owner_id,
            team_id=self.team_id,
            statuses=(OpportunityStatus.OPEN,),
        )

    def states(self) -> QuerySet:
        """The deals on this board: `deal_states` rows, narrowed to the close quarter."""
        qs = deal_states(self.scope())
        if self.quarter:
            start, end = quarter_bounds(self.quarter)
            qs = qs.filter(s_close__gte=start, s_close__lte=end)
        return qs


@functools.cache
def _deal_url_pattern() -> str:
    placeholder = 918273645
    return reverse("opportunities:detail", args=[placeholder]).replace(str(placeholder), "{}")


def _deal_url(pk: int) -> str:
    # reverse() once, then fill the id in: the same URL at a fraction of the cost for many cards.
    return _deal_url_pattern().format(pk)


def money(value) -> str:
    """Whole units with thousands separators, as `floatformat:"0g"` writes them in en-us
    (the installation's one language), without its per-call cost on 150 cards."""
    return f"{Decimal(value or 0).quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"


STEP_LABELS = {"none": "No next step", "overdue": "Step overdue", "today": "Step due today", "later": "Step planned"}


# --- what the board shows -------------------------------------------------------------------------


@dataclass
class Card:
    """One deal on the board, live (from the opportunity) or as of a day (from its event)."""

    pk: int
    name: str
    account_id: int
    account_name: str
    stage_id: int
    amount: Decimal
    close: dt.date
    owner: object
    version: int | None = None
    step_state: str = ""
    flags: list = field(default_factory=list)
    can_edit: bool = False
    refusal: str = ""
    # Worked out once per card (a board has 150): the ids as text (an integer in a template goes
    # through number localisation, five times a card), the deal's URL from one reverse(), the
    # amount and the close date as the card prints them. Plain text: the template escapes it.
    key: str = field(init=False)
    stage_key: str = field(init=False)
    version_key: str = field(init=False)
    url: str = field(init=False)
    amount_text: str = field(init=False)
    close_text: str = field(init=False)
    owner_name: str = field(init=False)
    step_label: str = field(init=False)
    # The move form's <option>s (`board.views._with_move_options`).
    move_options: str = ""

    def __post_init__(self):
        self.key = str(self.pk)
        self.stage_key = str(self.stage_id)
        self.version_key = "" if self.version is None else str(self.version)
        self.url = _deal_url(self.pk)
        self.amount_text = money(self.amount)
        self.close_text = self.close.isoformat() if self.close else ""
        self.owner_name = str(self.owner) if self.owner else ""
        self.step_label = STEP_LABELS.get(self.step_state, "")


@dataclass
class Column:
    stage: Stage
    count: int = 0
    total: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")
    cards: list[Card] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))

    @property
    def next_offset(self) -> int | None:
        """Where "Load more" goes on from, if more cards follow."""
        return len(self.cards) if self.more else None


@dataclass
class Board:
    query: BoardQuery
    stages: list[Stage]
    columns: list[Column]

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def total(self) -> Decimal:
        return sum((c.total for c in self.columns), Decimal("0.00"))

    @property
    def weighted(self) -> Decimal:
        return sum((c.weighted for c in self.columns), Decimal("0.00"))


# A card is read as plain values, not as model instances with their relations: building ~600
# instances (deal, account, owner, next step) for 150 cards was a good part of a board's time.
# Positions: pk, name, account id, account name, stage, amount, close, owner id, the owner's
# names and team, version and the next step's due date (live only).
_OWNER = ("first_name", "last_name", "username", "team_id")
_LIVE_FIELDS = (
    "id", "name", "account_id", "account__name", "stage_id", "amount", "expected_close_date",
    "owner_id", *(f"owner__{f}" for f in _OWNER), "version", "next_step__due_date",
)  # fmt: skip
_ASOF_FIELDS = (
    "opportunity_id", "opportunity__name", "opportunity__account_id", "opportunity__account__name",
    "state_stage_id", "state_amount", "state_close_date",
    "state_owner_id", *(f"state_owner__{f}" for f in _OWNER),
)  # fmt: skip


def _step_state(due: dt.date | None, today: dt.date) -> str:
    # `Opportunity.next_step_state`, from the due date alone (the card has no NextStep instance).
    if due is None:
        return "none"
    return "overdue" if due < today else "today" if due == today else "later"


class _CardMaker:
    """Turns value rows into cards: each owner (a handful per board) is built, and asked whether
    the viewer may edit their deals, once."""

    def __init__(self, query: BoardQuery, today: dt.date):
        self.query, self.today = query, today
        self.owners: dict[int, tuple[object, bool]] = {}

    def _owner(self, pk, first_name, last_name, username, team_id) -> tuple[object, bool]:
        if pk not in self.owners:
            owner = get_user_model()(
                pk=pk, first_name=first_name, last_name=last_name, username=username, team_id=team_id
            )
            # The model's rule, asked of a deal that has only this owner: it depends on nothing else.
            can_edit = self.query.is_live and Opportunity(owner=owner).can_edit(self.query.user)
            self.owners[pk] = (owner, can_edit)
        return self.owners[pk]

    def cards(self, rows, flags: dict[int, list]) -> list[Card]:
        live = self.query.is_live
        cards = []
        for row in rows:
            # Live rows end with the deal's version and its next step's due date. As of a past
            # day there is neither: the card is read-only, with the state the history gives.
            values, version, due = (row[:-2], row[-2], row[-1]) if live else (row, None, None)
            pk, name, account_id, account, stage, amount, close, *owner = values
            owner, can_edit = self._owner(*owner)
            cards.append(
                Card(
                    pk=pk,
                    name=name,
                    account_id=account_id,
                    account_name=account,
                    stage_id=stage,
                    amount=amount,
                    close=close,
                    owner=owner,
                    version=version,
                    step_state=_step_state(due, self.today) if live else "",
                    flags=flags.get(pk, []),
                    can_edit=can_edit,
                )
            )
        return cards


def _card_rows(query: BoardQuery, qs: QuerySet) -> QuerySet:
    """`qs` (deals live, events as of a day) as card value rows, in board order."""
    if query.is_live:
        return qs.order_by("expected_close_date", "-amount", "id").values_list(*_LIVE_FIELDS)
    return qs.order_by("state_close_date", "-state_amount", "opportunity_id").values_list(*_ASOF_FIELDS)


def _open_flags(query: BoardQuery, rows: list[tuple]) -> dict[int, list]:
    """The live cards' open flags, by deal (one statement; none as of a past day)."""
    if not query.is_live or not rows:
        return {}
    by_deal: dict[int, list] = {}
    flags = Flag.objects.open().filter(opportunity_id__in=[row[0] for row in rows])
    for flag in flags.only("opportunity_id", "kind", "detail", "since").order_by("kind", "id"):
        by_deal.setdefault(flag.opportunity_id, []).append(flag)
    return by_deal


def _make_cards(query: BoardQuery, qs: QuerySet, today: dt.date) -> list[Card]:
    rows = list(_card_rows(query, qs))
    return _CardMaker(query, today).cards(rows, _open_flags(query, rows))


def _column_totals(query: BoardQuery) -> dict[int, tuple[int, Decimal]]:
    """(count, Σ amount) of every column, in one GROUP BY over the board's deals; live, an
    index-only scan of `board_open_card_order_idx` (pipeline migration 0006)."""
    totals = query.states().order_by().values("s_stage").annotate(n=Count("s_opp"), total=Sum("s_amount"))
    return {row["s_stage"]: (row["n"], row["total"]) for row in totals}


def _first_cards_live(query: BoardQuery, stages: list[Stage], per_column: int) -> QuerySet:
    """The first `per_column` deals of every column, as one statement: a UNION ALL of one
    `ORDER BY … LIMIT` per stage, each read in board order straight off the index
    `board_open_card_order_idx` — a few dozen index entries per column, where ranking the whole
    pipeline with ROW_NUMBER() sorted every open deal of the process."""
    firsts = [
        query.states().filter(s_stage=stage.pk).order_by(*CARD_ORDER).values("pk")[:per_column] for stage in stages
    ]
    if connection.features.supports_slicing_ordering_in_compound:
        return Opportunity.objects.filter(pk__in=firsts[0].union(*firsts[1:], all=True))
    # SQLite cannot LIMIT inside a UNION: one IN (subquery) per column instead (same rows).
    return Opportunity.objects.filter(functools.reduce(operator.or_, (Q(pk__in=ids) for ids in firsts)))


def _ranked_as_of(query: BoardQuery, per_column: int) -> list[tuple]:
    """(event id, stage id, column count, column total) for the first `per_column` events of
    every column as of the day, in one statement.

    The deals alive then are found through the GiST index on state intervals, not in board
    order, so a column's first cards cannot be read off an index as they are live. Instead one
    pass ranks them (ROW_NUMBER() per stage) and totals each column with window aggregates in
    the same scan, before the ranks are cut at `per_column`.
    """
    column = {"partition_by": [F("s_stage")]}
    return list(
        query.states()
        .order_by()
        .annotate(
            rank=Window(RowNumber(), order_by=list(CARD_ORDER), **column),
            col_count=Window(Count("s_opp"), **column),
            col_total=Window(Sum("s_amount"), output_field=_MONEY, **column),
        )
        .filter(rank__lte=per_column)
        .values_list("pk", "s_stage", "col_count", "col_total")
    )


def column_cards(
    query: BoardQuery, stage: Stage, *, offset: int = 0, limit: int = CARDS_PER_COLUMN, today: dt.date | None = None
) -> tuple[list[Card], bool]:
    """A page of one column's cards, and whether more follow ("Load more")."""
    rows = list(_card_rows(query, query.states().filter(s_stage=stage.pk))[offset : offset + limit + 1])
    page = rows[:limit]
    return _CardMaker(query, today or timezone.localdate()).cards(page, _open_flags(query, page)), len(rows) > limit


def board_build(query: BoardQuery, *, per_column: int = CARDS_PER_COLUMN, today: dt.date | None = None) -> Board:
    """Every column's count, total and weighted amount, and its first `per_column` cards."""
    stages = list(query.process.stages.order_by("order", "id"))
    today = today or timezone.localdate()
    if query.is_live:
        totals = _column_totals(query)
        firsts = _make_cards(query, _first_cards_live(query, stages, per_column), today) if stages else []
    else:
        ranked = _ranked_as_of(query, per_column)
        totals = {stage: (count, total) for _, stage, count, total in ranked}
        events = query.states().model.objects.filter(pk__in=[row[0] for row in ranked])
        firsts = _make_cards(query, events, today) if ranked else []
    by_stage: dict[int, list[Card]] = {}
    for card in firsts:
        by_stage.setdefault(card.stage_id, []).append(card)
    columns = []
    for stage in stages:
        count, total = totals.get(stage.pk, (0, None))
        total = Decimal(total or 0).quantize(_CENTS)
        # Σ amount × probability = probability × Σ amount: the column's deals share its stage.
        weighted = (total * stage.win_probability / 100).quantize(_CENTS)
        columns.append(
            Column(stage=stage, count=count, total=total, weighted=weighted, cards=by_stage.get(stage.pk, []))
        )
    return Board(query=query, stages=stages, columns=columns)


def live_card(opportunity: Opportunity, *, user, refusal: str = "", today: dt.date | None = None) -> Card:
    """One deal's live card, read afresh (after a refused move: with the refusal on it)."""
    query = BoardQuery(user=user, process=opportunity.process)
    cards = _make_cards(
        query, Opportunity.objects.for_user(user).filter(pk=opportunity.pk), today or timezone.localdate()
    )
    return replace(cards[0], refusal=refusal)
