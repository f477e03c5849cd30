"""The managers' dashboard: every aggregate, live or as it stood at the end of a past day.

Each section is a fixed number of grouped queries whatever the number of deals. Live, they read
the opportunity rows in SQL written here on `snapshot.live_where` (the conditions of
`live_deals`): building and compiling a queryset for each cost more than several of the
statements take to run. As of a past day they read the event history's state intervals
(`snapshot.deal_states`); where both sources give the same rows (`_closed_between`), the
aggregate over them is written once.

What the numbers mean (also said on the page):

Pipeline (by stage, owner, expected close month)
    Open deals at the moment, whatever their close date. Weighted = amount × the stage's win
    probability.
Forecast (the reference day's quarter and the next)
    Closed won: deals won at the moment whose close date (the day of their last closed_won
    event) is in the quarter. Commit / best case / pipeline: open deals at the moment whose
    expected close date is in the quarter, by their stage's forecast category (exclusive, not
    cumulative). Quota: the sum of the quotas of the people in view; attainment = closed won /
    quota.
Conversion (a cohort: deals created in the period)
    A deal has *entered* every stage up to the furthest one it reached (forward moves are
    gated by the stages passed, so skipping past a stage counts as entering it). Reached next
    = entered the following stage; won = won at the moment. Open deals count as not won yet.
Days in stage
    Completed stays that ended in the period: from entering a stage (created in it, moved to
    it, reopened in it) to leaving it (the next move or the close).
Milestones
    Deals closed (won or lost) in the period; for each milestone of their process, the win
    rate of those that had it completed at the moment versus those that did not.
Flags
    Open health flags at the moment, on open deals, by kind and by the deal's owner then.
"""

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    F,
    Func,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from opportunities.models import EventVerb, MilestoneCompletion, Opportunity, OpportunityEvent, visible_owner_q
from stages.models import ForecastCategory, Milestone, SalesProcess, Stage

from . import charts
from .board import _alive_at
from .models import Flag, FlagKind, Quota, Team, User
from .snapshot import Scope, deal_states, end_of_day, live_where

ALL_STATUSES = ("open", "won", "lost")
EVENTS = OpportunityEvent._meta.db_table
OPPORTUNITIES = Opportunity._meta.db_table
STAGES = Stage._meta.db_table
PROCESSES = SalesProcess._meta.db_table
MILESTONES = Milestone._meta.db_table
QUOTAS = Quota._meta.db_table
COMPLETIONS = MilestoneCompletion._meta.db_table
FLAGS = Flag._meta.db_table
CLOSE_VERBS = (EventVerb.CLOSED_WON.value, EventVerb.CLOSED_LOST.value)
ENTER_VERBS = (EventVerb.CREATED.value, EventVerb.STAGE_MOVED.value, EventVerb.REOPENED.value)
LEAVE_VERBS = (EventVerb.STAGE_MOVED.value, *CLOSE_VERBS)
HUNDRED = Decimal(100)
CENTS = Decimal("0.01")
ZERO = Decimal(0)


# --- periods ----------------------------------------------------------------------------------------


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_start(year: int, quarter: int) -> dt.date:
    return dt.date(year, 3 * (quarter - 1) + 1, 1)


def quarter_end(year: int, quarter: int) -> dt.date:
    year2, quarter2 = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return quarter_start(year2, quarter2) - dt.timedelta(days=1)


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


PERIODS = {
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
    "this_year": "This year",
    "last_year": "Last year",
    "custom": "Custom dates",
}


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of a named period around the reference `day`."""
    if period == "last_quarter":
        year, quarter = previous_quarter(*quarter_of(day))
        return quarter_start(year, quarter), quarter_end(year, quarter)
    if period == "this_year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    if period == "last_year":
        return dt.date(day.year - 1, 1, 1), dt.date(day.year - 1, 12, 31)
    year, quarter = quarter_of(day)
    return quarter_start(year, quarter), quarter_end(year, quarter)


def start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


# --- what the dashboard is about --------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The viewer and the chosen filters, already checked against what the viewer may see."""

    user: User
    now: dt.datetime
    period_start: dt.date
    period_end: dt.date
    as_of: dt.date | None = None
    process_id: int | None = None
    team_id: int | None = None
    owner_id: int | None = None
    # The ids of `people_for(user)`, for anyone who does not see everything (`Scope.owner_ids`).
    owner_ids: tuple[int, ...] | None = None

    @property
    def day(self) -> dt.date:
        """The reference day: the as-of date, or today."""
        return self.as_of or timezone.localdate(self.now)

    @property
    def moment(self) -> dt.datetime:
        return end_of_day(self.as_of) if self.as_of else self.now

    @property
    def sees_everything(self) -> bool:
        """Whether the scope is every deal there is, so that filtering on it can be skipped."""
        return self.user.is_admin and not (self.process_id or self.team_id or self.owner_id)

    def scope(self, statuses=("open",)) -> Scope:
        return Scope(
            user=self.user,
            as_of=self.as_of,
            process_id=self.process_id,
            owner_id=self.owner_id,
            team_id=self.team_id,
            statuses=tuple(statuses),
            owner_ids=self.owner_ids,
        )


def people_for(user) -> "list[User]":
    """Whose deals `user` may put on the dashboard: everyone for an admin; a manager, their
    teams (and whoever else `visible_owner_q` lets them read); a rep, themselves. The
    dashboard reads deals by these people's ids (`Filters.owner_ids`)."""
    if not (user.is_admin or user.is_manager):
        return [user]
    return list(User.objects.filter(visible_owner_q(user, None)).order_by("first_name", "last_name", "username"))


def owner_ids_for(user, people: "list[User]") -> tuple[int, ...] | None:
    """`Filters.owner_ids` for `user`, given `people_for(user)`: None for an admin, who sees
    everyone's deals and needs no filter at all."""
    return None if user.is_admin else tuple(p.pk for p in people)


