"""A history of closed deals with a planted pattern, for the win model's tests: accounts in the
"Robotics" industry win far more often; the region is a coin toss that does nothing."""

import datetime as dt
import random
from decimal import Decimal

from opportunities.models import Opportunity, OpportunityStatus
from tests.factories import AccountFactory, OpportunityFactory, make_process


def planted_history(owner, *, n: int = 120, seed: int = 7, now: dt.datetime, process=None) -> dict:
    """`n` closed deals of `owner` in a 3-stage process: Robotics wins 85%, others 15%; region
    alternates at random. Returns {"process", "won", "lost"}."""
    rng = random.Random(seed)
    process = process or make_process(stages=3, milestones=1, required=False, name="Planted")
    stages = list(process.stages.order_by("order"))
    won = lost = 0
    for i in range(n):
        planted = i % 2 == 0
        wins = rng.random() < (0.85 if planted else 0.15)
        account = AccountFactory(
            owner=owner,
            industry="Robotics" if planted else "Retail",
            region=rng.choice(["North", "South"]),
        )
        reached = stages[-1] if wins else stages[rng.randrange(len(stages))]
        closed_on = (now - dt.timedelta(days=400 - 3 * i)).date()
        OpportunityFactory(
            owner=owner, account=account, process=process, stage=reached, furthest_stage=reached,
            closed_stage=reached, amount=Decimal("20000"),
            status=OpportunityStatus.WON if wins else OpportunityStatus.LOST,
            closed_on=closed_on, expected_close_date=closed_on,
            created_at=now - dt.timedelta(days=460 - 3 * i),
        )  # fmt: skip
        won += wins
        lost += not wins
    return {"process": process, "stages": stages, "won": won, "lost": lost}


def open_deal(
    owner, process, stage, *, industry="Robotics", region="North", now, amount="50000", **fields
) -> Opportunity:
    account = AccountFactory(owner=owner, industry=industry, region=region)
    return OpportunityFactory(
        owner=owner, account=account, process=process, stage=stage, furthest_stage=stage, amount=Decimal(amount),
        expected_close_date=now.date() + dt.timedelta(days=20), created_at=now - dt.timedelta(days=30), **fields,
    )  # fmt: skip
