"""Win/loss analysis over the closed deals a user may read.

Every figure is a count of deals won and lost in one group (a reason, a competitor, an industry,
…), and each one names the filter (`dimension`, `value`, `outcome`) that lists the deals behind it
(`deals_behind`). The breakdowns read from the same rows are counted by one grouped query
(`PASSES`) and summed per breakdown in Python. Nothing is cached: closed deals change rarely, but a
reopen must show at once.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django import forms
from django.db.models import Count, DateField, F, FilteredRelation, Func, IntegerField, Q, Sum
from django.db.models.functions import Cast, TruncQuarter

from opportunities.models import (
    Competitor,
    DealCompetitor,
    EmployeeBand,
    Opportunity,
    OpportunityStatus,
)
from people.models import Team, User
from stages.cleaning import IdField
from stages.models import Milestone, SalesProcess, Stage

from .models import Reason, Review

EARLIEST = dt.date(2000, 1, 1)
DEFAULT_DAYS = 365
NONE = "none"  # the value of "no reason / no industry / …" in links


class WinLossFilterForm(forms.Form):
    """The filters, like the dashboard's: when the deals closed, the process, a team, a rep. A
    value that fails to validate falls back to its default, so the page always renders (the
    error is shown beside the filter)."""

    start = forms.DateField(
        label="Closed from", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    process = forms.TypedChoiceField(label="Process", coerce=int, required=False, empty_value=None)
    team = IdField(required=False)
    rep = IdField(required=False)

    def __init__(self, data=None, *, today: dt.date):
        super().__init__(data)
        self.today = today
        self.fields["process"].choices = [("", "All processes"), *SalesProcess.objects.values_list("pk", "name")]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is not None and start < EARLIEST:
            self.add_error("start", f"“Closed from” cannot be before {EARLIEST:%Y-%m-%d}.")
        elif start and end and start > end:
            self.add_error("end", "“To” must be on or after “Closed from”.")
        return data

    def usable(self) -> dict:
        values = {"start": self.today - dt.timedelta(days=DEFAULT_DAYS), "end": self.today, "process": None}
        values |= {"team": None, "rep": None}
        if self.is_bound:
            self.is_valid()
            for name, value in self.cleaned_data.items():
                if value not in (None, "") and name not in self.errors:
                    values[name] = value
        if values["start"] > values["end"]:
            values["start"], values["end"] = self.today - dt.timedelta(days=DEFAULT_DAYS), self.today
        return values


def _filtered(rows, filters: dict, prefix: str = ""):
    """`rows` whose deal closed in the filters' period, in their process, team and rep: the deals
    themselves, or (`prefix="deal_"`) rows that carry their deal's filing (`Opportunity.filing`)."""
    rows = rows.filter(**{f"{prefix}closed_on__gte": filters["start"], f"{prefix}closed_on__lte": filters["end"]})
    if filters.get("process"):
        rows = rows.filter(**{f"{prefix}process_id": filters["process"]})
    if filters.get("team"):
        rows = rows.filter(**{f"{prefix}owner__team_id": filters["team"]})
    if filters.get("rep"):
        rows = rows.filter(**{f"{prefix}owner_id": filters["rep"]})
    return rows


def closed_deals(user, filters: dict):
    """The closed deals `user` may read that the filters select (404-worthy ids are simply
    nothing: a team or rep outside the user's view gives no deals)."""
    return _filtered(Opportunity.objects.for_user(user).closed(), filters)


def closed_deals_reviews(user, filters: dict):
    """The current reviews of `closed_deals(user, filters)`, selected by the filing they carry:
    counted without joining the deals (bench/README.md)."""
    return _filtered(Review.objects.of_closed_deals().of_deals_for(user), filters, "deal_")


def closed_deals_competitors(user, filters: dict):
    """The competitors in play on `closed_deals(user, filters)`, as `closed_deals_reviews`."""
    return _filtered(DealCompetitor.objects.of_closed_deals().of_deals_for(user), filters, "deal_")


