"""Closed deals with a known history, written as rows (no services): the stage exits, milestone
ticks and activities the mining reads, so that tests can count the same things in Python."""

import datetime as dt
import random
from dataclasses import dataclass, field

from opportunities.models import (
    Activity,
    ActivityKind,
    EventVerb,
    MilestoneCompletion,
    OpportunityEvent,
    OpportunityStatus,
)
from tests.factories import AccountFactory, OpportunityFactory

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@dataclass
class Planned:
    """One closed deal as the test planned it."""

    won: bool
    industry: str
    exits: dict  # stage -> when it left
    ticks: dict = field(default_factory=dict)  # milestone -> when ticked
    activities: list = field(default_factory=list)  # (kind, when)
    deal: object = None


def closed_deal(plan: Planned, *, owner, process) -> Planned:
    stages = list(process.stages.order_by("order"))
    last_exit = max(plan.exits.values())
    account = AccountFactory(owner=owner, industry=plan.industry)
    status = OpportunityStatus.WON if plan.won else OpportunityStatus.LOST
    left = [s for s in stages if s in plan.exits]
    closing_stage = left[-1]
    deal = OpportunityFactory(
        owner=owner,
        account=account,
        process=process,
        stage=closing_stage,
        status=status,
        closed_on=last_exit.date(),
        closed_stage=closing_stage,
        created_at=START,
    )
    for stage in left:
        closing = stage == closing_stage
        verb = (EventVerb.CLOSED_WON if plan.won else EventVerb.CLOSED_LOST) if closing else EventVerb.STAGE_MOVED
        OpportunityEvent.objects.create(
            opportunity=deal, actor=owner, verb=verb, from_stage=stage, created_at=plan.exits[stage]
        )
    for milestone, when in plan.ticks.items():
        MilestoneCompletion.objects.create(opportunity=deal, milestone=milestone, completed_by=owner, completed_at=when)
    for kind, when in plan.activities:
        Activity.objects.create(
            account=account, opportunity=deal, kind=kind, subject=kind, occurred_at=when, created_by=owner
        )
    plan.deal = deal
    return plan


def random_history(*, owner, process, deals: int = 40, seed: int = 7) -> list[Planned]:
    """`deals` closed deals with random exits, ticks (some after the exit) and activities."""
    rng = random.Random(seed)
    stages = list(process.stages.order_by("order"))
    milestones = [m for s in stages for m in s.milestones.all()]
    kinds = [ActivityKind.DEMO, ActivityKind.REFERENCE_CALL, ActivityKind.EMAIL, ActivityKind.NOTE]
    plans = []
    for i in range(deals):
        won = rng.random() < 0.5
        reached = rng.randint(1, len(stages))
        when = START + dt.timedelta(days=i)
        exits = {}
        for stage in stages[:reached]:
            when += dt.timedelta(days=rng.randint(2, 9))
            exits[stage] = when
        span = (when - START).days + 10
        ticks = {m: START + dt.timedelta(days=rng.randint(0, span)) for m in milestones if rng.random() < 0.5}
        activities = [(rng.choice(kinds), START + dt.timedelta(days=rng.randint(0, span))) for _ in range(4)]
        plan = Planned(
            won=won, industry=rng.choice(["Retail", "Banking"]), exits=exits, ticks=ticks, activities=activities
        )
        plans.append(closed_deal(plan, owner=owner, process=process))
    return plans


def planted_history(*, owner, process, won: int = 12, lost: int = 12, start: int = 0) -> list[Planned]:
    """Won deals held a reference call before leaving the second stage, lost deals did not;
    every deal held a demo (noise that separates nothing)."""
    first, second = list(process.stages.order_by("order"))[:2]
    plans = []
    for i in range(won + lost):
        is_won = i < won
        base = START + dt.timedelta(days=start + i)
        exits = {first: base + dt.timedelta(days=3), second: base + dt.timedelta(days=10)}
        activities = [(ActivityKind.DEMO, base + dt.timedelta(days=1))]
        if is_won:
            activities.append((ActivityKind.REFERENCE_CALL, base + dt.timedelta(days=6)))
        plan = Planned(won=is_won, industry="Retail", exits=exits, activities=activities)
        plans.append(closed_deal(plan, owner=owner, process=process))
    return plans


def expected_counts(plans: list[Planned]) -> dict:
    """The counts of `mining.mine()` computed directly from the plans (segment "" only)."""
    from recommendations.mining import STEP_ACTIVITY_KINDS, activity_key, milestone_key

    totals: dict = {}
    did: dict = {}
    for plan in plans:
        for stage, left in plan.exits.items():
            won_total, lost_total = totals.get(stage.pk, (0, 0))
            totals[stage.pk] = (won_total + plan.won, lost_total + (not plan.won))
            steps = {milestone_key(m.pk) for m, t in plan.ticks.items() if t <= left}
            steps |= {activity_key(k) for k, t in plan.activities if t <= left and k in STEP_ACTIVITY_KINDS}
            for step in steps:
                won_with, lost_with = did.get((stage.pk, step), (0, 0))
                did[stage.pk, step] = (won_with + plan.won, lost_with + (not plan.won))
    return {
        (stage_id, "", step): (won_with, totals[stage_id][0], lost_with, totals[stage_id][1])
        for (stage_id, step), (won_with, lost_with) in did.items()
    }


def recommendation_world(*, owner, now, won: int = 12, lost: int = 12):
    """A process "Guided" (Qualify → Discover → Propose, optional milestones), a planted history
    of closed deals, the stats refreshed, and an open deal of `owner` in Discover (a Retail
    account) on which a reference call is recommended. Returns (process, deal)."""
    from opportunities import services as deal_services
    from recommendations.services import stats_refresh
    from tests.factories import make_process

    process = make_process(stages=3, milestones=1, required=False, name="Guided")
    planted_history(owner=owner, process=process, won=won, lost=lost)
    stats_refresh(now=now)
    account = AccountFactory(owner=owner, industry="Retail", name="Guided Retail Co")
    deal = deal_services.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name="Guided deal",
        amount="20000",
        expected_close_date=now.date() + dt.timedelta(days=40),
        now=now,
    )
    discover = process.stages.order_by("order")[1]
    deal_services.opportunity_move(deal, actor=owner, to_stage=discover, now=now)
    deal.refresh_from_db()
    return process, deal
