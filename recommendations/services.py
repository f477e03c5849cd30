"""Refreshing the evidence, recommending steps on a deal, and accepting or dismissing them."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from aids.models import Aid
from opportunities import services as deal_services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import Activity, ActivityKind, MilestoneCompletion, Opportunity
from postmortem.models import Lesson
from stages.models import Milestone, Stage

from . import mining
from .models import Feedback, FeedbackVerdict, StepKind, StepStat

SHOWN = 3  # recommendations on a deal
NEXT_STEP_DAYS = 7  # an accepted recommendation is due this many days from today
REASON_MAX = 300

# How a step reads in evidence ("a reference call before leaving Discover") and as a next step.
ACTIVITY_PHRASES = {
    ActivityKind.EMAIL: ("an email", "Send the buyer an email"),
    ActivityKind.CALL: ("a call", "Call the buyer"),
    ActivityKind.MEETING: ("a meeting", "Hold a meeting with the buyer"),
    ActivityKind.DEMO: ("a demo", "Give a demo"),
    ActivityKind.REFERENCE_CALL: ("a reference call", "Set up a reference call"),
    ActivityKind.CONTENT_SHARED: ("content shared", "Share content with the buyer"),
}


class RecommendationError(DomainError):
    """A recommendation could not be accepted or dismissed; the message says why."""


# --- the nightly refresh -----------------------------------------------------------------------------


def _step_fields(step_key: str) -> dict:
    kind, _, value = step_key.partition(":")
    if kind == StepKind.MILESTONE:
        return {"kind": StepKind.MILESTONE, "milestone_id": int(value), "activity_kind": ""}
    return {"kind": StepKind.ACTIVITY, "milestone_id": None, "activity_kind": value}


@transaction.atomic
def stats_refresh(*, now: dt.datetime | None = None) -> dict:
    """Recount every stage's step statistics from the closed deals. Rows whose counts did not
    change are left alone (their `refreshed_at` too), so a second run changes nothing.
    Returns {"created", "updated", "deleted"} counts."""
    now = now or timezone.now()
    mined = mining.mine()
    stage_ids = {stage_id for stage_id, _, _ in mined}
    stage_process = dict(Stage.objects.filter(pk__in=stage_ids).values_list("pk", "process_id"))
    existing = {(s.stage_id, s.segment, s.step_key): s for s in StepStat.objects.select_for_update()}
    created, updated = [], []
    counted = ("won_with", "won_total", "lost_with", "lost_total")
    for key, counts in mined.items():
        stage_id, segment, step_key = key
        row = existing.pop(key, None)
        values = {name: getattr(counts, name) for name in counted}
        if row is None:
            created.append(
                StepStat(
                    process_id=stage_process[stage_id],
                    stage_id=stage_id,
                    segment=segment,
                    step_key=step_key,
                    refreshed_at=now,
                    **_step_fields(step_key),
                    **values,
                )
            )
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.refreshed_at = now
            updated.append(row)
    StepStat.objects.bulk_create(created, batch_size=1000)
    StepStat.objects.bulk_update(updated, [*counted, "refreshed_at"], batch_size=1000)
    deleted = [row.pk for row in existing.values()]
    if deleted:
        StepStat.objects.filter(pk__in=deleted).delete()
    return {"created": len(created), "updated": len(updated), "deleted": len(deleted)}


# --- recommending ----------------------------------------------------------------------------------------


@dataclass
class Recommendation:
    """One step for a deal with the evidence for it."""

    step_key: str
    label: str  # "a reference call"
    action: str  # the next step's text when accepted
    evidence: str  # "a reference call before leaving Discover: 14 of 19 won deals, 3 of 22 lost"
    confidence: str  # high / medium / low
    counts: mining.Counts
    segment: str
    milestone_id: int | None = None
    lessons: list = field(default_factory=list)
    aids: list = field(default_factory=list)


@dataclass
class Recommendations:
    """What the deal's panel and the API show: the recommendations, or why there are none."""

    items: list
    message: str = ""  # "not enough closed deals yet", or that nothing separates them
    segment: str = ""  # the industry whose deals the evidence comes from; blank for all
    refreshed_at: dt.datetime | None = None
    lessons: list = field(default_factory=list)  # the stage's lessons not tied to a step
    aids: list = field(default_factory=list)  # the stage's aids not tied to a step


