"""What the win model, the ICP fit and the viability score read about deals, loaded for a whole
set of deals in a fixed number of grouped queries (never one per deal).

A closed deal becomes one training row per stage it reached (its row "at" stage S counts the
milestones of the stages up to S), so an open deal at stage S is compared with the deals that
got to S, won or lost.

Activities are counted relative to the stages, from the deal's stage-change events: for the row
at S, those before the deal entered S and those while it was in S. A closed deal's row at S
counts nothing from after the deal left S (first moved past it, or closed), so a training row
knows only what an open deal at S could have known then.
"""

import bisect
import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.fields.json import KT

from opportunities.models import (
    ActivityKind,
    BuyingTeamMember,
    DealCompetitor,
    EventVerb,
    LeadSource,
    MilestoneCompletion,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
)
from stages.models import BuyingRole, Milestone, Stage

AMOUNT_BANDS = [(10_000, "under 10k"), (50_000, "10k–50k"), (250_000, "50k–250k")]
ACCOUNT_ATTRIBUTES = {"industry": "Industry", "size": "Size", "region": "Region", "revenue": "Revenue"}
CATEGORICAL = ["stage", "process", "industry", "size", "region", "revenue", "amount_band", "source"]
ACTIVITY_KINDS = [k for k in ActivityKind.values if k not in ("note", "task")]
# Each kind's activities before the deal entered the row's stage, and while it was in it.
ACTIVITY_TIMINGS = ("before", "in_stage")
NUMERIC = (
    ["milestone_share", "team_size", "pushes", "competitors", "age"]
    + [f"act_{k}_{when}" for k in ACTIVITY_KINDS for when in ACTIVITY_TIMINGS]
    + [f"role_{r}" for r in BuyingRole.values]
)
SOURCE_UNKNOWN = "unknown"  # a deal's source never recorded
# The events that put a deal into a stage, and those that close it.
ENTRY_VERBS = (EventVerb.CREATED, EventVerb.STAGE_MOVED, EventVerb.REOPENED)
CLOSE_VERBS = (EventVerb.CLOSED_WON, EventVerb.CLOSED_LOST)
# A change of the expected close date; its data holds the deal's pushes so far.
PUSH_VERB = EventVerb.CLOSE_DATE_CHANGED
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
    source: str = ""
    stage_entered_at: dt.datetime | None = None  # when it entered its current stage
    milestones_by_order: dict = field(default_factory=dict)  # stage order → when each was ticked, in time order
    activity_times: dict = field(default_factory=dict)  # kind → when each happened, in time order
    entries: list = field(default_factory=list)  # (moment, stage order) of each way into a stage, in order
    closed_at: dt.datetime | None = None  # its last close, for a closed deal
    # When each was added or happened, for the features of a stage the deal has left.
    members: list = field(default_factory=list)  # (added at, roles) of each buying-team member
    competitors_added: list = field(default_factory=list)  # when each competitor came into play
    push_counts: list = field(default_factory=list)  # (moment, pushes so far) of each close-date change

    @property
    def won(self) -> bool:
        return self.status == OpportunityStatus.WON

    @property
    def roles(self) -> set:
        """The buying roles its team covers now."""
        return {role for _, roles in self.members for role in roles}

    @property
    def competitors(self) -> int:
        """How many competitors are (or were, for a closed deal) in play."""
        return len(self.competitors_added)


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
    """DealFacts of every deal in `queryset`, in seven queries however many deals."""
    rows = queryset.order_by("id").values(
        "id", "owner_id", "name", "status", "process_id", "stage_id", "stage__order", "furthest_stage__order",
        "closed_stage__order", "amount", "expected_close_date", "closed_on", "created_at", "last_activity_at",
        "close_date_push_count", "account__industry", "account__employee_band", "account__region",
        "account__revenue_band", "source", "stage_entered_at",
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
            last_activity_at=r["last_activity_at"], pushes=r["close_date_push_count"], source=r["source"],
            stage_entered_at=r["stage_entered_at"],
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
    # Each tick's moment, not a count: a milestone ticked after the deal left a stage is not
    # known at that stage.
    for opp, order, when in (
        MilestoneCompletion.objects.filter(opportunity__in=ids)
        .values_list("opportunity_id", "milestone__stage__order", "completed_at")
        .order_by("opportunity_id", "completed_at", "id")
    ):
        deals[opp].milestones_by_order.setdefault(order, []).append(when)
    from opportunities.models import Activity

    # Each activity's moment, not a count: where it falls against the stages differs per row.
    for opp, kind, when in (
        Activity.objects.filter(opportunity__in=ids, kind__in=ACTIVITY_KINDS)
        .values_list("opportunity_id", "kind", "occurred_at")
        .order_by("opportunity_id", "occurred_at", "id")
    ):
        deals[opp].activity_times.setdefault(kind, []).append(when)
    for opp, verb, order, when, push_count in (
        OpportunityEvent.objects.filter(opportunity__in=ids, verb__in=(*ENTRY_VERBS, *CLOSE_VERBS, PUSH_VERB))
        .values_list("opportunity_id", "verb", "to_stage__order", "created_at", KT("data__push_count"))
        .order_by("opportunity_id", "created_at", "id")
    ):
        if verb in CLOSE_VERBS:
            deals[opp].closed_at = when
        elif verb == PUSH_VERB:
            deals[opp].push_counts.append((when, int(push_count or 0)))
        elif order is not None:
            deals[opp].entries.append((when, order))
    for opp, roles, added in BuyingTeamMember.objects.filter(opportunity__in=ids).values_list(
        "opportunity_id", "roles", "added_at"
    ):
        deals[opp].members.append((added, roles or []))
    for opp, added in DealCompetitor.objects.filter(opportunity__in=ids).values_list("opportunity_id", "added_at"):
        deals[opp].competitors_added.append(added)
    return list(deals.values())


def stage_window(deal: DealFacts, order: int) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(entered, left): when `deal` first got to the stage of `order` (or past it, when it skipped
    it), and when it first moved past that stage or else closed. None for "not known" (entered:
    no event shows it; it then counts as entered when it left) and for "not yet" (left: open, or
    still in the stage). An open deal's current stage is never left, whatever came before."""
    entered = next((when for when, o in deal.entries if o >= order), None)
    if deal.status == OpportunityStatus.OPEN and order == deal.stage_order:
        return entered or deal.stage_entered_at, None
    left = next((when for when, o in deal.entries if o > order), None) or deal.closed_at
    if left is None and deal.closed_on is not None:  # closed without a close event (old rows)
        left = dt.datetime.combine(deal.closed_on + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return entered or left, left


def activity_counts(deal: DealFacts, order: int) -> dict[str, tuple[int, int]]:
    """{kind: (before, in_stage)}: the deal's activities of each kind before it entered the stage
    of `order`, and while it was in it; none from after it left."""
    entered, left = stage_window(deal, order)
    out = {}
    for kind in ACTIVITY_KINDS:
        times = deal.activity_times.get(kind, [])
        end = len(times) if left is None else bisect.bisect_left(times, left)
        start = end if entered is None else min(end, bisect.bisect_left(times, entered))
        out[kind] = (start, end - start)
    return out


def row_at(deal: DealFacts, stage: Stage, catalogue: Catalogue, *, now: dt.datetime) -> dict:
    """The raw features of `deal` as it stood at `stage`: categorical values and numbers."""
    total = catalogue.milestones_up_to(deal.process_id, stage.order)
    # What it had when it left the stage (or now, in its current one): a closed deal's whole
    # life would tell the model what deals that got further went on to do, which an open deal
    # at this stage cannot know yet. Its age then, its milestones ticked by then, and so on.
    _, left = stage_window(deal, stage.order)
    done = sum(
        len(times) if left is None else bisect.bisect_left(times, left)
        for order, times in deal.milestones_by_order.items()
        if order <= stage.order
    )
    end = left.date() if left is not None else (deal.closed_on or now.date())
    team, competitors, pushes = known_when_left(deal, left)
    row = {
        "stage": str(stage.pk),
        "process": str(deal.process_id),
        **deal.account,
        "amount_band": amount_band(deal.amount),
        "source": deal.source if deal.source in LeadSource.values else SOURCE_UNKNOWN,
        "milestone_share": (done / total) if total else 0.0,
        "team_size": float(len(team)),
        "pushes": float(pushes),
        "competitors": float(competitors),
        "age": math.log1p(max(0, (end - deal.created_at.date()).days)),
    }
    for kind, (before, in_stage) in activity_counts(deal, stage.order).items():
        row[f"act_{kind}_before"] = math.log1p(before)
        row[f"act_{kind}_in_stage"] = math.log1p(in_stage)
    roles = {role for member_roles in team for role in member_roles}
    for role in BuyingRole.values:
        row[f"role_{role}"] = 1.0 if role in roles else 0.0
    return row


def known_when_left(deal: DealFacts, left: dt.datetime | None) -> tuple[list, int, int]:
    """(the buying-team members' roles, the competitors in play, the close-date pushes) of
    `deal` as they stood when it left a stage at `left`: what came later is information an open
    deal at that stage does not have yet. With `left` None (its current stage), as they stand."""
    if left is None:
        return [roles for _, roles in deal.members], deal.competitors, deal.pushes
    team = [roles for added, roles in deal.members if added < left]
    competitors = sum(1 for added in deal.competitors_added if added < left)
    pushes = next((count for when, count in reversed(deal.push_counts) if when < left), 0)
    return team, competitors, pushes


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
