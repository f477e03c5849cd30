"""What the win model, the ICP fit and the viability score read about deals, loaded for a whole
set of deals in a fixed number of grouped queries (never one per deal).

A closed deal becomes one training row per stage it reached (its row "at" stage S counts the
milestones of the stages up to S), so an open deal at stage S is compared with the deals that
got to S, won or lost.
"""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q

from opportunities.models import (
    ActivityKind,
    BuyingTeamMember,
    DealCompetitor,
    MilestoneCompletion,
    Opportunity,
    OpportunityStatus,
)
from stages.models import BuyingRole, Milestone, Stage

AMOUNT_BANDS = [(10_000, "under 10k"), (50_000, "10k–50k"), (250_000, "50k–250k")]
ACCOUNT_ATTRIBUTES = {"industry": "Industry", "size": "Size", "region": "Region", "revenue": "Revenue"}
CATEGORICAL = ["stage", "process", "industry", "size", "region", "revenue", "amount_band"]
ACTIVITY_KINDS = [k for k in ActivityKind.values if k not in ("note", "task")]
NUMERIC = (
    ["milestone_share", "team_size", "pushes", "competitors", "age"]
    + [f"act_{k}" for k in ACTIVITY_KINDS]
    + [f"role_{r}" for r in BuyingRole.values]
)
# The attributes of a deal's account (and its size of deal) that ICP fit compares.
ICP_ATTRIBUTES = ["industry", "size", "region", "revenue", "amount_band", "process"]


def amount_band(amount) -> str:
    for limit, label in AMOUNT_BANDS:
        if amount < limit:
            return label
    return "250k and over"


@dataclass
class DealFacts:
    """Everything the signals read about one deal, from the grouped queries."""

    id: int
    owner_id: int
    name: str
    status: str
    process_id: int
    stage_id: int
    stage_order: int
    reached_order: int
    amount: float
    close_date: dt.date
    closed_on: dt.date | None
    created_at: dt.datetime
    last_activity_at: dt.datetime | None
    pushes: int
    account: dict
    milestones_by_order: dict = field(default_factory=dict)  # stage order → completions
    activities: dict = field(default_factory=dict)  # kind → count
    roles: set = field(default_factory=set)
    team_size: int = 0
    competitors: int = 0

    @property
    def won(self) -> bool:
        return self.status == OpportunityStatus.WON


class Catalogue:
    """The processes' stages (order, name, default probability) and milestone counts."""

    def __init__(self):
        self.stages = {s.pk: s for s in Stage.objects.order_by("process_id", "order", "id")}
        self.by_process: dict[int, list[Stage]] = defaultdict(list)
        for stage in self.stages.values():
            self.by_process[stage.process_id].append(stage)
        counts = Milestone.objects.values_list("stage__process_id", "stage__order").annotate(n=Count("id"))
        self.milestones: dict[tuple[int, int], int] = {(p, o): n for p, o, n in counts}

    def stages_up_to(self, process_id: int, order: int) -> list[Stage]:
        return [s for s in self.by_process.get(process_id, []) if s.order <= order]

    def milestones_up_to(self, process_id: int, order: int) -> int:
        return sum(n for (p, o), n in self.milestones.items() if p == process_id and o <= order)

    def default_probability(self, stage_id: int) -> float:
        return self.stages[stage_id].win_probability / 100


def load_deals(queryset) -> list[DealFacts]:
    """DealFacts of every deal in `queryset`, in six queries however many deals."""
    rows = queryset.order_by("id").values(
        "id", "owner_id", "name", "status", "process_id", "stage_id", "stage__order", "furthest_stage__order",
        "closed_stage__order", "amount", "expected_close_date", "closed_on", "created_at", "last_activity_at",
        "close_date_push_count", "account__industry", "account__employee_band", "account__region",
        "account__revenue_band",
    )  # fmt: skip
    deals = {}
    for r in rows:
        reached = max(
            o for o in (r["stage__order"], r["furthest_stage__order"], r["closed_stage__order"]) if o is not None
        )
        deals[r["id"]] = DealFacts(
            id=r["id"], owner_id=r["owner_id"], name=r["name"], status=r["status"], process_id=r["process_id"],
            stage_id=r["stage_id"], stage_order=r["stage__order"], reached_order=reached, amount=float(r["amount"]),
            close_date=r["expected_close_date"], closed_on=r["closed_on"], created_at=r["created_at"],
            last_activity_at=r["last_activity_at"], pushes=r["close_date_push_count"],
            account={
                "industry": r["account__industry"] or "unknown",
                "size": r["account__employee_band"] or "unknown",
                "region": r["account__region"] or "unknown",
                "revenue": r["account__revenue_band"] or "unknown",
            },
        )  # fmt: skip
    if not deals:
        return []
    ids = queryset.values("pk")
    for opp, order, n in (
        MilestoneCompletion.objects.filter(opportunity__in=ids)
        .values_list("opportunity_id", "milestone__stage__order")
        .annotate(n=Count("id"))
        .order_by()
    ):
        deals[opp].milestones_by_order[order] = n
    from opportunities.models import Activity

    for opp, kind, n in (
        Activity.objects.filter(opportunity__in=ids)
        .values_list("opportunity_id", "kind")
        .annotate(n=Count("id"))
        .order_by()
    ):
        deals[opp].activities[kind] = n
    for opp, roles in BuyingTeamMember.objects.filter(opportunity__in=ids).values_list("opportunity_id", "roles"):
        deals[opp].team_size += 1
        deals[opp].roles.update(roles or [])
    for opp, n in (
        DealCompetitor.objects.filter(opportunity__in=ids)
        .values_list("opportunity_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        deals[opp].competitors = n
    return list(deals.values())


def row_at(deal: DealFacts, stage: Stage, catalogue: Catalogue, *, now: dt.datetime) -> dict:
    """The raw features of `deal` as it stood at `stage`: categorical values and numbers."""
    done = sum(n for o, n in deal.milestones_by_order.items() if o <= stage.order)
    total = catalogue.milestones_up_to(deal.process_id, stage.order)
    end = deal.closed_on or now.date()
    row = {
        "stage": str(stage.pk),
        "process": str(deal.process_id),
        **deal.account,
        "amount_band": amount_band(deal.amount),
        "milestone_share": (done / total) if total else 0.0,
        "team_size": float(deal.team_size),
        "pushes": float(deal.pushes),
        "competitors": float(deal.competitors),
        "age": math.log1p(max(0, (end - deal.created_at.date()).days)),
    }
    for kind in ACTIVITY_KINDS:
        row[f"act_{kind}"] = math.log1p(deal.activities.get(kind, 0))
    for role in BuyingRole.values:
        row[f"role_{role}"] = 1.0 if role in deal.roles else 0.0
    return row


def training_rows(deals: list[DealFacts], catalogue: Catalogue, *, now) -> tuple[list[dict], list[int], list[int]]:
    """(rows, labels, deal ids): each closed deal once per stage of its process it reached."""
    rows, labels, owners = [], [], []
    for deal in deals:
        if deal.status == OpportunityStatus.OPEN:
            continue
        for stage in catalogue.stages_up_to(deal.process_id, deal.reached_order):
            rows.append(row_at(deal, stage, catalogue, now=now))
            labels.append(1 if deal.won else 0)
            owners.append(deal.id)
    return rows, labels, owners


def closed_deals():
    return Opportunity.objects.filter(Q(status=OpportunityStatus.WON) | Q(status=OpportunityStatus.LOST))
