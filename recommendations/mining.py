"""What won deals did before leaving each stage that lost deals did not: the counts behind the
recommendations, mined from the closed deals' history.

A deal leaves a stage by an event that names it as `from_stage` (a move on or back, a close).
A step counts for a stage when it happened at or before such an exit: a milestone ticked (its
completion time) or an activity of a kind logged (its `occurred_at`). Each stage's counts are
grouped in the database, three queries for all deals (the deals that left it, the milestones,
the activities), by stage, outcome and the account's industry; the counts over all industries
are their sums (a deal has one account). Held-out deals are looked at deal by deal only by the
back-test (`deal_steps`), three queries too.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, F, QuerySet

from opportunities.models import ActivityKind, EventVerb, OpportunityEvent, OpportunityStatus

EXIT_VERBS = [EventVerb.STAGE_MOVED, EventVerb.CLOSED_WON, EventVerb.CLOSED_LOST]
# What a rep does to move a deal; notes and tasks are bookkeeping, not steps with the buyer.
STEP_ACTIVITY_KINDS = [
    ActivityKind.EMAIL,
    ActivityKind.CALL,
    ActivityKind.MEETING,
    ActivityKind.DEMO,
    ActivityKind.REFERENCE_CALL,
    ActivityKind.CONTENT_SHARED,
]
# An industry gets counts of its own once this many won and this many lost deals left the stage.
SEGMENT_MIN_DEALS = 10
# Below this many won or lost deals at a stage there is no evidence to recommend anything.
MIN_DEALS = 5
# Wilson's interval at 95 %.
Z = 1.96
# ids per query when mining a given set of deals (SQLite's parameter limit, and plan size).
CHUNK = 2000


def milestone_key(milestone_id: int) -> str:
    return f"milestone:{milestone_id}"


def activity_key(kind: str) -> str:
    return f"activity:{kind}"


@dataclass
class Counts:
    """Won and lost deals that left a stage, and those of them that took a step before."""

    won_with: int = 0
    won_total: int = 0
    lost_with: int = 0
    lost_total: int = 0


def _exits(deal_ids: Iterable[int] | None) -> QuerySet:
    """The closed deals' stage exits (of the deals `deal_ids`, if given)."""
    qs = OpportunityEvent.objects.filter(
        verb__in=EXIT_VERBS,
        from_stage__isnull=False,
        opportunity__status__in=[OpportunityStatus.WON, OpportunityStatus.LOST],
    ).order_by()
    if deal_ids is not None:
        qs = qs.filter(opportunity_id__in=list(deal_ids))
    return qs


def _milestones_done(exits: QuerySet) -> QuerySet:
    return exits.filter(opportunity__milestone_completions__completed_at__lte=F("created_at"))


def _activities_done(exits: QuerySet) -> QuerySet:
    return exits.filter(
        opportunity__activities__kind__in=STEP_ACTIVITY_KINDS,
        opportunity__activities__occurred_at__lte=F("created_at"),
    )


def _chunks(deal_ids: Iterable[int] | None):
    if deal_ids is None:
        yield None
        return
    ids = sorted(set(deal_ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def mine(deal_ids: Iterable[int] | None = None) -> dict[tuple[int, str, str], Counts]:
    """{(stage id, segment, step key): Counts} over the closed deals (only `deal_ids`, if given);
    segment "" is every deal, an industry only where SEGMENT_MIN_DEALS won and lost left the stage."""
    group = ("from_stage", "opportunity__status", "opportunity__account__industry")
    totals: dict[tuple[int, str], Counts] = defaultdict(Counts)
    did: dict[tuple[int, str, str], Counts] = defaultdict(Counts)

    def add(counts: Counts, status: str, n: int, *, total: bool) -> None:
        won = status == OpportunityStatus.WON
        field = ("won_" if won else "lost_") + ("total" if total else "with")
        setattr(counts, field, getattr(counts, field) + n)

    for chunk in _chunks(deal_ids):
        exits = _exits(chunk)
        for row in exits.values(*group).annotate(n=Count("opportunity", distinct=True)):
            for segment in ("", row["opportunity__account__industry"]):
                add(totals[row["from_stage"], segment], row["opportunity__status"], row["n"], total=True)
        steps = [
            (_milestones_done(exits), "opportunity__milestone_completions__milestone", milestone_key),
            (_activities_done(exits), "opportunity__activities__kind", activity_key),
        ]
        for done, step_field, key in steps:
            for row in done.values(*group, step_field).annotate(n=Count("opportunity", distinct=True)):
                for segment in ("", row["opportunity__account__industry"]):
                    counts = did[row["from_stage"], segment, key(row[step_field])]
                    add(counts, row["opportunity__status"], row["n"], total=False)

    mined = {}
    for (stage_id, segment, step), counts in did.items():
        total = totals[stage_id, segment]
        if segment and min(total.won_total, total.lost_total) < SEGMENT_MIN_DEALS:
            continue
        counts.won_total, counts.lost_total = total.won_total, total.lost_total
        mined[stage_id, segment, step] = counts
    return mined


@dataclass
class DealSteps:
    """One closed deal's stages left, and the steps it took before leaving each."""

    won: bool
    industry: str
    left: set
    steps: dict  # stage id -> set of step keys


def deal_steps(deal_ids: Iterable[int]) -> dict[int, DealSteps]:
    """{deal id: DealSteps} for the closed deals `deal_ids`: three queries per CHUNK deals."""
    found: dict[int, DealSteps] = {}
    for chunk in _chunks(deal_ids):
        exits = _exits(chunk)
        fields = ("opportunity_id", "from_stage", "opportunity__status", "opportunity__account__industry")
        for row in exits.values(*fields).distinct():
            deal = found.setdefault(
                row["opportunity_id"],
                DealSteps(
                    won=row["opportunity__status"] == OpportunityStatus.WON,
                    industry=row["opportunity__account__industry"],
                    left=set(),
                    steps=defaultdict(set),
                ),
            )
            deal.left.add(row["from_stage"])
        steps = [
            (_milestones_done(exits), "opportunity__milestone_completions__milestone", milestone_key),
            (_activities_done(exits), "opportunity__activities__kind", activity_key),
        ]
        for done, step_field, key in steps:
            for row in done.values("opportunity_id", "from_stage", step_field).distinct():
                found[row["opportunity_id"]].steps[row["from_stage"]].add(key(row[step_field]))
    return found


# --- ranking ------------------------------------------------------------------------------------------


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """The 95 % Wilson score interval of a share: honest about small samples (3 of 3 is not 100 %)."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + Z * Z / trials
    centre = (p + Z * Z / (2 * trials)) / denominator
    spread = Z * math.sqrt(p * (1 - p) / trials + Z * Z / (4 * trials * trials)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def separation(counts: Counts) -> float:
    """How surely won deals took the step more often than lost ones: the lower bound of the won
    share minus the upper bound of the lost share. Positive only when the gap survives the
    sample's uncertainty, so a step a few deals happen to share does not rank."""
    return wilson(counts.won_with, counts.won_total)[0] - wilson(counts.lost_with, counts.lost_total)[1]


def is_thin(counts: Counts) -> bool:
    return min(counts.won_total, counts.lost_total) < MIN_DEALS


def confidence(counts: Counts) -> str:
    """high / medium / low, by the smaller of the won and lost samples."""
    smaller = min(counts.won_total, counts.lost_total)
    if smaller >= 30:
        return "high"
    if smaller >= 12:
        return "medium"
    return "low"
