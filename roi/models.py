from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from opportunities.models import Opportunity
from stages.models import SalesProcess

INPUT_NAME = RegexValidator(
    r"^[a-z][a-z0-9_]{0,39}$",
    "Use lower-case letters, digits and underscores, starting with a letter (e.g. seats).",
)


class CalculatorQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Calculator(models.Model):
    """A sales process's ROI calculator: named inputs and the formula that turns them into the
    figure the rep shows the buyer (e.g. yearly saving). One per process."""

    process = models.OneToOneField(SalesProcess, on_delete=models.CASCADE, related_name="roi_calculator")
    name = models.CharField(max_length=100, default="ROI calculator")
    description = models.TextField(blank=True, help_text="Shown to the rep above the inputs.")
    formula = models.TextField(
        help_text="Arithmetic over the inputs' names: + - * / % **, brackets, min, max, round, abs."
    )
    result_label = models.CharField(max_length=100, default="Return")
    result_unit = models.CharField(max_length=20, blank=True, help_text="E.g. €, $ or %.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CalculatorQuerySet.as_manager()

    class Meta:
        ordering = ["process__name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.process})"


class CalculatorInput(models.Model):
    """One input of a calculator: the name the formula uses, what the rep sees, its unit and
    the value the form starts from."""

    calculator = models.ForeignKey(Calculator, on_delete=models.CASCADE, related_name="inputs")
    name = models.CharField(max_length=40, validators=[INPUT_NAME], help_text="The name the formula uses.")
    label = models.CharField(max_length=100)
    unit = models.CharField(max_length=20, blank=True)
    default = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["calculator", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["calculator", "name"], name="roi_input_name_unique_in_calculator"),
        ]

    def __str__(self) -> str:
        return self.label


class ResultQuerySet(models.QuerySet):
    def for_user(self, user):
        """A saved result follows its deal."""
        return self.filter(opportunity__in=Opportunity.objects.for_user(user))


class Result(models.Model):
    """A calculation saved on a deal: what the rep entered, the formula it was computed with
    and the figure. Append-only: each save is a new row, so the deal keeps its ROI history and a
    later change of the formula does not rewrite what the buyer was shown."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="roi_results")
    calculator = models.ForeignKey(Calculator, on_delete=models.PROTECT, related_name="results")
    values = models.JSONField(help_text="[{name, label, unit, value}] in the calculator's order.")
    formula = models.TextField()
    result_label = models.CharField(max_length=100)
    result_unit = models.CharField(max_length=20, blank=True)
    result = models.DecimalField(max_digits=20, decimal_places=2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ResultQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["opportunity", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.result_label}: {self.result} on {self.opportunity}"

    def can_edit(self, user) -> bool:
        return self.opportunity.can_edit(user)