def _with_current_review(deals):
    """`deals` joined to their current review, if any, as `current_review` (a deal has at most one,
    `one_current_review_per_deal`): to list the deals behind a reason's or a decisive milestone's
    figure."""
    return deals.annotate(current_review=FilteredRelation("reviews", condition=Q(reviews__is_current=True)))


@dataclass(frozen=True)
class Dimension:
    """One breakdown: its name in links, its heading, how to group the deals by it, and how to
    select the deals of one of its values."""

    name: str
    label: str
    field: str  # the deal's column, or the related one (but the quarter is computed)
    # The column its pass counts, on the rows the pass reads (`PASSES`), if not `field`.
    counted: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}_key"

    def keys(self) -> dict:
        """The expressions its pass groups by for this breakdown, by annotation name."""
        if self.name == "quarter":
            # The quarter's first day: one truncation per deal, where a year and a quarter
            # extracted apart are two (and PostgreSQL's EXTRACT computes in numeric).
            return {self.key: TruncQuarter("closed_on")}
        return {self.key: F(self.counted or self.field)}

    def key_of(self, row: dict):
        """This breakdown's group in a row grouped by (at least) its `keys()`."""
        if self.name == "quarter":
            first_day = row[self.key]
            return (first_day.year, (first_day.month - 1) // 3 + 1)
        return row[self.key]

    def select(self, deals, value: str):
        """The deals whose group is `value` (as written in a link)."""
        if self.name == "quarter":
            try:
                year, quarter = (int(part) for part in value.upper().split("-Q"))
            except ValueError:
                return deals.none()
            return deals.filter(closed_on__year=year, closed_on__quarter=quarter)
        if self.name == "competitor":
            if value == NONE:
                return deals.filter(~Q(pk__in=DealCompetitor.objects.values("opportunity_id")))
            return deals.filter(
                pk__in=DealCompetitor.objects.filter(competitor_id=_int(value)).values("opportunity_id")
            )
        if self.field.startswith("current_review__"):
            deals = _with_current_review(deals)
        annotated, key = deals.annotate(**{self.key: F(self.field)}), self.key
        text = self.name in ("industry", "region", "size")
        if value == NONE:
            missing = Q(**{f"{key}__isnull": True})
            return annotated.filter(missing | Q(**{key: ""}) if text else missing)
        return annotated.filter(**{key: value if text else _int(value)})


def _int(value: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**31 else -1


DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("reason", "Reason (from the post-mortem)", "current_review__primary_reason_id", "primary_reason_id"),
        Dimension("competitor", "Competitor in play", "competitors__competitor_id", "competitor_id"),
        # The account's segment as it was when the deal closed, kept on the deal's row
        # (`Opportunity.remember_closing_segment`): no join to the accounts (bench/README.md).
        Dimension("industry", "Industry", "closed_industry"),
        Dimension("size", "Company size", "closed_employee_band"),
        Dimension("region", "Region", "closed_region"),
        Dimension("process", "Sales process", "process_id"),
        Dimension("owner", "Owner", "owner_id"),
        Dimension("quarter", "Quarter closed", ""),
    )
}
# Not a breakdown table of its own, but their figures link to deals too.
EXTRA_DIMENSIONS = {
    "decisive_milestone": Dimension(
        "decisive_milestone", "Decisive milestone", "current_review__decisive_milestone_id", "decisive_milestone_id"
    ),
    "lost_stage": Dimension("lost_stage", "Stage lost in", "closed_stage_id"),
    "lost_to": Dimension("lost_to", "Lost to", "lost_to_id"),
}
ALL_DIMENSIONS = DIMENSIONS | EXTRA_DIMENSIONS


