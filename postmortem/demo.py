"""The demo company's post-mortems: reviews of its recently closed deals in every state, and a
few dozen lessons from the accepted ones, written through the services like real use.

Runs from the demo seed (`opportunities.hooks.run_demo_seeders`), after the deals exist.
Deterministic for a seed.
"""

import datetime as dt
import random

from django.db.models import Q

from opportunities.models import BuyingRole, Competitor, DealCompetitor, Opportunity, OpportunityStatus
from people.models import User

from . import services
from .models import Reason, Review, ReviewState

COMPETITORS = [
    ("Pipedream CRM", "https://pipedream-crm.example"),
    ("SalesForge", "https://salesforge.example"),
    ("DealFlow", "https://dealflow.example"),
    ("Closewise", "https://closewise.example"),
]
LESSONS = [
    "Confirm the budget owner before the first demo.",
    "Send the security questionnaire answers before they ask.",
    "Get a mutual close plan signed in {stage}.",
    "Bring a reference customer from the same industry.",
    "Price the pilot so it converts without a new approval.",
    "Map every buying role before proposing.",
    "Ask the champion who could block the deal, and meet them.",
    "Do not let the close date slip twice without a new next step.",
    "Show the ROI in the buyer's own numbers.",
    "Agree the success criteria of the trial in writing.",
    "Legal review takes three weeks here: start it in {stage}.",
    "Involve the technical evaluator before the proposal.",
]
RIGHT = ["Fast, specific follow-ups.", "A strong champion.", "A demo built on their data.", "Clear pricing."]
WRONG = ["We never met the economic buyer.", "The close date slipped twice.", "Legal started too late.", "—"]
# How many of the reviewed deals end in each state (the rest stay drafts).
STATES = [
    ReviewState.SUBMITTED,
    ReviewState.CHANGES_REQUESTED,
    ReviewState.ACCEPTED,
    ReviewState.ACCEPTED,
    ReviewState.CLOSED,
    ReviewState.DRAFT,
]
REVIEWED = 48


def _manager(author: User, admin: User) -> User:
    return services.review_manager_for(author) or admin


def _lessons(rnd, deal, stages, competitors, count: int) -> list[dict]:
    lessons = []
    for _ in range(count):
        stage = rnd.choice(stages)
        lesson = {"text": rnd.choice(LESSONS).format(stage=stage.name), "stage": stage}
        if rnd.random() < 0.4 and stage.milestones.exists():
            lesson["milestone"] = rnd.choice(list(stage.milestones.all()))
        if rnd.random() < 0.3 and deal.account.industry:
            lesson["industry"] = deal.account.industry
        if rnd.random() < 0.3:
            lesson["competitor"] = rnd.choice(competitors)
        if rnd.random() < 0.3:
            lesson["buying_role"] = rnd.choice(BuyingRole.values)
        lessons.append(lesson)
    return lessons


def seed_postmortem_demo(*, seed: int = 1, now: dt.datetime) -> dict:
    """Competitors on some deals, and the post-mortems of the most recently closed deals: a
    cancelled one (of a deal reopened and closed again), then one in each state in turn."""
    rnd = random.Random(seed * 7919 + 12)
    admin = User.objects.filter(Q(role="admin") | Q(is_superuser=True)).order_by("pk").first()
    if admin is None:
        return {}
    competitors = [
        Competitor.objects.get_or_create(name=name, defaults={"website": site})[0] for name, site in COMPETITORS
    ]
    fields = ("pk", "status", "closed_on", "owner_id", "process_id")
    open_deals = list(Opportunity.objects.open().order_by("pk").only(*fields)[:400])
    # Written around the services, so with the deal's filing as they would copy it.
    DealCompetitor.objects.bulk_create(
        [
            DealCompetitor(opportunity_id=deal.pk, competitor=rnd.choice(competitors), added_at=now, **deal.filing())
            for deal in open_deals
            if rnd.random() < 0.3
        ],
        ignore_conflicts=True,
    )
    # Closing through the services already opened a draft review of each closed deal (or, in a
    # bulk-built database, none): the most recent closes are taken on from there.
    closed = list(
        Opportunity.objects.closed()
        .exclude(reviews__state__in=[s for s in ReviewState.values if s not in (ReviewState.DRAFT,)])
        .select_related("owner__team", "account", "process", "stage", "lost_to")
        .order_by("-closed_on", "-pk")[:REVIEWED]
    )
    counts = {state: 0 for state in ReviewState.values}
    lessons = 0
    for i, deal in enumerate(closed):
        author = deal.owner
        if not author.is_active:
            continue
        current = Review.objects.filter(opportunity=deal, is_current=True).first()
        opened = current.opened_at if current else now - dt.timedelta(days=rnd.randint(4, 20))
        if i == 0:
            if current is None:
                services.review_open(opportunity=deal, actor=author, now=opened)
            services.review_cancel(opportunity=deal, actor=admin, now=opened + dt.timedelta(hours=1))
            counts[ReviewState.CANCELLED] += 1
            current = None
            opened += dt.timedelta(hours=2)
        review = current or services.review_open(opportunity=deal, actor=author, now=opened)
        state = STATES[i % len(STATES)]
        if state != ReviewState.DRAFT or rnd.random() < 0.5:
            stages = list(deal.process.stages.order_by("order"))
            outcome = "won" if deal.status == OpportunityStatus.WON else "lost"
            reasons = list(Reason.objects.filter(outcome=outcome, is_active=True))
            primary = rnd.choice(reasons) if reasons else None
            milestones = [m for s in stages for m in s.milestones.all()]
            new_lessons = _lessons(rnd, deal, stages, competitors, rnd.randint(1, 2))
            services.review_save(
                review,
                actor=author,
                primary_reason=primary,
                decisive_milestone=rnd.choice(milestones) if milestones else None,
                competitor_decisive=rnd.random() < 0.3,
                went_right=rnd.choice(RIGHT),
                went_wrong=rnd.choice(WRONG),
                lessons=new_lessons,
                now=opened + dt.timedelta(hours=2),
            )
            if state != ReviewState.DRAFT and primary and milestones:
                manager = _manager(author, admin)
                services.review_submit(review, actor=author, now=opened + dt.timedelta(days=1))
                if state == ReviewState.CHANGES_REQUESTED:
                    services.review_request_changes(
                        review,
                        actor=manager,
                        comments="Which buyer role was missing?",
                        now=opened + dt.timedelta(days=2),
                    )
                elif state in (ReviewState.ACCEPTED, ReviewState.CLOSED):
                    services.review_accept(
                        review, actor=manager, comments="Thanks, useful.", now=opened + dt.timedelta(days=2)
                    )
                    lessons += len(new_lessons)
                    if state == ReviewState.CLOSED:
                        services.review_close(review, actor=manager, now=opened + dt.timedelta(days=3))
        counts[Review.objects.get(pk=review.pk).state] += 1
    return {"reviews": sum(counts.values()), "lessons": lessons, **counts}
