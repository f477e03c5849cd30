"""The kanban board: one column per stage of a sales process, live or as of a past day.

Everything is read from `pipeline.snapshot.deal_states`, so the live board and the board "as of
<date>" are the same queries over the same `s_*` columns, and the as-of board is rebuilt from the
event history rather than from today's rows. A board costs a fixed number of queries whatever
the number of stages or deals: the stages; one pass over the pipeline that ranks every column's
deals (ROW_NUMBER() per stage) and totals each column with window aggregates; the few cards kept,
by primary key; and — live only — their open flags.
"""

import datetime as dt
import functools
import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import DateTimeRangeField
from django.db import connection
from django.db.models import Count, DecimalField, F, Func, Prefetch, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from opportunities.models import Opportunity, OpportunityStatus
from stages.models import SalesProcess, Stage

from .models import Flag, Team
from .snapshot import Scope, deal_states, end_of_day

CARDS_PER_COLUMN = 25
# Cards closing soonest come first, the biggest first among equals; the id keeps pages stable.
CARD_ORDER = (F("s_close").asc(), F("s_amount").desc(), F("s_opp").asc())
_MONEY = DecimalField(max_digits=20, decimal_places=2)
_CENTS = Decimal("0.01")
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


# --- what the board is about ----------------------------------------------------------------------


def quarter_bounds(text: str) -> tuple[dt.date, dt.date]:
    """("2026-Q3") → (2026-07-01, 2026-09-30); ValueError with a readable message otherwise."""
    match = _QUARTER.match(text or "")
    if not match:
        raise ValueError(f"“{text}” is not a quarter; write it like 2026-Q3.")
    year, quarter = int(match[1]), int(match[2])
    if not 2000 <= year <= 2100:
        raise ValueError(f"“{text}” is not a quarter between 2000 and 2100.")
    start = dt.date(year, 3 * quarter - 2, 1)
    end = dt.date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1) - dt.timedelta(days=1)
    return start, end


