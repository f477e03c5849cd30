from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"


class SalesProcessQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class SalesProcess(models.Model):
    """A named, ordered series of stages that a kind of deal goes through ("New business")."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive processes take no new deals.")

    objects = SalesProcessQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "sales processes"

    def __str__(self) -> str:
        return self.name

    def first_stage(self) -> "Stage | None":
        return self.stages.order_by("order", "id").first()


class Stage(models.Model):
    """One step of a sales process, with its objective, forecast meaning and exit criteria."""

    process = models.ForeignKey(SalesProcess, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0, help_text="Stages run in ascending order.")
    objective = models.CharField(max_length=300, blank=True, help_text="What the seller must achieve here.")
    guidance = models.TextField(blank=True, help_text="Coaching shown on the deal while it is in this stage.")
    win_probability = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Default chance of winning, in percent.",
    )
    forecast_category = models.CharField(
        max_length=20, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    stuck_after_days = models.PositiveIntegerField(
        default=30, help_text="A deal in this stage longer than this many days is stuck."
    )
    idle_after_days = models.PositiveIntegerField(
        default=14, help_text="A deal in this stage with nothing logged or changed for this many days is idle."
    )
    slip_push_limit = models.PositiveIntegerField(
        default=2, help_text="A deal whose close date was pushed later more than this many times has slipped."
    )

    class Meta:
        ordering = ["process", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["process", "name"], name="stage_name_unique_in_process"),
            models.CheckConstraint(condition=models.Q(win_probability__lte=100), name="stage_win_probability_max_100"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def probability_fraction(self) -> Decimal:
        return Decimal(self.win_probability) / Decimal(100)


class Milestone(models.Model):
    """An exit criterion of a stage; required ones gate moving past the stage."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    is_required = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["stage__process", "stage__order", "stage_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "name"], name="milestone_name_unique_in_stage"),
        ]

    def __str__(self) -> str:
        return self.name