def describe_steps(stats: list[StepStat]) -> dict[str, tuple[str, str, int | None]]:
    """{step key: (label, action, milestone id)} for `stats`, one query for their milestones. A
    retired milestone can no longer be ticked, so it is no step to take: it is left out."""
    milestones = Milestone.objects.live().in_bulk({s.milestone_id for s in stats if s.milestone_id})
    described = {}
    for stat in stats:
        if stat.kind == StepKind.MILESTONE:
            milestone = milestones.get(stat.milestone_id)
            if milestone is None:
                continue
            described[stat.step_key] = (f"“{milestone.name}” done", f"Complete “{milestone.name}”", milestone.pk)
        elif stat.activity_kind in ACTIVITY_PHRASES:
            label, action = ACTIVITY_PHRASES[stat.activity_kind]
            described[stat.step_key] = (label, action, None)
    return described


def _visible(user, opportunity: Opportunity) -> Opportunity:
    deal = (
        Opportunity.objects.for_user(user)
        .select_related("stage", "account", "process", "owner")
        .filter(pk=opportunity.pk)
        .first()
    )
    if deal is None:
        raise RecommendationError("This opportunity does not exist or you may not see it.")
    return deal


def _done_steps(deal: Opportunity, now: dt.datetime) -> set[str]:
    """The steps the deal has taken so far: milestones ticked and activity kinds logged, at any
    stage — as the mining counts a step taken before a deal left a stage, whenever it was."""
    done = {
        mining.milestone_key(pk)
        for pk in MilestoneCompletion.objects.filter(opportunity=deal).values_list("milestone_id", flat=True)
    }
    kinds = Activity.objects.filter(opportunity=deal, occurred_at__lte=now).values_list("kind", flat=True).distinct()
    return done | {mining.activity_key(kind) for kind in kinds}


def _ranked(deal: Opportunity) -> tuple[list[tuple[StepStat, float]], str, dt.datetime | None, mining.Counts]:
    """The stage's step statistics in the deal's segment if it has its own, else over all deals,
    best separating first; with the segment and the stage's totals."""
    industry = deal.account.industry
    stats = list(StepStat.objects.filter(stage_id=deal.stage_id, segment__in={"", industry}))
    segment = industry if industry and any(s.segment == industry for s in stats) else ""
    stats = [s for s in stats if s.segment == segment]
    if not stats:
        return [], segment, None, mining.Counts()
    first = stats[0]
    totals = mining.Counts(won_total=first.won_total, lost_total=first.lost_total)
    scored = [(s, mining.separation(_counts(s))) for s in stats]
    scored.sort(key=lambda pair: (-pair[1], pair[0].step_key))
    return scored, segment, max(s.refreshed_at for s in stats), totals


def _counts(stat: StepStat) -> mining.Counts:
    return mining.Counts(stat.won_with, stat.won_total, stat.lost_with, stat.lost_total)


def evidence_text(label: str, stage_name: str, counts: mining.Counts) -> str:
    return (
        f"{label} before leaving {stage_name}: {counts.won_with} of {counts.won_total} won deals, "
        f"{counts.lost_with} of {counts.lost_total} lost"
    )


def recommendations_for(*, user, opportunity: Opportunity, now: dt.datetime | None = None) -> Recommendations:
    """The steps not yet taken on `opportunity` at its stage that most separated won from lost
    deals, each with its evidence, confidence, and the lessons and sales aids about it; or a
    message saying why there are none. Raises RecommendationError for a deal `user` may not see."""
    deal = _visible(user, opportunity)
    if not deal.is_open:
        return Recommendations(items=[], message="Recommendations are for open deals.")
    scored, segment, refreshed_at, totals = _ranked(deal)
    if mining.is_thin(totals):
        return Recommendations(
            items=[],
            message=(
                f"Not enough closed deals yet: {totals.won_total} won and {totals.lost_total} lost deals "
                f"have left {deal.stage.name}; recommendations start at {mining.MIN_DEALS} of each."
            ),
            segment=segment,
            refreshed_at=refreshed_at,
        )
    done = _done_steps(deal, now or timezone.now())
    answered = set(Feedback.objects.filter(opportunity=deal, stage_id=deal.stage_id).values_list("step_key", flat=True))
    candidates = [s for s, score in scored if score > 0 and s.step_key not in done | answered]
    described = describe_steps(candidates[: SHOWN * 2])
    items = []
    for stat in candidates:
        if stat.step_key not in described or len(items) == SHOWN:
            continue
        label, action, milestone_id = described[stat.step_key]
        counts = _counts(stat)
        items.append(
            Recommendation(
                step_key=stat.step_key,
                label=label,
                action=action,
                evidence=evidence_text(label, deal.stage.name, counts),
                confidence=mining.confidence(counts),
                counts=counts,
                segment=segment,
                milestone_id=milestone_id,
            )
        )
    result = Recommendations(items=items, segment=segment, refreshed_at=refreshed_at)
    if not items:
        result.message = (
            f"Nothing the won deals did before leaving {deal.stage.name} separates them clearly from the lost "
            "ones, or this deal has done it already."
        )
        return result
    _attach_lessons_and_aids(result, deal, user)
    return result