def _labels(name: str, keys) -> dict:
    keys = [k for k in keys if k not in (None, "")]
    if name == "reason":
        return dict(Reason.objects.filter(pk__in=keys).values_list("pk", "name"))
    if name in ("competitor", "lost_to"):
        return dict(Competitor.objects.filter(pk__in=keys).values_list("pk", "name"))
    if name == "process":
        return dict(SalesProcess.objects.filter(pk__in=keys).values_list("pk", "name"))
    if name == "owner":
        return {u.pk: str(u) for u in User.objects.filter(pk__in=keys)}
    if name == "size":
        return dict(EmployeeBand.choices)
    if name == "decisive_milestone":
        return {
            m.pk: f"{m.stage.name}: {m.name}" for m in Milestone.objects.filter(pk__in=keys).select_related("stage")
        }
    if name == "lost_stage":
        return dict(Stage.objects.filter(pk__in=keys).values_list("pk", "name"))
    return {k: k for k in keys}


def _won_lost(status: str) -> dict:
    """Counts of the rows whose `status` column says won, and lost: of that column, which the
    covering indexes carry (their rows' ids they do not all carry)."""
    return {
        "won": Count(status, filter=Q(**{status: OpportunityStatus.WON})),
        "lost": Count(status, filter=Q(**{status: OpportunityStatus.LOST})),
    }


