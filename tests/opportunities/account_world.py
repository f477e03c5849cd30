"""A hand-built set of accounts whose health numbers the tests know."""

import datetime as dt

from opportunities import services
from opportunities.models import AccountNextStep, OpportunityStatus
from tests.factories import AccountFactory, ActivityFactory, ContactFactory, OpportunityFactory

DAY = dt.timedelta(days=1)


def build_health_world(owner, process, now, today) -> dict:
    """Four accounts of the owner's:
    - busy: a call 5 days ago with two contacts, an open deal, one won and one lost deal;
    - planned: a call 10 days ago (one contact, and the same contact again), no deal, a step due tomorrow;
    - overdue: a call 20 days ago, its step overdue, no deal: cooling;
    - stale: a call 200 days ago (contacts too old to count): cold; plus an activity dated in the future.
    """
    stage = process.stages.order_by("order").first()
    made = {}
    for name in ("busy", "planned", "overdue", "stale"):
        made[name] = AccountFactory(name=name, owner=owner)
    busy, planned, overdue, stale = made.values()
    c1, c2 = ContactFactory(account=busy), ContactFactory(account=busy)
    ActivityFactory(account=busy, occurred_at=now - 5 * DAY).contacts.set([c1, c2])
    for status in (OpportunityStatus.OPEN, OpportunityStatus.WON, OpportunityStatus.LOST):
        OpportunityFactory(account=busy, owner=owner, stage=stage, process=process, status=status)
    p1 = ContactFactory(account=planned)
    ActivityFactory(account=planned, occurred_at=now - 10 * DAY).contacts.set([p1])
    ActivityFactory(account=planned, occurred_at=now - 12 * DAY).contacts.set([p1])
    services.account_next_step_set(planned, actor=owner, description="Call", due_date=today + DAY, now=now)
    ActivityFactory(account=overdue, occurred_at=now - 20 * DAY)
    AccountNextStep.objects.create(
        account=overdue, description="Late", due_date=today - DAY, owner=owner, created_by=owner
    )
    s1 = ContactFactory(account=stale)
    ActivityFactory(account=stale, occurred_at=now - 200 * DAY).contacts.set([s1])
    ActivityFactory(account=stale, occurred_at=now + 3 * DAY)
    return made
