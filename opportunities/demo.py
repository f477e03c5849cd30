"""The demo company's account management: plans with objectives, known buying teams and next
steps on the first accounts, and nurture activities on those without an open deal, written
through the services (`register_demo_seeder` in `apps.py`), so every row has its audit event."""

import datetime as dt
import random

from django.utils import timezone

from . import services
from .models import Account, ActivityKind, BuyingRole, OpportunityStatus

# Enough accounts for the list's filters and sorts to show every kind; the rest stay plan-less,
# as most accounts of a real team do.
PLANNED = 60
OBJECTIVES = [
    "Expand from the pilot team to the whole {industry} division by year end.",
    "Get in front of the CFO before budget season; build the case with last year's results.",
    "Win back the account after the lost renewal: show what changed since.",
    "Land a first deal: a small, fast pilot with the operations team.",
    "Keep the champion close and find an economic buyer for the second process.",
]
STEPS = [
    "Send the industry case study",
    "Invite to the customer round table",
    "Quarterly check-in call",
    "Introduce our solutions engineer",
    "Share the ROI summary with finance",
]
ROLE_SETS = [
    [BuyingRole.CHAMPION],
    [BuyingRole.ECONOMIC_BUYER],
    [BuyingRole.TECHNICAL_EVALUATOR, BuyingRole.INFLUENCER],
    [BuyingRole.DECISION_MAKER],
    [BuyingRole.USER],
]


def seed_account_plans(*, seed: int = 1, now: dt.datetime) -> dict:
    rnd = random.Random(seed * 6151 + 14)
    today = timezone.localdate(now)
    accounts = list(Account.objects.select_related("owner").filter(owner__is_active=True).order_by("pk")[:PLANNED])
    open_accounts = set(
        Account.objects.filter(pk__in=[a.pk for a in accounts], opportunities__status=OpportunityStatus.OPEN)
        .values_list("pk", flat=True)
        .distinct()
    )
    counts = {"plans": 0, "team": 0, "steps": 0, "nurture": 0}
    for i, account in enumerate(accounts):
        owner = account.owner
        earlier = now - dt.timedelta(days=rnd.randint(20, 60))
        if i % 5 != 4:  # a few accounts have no written plan yet
            objectives = rnd.choice(OBJECTIVES).format(industry=account.industry or "operations")
            services.account_plan_update(account, actor=owner, objectives=objectives, now=earlier)
            counts["plans"] += 1
        for contact, roles in zip(account.contacts.order_by("pk")[:2], rnd.sample(ROLE_SETS, 2), strict=False):
            services.account_team_add(account, actor=owner, contact=contact, roles=roles, now=earlier)
            counts["team"] += 1
        if i % 4 != 3:  # and some no next step: the list's "No next step" filter finds them
            step = services.account_next_step_set(
                account, actor=owner, description=rnd.choice(STEPS), due_date=earlier.date() + dt.timedelta(days=7),
                now=earlier,
            )  # fmt: skip
            if step.due_date < today and i % 3:
                services.account_next_step_complete(
                    account, actor=owner, next_description=rnd.choice(STEPS),
                    next_due_date=today + dt.timedelta(days=rnd.randint(0, 21)), now=now - dt.timedelta(hours=1),
                )  # fmt: skip
            counts["steps"] += 1
        if account.pk not in open_accounts and i % 2 == 0:
            contacts = list(account.contacts.order_by("pk")[:1])
            services.activity_log(
                actor=owner,
                account=account,
                kind=rnd.choice([ActivityKind.EMAIL, ActivityKind.CALL, ActivityKind.CONTENT_SHARED]),
                subject="Nurture: " + rnd.choice(STEPS).lower(),
                occurred_at=now - dt.timedelta(days=rnd.randint(1, 120)),
                contacts=contacts,
                now=now,
            )
            counts["nurture"] += 1
    return counts
