"""Post-mortems of closed deals and the lessons they teach.

Every close opens a `Review` of the deal (written by its owner, reviewed by the owner's manager);
what an accepted review teaches is kept as `Lesson`s, tagged so that the deal page can show them
on the open deals they apply to. Every change of a review goes through `postmortem.services` and
writes a `ReviewEvent`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opportunities.models import CLOSED_FILING, BuyingRole, CarriesFiling, Competitor, FilingQuerySet, Opportunity
from stages.models import Milestone, Stage


class Outcome(models.TextChoices):
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Reason(models.Model):
    """An admin-maintained reason a deal was won or lost: the taxonomy reviews pick their primary
    and secondary reasons from, one list per outcome."""

    outcome = models.CharField(max_length=4, choices=Outcome.choices)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["outcome", "order", "name"]
        constraints = [models.UniqueConstraint(fields=["outcome", "name"], name="reason_name_once_per_outcome")]

    def __str__(self) -> str:
        return self.name


class ReviewState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# The states in which the owner still has to act: what "overdue" is about.
OWNER_STATES = (ReviewState.DRAFT, ReviewState.CHANGES_REQUESTED)
# The states a reopen cancels (the review is not finished yet).
UNFINISHED_STATES = (ReviewState.DRAFT, ReviewState.SUBMITTED, ReviewState.CHANGES_REQUESTED)
# The states whose review (and lessons) teammates may read.
SHARED_STATES = (ReviewState.ACCEPTED, ReviewState.CLOSED)


def visible_review_q(user, prefix: str = "") -> Q:
    """The reviews `user` may read: admins all; anyone their own; managers their teams'; reps
    their team's accepted ones."""
    if user.is_admin:
        return Q()
    q = Q(**{f"{prefix}author": user}) | Q(**{f"{prefix}reviewer": user})
    team_ids = user.managed_team_ids()
    if team_ids:
        q |= Q(**{f"{prefix}author__team__in": team_ids})
    if user.team_id:
        q |= Q(**{f"{prefix}author__team": user.team_id, f"{prefix}state__in": SHARED_STATES})
    return q


class ReviewQuerySet(FilingQuerySet):
    def for_user(self, user):
        return self.filter(visible_review_q(user)) if user.is_authenticated else self.none()

    def current(self):
        return self.filter(is_current=True)

    def of_closed_deals(self):
        """The current reviews of the deals closed now (the predicate of
        `review_current_closed_idx`). `of_deals_for(user)` selects by the deal's owner, where
        `for_user` is the review's own access (author, reviewer, team)."""
        return self.filter(Q(is_current=True) & CLOSED_FILING)

    def overdue(self, today):
        return self.filter(state__in=OWNER_STATES, due_on__lt=today)


class Review(CarriesFiling):
    """The post-mortem of one close of a deal. Closing opens one; reopening cancels it if it is
    unfinished; closing again opens another. `is_current` marks the latest close's review; it
    carries its deal's filing (`CarriesFiling`) for the win/loss analysis.

    `facts` is the deal's history at the close (`postmortem.facts`), kept so the review reads
    the same later; the rest is what the owner adds and what the manager answers."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="reviews")
    outcome = models.CharField(max_length=4, choices=Outcome.choices)
    state = models.CharField(max_length=20, choices=ReviewState.choices, default=ReviewState.DRAFT)
    is_current = models.BooleanField(default=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="reviews_to_review"
    )
    due_on = models.DateField()
    primary_reason = models.ForeignKey(Reason, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    secondary_reason = models.ForeignKey(Reason, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decisive_milestone = models.ForeignKey(
        Milestone, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    competitor_decisive = models.BooleanField(null=True, blank=True)
    went_right = models.TextField(blank=True)
    went_wrong = models.TextField(blank=True)
    manager_comments = models.TextField(blank=True)
    facts = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity"], condition=Q(is_current=True), name="one_current_review_per_deal"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_on"]),
            models.Index(fields=["author", "state"]),
            # The current reviews of the closed deals, read from this index alone by the win/loss
            # analysis (`ReviewQuerySet.of_closed_deals`).
            models.Index(
                fields=["deal_closed_on"],
                include=["deal_status", "deal_owner", "deal_process", "primary_reason", "decisive_milestone"],
                condition=Q(is_current=True) & CLOSED_FILING,
                name="review_current_closed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Post-mortem of {self.opportunity}"

    def is_overdue(self, today) -> bool:
        return self.state in OWNER_STATES and self.due_on < today

    @property
    def is_editable(self) -> bool:
        return self.state in OWNER_STATES


class ReviewEvent(models.Model):
    """One change of a review (opened, saved, submitted, sent back, accepted, closed,
    cancelled): who, when, from which state to which, with what comment. Append-only."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=30)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.verb} on review {self.review_id}"


class LessonQuerySet(models.QuerySet):
    def for_user(self, user):
        """Lessons of accepted reviews the user may read, and the user's own at any state."""
        if not user.is_authenticated:
            return self.none()
        shared = Q(review__state__in=SHARED_STATES) & visible_review_q(user, "review__")
        return self.filter(shared | Q(review__author=user))

    def shown(self):
        """What deal pages show: lessons of accepted reviews, not retired."""
        return self.filter(review__state__in=SHARED_STATES, retired_at__isnull=True)


class Lesson(models.Model):
    """A short statement a review teaches, tagged to where it applies: a stage, and optionally a
    milestone, an industry, a competitor and a buying role. Deal pages show the lessons whose
    tags match the deal; teammates endorse them; managers retire those no longer true."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="lessons")
    text = models.CharField(max_length=300)
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    milestone = models.ForeignKey(Milestone, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    industry = models.CharField(max_length=100, blank=True)
    competitor = models.ForeignKey(Competitor, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    buying_role = models.CharField(max_length=30, choices=BuyingRole.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = LessonQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["stage"], condition=Q(retired_at__isnull=True), name="lesson_live_stage_idx"),
            # The deal page ranks the newest matching lessons: read newest first, stopping early.
            models.Index(
                fields=["-created_at", "-id"], condition=Q(retired_at__isnull=True), name="lesson_live_newest_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.text


class LessonEndorsement(models.Model):
    """A teammate's "this helped me" on a lesson: one per person and lesson."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="endorsements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lesson", "user"], name="one_endorsement_per_person")]

    def __str__(self) -> str:
        return f"{self.user} endorses lesson {self.lesson_id}"
