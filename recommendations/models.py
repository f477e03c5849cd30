"""What the recommendations learn from closed deals, and what people made of them."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from opportunities.models import ActivityKind, Opportunity
from stages.models import Milestone, SalesProcess, Stage


class StepKind(models.TextChoices):
    MILESTONE = "milestone", "Milestone"
    ACTIVITY = "activity", "Activity"


class StepStat(models.Model):
    """How many won and lost deals took one step (ticked a milestone, logged an activity of a
    kind) before they left a stage: the evidence behind every recommendation, precomputed
    nightly by `services.stats_refresh` from the closed deals' history.

    `segment` is the accounts' industry, or blank for every deal that left the stage. The totals
    are the won and lost deals that left the stage (in the segment); `*_with` those of them that
    took the step before leaving it.
    """

    process = models.ForeignKey(SalesProcess, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="step_stats")
    segment = models.CharField(max_length=100, blank=True, help_text="The accounts' industry; blank for all.")
    kind = models.CharField(max_length=10, choices=StepKind.choices)
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    activity_kind = models.CharField(max_length=20, choices=ActivityKind.choices, blank=True)
    # "milestone:<id>" or "activity:<kind>": how feedback, forms and the API name the step.
    step_key = models.CharField(max_length=40)
    won_with = models.PositiveIntegerField(default=0)
    won_total = models.PositiveIntegerField(default=0)
    lost_with = models.PositiveIntegerField(default=0)
    lost_total = models.PositiveIntegerField(default=0)
    # When these counts last changed (a refresh that finds them the same leaves the row alone).
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["stage__order", "segment", "kind", "milestone_id", "activity_kind"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "segment", "step_key"], name="recommendations_stepstat_unique"),
            models.CheckConstraint(
                condition=(models.Q(kind="milestone", milestone__isnull=False, activity_kind=""))
                | (models.Q(kind="activity", milestone__isnull=True) & ~models.Q(activity_kind="")),
                name="recommendations_stepstat_one_step",
            ),
        ]
        indexes = [
            # A deal's panel reads its stage's rows, in its segment and overall.
            models.Index(fields=["stage", "segment"], name="recommendations_stat_stage_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step_key} before leaving stage {self.stage_id} ({self.segment or 'all deals'})"


class FeedbackVerdict(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class Feedback(models.Model):
    """A recommendation accepted (made the deal's next step) or dismissed (with a reason) on a
    deal at a stage: once per deal, stage and step, so that recommendations can be judged."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="recommendation_feedback")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    step_key = models.CharField(max_length=40)
    verdict = models.CharField(max_length=10, choices=FeedbackVerdict.choices)
    reason = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "stage", "step_key"], name="recommendations_feedback_once"),
        ]
        indexes = [
            # The manager page counts verdicts per stage and step.
            models.Index(fields=["stage", "step_key", "verdict"], name="recommendations_fb_count_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step_key} {self.verdict} on {self.opportunity_id}"