def teams_for(user) -> "list[Team]":
    if user.is_admin:
        return list(Team.objects.order_by("name"))
    if user.is_manager:
        return list(Team.objects.filter(pk__in=user.managed_team_ids()).order_by("name"))
    return []


def _states(filters: Filters, statuses=("open",)):
    """`deal_states` plus the deal's process, for either source.

    As of a past day on PostgreSQL, the open deals are also asked for as "the state interval
    contains the moment", which the GiST index on open intervals answers index-only (see
    `board._alive_at`); the B-tree conditions alone walk every interval that ended since."""
    qs = deal_states(filters.scope(statuses)).order_by()
    if filters.as_of is None:
        return qs.annotate(s_process=F("stage__process_id"))
    if tuple(statuses) == ("open",) and connection.vendor == "postgresql":
        qs = _alive_at(qs, filters.moment)
    return qs.annotate(s_process=F("state_stage__process_id"))


CLOSED_COLUMNS = ("s_opp", "s_owner", "s_amount", "s_status", "s_process", "s_closed")


def _closed_between(filters: Filters, statuses: tuple[str, ...], first: dt.date, last: dt.date) -> tuple[str, list]:
    """SQL for the deals closed (with a status in `statuses`) at the moment whose close date is
    in [first, last], and its parameters: one row per deal with the columns `CLOSED_COLUMNS`
    (s_opp, s_owner, s_amount, s_status, s_process and s_closed, the close date).

    Live, the close date is on the row. As of a moment it is the day of the deal's last closing
    event up to that moment: a closing event in the period with no close or reopen after it
    (up to the moment) is a deal still closed then, and closed that day. Reading from the
    period's closing events (index-only, `event_stage_change_idx`) and looking up each one's
    owner and amount at the moment keeps the work to the period's closes rather than every deal
    ever closed."""
    if filters.as_of is None:
        # Off the row alone (the deal's process is on it too): `opportunity_closed_on_idx`
        # covers every column, and no join to the stage is made for each closed deal.
        where, params = live_where(filters.scope(statuses), "o")
        sql = f"""
            SELECT o.id AS s_opp, o.owner_id AS s_owner, o.amount AS s_amount, o.status AS s_status,
                   o.process_id AS s_process, o.closed_on AS s_closed
            FROM {OPPORTUNITIES} o WHERE {where} AND o.closed_on >= %s AND o.closed_on <= %s
        """
        return sql, [*params, _db_date(first), _db_date(last)]
    moment = filters.moment
    verbs = [v for v, status in ((EventVerb.CLOSED_WON.value, "won"), (EventVerb.CLOSED_LOST.value, "lost"))
             if status in statuses]  # fmt: skip
    later = OpportunityEvent.objects.filter(
        opportunity_id=OuterRef("opportunity_id"),
        verb__in=[*CLOSE_VERBS, EventVerb.REOPENED.value],
        created_at__gt=OuterRef("created_at"),
        # Redundant with the line above, but a constant bound keeps the database to the
        # period's events whichever way it joins.
        created_at__gte=start_of_day(first),
        created_at__lte=moment,
    )
    state = OpportunityEvent.objects.filter(opportunity_id=OuterRef("opportunity_id"), created_at__lte=moment).order_by(
        "-created_at", "-id"
    )
    qs = (
        OpportunityEvent.objects.filter(
            verb__in=verbs, created_at__gte=start_of_day(first), created_at__lte=min(end_of_day(last), moment)
        )
        .filter(~Exists(later))
        .annotate(
            s_opp=F("opportunity_id"),
            s_owner=Subquery(state.values("state_owner_id")[:1]),
            s_amount=Subquery(state.values("state_amount")[:1]),
            s_status=Case(When(verb=EventVerb.CLOSED_WON.value, then=Value("won")), default=Value("lost")),
            s_process=F("from_stage__process_id"),
            s_closed=TruncDate("created_at"),
        )
        .order_by()
    )
    if not filters.sees_everything:
        column = f'"{EVENTS}"."opportunity_id"'
        qs = qs.filter(RawSQL(*_in_view(filters, column, statuses), output_field=BooleanField()))
    return _sql(qs.values(*CLOSED_COLUMNS))


