"""The managers' dashboard: every aggregate, live or as it stood at the end of a past day.

Each section is a fixed number of grouped queries whatever the number of deals, built on
`snapshot.deal_states` (live: the opportunity rows, `live_deals`; as of a past day: the event
history's state intervals); where both sources give the same rows (`_closed_between`), the
aggregate over them is written once. The statements the ORM cannot express are hand-written in
`pipeline.reports.sql`: the stays' medians, and as of a date the cohort and the closed deals' milestones.

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
from typing import NamedTuple, TypedDict

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
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from opportunities.models import EventVerb, MilestoneCompletion, OpportunityEvent
from people.access import visible_owner_q
from people.models import Role, Team, User
from stages.models import ForecastCategory, Milestone, SalesProcess, Stage

from ..models import Flag, FlagKind, Quota
from . import charts, sql
from .quarters import next_quarter, previous_quarter, quarter_end, quarter_name, quarter_of, quarter_start
from .snapshot import Scope, deal_states, end_of_day, live_deals, live_q

ALL_STATUSES = ("open", "won", "lost")
CLOSE_VERBS = (EventVerb.CLOSED_WON.value, EventVerb.CLOSED_LOST.value)
HUNDRED = Decimal(100)
ZERO = Decimal(0)


# --- periods ----------------------------------------------------------------------------------------


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
    """`deal_states` plus the deal's process, for either source."""
    qs = deal_states(filters.scope(statuses)).order_by()
    if filters.as_of is None:
        return qs.annotate(s_process=F("stage__process_id"))
    return qs.annotate(s_process=F("state_stage__process_id"))


def _closed_between(filters: Filters, statuses: tuple[str, ...], first: dt.date, last: dt.date):
    """The deals closed (with a status in `statuses`) at the moment whose close date is in
    [first, last]: `deal_states`-like rows with s_opp, s_owner, s_amount, s_status, s_process and
    `s_closed`, the close date.

    Live, the close date is on the row. As of a moment it is the day of the deal's last closing
    event up to that moment: a closing event in the period with no close or reopen after it
    (up to the moment) is a deal still closed then, and closed that day. Reading from the
    period's closing events (index-only, `event_stage_change_idx`) and looking up each one's
    owner and amount at the moment keeps the work to the period's closes rather than every deal
    ever closed."""
    if filters.as_of is None:
        # Off the row alone (the deal's process is on it too): `opportunity_closed_facts_idx`
        # covers every column, and no join to the stage is made for each closed deal.
        return (
            live_deals(filters.scope(statuses))
            .filter(closed_on__gte=first, closed_on__lte=last)
            .annotate(
                s_opp=F("id"),
                s_owner=F("owner_id"),
                s_amount=F("amount"),
                s_status=F("status"),
                s_process=F("process_id"),
                s_closed=F("closed_on"),
            )
            .order_by()
        )
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
        qs = qs.filter(_in_view_q(filters, "opportunity_id", statuses))
    return qs


def _in_view_ids(filters: Filters, statuses=ALL_STATUSES):
    """The ids of the deals in view (with a status in `statuses`) at the moment, as a subquery."""
    closed = tuple(s for s in statuses if s != "open")
    if filters.as_of is None:
        # The deal rows alone: no join to their stage (the process filter aside).
        return live_deals(filters.scope(statuses)).values("id").order_by()
    if not closed or len(closed) == len(statuses) or connection.vendor != "postgresql":
        return _states(filters, statuses).values("s_opp")
    # As of a date, the open and the closed deals each come off their own index (the GiST index
    # of open intervals, `event_closed_interval_idx`): together they would walk every interval
    # that ended since.
    return _states(filters, ("open",)).values("s_opp").union(_states(filters, closed).values("s_opp"), all=True)


def _in_view_q(filters: Filters, field: str, statuses=ALL_STATUSES) -> Q:
    """ "`field` is one of the deals in view".

    On PostgreSQL it is written `(field IN (…) OR FALSE)`: an IN the planner may not turn into
    a join, so the deals in view are found once and looked up by hash. As a join, a
    misestimate can make it probe the history once per deal in view instead (see
    bench/README.md: a manager's dashboard as of a date)."""
    q = Q(**{f"{field}__in": _in_view_ids(filters, statuses)})
    if connection.vendor == "postgresql":
        q |= Q(Value(False, output_field=BooleanField()))
    return q