def _attach_lessons_and_aids(result: Recommendations, deal: Opportunity, user) -> None:
    """The lessons and published aids about the recommended milestones or the deal's stage: two
    queries. A lesson or aid about a recommended milestone goes with it, the rest with the stage."""
    milestone_ids = [r.milestone_id for r in result.items if r.milestone_id]
    industry = deal.account.industry
    lessons = list(
        Lesson.objects.for_user(user)
        .shown()
        .filter(Q(stage_id=deal.stage_id) | Q(milestone_id__in=milestone_ids))
        .filter(Q(industry="") | Q(industry__iexact=industry))
        .order_by("-created_at", "-id")[:10]
    )
    aids = list(
        Aid.objects.for_user(user)
        .published()
        .filter(Q(stages=deal.stage_id) | Q(milestones__in=milestone_ids))
        .distinct()
        .prefetch_related("milestones")
        .order_by("title", "id")[:10]
    )
    by_milestone = {r.milestone_id: r for r in result.items if r.milestone_id}
    for lesson in lessons:
        target = by_milestone.get(lesson.milestone_id)
        (target.lessons if target else result.lessons).append(lesson)
    for aid in aids:
        tagged = [by_milestone[m.pk] for m in aid.milestones.all() if m.pk in by_milestone]
        for target in tagged:
            target.aids.append(aid)
        if not tagged:
            result.aids.append(aid)
    result.lessons = result.lessons[:3]
    result.aids = result.aids[:3]


# --- accepting and dismissing -------------------------------------------------------------------------------


def _lock_for_feedback(actor, opportunity: Opportunity, step: str) -> tuple[Opportunity, str, str]:
    """The deal locked, checked that `actor` may change it and that `step` is a step with
    evidence at its stage not yet answered; returns (deal, label, action)."""
    visible = Opportunity.objects.for_user(actor).select_for_update(of=("self",))
    deal = visible.select_related("stage", "account").filter(pk=opportunity.pk).first()
    if deal is None:
        raise RecommendationError("This opportunity does not exist or you may not see it.")
    if not deal.can_edit(actor):
        raise AccessDenied("You can view this opportunity but not change it.")
    if not deal.is_open:
        raise RecommendationError("This opportunity is closed; recommendations are for open deals.")
    stat = StepStat.objects.filter(stage_id=deal.stage_id, step_key=step).first()
    described = describe_steps([stat]) if stat else {}
    if step not in described:
        raise RecommendationError("That is not a recommended step at this deal's stage.", field="step")
    if Feedback.objects.filter(opportunity=deal, stage_id=deal.stage_id, step_key=step).exists():
        raise RecommendationError("This recommendation was already accepted or dismissed on this deal.")
    label, action, _ = described[step]
    return deal, label, action


@transaction.atomic
def recommendation_accept(*, actor, opportunity: Opportunity, step: str, now: dt.datetime | None = None) -> Feedback:
    """Make the recommended `step` the deal's next step, due in NEXT_STEP_DAYS, through the
    next-step service (which writes the deal's event), and record the acceptance."""
    now = now or timezone.now()
    deal, _, action = _lock_for_feedback(actor, opportunity, step)
    due = timezone.localdate(now) + dt.timedelta(days=NEXT_STEP_DAYS)
    deal_services.next_step_set(deal, actor=actor, description=action, due_date=due, now=now)
    return _feedback(deal, actor=actor, step=step, verdict=FeedbackVerdict.ACCEPTED, now=now)


@transaction.atomic
def recommendation_dismiss(
    *, actor, opportunity: Opportunity, step: str, reason: str, now: dt.datetime | None = None
) -> Feedback:
    """Dismiss the recommended `step` on the deal at its stage, saying why."""
    now = now or timezone.now()
    reason = " ".join((reason or "").split())
    if not reason:
        raise RecommendationError("Say why you dismiss this recommendation.", field="reason")
    if len(reason) > REASON_MAX:
        raise RecommendationError(f"The reason must be at most {REASON_MAX} characters.", field="reason")
    deal, _, _ = _lock_for_feedback(actor, opportunity, step)
    return _feedback(deal, actor=actor, step=step, verdict=FeedbackVerdict.DISMISSED, now=now, reason=reason)


def _feedback(deal: Opportunity, *, actor, step: str, verdict: str, now: dt.datetime, reason: str = "") -> Feedback:
    """The record of an accepted or dismissed recommendation, at the deal's stage, which is
    what lets recommendations be judged later."""
    return Feedback.objects.create(
        opportunity=deal, stage_id=deal.stage_id, step_key=step, verdict=verdict, reason=reason, actor=actor,
        created_at=now,
    )  # fmt: skip
