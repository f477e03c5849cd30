"""Guided selling's signals on open deals: the qualification checklist, the learned win model
and each open deal's stored scores (viability, win probability, ICP fit, priority)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from opportunities.models import Opportunity
from stages.models import SalesProcess


class QualificationItem(models.Model):
    """One question of a sales process's qualification checklist ("Budget known"), which reps
    tick on a deal; admins edit, order and retire them."""

    process = models.ForeignKey(SalesProcess, on_delete=models.CASCADE, related_name="qualification_items")
    label = models.CharField(max_length=100)
    help_text = models.CharField(max_length=300, blank=True)
    order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True, help_text="Retired items keep their ticks but stop counting.")

    class Meta:
        ordering = ["process", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["process", "label"], name="qualification_item_label_once")]

    def __str__(self) -> str:
        return self.label


class QualificationTick(models.Model):
    """A qualification item confirmed on a deal, by whom and when."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="qualification_ticks")
    item = models.ForeignKey(QualificationItem, on_delete=models.CASCADE, related_name="ticks")
    ticked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ticked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["item__order", "id"]
        constraints = [models.UniqueConstraint(fields=["opportunity", "item"], name="qualification_tick_once")]

    def __str__(self) -> str:
        return f"{self.item} on {self.opportunity_id}"


class GuidanceVerb(models.TextChoices):
    TICKED = "ticked", "Qualification item ticked"
    UNTICKED = "unticked", "Qualification item unticked"
    MODEL_TRAINED = "model_trained", "Win model trained"
    RETRAIN_REQUESTED = "retrain_requested", "Retrain requested"


class GuidanceEvent(models.Model):
    """The audit trail of guided selling: who ticked what on which deal, which model was
    trained when and who asked for it."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, null=True, blank=True, related_name="guidance_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=30, choices=GuidanceVerb.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["opportunity", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_verb_display()}: {self.detail}"


class WinModel(models.Model):
    """One trained win-probability model: a logistic regression over standardised features,
    stored as plain numbers so that scoring needs no pickled objects. `feature_names` empty means
    too little history: deals get their stage's default probability."""

    version = models.PositiveIntegerField(unique=True)
    trained_at = models.DateTimeField(default=timezone.now)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    n_won = models.PositiveIntegerField(default=0)
    n_lost = models.PositiveIntegerField(default=0)
    feature_names = models.JSONField(default=list)
    coefficients = models.JSONField(default=list, help_text="One per feature name, on standardised values.")
    means = models.JSONField(default=list)
    scales = models.JSONField(default=list)
    intercept = models.FloatField(default=0.0)
    metrics = models.JSONField(default=dict)
    data_hash = models.CharField(max_length=64, blank=True, help_text="Of the training rows: same data, no retrain.")
    is_current = models.BooleanField(default=False)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=models.Q(is_current=True), name="one_current_model"
            )
        ]

    def __str__(self) -> str:
        return f"Win model v{self.version}"

    @property
    def n_closed(self) -> int:
        return self.n_won + self.n_lost

    @property
    def is_fallback(self) -> bool:
        return not self.feature_names


class DealSignalQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(opportunity__in=Opportunity.objects.for_user(user))


class DealSignal(models.Model):
    """The stored signals of one open deal, rewritten by `signals_score_all`; pages read these,
    never compute them per request."""

    opportunity = models.OneToOneField(Opportunity, on_delete=models.CASCADE, related_name="signal")
    viability = models.PositiveSmallIntegerField(default=0)
    viability_facts = models.JSONField(default=dict, help_text="{facts: [...], suggestions: [...]}")
    win_probability = models.PositiveSmallIntegerField(default=0, help_text="Percent.")
    win_explanation = models.JSONField(default=dict, help_text="{lines: [{factor, words, points}], note}")
    model_version = models.PositiveIntegerField(null=True, blank=True)
    icp_score = models.PositiveSmallIntegerField(default=0)
    icp = models.JSONField(default=dict, help_text="{similar_won: [ids], similar_lost: [ids], attributes: [...]}")
    priority = models.FloatField(default=0.0)
    reason = models.CharField(max_length=200, blank=True)
    scored_at = models.DateTimeField(default=timezone.now)

    objects = DealSignalQuerySet.as_manager()

    class Meta:
        ordering = ["-priority", "opportunity_id"]
        indexes = [models.Index(fields=["-priority", "opportunity"], name="dealsignal_priority_idx")]

    def __str__(self) -> str:
        return f"Signals of {self.opportunity_id}"