def _sql(qs) -> tuple[str, list]:
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def _in_view(filters: Filters, column: str, statuses=ALL_STATUSES) -> tuple[str, list]:
    """SQL for "`column` is one of the deals in view", and its parameters.

    On PostgreSQL it is written `(column IN (…) OR FALSE)`: an IN the planner may not turn into
    a join, so the deals in view are found once and looked up by hash. As a join, a
    misestimate can make it probe the history once per deal in view instead (seconds, not
    milliseconds, for a manager's dashboard as of a date)."""
    closed = tuple(s for s in statuses if s != "open")
    if filters.as_of is None:
        # The deal rows alone: no join to their stage (the process filter aside).
        where, params = live_where(filters.scope(statuses), "o")
        sql = f"SELECT o.id FROM {OPPORTUNITIES} o WHERE {where}"
    elif not closed or len(closed) == len(statuses) or connection.vendor != "postgresql":
        sql, params = _sql(_states(filters, statuses).values("s_opp"))
    else:
        # As of a date, the open and the closed deals each come off their own index (the
        # GiST index of open intervals, `event_closed_interval_idx`): together they would
        # walk every interval that ended since.
        open_sql, open_params = _sql(_states(filters, ("open",)).values("s_opp"))
        closed_sql, closed_params = _sql(_states(filters, closed).values("s_opp"))
        sql, params = f"{open_sql} UNION ALL {closed_sql}", open_params + closed_params
    if connection.vendor != "postgresql":
        return f"{column} IN ({sql})", params
    return f"({column} IN ({sql}) OR FALSE)", params


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _db_datetime(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _db_date(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


def _decimal(value) -> Decimal | None:
    """A sum of amounts as a Decimal: PostgreSQL sends one; SQLite sums decimals as floats,
    rounded here to the cents that every amount has (as the ORM's converter does)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(repr(value)).quantize(CENTS)


def _month_start(column: str) -> str:
    """SQL for the first day of the month of the date `column`: see `MonthStart`."""
    if connection.vendor == "postgresql":
        return f"DATE_TRUNC('month', ({column})::timestamp)::date"
    return f"DATE({column}, 'start of month')"


class MonthStart(Func):
    """The first day of a date's month. On PostgreSQL the date is truncated as a plain timestamp:
    `DATE_TRUNC('month', date)` would first turn every date into a timestamp with time zone,
    which costs a time-zone lookup per row and means nothing for a calendar date."""

    output_field = DateField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return _month_start(sql), params


def _pct(part, whole) -> float | None:
    return round(100.0 * float(part) / float(whole), 1) if whole else None


@dataclass(frozen=True, slots=True)
class StageInfo:
    """What the dashboard reads of a stage, with its process's name: one plain query, as
    model instances (and a join to their process) cost more to build than to fetch."""

    pk: int
    process_id: int
    process_name: str
    name: str
    order: int
    win_probability: int
    forecast_category: str


@dataclass(frozen=True, slots=True)
class MilestoneInfo:
    """What the dashboard reads of a milestone."""

    pk: int
    stage_id: int
    name: str
    is_required: bool
    order: int


# --- tables -----------------------------------------------------------------------------------------


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, money, pct, days, pp, date

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


def _display(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "int":
        return f"{value:,}"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "pct":
        return f"{value:.1f}\u00a0%"
    if kind == "days":
        return f"{value:.1f}"
    if kind == "pp":
        return f"{value:+.1f}\u00a0pp"
    if kind == "date":
        return value.isoformat()
    return str(value)


class DisplayCell(NamedTuple):
    """A table cell as printed: its formatted text, and whether it is a number (right-aligned)."""

    text: str
    numeric: bool


class DisplayRow(NamedTuple):
    """A table row as printed: the first cell (a row header, linked when `link` is set) and the rest."""

    head: str
    link: str | None
    cells: list[DisplayCell]


@dataclass
class Table:
    """One block of numbers: what the page shows, the chart draws and the CSV holds."""

    name: str
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # a URL for each row's first cell
    note: str = ""
    chart: str = ""

    @property
    def display_rows(self) -> "list[DisplayRow]":
        """The rows as the page prints them: each value formatted for its column, the first
        cell with its link. The template loops over them and escapes every text."""
        numeric = [c.numeric for c in self.columns]
        kinds = [c.kind for c in self.columns]
        links = self.links or [None] * len(self.rows)
        return [
            DisplayRow(
                head=_display(row[0], kinds[0]),
                link=link,
                cells=[DisplayCell(_display(row[i], kinds[i]), numeric[i]) for i in range(1, len(row))],
            )
            for link, row in zip(links, self.rows, strict=True)
        ]

    def column(self, key: str) -> list:
        i = [c.key for c in self.columns].index(key)
        return [row[i] for row in self.rows]


# --- the dashboard ----------------------------------------------------------------------------------


class Dashboard:
    """Every section, each computed on first use; a CSV download computes only its own."""

    TABLES = (
        "by_stage",
        "by_owner",
        "by_month",
        "forecast",
        "attainment",
        "conversion",
        "durations",
        "milestones",
        "flags_by_kind",
        "flags_by_owner",
    )

    def __init__(self, filters: Filters, *, people: list[User]):
        self.f = filters
        self.people = {p.pk: p for p in people}

    def name_of(self, user_id) -> str:
        person = self.people.get(user_id)
        return str(person) if person is not None else f"User #{user_id}"

    # reference data

    @cached_property
    def stages(self) -> "dict[int, StageInfo]":
        """The stages in view, in their processes' order (by process name)."""
        where, params = ("WHERE s.process_id = %s", [self.f.process_id]) if self.f.process_id else ("", [])
        rows = _fetch(
            f"""SELECT s.id, s.process_id, p.name, s.name, s."order", s.win_probability, s.forecast_category
                FROM {STAGES} s JOIN {PROCESSES} p ON p.id = s.process_id {where}
                ORDER BY p.name, s."order", s.id""",
            params,
        )
        return {row[0]: StageInfo(*row) for row in rows}

    def _stages_by_process(self) -> "dict[int, list[StageInfo]]":
        grouped: dict[int, list[StageInfo]] = defaultdict(list)
        for stage in self.stages.values():
            grouped[stage.process_id].append(stage)
        return grouped

    @cached_property
    def quarters(self) -> list[tuple[int, int]]:
        this = quarter_of(self.f.day)
        return [this, next_quarter(*this)]

    def quarter_label(self, yq: tuple[int, int]) -> str:
        return f"Q{yq[1]} {yq[0]}"

    @cached_property
    def people_in_view(self) -> list[User]:
        """Whose quotas add up to the view's quota."""
        people = list(self.people.values())
        if self.f.owner_id:
            return [p for p in people if p.pk == self.f.owner_id]
        if self.f.team_id:
            return [p for p in people if p.team_id == self.f.team_id]
        return people

    # pipeline

    @cached_property
    def _open_sums(self) -> dict[str, dict]:
        """The open deals at the moment, read in one grouped query (stage, owner, close month)
        and added up in one pass into every view the page shows of them: {"stage" | "owner" |
        "month": {key: [deals, amount, Σ amount × probability]}, "forecast": {(quarter,
        category, owner): [deals, amount]}} (the forecast keeps the deals expected to close in
        this quarter or the next). The deals are scanned once, not once per table; a cell is one
        stage, so its weighted amount is its amount times that stage's probability, multiplied
        here once per cell rather than by the database once per deal."""
        if self.f.as_of is None:
            # The deal rows alone: `deal_states` would join each to its stage for columns these
            # cells do not need.
            where, params = live_where(self.f.scope(), "o")
            rows = _fetch(
                f"""SELECT o.stage_id, o.owner_id, {_month_start("o.expected_close_date")}, COUNT(*), SUM(o.amount)
                    FROM {OPPORTUNITIES} o WHERE {where} GROUP BY 1, 2, 3""",
                params,
            )
        else:
            deals = _states(self.f).annotate(month=MonthStart("s_close"))
            rows = deals.values_list("s_stage", "s_owner", "month").annotate(n=Count("*"), amount=Sum("s_amount"))
            rows = rows.order_by()
        # The open deals of a process filter are all in that process's stages.
        probability = {pk: Decimal(stage.win_probability) for pk, stage in self.stages.items()}
        category = {pk: stage.forecast_category for pk, stage in self.stages.items()}
        (y1, q1), (y2, q2) = self.quarters
        first, last = quarter_start(y1, q1), quarter_end(y2, q2)
        by_stage: dict = {}
        by_owner: dict = {}
        by_month: dict = {}
        forecast: dict = {}
        months: dict = {}  # month → (label, quarter or None): a few dozen months, hundreds of cells
        pipeline = ForecastCategory.PIPELINE.value
        # One row per stage, owner and month: thousands for a large sales floor, so the loop
        # keeps to plain dict and Decimal operations (no call per row).
        for stage, owner, month, n, amount in rows:
            if amount is None:
                amount = ZERO
            elif not isinstance(amount, Decimal):
                amount = _decimal(amount)
            weighted = amount * probability.get(stage, ZERO)
            labelled = months.get(month)
            if labelled is None:
                day = None if month is None else _as_date(month)
                in_window = day is not None and first <= day <= last
                labelled = months[month] = (_month(day), quarter_of(day) if in_window else None)
            label, quarter = labelled
            for sums, key in ((by_stage, stage), (by_owner, owner), (by_month, label)):
                row = sums.get(key)
                if row is None:
                    sums[key] = [n, amount, weighted]
                else:
                    row[0] += n
                    row[1] += amount
                    row[2] += weighted
            if quarter is not None:
                key = (quarter, category.get(stage, pipeline), owner)
                row = forecast.get(key)
                if row is None:
                    forecast[key] = [n, amount]
                else:
                    row[0] += n
                    row[1] += amount
        return {"stage": by_stage, "owner": by_owner, "month": by_month, "forecast": forecast}

    @staticmethod
    def _money_row(row) -> list:
        return [row[0], row[1], row[2] / HUNDRED]

    _PIPELINE_COLUMNS = [
        Column("deals", "Deals", "int"),
        Column("amount", "Amount", "money"),
        Column("weighted", "Weighted", "money"),
    ]

    @cached_property
    def by_stage(self) -> Table:
        found = self._open_sums["stage"]
        table = Table(
            "by_stage",
            "Open pipeline by stage",
            [
                Column("process", "Process"),
                Column("stage", "Stage"),
                Column("probability", "Win probability", "pct"),
                *self._PIPELINE_COLUMNS,
            ],
        )
        for stage in self.stages.values():
            row = found.get(stage.pk, [0, ZERO, ZERO])
            table.rows.append([stage.process_name, stage.name, float(stage.win_probability), *self._money_row(row)])
        return table

    @cached_property
    def by_owner(self) -> Table:
        rows = [(self.name_of(owner), row) for owner, row in self._open_sums["owner"].items()]
        rows.sort(key=lambda pair: (-pair[1][1], pair[0]))
        table = Table("by_owner", "Open pipeline by owner", [Column("owner", "Owner"), *self._PIPELINE_COLUMNS])
        table.rows = [[name, *self._money_row(row)] for name, row in rows]
        return table

    @cached_property
    def by_month(self) -> Table:
        rows = sorted(self._open_sums["month"].items())
        table = Table(
            "by_month",
            "Open pipeline by expected close month",
            [Column("month", "Close month"), *self._PIPELINE_COLUMNS],
        )
        table.rows = [[month, *self._money_row(row)] for month, row in rows]
        return table

    # forecast

    @cached_property
    def _forecast_cells(self) -> dict:
        """{(quarter, category, owner): (deals, amount)} with category "won" for closed won."""
        (y1, q1), (y2, q2) = self.quarters
        first, mid, last = quarter_start(y1, q1), quarter_start(y2, q2), quarter_end(y2, q2)
        cells: dict = {}
        closed_sql, params = _closed_between(self.f, ("won",), first, last)
        sql = f"""
            SELECT c.s_owner,
                   COUNT(*) FILTER (WHERE c.s_closed < %s), SUM(c.s_amount) FILTER (WHERE c.s_closed < %s),
                   COUNT(*) FILTER (WHERE c.s_closed >= %s), SUM(c.s_amount) FILTER (WHERE c.s_closed >= %s)
            FROM ({closed_sql}) c GROUP BY c.s_owner
        """
        for owner, *sums in _fetch(sql, [*[_db_date(mid)] * 4, *params]):
            for yq, (n, amount) in zip(self.quarters, (sums[0:2], sums[2:4]), strict=True):
                if n:
                    cells[(yq, "won", owner)] = (n, _decimal(amount) or ZERO)
        # Open deals by expected close month: a quarter is whole months.
        for key, (n, amount) in self._open_sums["forecast"].items():
            cells[key] = (n, amount)
        return cells

    FORECAST_CATEGORIES = (
        ("won", "Closed won"),
        (ForecastCategory.COMMIT.value, "Commit"),
        (ForecastCategory.BEST_CASE.value, "Best case"),
        (ForecastCategory.PIPELINE.value, "Pipeline"),
    )

    @cached_property
    def _forecast_totals(self) -> dict:
        """{(quarter, category): (deals, amount)} over everyone in view."""
        totals: dict = {}
        for (yq, category, _), (count, value) in self._forecast_cells.items():
            n, amount = totals.get((yq, category), (0, ZERO))
            totals[(yq, category)] = (n + count, amount + value)
        return totals

    def _forecast_sum(self, yq, category, owner_id=None) -> tuple[int, Decimal]:
        if owner_id is None:
            return self._forecast_totals.get((yq, category), (0, ZERO))
        return self._forecast_cells.get((yq, category, owner_id), (0, ZERO))

    @cached_property
    def forecast(self) -> Table:
        columns = [Column("category", "Category")]
        for yq in self.quarters:
            label = self.quarter_label(yq)
            columns += [
                Column(f"deals_{yq[0]}q{yq[1]}", f"{label} deals", "int"),
                Column(f"amount_{yq[0]}q{yq[1]}", f"{label} amount", "money"),
            ]
        table = Table("forecast", "Forecast by category", columns)
        for category, label in self.FORECAST_CATEGORIES:
            row = [label]
            for yq in self.quarters:
                row += list(self._forecast_sum(yq, category))
            table.rows.append(row)
        return table

    @cached_property
    def quotas(self) -> dict:
        ids = [p.pk for p in self.people_in_view]
        (y1, q1), (y2, q2) = self.quarters
        if not ids:
            return {}
        rows = _fetch(
            f"""SELECT user_id, year, quarter, amount FROM {QUOTAS}
                WHERE user_id IN ({", ".join(["%s"] * len(ids))})
                  AND ((year = %s AND quarter = %s) OR (year = %s AND quarter = %s))""",
            [*ids, y1, q1, y2, q2],
        )
        return {(user_id, (year, quarter)): _decimal(amount) for user_id, year, quarter, amount in rows}

    @cached_property
    def attainment(self) -> Table:
        table = Table(
            "attainment",
            "Quota and attainment",
            [
                Column("who", "Who"),
                Column("quarter", "Quarter"),
                Column("quota", "Quota", "money"),
                Column("won", "Closed won", "money"),
                Column("commit", "Commit", "money"),
                Column("best_case", "Best case", "money"),
                Column("pipeline", "Pipeline", "money"),
                Column("attainment", "Attainment", "pct"),
            ],
        )
        owners = {owner for (_, _, owner) in self._forecast_cells} | {user for (user, _) in self.quotas}
        named = sorted(owners, key=lambda pk: self.name_of(pk))
        for who, owner_id in [("Everyone in view", None), *[(self.name_of(pk), pk) for pk in named]]:
            for yq in self.quarters:
                if owner_id is None:
                    quota = sum((v for (u, q), v in self.quotas.items() if q == yq), ZERO)
                    has_quota = any(q == yq for (_, q) in self.quotas)
                else:
                    quota = self.quotas.get((owner_id, yq))
                    has_quota = quota is not None
                sums = [self._forecast_sum(yq, cat, owner_id)[1] for cat, _ in self.FORECAST_CATEGORIES]
                attained = _pct(sums[0], quota) if has_quota else None
                table.rows.append([who, self.quarter_label(yq), quota if has_quota else None, *sums, attained])
        return table

    # conversion and time in stage

    def _cohort_live(self) -> list[tuple[int, int, int, int]]:
        """(process, furthest stage order, won, deals) of the cohort, from the deal rows."""
        f = self.f
        lo, hi = start_of_day(f.period_start), min(end_of_day(f.period_end), f.moment)
        # Live, the furthest stage and the outcome are facts on each deal's row: the cohort is
        # the deals in view created in the period, grouped by stage ids and status straight off
        # `opportunity_created_at_idx`; the stages' process and order are looked up here, in
        # the few groups, rather than joined to every deal.
        where, params = live_where(f.scope(ALL_STATUSES), "o")
        rows = _fetch(
            f"""SELECT o.stage_id, o.furthest_stage_id, o.status, COUNT(*) FROM {OPPORTUNITIES} o
                WHERE {where} AND o.created_at >= %s AND o.created_at <= %s GROUP BY 1, 2, 3""",
            [*params, _db_datetime(lo), _db_datetime(hi)],
        )
        grouped: dict[tuple[int, int, int], int] = defaultdict(int)
        for stage_id, furthest_id, status, n in rows:
            stage = self.stages.get(stage_id)
            furthest = self.stages.get(furthest_id, stage)
            if stage is None or furthest is None:  # a stage outside the process filter: not in view
                continue
            grouped[(stage.process_id, furthest.order, 1 if status == "won" else 0)] += n
        return [(*key, n) for key, n in grouped.items()]

    def _cohort_as_of(self) -> tuple[str, list]:
        """(process, furthest stage order, won, deals) of the cohort, from the history."""
        f = self.f
        lo, hi = start_of_day(f.period_start), min(end_of_day(f.period_end), f.moment)
        scope, scope_params = "", []
        if not f.sees_everything:
            scope_sql, scope_params = _in_view(f, "e.opportunity_id")
            scope = f"AND {scope_sql}"
        won_at = "MAX(CASE WHEN e.verb = %s THEN e.created_at END)"
        reopened_at = "MAX(CASE WHEN e.verb = %s THEN e.created_at END)"
        # One pass over the stage changes from the start of the period to the moment, grouped
        # by deal: a cohort deal was created in the period (so all its changes are in the
        # pass); for each, the furthest stage it reached and whether its last win still stands
        # (not undone by a later reopen). The stage changes are index-only reads
        # (`event_stage_change_idx`).
        sql = f"""
            SELECT d.process_id, d.furthest, d.won, COUNT(*) FROM (
                SELECT e.opportunity_id,
                       MAX(st.process_id) AS process_id,
                       MAX(CASE WHEN e.verb IN (%s, %s) THEN st."order" END) AS furthest,
                       CASE WHEN {won_at} IS NOT NULL AND ({reopened_at} IS NULL OR {won_at} > {reopened_at})
                            THEN 1 ELSE 0 END AS won
                FROM {EVENTS} e
                LEFT JOIN {STAGES} st ON st.id = e.to_stage_id
                WHERE e.verb IN (%s, %s, %s, %s) AND e.created_at >= %s AND e.created_at <= %s
                  {scope}
                GROUP BY e.opportunity_id
                HAVING MAX(CASE WHEN e.verb = %s AND e.created_at <= %s THEN 1 ELSE 0 END) = 1
            ) d GROUP BY d.process_id, d.furthest, d.won
        """
        created, moved = EventVerb.CREATED.value, EventVerb.STAGE_MOVED.value
        won, reopened = EventVerb.CLOSED_WON.value, EventVerb.REOPENED.value
        params = [
            created, moved, won, reopened, won, reopened,
            created, moved, won, reopened, _db_datetime(lo), _db_datetime(f.moment),
            *scope_params,
            created, _db_datetime(hi),
        ]  # fmt: skip
        return sql, params

    @cached_property
    def conversion(self) -> Table:
        rows = self._cohort_live() if self.f.as_of is None else _fetch(*self._cohort_as_of())
        reached: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        for process_id, furthest, is_won, n in rows:
            reached[process_id].append((furthest, "won" if is_won else "", n))
        table = Table(
            "conversion",
            "Conversion of the deals created in the period",
            [
                Column("process", "Process"),
                Column("stage", "Stage"),
                Column("entered", "Entered", "int"),
                Column("next", "Reached next stage", "int"),
                Column("conversion", "Conversion", "pct"),
                Column("won", "Won", "int"),
                Column("win_rate", "Win rate", "pct"),
            ],
        )
        for process_id, stages in self._stages_by_process().items():
            rows = reached.get(process_id, [])
            entered = [sum(n for furthest, _, n in rows if furthest >= s.order) for s in stages]
            won = [sum(n for furthest, st, n in rows if furthest >= s.order and st == "won") for s in stages]
            for i, stage in enumerate(stages):
                nxt = entered[i + 1] if i + 1 < len(stages) else None
                table.rows.append(
                    [
                        stage.process_name,
                        stage.name,
                        entered[i],
                        nxt,
                        _pct(nxt, entered[i]) if nxt is not None else None,
                        won[i],
                        _pct(won[i], entered[i]),
                    ]
                )
        return table

    @cached_property
    def durations(self) -> Table:
        f = self.f
        lo, hi = start_of_day(f.period_start), min(end_of_day(f.period_end), f.moment)
        pg = connection.vendor == "postgresql"
        enter = ", ".join(["%s"] * len(ENTER_VERBS))
        leave = ", ".join(["%s"] * len(LEAVE_VERBS))
        scope, params = "", []
        if not f.sees_everything:
            scope_sql, params = _in_view(f, "x.opportunity_id")
            scope = f"AND {scope_sql}"
        # Each way out of a stage in the period (a move, a close) names the stage it left and,
        # written with it by the services, when the deal entered that stage: one index-only
        # range over the period's exits (`event_stage_exit_idx`). An exit recorded without that
        # time (by a data import, say) falls back to one probe for the deal's way in before it.
        probe = f"""(
            SELECT e.created_at FROM {EVENTS} e
            WHERE e.opportunity_id = x.opportunity_id AND e.verb IN ({enter})
              AND e.created_at <= x.created_at AND (e.created_at < x.created_at OR e.id < x.id)
            ORDER BY e.created_at DESC, e.id DESC LIMIT 1)"""
        entered_at = f"COALESCE(x.stage_entered_at, {probe})"
        # date_part, not EXTRACT: a double rather than a numeric, several times cheaper to add
        # up and to sort.
        days = (
            f"date_part('epoch', x.created_at - {entered_at}) / 86400.0"
            if pg
            else f"(julianday(x.created_at) - julianday({entered_at}))"
        )
        stays = f"""
            SELECT x.from_stage_id AS stage_id, {days} AS days FROM {EVENTS} x
            WHERE x.verb IN ({leave}) AND x.created_at >= %s AND x.created_at <= %s {scope}
        """
        lo_db, hi_db = _db_datetime(lo), _db_datetime(hi)
        args = [*ENTER_VERBS, *LEAVE_VERBS, lo_db, hi_db, *params]
        stats: dict[int, tuple[int, float, float]] = {}
        if pg:
            # Stage by stage (LATERAL): each stage's exits are one range of `event_stage_exit_idx`,
            # so nothing is sorted by stage; only the median sorts, within its stage. OFFSET 0
            # keeps the stays a subquery of their own, so that the three aggregates share one
            # computation of each stay rather than inlining it three times.
            sql = f"""
                SELECT s.id, a.n, a.average, a.median FROM {STAGES} s CROSS JOIN LATERAL (
                    SELECT COUNT(days) AS n, AVG(days) AS average,
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median
                    FROM ({stays} AND x.from_stage_id = s.id OFFSET 0) y
                ) a
                WHERE s.id IN ({", ".join(["%s"] * len(self.stages))})
            """
            for stage_id, n, avg, median in _fetch(sql, [*args, *self.stages]) if self.stages else []:
                if n:
                    stats[stage_id] = (n, float(avg), float(median))
        else:
            grouped: dict[int, list[float]] = defaultdict(list)
            for stage_id, value in _fetch(f"SELECT stage_id, days FROM ({stays}) s", args):
                if value is not None:
                    grouped[stage_id].append(float(value))
            for stage_id, values in grouped.items():
                stats[stage_id] = (len(values), statistics.fmean(values), statistics.median(values))
        table = Table(
            "durations",
            "Days in stage (stays that ended in the period)",
            [
                Column("process", "Process"),
                Column("stage", "Stage"),
                Column("stays", "Completed stays", "int"),
                Column("median", "Median days", "days"),
                Column("average", "Average days", "days"),
            ],
        )
        for stage in self.stages.values():
            n, avg, median = stats.get(stage.pk, (0, None, None))
            table.rows.append(
                [
                    stage.process_name,
                    stage.name,
                    n,
                    None if median is None else round(median, 2),
                    None if avg is None else round(avg, 2),
                ]
            )
        return table

    # milestones

    @cached_property
    def milestones(self) -> Table:
        f = self.f
        closed_sql, params = _closed_between(f, ("won", "lost"), f.period_start, min(f.period_end, f.day))
        totals: dict[int, dict[str, int]] = defaultdict(lambda: {"won": 0, "lost": 0})
        totals_sql = f"SELECT c.s_process, c.s_status, COUNT(*) FROM ({closed_sql}) c GROUP BY 1, 2"
        for process_id, status, n in _fetch(totals_sql, params):
            totals[process_id][status] = n
        # Live, every completion is in the past: leaving out the time lets the database read
        # (opportunity, milestone) from the unique index alone.
        when = "" if f.as_of is None else "WHERE mc.completed_at <= %s"
        sql = f"""
            SELECT mc.milestone_id, c.s_status, COUNT(*)
            FROM {COMPLETIONS} mc JOIN ({closed_sql}) c ON c.s_opp = mc.opportunity_id
            {when} GROUP BY mc.milestone_id, c.s_status
        """
        if f.as_of is not None:
            params.append(_db_datetime(f.moment))
        done: dict[int, dict[str, int]] = defaultdict(lambda: {"won": 0, "lost": 0})
        for milestone_id, status, n in _fetch(sql, params):
            done[milestone_id][status] = n
        table = Table(
            "milestones",
            "Milestones and wins (deals closed in the period)",
            [
                Column("process", "Process"),
                Column("stage", "Stage"),
                Column("milestone", "Milestone"),
                Column("required", "Required"),
                Column("closed_with", "Closed with it", "int"),
                Column("win_rate_with", "Win rate with", "pct"),
                Column("closed_without", "Closed without", "int"),
                Column("win_rate_without", "Win rate without", "pct"),
                Column("difference", "Difference", "pp"),
            ],
        )
        for m in self._milestones:
            stage = self.stages[m.stage_id]
            total = totals.get(stage.process_id, {"won": 0, "lost": 0})
            with_won, with_lost = done[m.pk]["won"], done[m.pk]["lost"]
            without_won, without_lost = total["won"] - with_won, total["lost"] - with_lost
            rate_with = _pct(with_won, with_won + with_lost)
            rate_without = _pct(without_won, without_won + without_lost)
            diff = round(rate_with - rate_without, 1) if rate_with is not None and rate_without is not None else None
            table.rows.append(
                [
                    stage.process_name,
                    stage.name,
                    m.name,
                    "yes" if m.is_required else "no",
                    with_won + with_lost,
                    rate_with,
                    without_won + without_lost,
                    rate_without,
                    diff,
                ]
            )
        return table

    @cached_property
    def _milestones(self) -> "list[MilestoneInfo]":
        """The milestones of the stages in view, in the stages' order (`stages`)."""
        position = {pk: i for i, pk in enumerate(self.stages)}
        if not position:
            return []
        rows = _fetch(
            f"""SELECT id, stage_id, name, is_required, "order" FROM {MILESTONES}
                WHERE stage_id IN ({", ".join(["%s"] * len(position))})""",
            list(position),
        )
        # SQLite sends is_required as 0 or 1.
        milestones = [
            MilestoneInfo(pk, stage, name, bool(required), order) for pk, stage, name, required, order in rows
        ]
        return sorted(milestones, key=lambda m: (position[m.stage_id], m.order, m.pk))

    # flags

    @cached_property
    def _flag_counts(self) -> dict[tuple[str, int], int]:
        if self.f.as_of is None:
            # Live: the flags open now, on the deal rows alone (no join to their stage).
            where, params = live_where(self.f.scope(), "o")
            open_sql = f"SELECT o.id AS s_opp, o.owner_id AS s_owner FROM {OPPORTUNITIES} o WHERE {where}"
            when, when_params = "f.resolved_at IS NULL", []
        else:
            moment = _db_datetime(self.f.moment)
            open_sql, params = _sql(_states(self.f).values("s_opp", "s_owner"))
            when, when_params = "f.opened_at <= %s AND (f.resolved_at IS NULL OR f.resolved_at > %s)", [moment, moment]
        sql = f"""
            SELECT f.kind, s.s_owner, COUNT(*) FROM {FLAGS} f JOIN ({open_sql}) s ON s.s_opp = f.opportunity_id
            WHERE {when} GROUP BY f.kind, s.s_owner
        """
        return {(kind, owner): n for kind, owner, n in _fetch(sql, [*params, *when_params])}

    @cached_property
    def flags_by_kind(self) -> Table:
        table = Table("flags_by_kind", "Open flags by kind", [Column("kind", "Flag"), Column("deals", "Deals", "int")])
        attention = reverse("pipeline:needs_attention")
        for kind, label in FlagKind.choices:
            table.rows.append([label, sum(n for (k, _), n in self._flag_counts.items() if k == kind)])
            table.links.append(f"{attention}?kind={kind}")
        return table

    @cached_property
    def flags_by_owner(self) -> Table:
        kinds = FlagKind.choices
        table = Table(
            "flags_by_owner",
            "Open flags by owner",
            [
                Column("owner", "Owner"),
                *[Column(k, label, "int") for k, label in kinds],
                Column("total", "Total", "int"),
            ],
        )
        owners = sorted({owner for (_, owner) in self._flag_counts}, key=self.name_of)
        attention = reverse("pipeline:needs_attention")
        for owner in owners:
            counts = [self._flag_counts.get((k, owner), 0) for k, _ in kinds]
            table.rows.append([self.name_of(owner), *counts, sum(counts)])
            table.links.append(f"{attention}?rep={owner}")
        return table

    # summary

    @cached_property
    def summary(self) -> dict:
        stage_rows = self.by_stage.rows
        this = self.quarters[0]
        won = self._forecast_sum(this, "won")[1]
        quota = sum((v for (_, q), v in self.quotas.items() if q == this), ZERO)
        has_quota = any(q == this for (_, q) in self.quotas)
        return {
            "deals": sum(r[3] for r in stage_rows),
            "amount": sum((r[4] for r in stage_rows), ZERO),
            "weighted": sum((r[5] for r in stage_rows), ZERO),
            "quarter": self.quarter_label(this),
            "won": won,
            "quota": quota if has_quota else None,
            "attainment": _pct(won, quota) if has_quota else None,
        }

    @cached_property
    def summary_text(self) -> dict[str, str]:
        """The summary's numbers as the tiles show them (formatted here: the template's
        floatformat cost more than the rest of the tiles)."""
        s = self.summary
        return {
            "deals": _display(s["deals"], "int"),
            "amount": _display(s["amount"], "money"),
            "weighted": _display(s["weighted"], "money"),
            "won": _display(s["won"], "money"),
            "attainment": None if s["attainment"] is None else _display(s["attainment"], "pct"),
        }

    def table(self, name: str) -> Table:
        if name not in self.TABLES:
            raise KeyError(name)
        return getattr(self, name)

    def charted(self, name: str) -> Table:
        """The table with its chart drawn."""
        table = self.table(name)
        if not table.chart:
            labels_from, series, unit = CHARTS[name]
            rows = table.rows
            if name == "attainment":
                rows = [r for r in rows if r[1] == self.quarter_label(self.quarters[0])]
            keys = [c.key for c in table.columns]
            if series is None:
                series = [(c.label, c.key) for c in table.columns if c.key.startswith("amount_")]
            multi_process = len({s.process_id for s in self.stages.values()}) > 1
            if "process" in labels_from and not multi_process:
                labels_from = [k for k in labels_from if k != "process"]
            title, note = table.title, NOTES[name]
            if name in RANKED_BY and len(rows) > CHART_PEOPLE:
                # A bar per person stops being readable long before a large sales floor ends
                # (each is a line of the chart): the chart keeps the largest, the table all.
                ranks = [keys.index(k) for k in RANKED_BY[name]]
                people = len(rows)
                rows = sorted(rows, key=lambda r: [-charts.number(r[i]) for i in ranks])[:CHART_PEOPLE]
                title = f"{title}: the {CHART_PEOPLE} largest of {people}"
                note = f"{note} The chart shows the {CHART_PEOPLE} largest of {people}; the table lists everyone."
            labels = [" · ".join(str(r[keys.index(k)]) for k in labels_from) for r in rows]
            data = [(series_title, [r[keys.index(k)] for r in rows]) for series_title, k in series]
            table.chart = charts.bar_chart(title, labels, data, unit=unit)
            table.note = note
        return table


NOTES = {
    "by_stage": "Open deals at the moment, whatever their close date. Weighted = amount × the stage's win probability.",
    "by_owner": "Open deals at the moment, by the owner they had then.",
    "by_month": "Open deals at the moment, by expected close month (overdue months included).",
    "forecast": "Closed won: won at the moment, closed (last closed-won day) in the quarter. Commit, best case "
    "and pipeline: open deals expected to close in the quarter, by their stage's forecast category; the "
    "categories do not overlap.",
    "attainment": "Quota: set per person and quarter on the Quotas page; the total is the sum for the people in "
    "view. Attainment = closed won ÷ quota.",
    "conversion": "Deals created in the period. A deal has entered every stage up to the furthest it reached "
    "(moving forward past a stage means its exit criteria were met). Win rate = won ÷ entered; deals still "
    "open count as not won.",
    "durations": "Stays that ended in the period: from entering the stage (created in it, moved to it or "
    "reopened in it) to leaving it (the next move or the close).",
    "milestones": "Deals closed, won or lost, in the period: the win rate of those that had completed the "
    "milestone versus those that had not. A large positive difference marks an exit criterion that predicts "
    "wins.",
    "flags_by_kind": "Open health flags at the moment on open deals; follow a link for today's list.",
    "flags_by_owner": "Open health flags at the moment, by the deal's owner then.",
}

# The charts with a bar per person, and the columns that rank people when there are more than
# CHART_PEOPLE of them ("Everyone in view", the attainment total, ranks first by quota).
CHART_PEOPLE = 20
RANKED_BY = {"by_owner": ("amount",), "attainment": ("quota", "won"), "flags_by_owner": ("total",)}

# table → (columns naming each bar group, [(series title, column)], unit)
CHARTS = {
    "by_stage": (["process", "stage"], [("Amount", "amount"), ("Weighted", "weighted")], ""),
    "by_owner": (["owner"], [("Amount", "amount"), ("Weighted", "weighted")], ""),
    "by_month": (["month"], [("Amount", "amount"), ("Weighted", "weighted")], ""),
    "forecast": (["category"], None, ""),
    "attainment": (["who"], [("Quota", "quota"), ("Closed won", "won")], ""),
    "conversion": (["process", "stage"], [("Entered", "entered"), ("Won", "won")], "count"),
    "durations": (["process", "stage"], [("Median", "median"), ("Average", "average")], "days"),
    "milestones": (
        ["stage", "milestone"],
        [("Win rate with", "win_rate_with"), ("Win rate without", "win_rate_without")],
        "%",
    ),
    "flags_by_kind": (["kind"], [("Deals", "deals")], "count"),
    "flags_by_owner": (["owner"], [("Total", "total")], "count"),
}


def _as_date(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, str):  # SQLite's DATE()
        return dt.date.fromisoformat(value)
    return value.date() if isinstance(value, dt.datetime) else value


def _month(day: dt.date | dt.datetime | None) -> str:
    if day is None:
        return "—"
    return f"{day.year:04d}-{day.month:02d}"


def processes() -> list[SalesProcess]:
    return list(SalesProcess.objects.order_by("name"))
