"""Win/loss analysis over the closed deals a user may read.

Every figure is a count of deals won and lost in one group (a reason, a competitor, an industry,
…), computed by one grouped query per breakdown, and each one names the filter (`dimension`,
`value`, `outcome`) that lists the deals behind it (`deals_behind`). Nothing is cached: closed
deals change rarely, but a reopen must show at once.
"""

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.db.models import Avg, Count, DateField, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.db.models.functions import Cast, ExtractQuarter, ExtractYear

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


def closed_deals(user, filters: dict):
    """The closed deals `user` may read that the filters select (404-worthy ids are simply
    nothing: a team or rep outside the user's view gives no deals)."""
    deals = Opportunity.objects.for_user(user).closed()
    deals = deals.filter(closed_on__gte=filters["start"], closed_on__lte=filters["end"])
    if filters.get("process"):
        deals = deals.filter(process_id=filters["process"])
    if filters.get("team"):
        deals = deals.filter(owner__team_id=filters["team"])
    if filters.get("rep"):
        deals = deals.filter(owner_id=filters["rep"])
    return deals


def _current_review(field: str) -> Subquery:
    return Subquery(Review.objects.filter(opportunity=OuterRef("pk"), is_current=True).values(field)[:1])


@dataclass(frozen=True)
class Dimension:
    """One breakdown: its name in links, its heading, how to group the deals by it, and how to
    select the deals of one of its values."""

    name: str
    label: str
    field: str  # the grouped expression, annotated as `key`

    def annotate(self, deals):
        if self.name == "reason":
            return deals.annotate(key=_current_review("primary_reason_id"))
        if self.name == "decisive_milestone":
            return deals.annotate(key=_current_review("decisive_milestone_id"))
        if self.name == "quarter":
            return deals.annotate(key_year=ExtractYear("closed_on"), key_quarter=ExtractQuarter("closed_on"))
        return deals.annotate(key=F(self.field))

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
        annotated = self.annotate(deals)
        text = self.name in ("industry", "region", "size")
        if value == NONE:
            return annotated.filter(Q(key__isnull=True) | Q(key="")) if text else annotated.filter(key__isnull=True)
        return annotated.filter(key=value if text else _int(value))


def _int(value: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**31 else -1


DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("reason", "Reason (from the post-mortem)", ""),
        Dimension("competitor", "Competitor in play", "competitors__competitor_id"),
        Dimension("industry", "Industry", "account__industry"),
        Dimension("size", "Company size", "account__employee_band"),
        Dimension("region", "Region", "account__region"),
        Dimension("process", "Sales process", "process_id"),
        Dimension("owner", "Owner", "owner_id"),
        Dimension("quarter", "Quarter closed", ""),
    )
}
# Not a breakdown table of its own, but their figures link to deals too.
EXTRA_DIMENSIONS = {
    "decisive_milestone": Dimension("decisive_milestone", "Decisive milestone", ""),
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


WON, LOST = Count("pk", filter=Q(status=OpportunityStatus.WON)), Count("pk", filter=Q(status=OpportunityStatus.LOST))


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


def breakdown(deals, dimension: Dimension) -> list[dict]:
    """Won and lost counts and the win rate per value of `dimension`, biggest groups first."""
    if dimension.name == "quarter":
        rows = (
            dimension.annotate(deals)
            .values("key_year", "key_quarter")
            .annotate(won=WON, lost=LOST)
            .order_by("key_year", "key_quarter")
        )
        return [
            _row(
                "quarter",
                f"{r['key_year']}-Q{r['key_quarter']}",
                f"{r['key_year']}-Q{r['key_quarter']}",
                r["won"],
                r["lost"],
            )
            for r in rows
        ]
    rows = list(dimension.annotate(deals).values("key").annotate(won=WON, lost=LOST).order_by())
    labels = _labels(dimension.name, [r["key"] for r in rows])
    if dimension.name == "competitor":
        rows = [r for r in rows if r["key"] is not None]  # deals with no competitor are not a competitor
    empty = {"reason": "Not reviewed yet", "competitor": "None"}.get(dimension.name, "Not set")
    result = [
        _row(
            dimension.name,
            r["key"],
            labels.get(r["key"], empty) if r["key"] not in (None, "") else empty,
            r["won"],
            r["lost"],
        )
        for r in rows
    ]
    return sorted(result, key=lambda r: (-r["total"], r["label"]))


def cycle_lengths(deals) -> dict:
    """Average days from creation to close, won and lost."""
    days = ExpressionWrapper(F("closed_on") - Cast("created_at", DateField()), output_field=DurationField())
    rows = deals.annotate(cycle=days).values("status").annotate(avg=Avg("cycle"), n=Count("pk")).order_by()
    result = {OpportunityStatus.WON: None, OpportunityStatus.LOST: None}
    for row in rows:
        avg = row["avg"]
        if isinstance(avg, dt.timedelta):
            result[row["status"]] = round(avg.total_seconds() / 86400, 1)
        elif avg is not None:  # some backends give microseconds
            result[row["status"]] = round(float(avg) / 86_400_000_000, 1)
    return {"won": result[OpportunityStatus.WON], "lost": result[OpportunityStatus.LOST]}


def decisive_milestones(deals, limit: int = 10) -> list[dict]:
    return [r for r in breakdown(deals, EXTRA_DIMENSIONS["decisive_milestone"]) if r["value"] != NONE][:limit]


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


def analysis(user, filters: dict) -> dict:
    deals = closed_deals(user, filters)
    totals = deals.aggregate(won=WON, lost=LOST)
    return {
        "overall": _row("", "", "All closed deals", totals["won"], totals["lost"]),
        "breakdowns": [{"dimension": d, "rows": breakdown(deals, d)} for d in DIMENSIONS.values()],
        "cycle": cycle_lengths(deals),
        "decisive": decisive_milestones(deals),
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
