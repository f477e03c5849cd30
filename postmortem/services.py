"""Every change of a post-mortem and its lessons.

The workflow: draft → submitted (the owner) → changes requested or accepted (the owner's
manager, with comments) → closed (the manager). The owner edits in draft and when changes are
requested; a reopen of the deal cancels an unfinished review. Each service checks who acts and
from which state, owns its transaction and writes a `ReviewEvent`; a refusal raises
`DomainError` (or `AccessDenied`) and changes nothing.
"""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from opportunities.errors import AccessDenied, DomainError
from opportunities.models import BuyingRole, Competitor, Opportunity, OpportunityStatus
from people.models import OrgSettings, User
from stages.cleaning import clean_text
from stages.models import Milestone, Stage

from .facts import deal_facts
from .models import (
    OWNER_STATES,
    UNFINISHED_STATES,
    Lesson,
    LessonEndorsement,
    Outcome,
    Reason,
    Review,
    ReviewEvent,
    ReviewState,
)

LESSON_MAX = 300
TEXT_MAX = 5000
MAX_LESSONS = 20


def _now(now):
    return now or timezone.now()


def _record(review: Review, *, actor, verb: str, now, from_state: str = "", **data) -> ReviewEvent:
    return ReviewEvent.objects.create(
        review=review, actor=actor, verb=verb, from_state=from_state, to_state=review.state, data=data, created_at=now
    )


def _lock(review: Review) -> Review:
    return Review.objects.select_for_update(of=("self",)).select_related("author", "opportunity").get(pk=review.pk)


def review_manager_for(author: User) -> User | None:
    """Who reviews `author`'s post-mortems: the first manager of their team (by name) other than
    the author, if any."""
    if author.team_id is None:
        return None
    managers = author.team.managers.filter(is_active=True).exclude(pk=author.pk)
    return managers.order_by("first_name", "last_name", "id").first()


def can_review(user, review: Review) -> bool:
    """Whether `user` may decide on `review`: a manager of its author's team, or an admin."""
    return user.is_admin or (user.is_manager and user.manages(review.author)) or review.reviewer_id == user.pk


def can_write(user, review: Review) -> bool:
    """Whether `user` may write `review`'s owner fields: its author only (admins too)."""
    return review.author_id == user.pk or user.is_admin


def _ensure_state(review: Review, states, doing: str) -> None:
    if review.state not in states:
        raise DomainError(f"This review is {review.get_state_display().lower()}; it cannot be {doing} now.")


# --- opened and cancelled by the deal's close and reopen ---------------------------------------------


@transaction.atomic
def review_open(*, opportunity: Opportunity, actor, now: dt.datetime | None = None) -> Review:
    """Open the post-mortem of `opportunity`'s close (called inside the close's transaction).

    The previous current review of the deal (of an earlier close) stops being current."""
    now = _now(now)
    if opportunity.status == OpportunityStatus.OPEN:
        raise DomainError("Only a closed deal gets a post-mortem.")
    Review.objects.filter(opportunity=opportunity, is_current=True).update(is_current=False)
    author = opportunity.owner
    days = OrgSettings.current().review_due_days
    review = Review.objects.create(
        opportunity=opportunity,
        outcome=Outcome.WON if opportunity.status == OpportunityStatus.WON else Outcome.LOST,
        author=author,
        reviewer=review_manager_for(author),
        due_on=timezone.localdate(now) + dt.timedelta(days=days),
        facts=deal_facts(opportunity, now=now),
        opened_at=now,
        **opportunity.filing(),
    )
    _record(review, actor=actor, verb="opened", now=now)
    return review


@transaction.atomic
def review_cancel(*, opportunity: Opportunity, actor, now: dt.datetime | None = None) -> Review | None:
    """Cancel the deal's current review if it is unfinished (the deal was reopened). A finished
    one (accepted, closed) stays: what it taught still holds."""
    now = _now(now)
    review = Review.objects.select_for_update().filter(opportunity=opportunity, is_current=True).first()
    if review is None or review.state not in UNFINISHED_STATES:
        return None
    before = review.state
    review.state = ReviewState.CANCELLED
    review.is_current = False
    review.finished_at = now
    review.version += 1
    review.save(update_fields=["state", "is_current", "finished_at", "version"])
    _record(review, actor=actor, verb="cancelled", now=now, from_state=before, reason="The deal was reopened.")
    return review


def review_filing_follow(*, opportunity: Opportunity, actor) -> None:
    """The deal's current review carries its filing (`Opportunity.filing`) as it changes (called
    inside the deal's service's transaction, by its `actor`). Derived data, so no event of its
    own: the deal's change is recorded on the deal."""
    Review.objects.filter(opportunity=opportunity, is_current=True).update(**opportunity.filing())


# --- the owner writes ---------------------------------------------------------------------------------