def quarter_label(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def visible_owners(user) -> QuerySet:
    """People whose deals `user` may read (the owner filter's choices): mirrors `visible_owner_q`."""
    users = get_user_model().objects.order_by("first_name", "last_name", "username")
    if user.is_admin:
        return users
    q = Q(pk=user.pk)
    team_ids = user.managed_team_ids()
    if team_ids:
        q |= Q(team__in=team_ids)
    if user.sees_team_deals():
        q |= Q(team=user.team_id)
    return users.filter(q)


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
        if self.as_of is not None and connection.vendor == "postgresql":
            qs = _alive_at(qs, end_of_day(self.as_of))
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


def _alive_at(events: QuerySet, moment: dt.datetime) -> QuerySet:
    """The same rows, also asked for as "the state interval contains `moment`" on PostgreSQL.

    `created_at <= T < valid_to` (or no valid_to yet) is two open-ended ranges to a B-tree: for a
    day a month back it walks every event since then (hundreds of thousands at 100,000 deals) to
    find the tens of thousands alive at T. The same condition as a range containment is answered
    by the GiST index on open intervals (pipeline migration 0004) directly, index-only.
    """
    interval = Func(F("created_at"), F("valid_to"), function="tstzrange", output_field=DateTimeRangeField())
    return events.alias(s_interval=interval).filter(s_interval__contains=moment)


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
    next_step: object = None
    step_state: str = ""
    flags: list = field(default_factory=list)
    can_edit: bool = False
    refusal: str = ""
    # Rendered once per card rather than per use: a board has 150 cards, and every integer a
    # template prints goes through number localisation, every {% url %} through the resolver.
    key: str = field(init=False)
    version_key: str = field(init=False)
    stage_key: str = field(init=False)
    url: str = field(init=False)
    amount_text: str = field(init=False)
    close_text: str = field(init=False)
    owner_name: str = field(init=False)
    step_label: str = field(init=False)
    move_options: str = ""

    def __post_init__(self):
        self.key = str(self.pk)
        self.version_key = "" if self.version is None else str(self.version)
        self.stage_key = str(self.stage_id)
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


# As-of rows skip the events' JSON `data` (parsing it for every card is most of their cost).
# Live rows load whole: deferring an opportunity's few unused columns costs more than it saves.
_PERSON = ("first_name", "last_name", "username", "team_id")
_ASOF_FIELDS = (
    "id", "opportunity_id", "state_stage_id", "state_amount", "state_close_date", "state_owner_id",
    "opportunity__name", "opportunity__account_id", "opportunity__account__name",
    *(f"state_owner__{f}" for f in _PERSON),
)  # fmt: skip


def _with_relations(query: BoardQuery, qs: QuerySet) -> QuerySet:
    if query.is_live:
        flags = Flag.objects.open().only("opportunity_id", "kind", "detail").order_by("kind", "id")
        return qs.select_related("account", "owner", "next_step").prefetch_related(
            Prefetch("flags", queryset=flags, to_attr="open_flags")
        )
    return qs.select_related("opportunity__account", "state_owner").only(*_ASOF_FIELDS)


def _card(query: BoardQuery, row, today: dt.date) -> Card:
    if query.is_live:
        return Card(
            pk=row.pk,
            name=row.name,
            account_id=row.account_id,
            account_name=row.account.name,
            stage_id=row.stage_id,
            amount=row.amount,
            close=row.expected_close_date,
            owner=row.owner,
            version=row.version,
            next_step=row.next_step,
            step_state=row.next_step_state(today),
            flags=row.open_flags,
            can_edit=row.can_edit(query.user),
        )
    # As of a past day: the state the event history gives for then; read-only.
    opp = row.opportunity
    return Card(
        pk=row.opportunity_id,
        name=opp.name,
        account_id=opp.account_id,
        account_name=opp.account.name,
        stage_id=row.state_stage_id,
        amount=row.state_amount,
        close=row.state_close_date,
        owner=row.state_owner,
    )


def _ranked(query: BoardQuery, per_column: int) -> list[tuple]:
    """(row id, stage id, column count, column total, Σ amount × probability) for the first
    `per_column` deals of every column, in one statement whatever the number of stages.

    Each column's totals are window aggregates over the whole column, computed in the same scan
    that ranks its deals (ROW_NUMBER() per stage) before the ranks are cut at `per_column`: one
    pass over the pipeline, live or rebuilt from the event history, instead of one for the totals
    and one for the cards.
    """
    column = {"partition_by": [F("s_stage")]}
    return list(
        query.states()
        .order_by()
        .annotate(
            rank=Window(RowNumber(), order_by=list(CARD_ORDER), **column),
            col_count=Window(Count("s_opp"), **column),
            col_total=Window(Sum("s_amount"), output_field=_MONEY, **column),
            # Σ amount × probability, divided once at the end: no rounding per deal.
            col_weighted=Window(Sum(F("s_amount") * F("s_prob")), output_field=_MONEY, **column),
        )
        .filter(rank__lte=per_column)
        .values_list("pk", "s_stage", "col_count", "col_total", "col_weighted")
    )


def _cards(query: BoardQuery, ids: list[int], today: dt.date) -> list[Card]:
    """The cards of these rows, with what they show, in board order. Fetched by primary key in a
    second statement: joined inside the ranking, the relations would be read for every deal."""
    rows = _with_relations(query, query.states().model.objects.filter(pk__in=ids))
    order = (
        ("expected_close_date", "-amount", "id")
        if query.is_live
        else ("state_close_date", "-state_amount", "opportunity_id")
    )
    return [_card(query, row, today) for row in rows.order_by(*order)] if ids else []


def column_cards(
    query: BoardQuery, stage: Stage, *, offset: int = 0, limit: int = CARDS_PER_COLUMN, today: dt.date | None = None
) -> tuple[list[Card], bool]:
    """A page of one column's cards, and whether more follow ("Load more")."""
    today = today or timezone.localdate()
    rows = _with_relations(query, query.states().filter(s_stage=stage.pk).order_by(*CARD_ORDER))
    rows = list(rows[offset : offset + limit + 1])
    return [_card(query, row, today) for row in rows[:limit]], len(rows) > limit


def board_build(query: BoardQuery, *, per_column: int = CARDS_PER_COLUMN, today: dt.date | None = None) -> Board:
    """Every column's count, total and weighted amount, and its first `per_column` cards."""
    stages = list(query.process.stages.order_by("order", "id"))
    ranked = _ranked(query, per_column)
    totals = {
        stage: (count, Decimal(total or 0).quantize(_CENTS), (Decimal(weighted or 0) / 100).quantize(_CENTS))
        for _, stage, count, total, weighted in ranked
    }
    by_stage: dict[int, list[Card]] = {}
    for card in _cards(query, [row[0] for row in ranked], today or timezone.localdate()):
        by_stage.setdefault(card.stage_id, []).append(card)
    columns = []
    for stage in stages:
        count, total, weighted = totals.get(stage.pk, (0, Decimal("0.00"), Decimal("0.00")))
        columns.append(
            Column(stage=stage, count=count, total=total, weighted=weighted, cards=by_stage.get(stage.pk, []))
        )
    return Board(query=query, stages=stages, columns=columns)


def live_card(opportunity: Opportunity, *, user, refusal: str = "", today: dt.date | None = None) -> Card:
    """One deal's live card, read afresh (after a refused move: with the refusal on it)."""
    query = BoardQuery(user=user, process=opportunity.process)
    opp = _with_relations(query, Opportunity.objects.for_user(user)).get(pk=opportunity.pk)
    return replace(_card(query, opp, today or timezone.localdate()), refusal=refusal)
