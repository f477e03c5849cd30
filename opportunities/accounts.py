"""Account management reads: each account's health for the accounts list (set-based: one query
for a page, however many accounts it shows) and its whitespace for the account plan.

Health, from what the team did with the account lately:
    healthy  touched in the last TOUCH_DAYS days, with an open deal or a next step not overdue
    cooling  touched in the last COLD_DAYS days (or recently, but with nothing committed)
    cold     not touched for COLD_DAYS days, or never
"""

import datetime as dt

from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from people.access import visible_owner_q
from stages.models import SalesProcess

from .models import (
    Account,
    AccountContactRole,
    AccountNextStep,
    AccountPlan,
    Activity,
    BuyingRole,
    Opportunity,
    OpportunityStatus,
)

TOUCH_DAYS = 30
COLD_DAYS = 90
# A contact is engaged when they took part in an activity on the account this recently.
ENGAGED_DAYS = 90

HEALTHY, COOLING, COLD = 2, 1, 0
HEALTH_LABELS = {HEALTHY: "Healthy", COOLING: "Cooling", COLD: "Cold"}
HEALTH_CHOICES = (("healthy", "Healthy"), ("cooling", "Cooling"), ("cold", "Cold"))
HEALTH_BY_NAME = {"healthy": HEALTHY, "cooling": COOLING, "cold": COLD}


def _count(queryset, field: str = "pk"):
    """COUNT of `queryset`'s rows for the outer account, as a correlated subquery (0, not NULL)."""
    counted = queryset.order_by().values("account").annotate(n=Count(field, distinct=True)).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_health(accounts, *, user, now: dt.datetime):
    """`accounts` annotated with last_touch, engaged_contacts, open_deals, won_deals, lost_deals,
    next_step_due (the open next step's, or None) and health (HEALTHY / COOLING / COLD).

    Deals are counted among those `user` may read: the list must not reveal other teams' deals."""
    today = timezone.localdate(now)
    activities = Activity.objects.filter(account=OuterRef("pk"), occurred_at__lte=now)
    last_touch = activities.order_by().values("account").annotate(at=Max("occurred_at")).values("at")
    engaged = Activity.contacts.through.objects.filter(
        activity__account=OuterRef("pk"),
        activity__occurred_at__lte=now,
        activity__occurred_at__gte=now - dt.timedelta(days=ENGAGED_DAYS),
    ).values("activity__account")
    engaged = engaged.annotate(n=Count("contact", distinct=True)).values("n")
    deals = Opportunity.objects.filter(visible_owner_q(user), account=OuterRef("pk"))
    step_due = AccountNextStep.objects.filter(account=OuterRef("pk"), completed_at__isnull=True).values("due_date")
    accounts = accounts.annotate(
        last_touch=Subquery(last_touch, output_field=DateTimeField()),
        engaged_contacts=Coalesce(Subquery(engaged, output_field=IntegerField()), Value(0)),
        open_deals=_count(deals.filter(status=OpportunityStatus.OPEN)),
        won_deals=_count(deals.filter(status=OpportunityStatus.WON)),
        lost_deals=_count(deals.filter(status=OpportunityStatus.LOST)),
        next_step_due=Subquery(step_due[:1], output_field=DateField()),
    )
    committed = Q(open_deals__gt=0) | Q(next_step_due__gte=today)
    recent = Q(last_touch__gte=now - dt.timedelta(days=TOUCH_DAYS))
    return accounts.annotate(
        health=Case(
            When(recent & committed, then=Value(HEALTHY)),
            When(last_touch__gte=now - dt.timedelta(days=COLD_DAYS), then=Value(COOLING)),
            default=Value(COLD),
            output_field=IntegerField(),
        )
    )


def health_of(account: Account, *, user, now: dt.datetime) -> Account:
    """One account with the list's health numbers (the account plan shows the same figures)."""
    return with_health(Account.objects.filter(pk=account.pk), user=user, now=now).get()


def whitespace(account: Account) -> list[dict]:
    """Each active sales process and where the account stands in it: "won" (a won deal: in use),
    "open" (a deal in progress), or "" (whitespace: never bought, nothing in progress).
    Counted over every deal of the account: what the company sells it is account knowledge."""
    deals = Opportunity.objects.filter(account=account, process=OuterRef("pk"))
    processes = SalesProcess.objects.active().annotate(
        won=Exists(deals.filter(status=OpportunityStatus.WON)),
        in_progress=Exists(deals.filter(status=OpportunityStatus.OPEN)),
    )
    return [{"process": p, "state": "won" if p.won else "open" if p.in_progress else ""} for p in processes]


def plan_context(account: Account, *, user, now: dt.datetime) -> dict:
    """What the account page's plan section shows: objectives, the account-level buying team,
    the open next step, health and whitespace (a fixed number of queries)."""
    plan = AccountPlan.objects.filter(account=account).first()
    step = AccountNextStep.objects.filter(account=account, completed_at__isnull=True).select_related("owner").first()
    health = health_of(account, user=user, now=now)
    return {
        "plan": plan,
        "account_team": list(AccountContactRole.objects.filter(account=account).select_related("contact")),
        "account_step": step,
        "account_step_state": step_state(step, timezone.localdate(now)),
        "health": health,
        "health_label": HEALTH_LABELS[health.health],
        "whitespace": whitespace(account),
        "buying_roles": BuyingRole.choices,
        "nurture": health.open_deals == 0,
    }


def step_state(step: AccountNextStep | None, today: dt.date) -> str:
    """none / overdue / today / later, as a deal's `next_step_state`."""
    if step is None:
        return "none"
    return "overdue" if step.due_date < today else "today" if step.due_date == today else "later"