def _clean_lessons(review: Review, lessons: Iterable[dict]) -> list[Lesson]:
    lessons = list(lessons)
    if len(lessons) > MAX_LESSONS:
        raise DomainError(f"A review holds at most {MAX_LESSONS} lessons.", field="lessons")
    stages = {s.pk: s for s in Stage.objects.filter(process_id=review.opportunity.process_id)}
    rows = []
    for n, lesson in enumerate(lessons, start=1):
        text = clean_text(lesson.get("text") or "")
        if not text:
            raise DomainError(f"Lesson {n}: write the lesson.", field="lessons")
        if len(text) > LESSON_MAX:
            raise DomainError(f"Lesson {n}: at most {LESSON_MAX} characters.", field="lessons")
        stage = lesson.get("stage")
        if stage is None or getattr(stage, "pk", None) not in stages:
            raise DomainError(f"Lesson {n}: choose a stage of the deal's process.", field="lessons")
        milestone = lesson.get("milestone")
        if milestone is not None and milestone.stage.process_id != review.opportunity.process_id:
            raise DomainError(f"Lesson {n}: choose a milestone of the deal's process.", field="lessons")
        role = lesson.get("buying_role") or ""
        if role and role not in BuyingRole.values:
            raise DomainError(f"Lesson {n}: unknown buying role {role}.", field="lessons")
        competitor = lesson.get("competitor")
        if competitor is not None and not isinstance(competitor, Competitor):
            raise DomainError(f"Lesson {n}: unknown competitor.", field="lessons")
        industry = clean_text(lesson.get("industry") or "")[:100]
        rows.append(
            Lesson(
                review=review,
                text=text,
                stage=stage,
                milestone=milestone,
                industry=industry,
                competitor=competitor,
                buying_role=role,
            )
        )
    return rows


def _check_reason(review: Review, reason: Reason | None, field: str) -> None:
    if reason is None:
        return
    if reason.outcome != review.outcome:
        raise DomainError(f"“{reason}” is not a reason a deal is {review.outcome}.", field=field)
    if not reason.is_active and reason.pk not in (review.primary_reason_id, review.secondary_reason_id):
        raise DomainError(f"“{reason}” is no longer in use; choose another.", field=field)


_UNSET = object()


@transaction.atomic
def review_save(
    review: Review,
    *,
    actor,
    primary_reason: Reason | None = None,
    secondary_reason: Reason | None = None,
    decisive_milestone: Milestone | None = None,
    competitor_decisive: bool | None = None,
    went_right: str = "",
    went_wrong: str = "",
    lessons=_UNSET,
    now: dt.datetime | None = None,
) -> Review:
    """Save what the owner wrote (the whole form: every field as given; `lessons` replaces the
    review's lessons when given). Only the author, in draft or when changes are requested."""
    now = _now(now)
    review = _lock(review)
    if not can_write(actor, review):
        raise AccessDenied("Only the deal's owner writes its post-mortem.")
    if review.state in (ReviewState.CLOSED, ReviewState.CANCELLED, ReviewState.ACCEPTED):
        raise DomainError(f"This review is {review.get_state_display().lower()}; it can no longer be edited.")
    _ensure_state(review, OWNER_STATES, "edited")
    _check_reason(review, primary_reason, "primary_reason")
    _check_reason(review, secondary_reason, "secondary_reason")
    if primary_reason is not None and secondary_reason is not None and primary_reason.pk == secondary_reason.pk:
        raise DomainError("The secondary reason must differ from the primary one.", field="secondary_reason")
    if decisive_milestone is not None and decisive_milestone.stage.process_id != review.opportunity.process_id:
        raise DomainError("Choose a milestone of the deal's process.", field="decisive_milestone")
    texts = {}
    for name, value in (("went_right", went_right), ("went_wrong", went_wrong)):
        value = (value or "").strip()
        if len(value) > TEXT_MAX:
            raise DomainError(f"At most {TEXT_MAX} characters.", field=name)
        texts[name] = value
    rows = None if lessons is _UNSET else _clean_lessons(review, lessons)
    review.primary_reason = primary_reason
    review.secondary_reason = secondary_reason
    review.decisive_milestone = decisive_milestone
    review.competitor_decisive = competitor_decisive
    review.went_right = texts["went_right"]
    review.went_wrong = texts["went_wrong"]
    review.version += 1
    review.save()
    if rows is not None:
        review.lessons.all().delete()
        Lesson.objects.bulk_create(rows)
        for row in rows:
            row.created_at = now
    _record(review, actor=actor, verb="saved", now=now, from_state=review.state, lessons=len(rows or []))
    return review


def missing_fields(review: Review) -> list[str]:
    """What a review still lacks before it may be submitted, named as the form names them."""
    missing = []
    if review.primary_reason_id is None:
        missing.append("primary reason")
    if review.decisive_milestone_id is None:
        missing.append("decisive milestone")
    if review.competitor_decisive is None and review.facts.get("competitors"):
        missing.append("whether the competitor was decisive")
    if not review.went_right:
        missing.append("what went right")
    if not review.went_wrong:
        missing.append("what went wrong")
    if not review.lessons.exists():
        missing.append("at least one lesson")
    return missing


