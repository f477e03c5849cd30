"""Which lessons help on an open deal, most relevant first.

A lesson matches a deal by its tags: the deal's current stage, a milestone still ahead of it,
a competitor in play, its account's industry, a role on its buying team. Each matching tag adds
to the lesson's score (the stage and the milestone say most about what to do next); ties go to
the most endorsed, then the newest. One query for the lessons however many there are, three more
for their milestone and competitor tags and their deals when any show; on its own (not on the deal page, which
hands over the buying team, the stages' checklists and the competitors) one more for the roles.
"""

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from opportunities.hooks import page_loaded
from opportunities.models import BuyingTeamMember, DealCompetitor
from stages.models import Milestone

from .models import Lesson, LessonEndorsement

SHOWN = 5
# The newest matching lessons ranked: a team's recent lessons say most about how it sells now,
# and ranking every lesson a large team has written (tens of thousands) took longer than the
# rest of the deal page.
CANDIDATES = 300
WEIGHTS = {"stage": 4, "milestone": 3, "competitor": 3, "industry": 2, "buying_role": 1}


def _points(condition: Q, weight: int):
    return Case(When(condition, then=Value(weight)), default=Value(0), output_field=IntegerField())


def lessons_for_deal(deal, user, *, limit: int = SHOWN) -> list[Lesson]:
    """The lessons `user` may read that match `deal`, best first among the CANDIDATES newest
    (`relevance`, `endorsement_count`, `endorsed_by_me` annotated)."""
    team = page_loaded(deal, "buying_team", lambda: list(BuyingTeamMember.objects.filter(opportunity=deal)))
    roles = sorted({r for member in team for r in member.roles})
    stages = page_loaded(deal, "stages", lambda: None)
    if stages is None:  # rendered on its own: the milestones ahead in one subquery
        ahead = (
            Milestone.objects.live()
            .filter(stage__process_id=deal.process_id, stage__order__gte=deal.stage.order)
            .exclude(completions__opportunity=deal)
            .values("pk")
        )
    else:
        ahead = [m.pk for s in stages if s.order >= deal.stage.order for m, done in s.checklist if not done]
    rows = page_loaded(deal, "competitors", lambda: list(DealCompetitor.objects.filter(opportunity=deal)))
    competitors = [row.competitor_id for row in rows]
    conditions = {
        "stage": Q(stage_id=deal.stage_id),
        "milestone": Q(milestone__in=ahead),
        "competitor": Q(competitor__in=competitors),
        "industry": Q(industry__iexact=deal.account.industry) if deal.account.industry else Q(pk__in=[]),
        "buying_role": Q(buying_role__in=roles) if roles else Q(pk__in=[]),
    }
    relevance = sum((_points(q, WEIGHTS[name]) for name, q in conditions.items()), Value(0))
    any_match = Q()
    for q in conditions.values():
        any_match |= q
    endorsements = LessonEndorsement.objects.filter(lesson=OuterRef("pk")).order_by().values("lesson")
    # The counts as a subquery, and the optional tags and the deals prefetched for the few shown,
    # not joined: with every table in one grouped join, PostgreSQL spent several times longer
    # planning the query than running it, and joined every matching lesson's deal before sorting.
    newest = Lesson.objects.for_user(user).shown().filter(any_match).order_by("-created_at", "-id")
    return list(
        Lesson.objects.filter(pk__in=newest.values("pk")[:CANDIDATES])
        .select_related("stage", "review__author")
        .prefetch_related("milestone", "competitor", "review__opportunity")
        .annotate(
            relevance=relevance,
            endorsement_count=Coalesce(
                Subquery(endorsements.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
            ),
            endorsed_by_me=Exists(endorsements.filter(user=user)),
        )
        .order_by("-relevance", "-endorsement_count", "-created_at", "-id")[:limit]
    )


def deal_lessons_panel(deal, user) -> dict | None:
    """The deal page's lessons section (`opportunities.hooks.DealPanel`): open deals only."""
    if not deal.is_open:
        return None
    lessons = lessons_for_deal(deal, user)
    for lesson in lessons:
        lesson.can_retire = user.is_admin or (user.is_manager and user.manages(lesson.review.author))
    return {"lessons": lessons}
