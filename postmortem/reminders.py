"""Overdue post-mortems, told through pipeline's notifications and daily digest
(`opportunities.hooks.ReminderSource`: this app and pipeline do not import each other)."""

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from opportunities.hooks import Reminder, ReminderSource

from .models import Review, ReviewState


def _overdue(now):
    return Review.objects.overdue(timezone.localdate(now)).select_related("opportunity", "author")


def _reminders(review: Review, user_ids) -> list[Reminder]:
    url = reverse("postmortem:review", args=[review.pk])
    return [
        Reminder(
            user_id=user_id,
            message=f"The post-mortem of {review.opportunity.name} is overdue (due {review.due_on:%Y-%m-%d}).",
            url=url,
            key=str(review.pk),
        )
        for user_id in user_ids
    ]


def due(now) -> list[Reminder]:
    """Each overdue review not notified yet: to its author and its reviewer."""
    found = []
    for review in _overdue(now).filter(overdue_notified_at__isnull=True).order_by("pk"):
        found += _reminders(review, dict.fromkeys(i for i in (review.author_id, review.reviewer_id) if i))
    return found


def mark_notified(reminders, now) -> None:
    Review.objects.filter(pk__in={int(r.key) for r in reminders}).update(overdue_notified_at=now)


def for_digest(user, now) -> list[Reminder]:
    """A person's own overdue reviews, and for a manager their teams' overdue reviews and those
    waiting for their decision."""
    mine = Q(author=user)
    team_ids = user.managed_team_ids()
    reviews = list(_overdue(now).filter(mine | Q(author__team__in=team_ids)).order_by("due_on", "pk"))
    found = [r for review in reviews for r in _reminders(review, [user.pk])]
    if team_ids:
        waiting = (
            Review.objects.filter(state=ReviewState.SUBMITTED, author__team__in=team_ids)
            .select_related("opportunity")
            .order_by("submitted_at", "pk")
        )
        for review in waiting:
            found.append(
                Reminder(
                    user_id=user.pk,
                    message=f"The post-mortem of {review.opportunity.name} waits for your review.",
                    url=reverse("postmortem:review", args=[review.pk]),
                    key=str(review.pk),
                )
            )
    return found


def digest_user_ids(now) -> set[int]:
    ids = set()
    for author_id, reviewer_id in _overdue(now).values_list("author_id", "reviewer_id"):
        ids.add(author_id)
        if reviewer_id:
            ids.add(reviewer_id)
    ids |= set(
        Review.objects.filter(state=ReviewState.SUBMITTED, reviewer__isnull=False).values_list("reviewer_id", flat=True)
    )
    return ids


SOURCE = ReminderSource(
    name="postmortem_overdue",
    due=due,
    mark_notified=mark_notified,
    for_digest=for_digest,
    digest_user_ids=digest_user_ids,
)