@transaction.atomic
def review_submit(review: Review, *, actor, now: dt.datetime | None = None) -> Review:
    """The owner hands the complete review to their manager."""
    now = _now(now)
    review = _lock(review)
    if not can_write(actor, review):
        raise AccessDenied("Only the deal's owner submits its post-mortem.")
    _ensure_state(review, OWNER_STATES, "submitted")
    missing = missing_fields(review)
    if missing:
        raise DomainError("Before submitting, fill in: " + ", ".join(missing) + ".")
    before = review.state
    review.state = ReviewState.SUBMITTED
    review.submitted_at = now
    review.version += 1
    review.save(update_fields=["state", "submitted_at", "version"])
    _record(review, actor=actor, verb="submitted", now=now, from_state=before)
    return review


# --- the manager decides --------------------------------------------------------------------------------


def _decide(review: Review, *, actor, to_state: str, verb: str, comments: str, now, need_comment: bool) -> Review:
    review = _lock(review)
    if not can_review(actor, review):
        raise AccessDenied("Only the owner's manager or an admin reviews this post-mortem.")
    if review.author_id == actor.pk and not actor.is_admin:
        raise AccessDenied("You cannot review your own post-mortem.")
    _ensure_state(review, (ReviewState.SUBMITTED,), verb)
    comments = (comments or "").strip()
    if need_comment and not comments:
        raise DomainError("Say what should change.", field="comments")
    if len(comments) > TEXT_MAX:
        raise DomainError(f"Comments: at most {TEXT_MAX} characters.", field="comments")
    before = review.state
    review.state = to_state
    review.decided_at = now
    if comments:
        review.manager_comments = comments
    review.version += 1
    review.save(update_fields=["state", "decided_at", "manager_comments", "version"])
    _record(review, actor=actor, verb=verb, now=now, from_state=before, comments=comments)
    return review


@transaction.atomic
def review_request_changes(review: Review, *, actor, comments: str, now: dt.datetime | None = None) -> Review:
    return _decide(
        review,
        actor=actor,
        to_state=ReviewState.CHANGES_REQUESTED,
        verb="sent back",
        comments=comments,
        now=_now(now),
        need_comment=True,
    )


@transaction.atomic
def review_accept(review: Review, *, actor, comments: str = "", now: dt.datetime | None = None) -> Review:
    return _decide(
        review,
        actor=actor,
        to_state=ReviewState.ACCEPTED,
        verb="accepted",
        comments=comments,
        now=_now(now),
        need_comment=False,
    )


@transaction.atomic
def review_close(review: Review, *, actor, now: dt.datetime | None = None) -> Review:
    """File an accepted review away: nothing about it changes any more (its lessons stay shown)."""
    now = _now(now)
    review = _lock(review)
    if not can_review(actor, review):
        raise AccessDenied("Only the owner's manager or an admin closes this post-mortem.")
    _ensure_state(review, (ReviewState.ACCEPTED,), "closed")
    review.state = ReviewState.CLOSED
    review.finished_at = now
    review.version += 1
    review.save(update_fields=["state", "finished_at", "version"])
    _record(review, actor=actor, verb="closed", now=now, from_state=ReviewState.ACCEPTED)
    return review


# --- lessons ---------------------------------------------------------------------------------------------


def _visible_lesson(lesson: Lesson, actor) -> Lesson:
    found = Lesson.objects.for_user(actor).shown().filter(pk=lesson.pk).select_related("review__author").first()
    if found is None:
        raise DomainError("This lesson is not shown to you.")
    return found


@transaction.atomic
def lesson_endorse(lesson: Lesson, *, actor, now: dt.datetime | None = None) -> LessonEndorsement:
    """A teammate says the lesson helped; once per person (again is refused)."""
    now = _now(now)
    lesson = _visible_lesson(lesson, actor)
    if lesson.review.author_id == actor.pk:
        raise DomainError("You cannot endorse your own lesson.")
    endorsement, created = LessonEndorsement.objects.get_or_create(
        lesson=lesson, user=actor, defaults={"created_at": now}
    )
    if not created:
        raise DomainError("You have already endorsed this lesson.")
    _record(lesson.review, actor=actor, verb="lesson endorsed", now=now, lesson=lesson.pk)
    return endorsement


@transaction.atomic
def lesson_retire(lesson: Lesson, *, actor, now: dt.datetime | None = None) -> Lesson:
    """A manager of the author's team (or an admin) takes a lesson off the deal pages."""
    now = _now(now)
    lesson = _visible_lesson(lesson, actor)
    if not (actor.is_admin or (actor.is_manager and actor.manages(lesson.review.author))):
        raise AccessDenied("Only the author's manager or an admin retires a lesson.")
    updated = Lesson.objects.filter(pk=lesson.pk, retired_at__isnull=True).update(retired_at=now, retired_by=actor)
    if not updated:
        raise DomainError("This lesson is already retired.")
    _record(lesson.review, actor=actor, verb="lesson retired", now=now, lesson=lesson.pk)
    lesson.retired_at, lesson.retired_by = now, actor
    return lesson


def reasons_for(outcome: str, *, keep: Iterable[int] = ()):
    """The reasons a review of `outcome` may pick (and those it already has)."""
    return Reason.objects.filter(Q(is_active=True) | Q(pk__in=[k for k in keep if k]), outcome=outcome)
