from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"


class BuyingRole(models.TextChoices):
    """The roles a contact plays on a buying team. Defined here, below opportunities (whose
    buying team uses them, re-exported as `opportunities.models.BuyingRole`), so that a stage
    can require a role."""

    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    DECISION_MAKER = "decision_maker", "Decision maker"
    CHAMPION = "champion", "Champion"
    TECHNICAL_EVALUATOR = "technical_evaluator", "Technical evaluator"
    USER = "user", "User"
    INFLUENCER = "influencer", "Influencer"
    BLOCKER = "blocker", "Blocker"


class SalesProcessQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_user(self, user):
        """Every signed-in user reads every process (the deals in them are what is private);
        only admins change them (`SalesProcess.can_edit`)."""
        return self.all() if SalesProcess.may_read(user) else self.none()


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

    @staticmethod
    def may_read(user) -> bool:
        return bool(getattr(user, "is_authenticated", False))

    @staticmethod
    def can_edit(user) -> bool:
        """Admins configure processes, their stages and milestones; everyone else reads them."""
        return bool(getattr(user, "is_admin", False))

    def first_stage(self) -> "Stage | None":
        return self.stages.order_by("order", "id").first()


class StageQuerySet(models.QuerySet):
    def for_user(self, user):
        """The stages of the processes `user` reads (`SalesProcessQuerySet.for_user`)."""
        return self.all() if SalesProcess.may_read(user) else self.none()


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
    buying_team_touch_days = models.PositiveIntegerField(
        default=21,
        help_text="A buying-team member with no logged activity for more than this many days is flagged (0: never).",
    )

    objects = StageQuerySet.as_manager()

    class Meta:
        ordering = ["process", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["process", "name"], name="stage_name_unique_in_process"),
            models.CheckConstraint(condition=models.Q(win_probability__lte=100), name="stage_win_probability_max_100"),
        ]

    def __str__(self) -> str:
        return self.name

    def can_edit(self, user) -> bool:
        return SalesProcess.can_edit(user)

    @property
    def probability_fraction(self) -> Decimal:
        return Decimal(self.win_probability) / Decimal(100)


class MilestoneQuerySet(models.QuerySet):
    def live(self, keep: Iterable[int] = ()):
        """The milestones in force: not retired (and those of `keep`, e.g. a form's current choice).
        Gating, checklists, aids and reports read milestones through this; a retired one stays
        only for the history that ticked it."""
        return self.filter(models.Q(retired_at__isnull=True) | models.Q(pk__in=[k for k in keep if k]))

    def for_user(self, user):
        """The milestones of the processes `user` reads (`SalesProcessQuerySet.for_user`)."""
        return self.all() if SalesProcess.may_read(user) else self.none()


class Milestone(models.Model):
    """An exit criterion of a stage; required ones gate moving past the stage. A milestone deals
    ticked is retired rather than deleted (`retired_at`): it no longer gates, shows or takes ticks,
    and the history keeps it."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    is_required = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="Retired: kept for history only.")

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["stage__process", "stage__order", "stage_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "name"], name="milestone_name_unique_in_stage"),
        ]

    def __str__(self) -> str:
        return self.name

    def can_edit(self, user) -> bool:
        return SalesProcess.can_edit(user)

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class RoleEnforcement(models.TextChoices):
    ENFORCED = "enforced", "Enforced (gates advancement)"
    WARN = "warn", "Warn only"


class StageRoleRequirement(models.Model):
    """A buying role that must be on a deal's buying team before it moves past this stage
    ("economic buyer identified before Proposal" sits on the stage before Proposal). Enforced
    ones gate advancement like a required milestone, with the same audited override; warn-only
    ones are shown as warnings and health flags."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="role_requirements")
    role = models.CharField(max_length=30, choices=BuyingRole.choices)
    enforcement = models.CharField(max_length=10, choices=RoleEnforcement.choices, default=RoleEnforcement.ENFORCED)

    class Meta:
        ordering = ["stage__process", "stage__order", "stage_id", "role"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "role"], name="stage_role_requirement_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} before leaving {self.stage}"

    @property
    def is_enforced(self) -> bool:
        return self.enforcement == RoleEnforcement.ENFORCED


class ProcessChange(models.Model):
    """One change an admin made to a sales process, a stage or a milestone: who, when, what kind
    of change to which row, and its fields before and after (`before` is empty for a row just
    created). Written by `stages.services` in the change's transaction; append-only."""

    # Kept when the admin site deletes the process: the record of what was done outlives it.
    process = models.ForeignKey(SalesProcess, on_delete=models.SET_NULL, null=True, related_name="changes")
    action = models.CharField(max_length=40, help_text="What was done: process_create, stage_update, …")
    subject = models.CharField(max_length=300, help_text="The row changed, as people read it.")
    object_id = models.PositiveBigIntegerField(help_text="The id of the process, stage or milestone changed.")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["process", "-created_at"], name="process_change_process_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.subject}"