class DaysBetween(Func):
    """Whole days from the date `start` to the date `end`, an integer. Django's own subtraction of
    dates gives an interval on PostgreSQL, which is dearer to sum over every closed deal."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "CAST(julianday(%(expressions)s) AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


_CYCLE = DaysBetween("closed_on", Cast("created_at", DateField()))
# Days from creation to close, summed per group by the pass over the deal's own columns: the
# cycle lengths then cost no scan of their own (bench/README.md).
CYCLE_DAYS = {
    "won_days": Sum(_CYCLE, filter=Q(status=OpportunityStatus.WON)),
    "lost_days": Sum(_CYCLE, filter=Q(status=OpportunityStatus.LOST)),
}


def _row(dimension: str, key, label: str, won: int, lost: int) -> dict:
    total = won + lost
    return {
        "dimension": dimension,
        "value": NONE if key in (None, "") else str(key),
        "label": label,
        "won": won,
        "lost": lost,
        "total": total,
        "win_rate": round(100 * won / total, 1) if total else None,
    }


def counts(rows, dimensions: list[Dimension], *, status: str = "status", **aggregates) -> list[dict]:
    """Won and lost `rows` (and any other `aggregates`) per combination of the groups of
    `dimensions`, in one query; `status` is the column that says won or lost."""
    keys = {name: expression for d in dimensions for name, expression in d.keys().items()}
    return list(rows.values(**keys).annotate(**_won_lost(status), **aggregates).order_by())


def _not_reviewed(reviewed: list[dict], won: int, lost: int) -> dict:
    """The row of the deals with no current review, grouped as those whose review names no
    reason yet: all the closed deals (`won`, `lost`) but those `reviewed` counts."""
    return {
        "reason_key": None,
        "decisive_milestone_key": None,
        "won": won - sum(r["won"] for r in reviewed),
        "lost": lost - sum(r["lost"] for r in reviewed),
    }


def breakdown(rows: list[dict], dimension: Dimension) -> list[dict]:
    """Won and lost counts and the win rate per value of `dimension`, biggest groups first (the
    quarters in order), summed from `counts()` rows grouped by it, maybe among others."""
    totals = defaultdict(lambda: [0, 0])
    for row in rows:
        total = totals[dimension.key_of(row)]
        total[0] += row["won"]
        total[1] += row["lost"]
    if dimension.name == "quarter":
        return [_row("quarter", f"{y}-Q{q}", f"{y}-Q{q}", won, lost) for (y, q), (won, lost) in sorted(totals.items())]
    labels = _labels(dimension.name, list(totals))
    if dimension.name == "competitor":
        totals.pop(None, None)  # deals with no competitor are not a competitor
    empty = {"reason": "Not reviewed yet", "competitor": "None"}.get(dimension.name, "Not set")
    result = [
        _row(dimension.name, key, labels.get(key, empty) if key not in (None, "") else empty, won, lost)
        for key, (won, lost) in totals.items()
    ]
    return sorted(result, key=lambda r: (-r["total"], r["label"]))


def cycle_lengths(rows: list[dict]) -> dict:
    """Average days from creation to close, won and lost, from `counts()` rows with CYCLE_DAYS."""
    result = {}
    for outcome in ("won", "lost"):
        deals = sum(row[outcome] for row in rows)
        days = sum(row[f"{outcome}_days"] or 0 for row in rows)
        result[outcome] = round(days / deals, 1) if deals else None
    return result


def decisive_milestones(rows: list[dict], limit: int = 10) -> list[dict]:
    """The milestones most often decisive, from `counts()` rows grouped by them."""
    return [r for r in breakdown(rows, EXTRA_DIMENSIONS["decisive_milestone"]) if r["value"] != NONE][:limit]


def lost_to_by_stage(deals) -> list[dict]:
    """Lost deals that went to a competitor, by the stage they were lost in and the competitor."""
    rows = list(
        deals.filter(status=OpportunityStatus.LOST, lost_to__isnull=False)
        .values("closed_stage_id", "closed_stage__name", "closed_stage__order", "lost_to_id", "lost_to__name")
        .annotate(n=Count("pk"))
        .order_by("closed_stage__order", "closed_stage__name", "-n", "lost_to__name")
    )
    return [
        {
            "stage": r["closed_stage__name"],
            "stage_id": r["closed_stage_id"],
            "competitor": r["lost_to__name"],
            "competitor_id": r["lost_to_id"],
            "count": r["n"],
        }
        for r in rows
    ]


@dataclass(frozen=True)
class Pass:
    """Breakdowns counted together by one grouped query: the rows it reads (`rows(user,
    filters)`), the column of those rows that says won or lost, and any other aggregates."""

    rows: object
    status: str
    names: tuple[str, ...]
    aggregates: tuple = ()


# The closed deals, for their own columns (and the cycle lengths, at no scan of their own) and for
# the segment they closed in (also on their rows); their current reviews, and their competitors in
# play, which carry their deal's filing, so that neither joins the deals (bench/README.md). Each
# pass's groups (combinations of the values) stay few: hundreds at 100,000 deals.
PASSES = (
    Pass(closed_deals, "status", ("process", "owner", "quarter"), tuple(CYCLE_DAYS.items())),
    Pass(closed_deals, "status", ("industry", "size", "region")),
    Pass(closed_deals_reviews, "deal_status", ("reason", "decisive_milestone")),
    Pass(closed_deals_competitors, "deal_status", ("competitor",)),
)


def analysis(user, filters: dict) -> dict:
    rows = {}
    for p in PASSES:
        dimensions = [ALL_DIMENSIONS[name] for name in p.names]
        grouped = counts(p.rows(user, filters), dimensions, status=p.status, **dict(p.aggregates))
        rows |= dict.fromkeys(p.names, grouped)
    # Every closed deal is in exactly one row of a pass over the deal's own columns.
    won, lost = sum(r["won"] for r in rows["owner"]), sum(r["lost"] for r in rows["owner"])
    rows["reason"].append(_not_reviewed(rows["reason"], won, lost))
    deals = closed_deals(user, filters)
    return {
        "overall": _row("", "", "All closed deals", won, lost),
        "breakdowns": [{"dimension": d, "rows": breakdown(rows[d.name], d)} for d in DIMENSIONS.values()],
        "cycle": cycle_lengths(rows["owner"]),
        "decisive": decisive_milestones(rows["decisive_milestone"]),
        "lost_to_by_stage": lost_to_by_stage(deals),
    }


def deals_behind(user, filters: dict, *, selections: dict, outcome: str | None):
    """The deals behind one figure of the analysis: `selections` maps dimension names to the
    value of each (several: "lost in Propose to Rival")."""
    deals = closed_deals(user, filters)
    for dimension, value in selections.items():
        if dimension in ALL_DIMENSIONS and value:
            deals = ALL_DIMENSIONS[dimension].select(deals, value[:100])
    if outcome in (OpportunityStatus.WON, OpportunityStatus.LOST):
        deals = deals.filter(status=outcome)
    return deals


def teams_for(user):
    if user.is_admin:
        return Team.objects.all()
    return Team.objects.filter(Q(pk__in=user.managed_team_ids()) | Q(pk=user.team_id))