def _in_view_sql(filters: Filters, column: str, statuses=ALL_STATUSES) -> tuple[str, list]:
    """`_in_view_q` as SQL on `column`, and its parameters, for the statements in `pipeline.reports.sql`."""
    sql, params = _in_view_ids(filters, statuses).query.sql_with_params()
    if connection.vendor != "postgresql":
        return f"{column} IN ({sql})", list(params)
    return f"({column} IN ({sql}) OR FALSE)", list(params)


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _db_datetime(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _running_totals(amounts: int) -> defaultdict:
    """Running totals by key, each [count, amount…] with `amounts` amounts, added to in place:
    a new key starts at zero."""
    return defaultdict(lambda: [0, *[ZERO] * amounts])


class MonthStart(Func):
    """The first day of a date's month. On PostgreSQL the date is truncated as a plain timestamp:
    `DATE_TRUNC('month', date)` would first turn every date into a timestamp with time zone,
    which costs a time-zone lookup per row and means nothing for a calendar date."""

    output_field = DateField()

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"DATE_TRUNC('month', ({sql})::timestamp)::date", params

    def as_sql(self, compiler, connection, **extra_context):  # SQLite
        sql, params = compiler.compile(self.source_expressions[0])
        return f"DATE({sql}, 'start of month')", params


def _pct(part, whole) -> float | None:
    return round(100.0 * float(part) / float(whole), 1) if whole else None


class TeamAttainment(NamedTuple):
    """A view's attainment in a quarter, counted over the people who have a quota for it."""

    quota: Decimal | None
    won: Decimal | None  # closed won by the people with a quota
    attainment: float | None
    without_quota: int  # sellers in view without a quota, left out of the figure


@dataclass(frozen=True, slots=True)
class StageInfo:
    """What the dashboard reads of a stage, with its process's name."""

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


class DisplayRow(TypedDict):
    """A table row as printed: the first cell (a row header, linked when `link` is set), then the
    row's text cells and its numbers (right-aligned), each formatted for its column.

    A plain dict: the template engine looks a key up in a dict directly, where an attribute of a
    tuple or object costs it a failed `[]` first, on every cell of every table."""

    head: str
    link: str | None
    texts: list[str]
    numbers: list[str]


@dataclass
class Table:
    """One block of numbers: what the page shows, the chart draws and the CSV holds.

    Its text columns come before its numbers (checked here), so the page prints each row as two
    runs of cells, the numbers right-aligned, and decides that once per table, not once per cell."""

    name: str
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # a URL for each row's first cell
    note: str = ""
    chart: str = ""

    def __post_init__(self):
        numeric = [c.numeric for c in self.columns]
        if numeric != sorted(numeric):
            raise ValueError(f"Table {self.name}: the text columns must come before the numbers.")

    @property
    def first_number(self) -> int:
        """The index of the first numeric column (the number of columns if there is none)."""
        return next((i for i, c in enumerate(self.columns) if c.numeric), len(self.columns))

    @property
    def text_labels(self) -> list[str]:
        return [c.label for c in self.columns[: self.first_number]]

    @property
    def number_labels(self) -> list[str]:
        return [c.label for c in self.columns[self.first_number :]]

    @property
    def display_rows(self) -> "list[DisplayRow]":
        """The rows as the page prints them: each value formatted for its column, the first
        cell with its link. The template loops over them and escapes every text."""
        kinds = [c.kind for c in self.columns]
        split = max(self.first_number, 1)  # the first cell is the row's header, whatever its kind
        links = self.links or [None] * len(self.rows)
        return [
            {
                "head": _display(row[0], kinds[0]),
                "link": link,
                "texts": [_display(value, kind) for value, kind in zip(row[1:split], kinds[1:split], strict=True)],
                "numbers": [_display(value, kind) for value, kind in zip(row[split:], kinds[split:], strict=True)],
            }
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
        qs = Stage.objects.order_by("process__name", "order", "id")
        if self.f.process_id:
            qs = qs.filter(process_id=self.f.process_id)
        fields = ("id", "process_id", "process__name", "name", "order", "win_probability", "forecast_category")
        return {row[0]: StageInfo(*row) for row in qs.values_list(*fields)}

    def _stages_by_process(self) -> "dict[int, list[StageInfo]]":
        grouped: dict[int, list[StageInfo]] = defaultdict(list)
        for stage in self.stages.values():
            grouped[stage.process_id].append(stage)
        return grouped

    @cached_property
    def quarters(self) -> list[tuple[int, int]]:
        this = quarter_of(self.f.day)
        return [this, next_quarter(*this)]

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
            deals = live_deals(self.f.scope()).annotate(month=MonthStart("expected_close_date"))
            rows = deals.values_list("stage_id", "owner_id", "month").annotate(n=Count("*"), amount=Sum("amount"))
        else:
            deals = _states(self.f).annotate(month=MonthStart("s_close"))
            rows = deals.values_list("s_stage", "s_owner", "month").annotate(n=Count("*"), amount=Sum("s_amount"))
        rows = rows.order_by()
        # The open deals of a process filter are all in that process's stages.
        probability = {pk: Decimal(stage.win_probability) for pk, stage in self.stages.items()}
        category = {pk: stage.forecast_category for pk, stage in self.stages.items()}
        (y1, q1), (y2, q2) = self.quarters
        first, last = quarter_start(y1, q1), quarter_end(y2, q2)
        by_stage, by_owner, by_month = _running_totals(2), _running_totals(2), _running_totals(2)
        forecast = _running_totals(1)
        months: dict = {}  # month → (label, quarter or None): a few dozen months, hundreds of cells
        pipeline = ForecastCategory.PIPELINE.value
        # One row per stage, owner and month, added into each table's totals.
        for stage, owner, month, n, amount in rows:
            if amount is None:
                amount = ZERO
            weighted = amount * probability.get(stage, ZERO)
            labelled = months.get(month)
            if labelled is None:
                day = None if month is None else _as_date(month)
                in_window = day is not None and first <= day <= last
                labelled = months[month] = (_month(day), quarter_of(day) if in_window else None)
            label, quarter = labelled
            for totals in (by_stage[stage], by_owner[owner], by_month[label]):
                totals[0] += n
                totals[1] += amount
                totals[2] += weighted
            if quarter is not None:
                totals = forecast[(quarter, category.get(stage, pipeline), owner)]
                totals[0] += n
                totals[1] += amount
        # Plain dicts from here on: reading a key that is not there must not add it.
        return {"stage": dict(by_stage), "owner": dict(by_owner), "month": dict(by_month), "forecast": dict(forecast)}

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
        won_rows = (
            _closed_between(self.f, ("won",), first, last)
            .values("s_owner")
            .annotate(
                n1=Count("s_opp", filter=Q(s_closed__lt=mid)),
                a1=Sum("s_amount", filter=Q(s_closed__lt=mid)),
                n2=Count("s_opp", filter=Q(s_closed__gte=mid)),
                a2=Sum("s_amount", filter=Q(s_closed__gte=mid)),
            )
            .order_by()
        )
        for r in won_rows:
            for i, yq in enumerate(self.quarters, start=1):
                if r[f"n{i}"]:
                    cells[(yq, "won", r["s_owner"])] = (r[f"n{i}"], r[f"a{i}"] or ZERO)
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
            label = quarter_name(*yq)
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
        rows = (
            Quota.objects.filter(user_id__in=ids)
            .filter(Q(year=y1, quarter=q1) | Q(year=y2, quarter=q2))
            .values_list("user_id", "year", "quarter", "amount")
        )
        return {(user_id, (year, quarter)): amount for user_id, year, quarter, amount in rows}

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
                Column("without_quota", "Sellers without a quota", "int"),
            ],
        )
        owners = {owner for (_, _, owner) in self._forecast_cells} | {user for (user, _) in self.quotas}
        named = sorted(owners, key=lambda pk: self.name_of(pk))
        for who, owner_id in [("Everyone in view", None), *[(self.name_of(pk), pk) for pk in named]]:
            for yq in self.quarters:
                sums = [self._forecast_sum(yq, cat, owner_id)[1] for cat, _ in self.FORECAST_CATEGORIES]
                if owner_id is None:
                    team = self.team_attainment(yq)
                    quota, attained, without = team.quota, team.attainment, team.without_quota
                else:
                    quota = self.quotas.get((owner_id, yq))
                    attained = _pct(sums[0], quota) if quota is not None else None
                    without = None
                table.rows.append([who, quarter_name(*yq), quota, *sums, attained, without])
        return table

    def _sellers(self, yq) -> set[int]:
        """Who sells in quarter `yq`, in view: the reps in view and anyone with a deal won or
        expected to close in it (a manager may carry deals too)."""
        reps = {p.pk for p in self.people_in_view if p.role == Role.REP and p.is_active}
        return reps | {owner for (q, _, owner) in self._forecast_cells if q == yq}

    def team_attainment(self, yq) -> "TeamAttainment":
        """The view's quota and attainment in quarter `yq`, over the people who have a quota for
        it only: dividing everyone's closed won by the quotas that happen to exist turned one
        quota among many sellers into "11068.6 %". Those without one are counted, not hidden."""
        holders = {user for (user, q) in self.quotas if q == yq}
        if not holders:
            return TeamAttainment(None, None, None, len(self._sellers(yq)))
        quota = sum((self.quotas[(user, yq)] for user in holders), ZERO)
        won = sum((self._forecast_sum(yq, "won", user)[1] for user in holders), ZERO)
        return TeamAttainment(quota, won, _pct(won, quota), len(self._sellers(yq) - holders))

    # conversion and time in stage

    def _cohort_live(self) -> list[tuple[int, int, int, int]]:
        """(process, furthest stage order, won, deals) of the cohort, from the deal rows."""
        f = self.f
        lo, hi = start_of_day(f.period_start), min(end_of_day(f.period_end), f.moment)
        # Live, the furthest stage and the outcome are facts on each deal's row: the cohort is
        # the deals in view created in the period, grouped by stage ids and status straight off
        # `opportunity_created_at_idx`; the stages' process and order are looked up here, in
        # the few groups, rather than joined to every deal.
        rows = (
            live_deals(f.scope(ALL_STATUSES))
            .filter(created_at__gte=lo, created_at__lte=hi)
            .values_list("stage_id", "furthest_stage_id", "status")
            .annotate(n=Count("*"))
            .order_by()
        )
        grouped: dict[tuple[int, int, int], int] = defaultdict(int)
        for stage_id, furthest_id, status, n in rows:
            stage = self.stages.get(stage_id)
            furthest = self.stages.get(furthest_id, stage)
            if stage is None or furthest is None:  # a stage outside the process filter: not in view
                continue
            grouped[(stage.process_id, furthest.order, 1 if status == "won" else 0)] += n
        return [(*key, n) for key, n in grouped.items()]

    def _cohort_as_of(self) -> list[tuple[int, int, int, int]]:
        """(process, furthest stage order, won, deals) of the cohort, from the history
        (`sql.cohort_as_of_sql`)."""
        f = self.f
        lo, hi = start_of_day(f.period_start), min(end_of_day(f.period_end), f.moment)
        in_view, params = "", {}
        if not f.sees_everything:
            in_view, params = sql.named(*_in_view_sql(f, "e.opportunity_id"), "in_view")
        params.update(sql.VERB_PARAMS, lo=_db_datetime(lo), hi=_db_datetime(hi), moment=_db_datetime(f.moment))
        return _fetch(sql.cohort_as_of_sql(in_view), params)

    @cached_property
    def conversion(self) -> Table:
        rows = self._cohort_live() if self.f.as_of is None else self._cohort_as_of()
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
        vendor = connection.vendor
        in_view, params = "", {}
        if not f.sees_everything:
            in_view, params = sql.named(*_in_view_sql(f, "x.opportunity_id"), "in_view")
        params.update(sql.VERB_PARAMS, lo=_db_datetime(lo), hi=_db_datetime(hi))
        if vendor == "postgresql":
            params["stage_ids"] = list(self.stages)
        stats: dict[int, tuple[int, float, float]] = {}
        if vendor == "postgresql":
            for stage_id, n, avg, median in _fetch(sql.stage_stays_sql(vendor, in_view), params) if self.stages else []:
                if n:
                    stats[stage_id] = (n, float(avg), float(median))
        else:
            grouped: dict[int, list[float]] = defaultdict(list)
            for stage_id, value in _fetch(sql.stage_stays_sql(vendor, in_view), params):
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
        closed = _closed_between(f, ("won", "lost"), f.period_start, min(f.period_end, f.day))
        totals: dict[int, dict[str, int]] = defaultdict(lambda: {"won": 0, "lost": 0})
        for row in closed.values("s_process", "s_status").annotate(n=Count("s_opp")).order_by():
            totals[row["s_process"]][row["s_status"]] = row["n"]
        # The closed deals' completed milestones, by milestone and the deal's status.
        done: dict[int, dict[str, int]] = defaultdict(lambda: {"won": 0, "lost": 0})
        if f.as_of is None:
            # Every completion is in the past: with no time to check, the database reads
            # (opportunity, milestone) from the unique index alone, joined to each closed deal.
            first, last = f.period_start, min(f.period_end, f.day)
            completions = MilestoneCompletion.objects.filter(
                live_q(f.scope(("won", "lost")), "opportunity"),
                opportunity__closed_on__gte=first,
                opportunity__closed_on__lte=last,
            )
            counts = completions.values_list("milestone_id", "opportunity__status").annotate(n=Count("*")).order_by()
        else:
            closed_sql, params = sql.named(*closed.values("s_opp", "s_status").query.sql_with_params(), "closed")
            params["moment"] = _db_datetime(f.moment)
            counts = _fetch(sql.milestone_completions_as_of_sql(closed_sql), params)
        for milestone_id, status, n in counts:
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
        for m in self._milestones(ticked=list(done)):
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

    def _milestones(self, *, ticked) -> "list[MilestoneInfo]":
        """The milestones of the stages in view, in the stages' order (`stages`): those in force,
        and the retired ones the period's closed deals ticked (their history still counts)."""
        position = {pk: i for i, pk in enumerate(self.stages)}
        rows = (
            Milestone.objects.live(keep=ticked)
            .filter(stage_id__in=position)
            .values_list("id", "stage_id", "name", "is_required", "order")
        )
        milestones = [MilestoneInfo(*row) for row in rows]
        return sorted(milestones, key=lambda m: (position[m.stage_id], m.order, m.pk))

    # flags

    @cached_property
    def _flag_counts(self) -> dict[tuple[str, int], int]:
        if self.f.as_of is None:
            # Live: the flags open now, on the deal rows alone (no join to their stage).
            flags = Flag.objects.open().filter(live_q(self.f.scope(), "opportunity"))
            rows = flags.values_list("kind", "opportunity__owner_id")
        else:
            # As of a moment: the flags open then, by the owner the deal had then.
            moment = self.f.moment
            deals = _states(self.f).filter(
                Q(opportunity__flags__resolved_at__isnull=True) | Q(opportunity__flags__resolved_at__gt=moment),
                opportunity__flags__opened_at__lte=moment,
            )
            rows = deals.values_list("opportunity__flags__kind", "s_owner")
        return {(kind, owner): n for kind, owner, n in rows.annotate(n=Count("*")).order_by()}

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
        team = self.team_attainment(this)
        return {
            "deals": sum(r[3] for r in stage_rows),
            "amount": sum((r[4] for r in stage_rows), ZERO),
            "weighted": sum((r[5] for r in stage_rows), ZERO),
            "quarter": quarter_name(*this),
            "won": won,
            "quota": team.quota,
            "attainment": team.attainment,
            "without_quota": team.without_quota,
        }

    @cached_property
    def summary_text(self) -> dict[str, str]:
        """The summary's numbers as the tiles show them, formatted as the tables' cells are."""
        s = self.summary
        return {
            "deals": _display(s["deals"], "int"),
            "amount": _display(s["amount"], "money"),
            "weighted": _display(s["weighted"], "money"),
            "won": _display(s["won"], "money"),
            "attainment": None if s["attainment"] is None else _display(s["attainment"], "pct"),
            "without_quota": s["without_quota"],
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
                rows = [r for r in rows if r[1] == quarter_name(*self.quarters[0])]
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
    "view who have one. Attainment = closed won ÷ quota, counting only the people with a quota for the quarter; "
    "sellers without a quota are counted apart and left out of the total's attainment.",
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
