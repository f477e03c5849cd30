import datetime as dt

from django.db import models
from django.urls import reverse
from django.utils import timezone

from people.access import visible_owner_q
from people.models import User

from .reports.quarters import quarter_name


class FlagKind(models.TextChoices):
    IDLE = "idle", "Idle"
    STUCK = "stuck", "Stuck in stage"
    NO_NEXT_STEP = "no_next_step", "No next step"
    NEXT_STEP_OVERDUE = "next_step_overdue", "Next step overdue"
    CLOSE_DATE_SLIPPED = "close_date_slipped", "Close date slipped"
    SINGLE_THREADED = "single_threaded", "Single-threaded"
    ROLE_MISSING = "role_missing", "Buying role missing"
    MEMBER_NOT_CONTACTED = "member_not_contacted", "Buying-team member not contacted"


class FlagQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def counts_by_kind(self) -> dict[str, int]:
        """{kind: number of flags}, kinds without any left out."""
        return dict(self.order_by().values_list("kind").annotate(n=models.Count("id")).values_list("kind", "n"))

    def for_user(self, user):
        return self.filter(visible_owner_q(user, "opportunity__owner")) if user.is_authenticated else self.none()


class Flag(models.Model):
    """A pipeline-health problem of one open opportunity, from when it was seen until it cleared.

    Resolved flags are kept: how long each deal spent flagged is history. At most one open
    flag per (opportunity, kind) — the database enforces it, which is what makes overlapping
    sweeps harmless.
    """

    opportunity = models.ForeignKey("opportunities.Opportunity", on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=30, choices=FlagKind.choices)
    detail = models.CharField(
        max_length=200,
        help_text="Why, in words that stay true while the flag is open: “pushed 3 times”, “in Qualify (limit 30)”.",
    )
    since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="What the flag's count of days runs from: the last touch (idle), the stage entry (stuck), "
        "the next step's due day at 00:00 UTC (overdue). Empty for the other kinds.",
    )
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = FlagQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "kind"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_flag_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["kind", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.explanation}"

    def explain(self, now: dt.datetime | None = None) -> str:
        """The flag in words at `now`: “idle 23 days”, “31 days in Qualify (limit 30)”, “next step 2
        days overdue (due 2026-11-20)”, “pushed 3 times”.

        The days are counted here, from `since`, rather than stored: stored, they would have the
        sweep rewrite every open flag each day for nothing but the passing of time. The same
        words are written in SQL by `health.explanation_sql` for notifications; the two agree
        (tests/pipeline/health/test_health.py)."""
        if self.since is None:
            return self.detail
        now = now or timezone.now()
        if self.kind == FlagKind.NEXT_STEP_OVERDUE:
            due = self.since.astimezone(dt.UTC).date()
            return f"next step {_days((timezone.localdate(now) - due).days)} overdue ({self.detail})"
        # Whole 24-hour days, truncated toward zero, as the database counts them.
        days = _days(int((now - self.since).total_seconds() / 86400))
        if self.kind == FlagKind.IDLE:
            return f"idle {days}"
        return f"{days} {self.detail}"

    @property
    def explanation(self) -> str:
        """`explain()` now: what pages and emails show."""
        return self.explain()

    @property
    def clear_action(self) -> dict[str, str]:
        """What the person should do to clear this flag, and where: {"label", "url"}."""
        label, url_name, anchor = FLAG_ACTIONS[self.kind]
        return {"label": label, "url": reverse(url_name, args=[self.opportunity_id]) + anchor}


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


# kind → (what clears it, the page where it is done, the section of that page)
FLAG_ACTIONS = {
    FlagKind.IDLE: ("Log an activity or move the deal", "opportunities:detail", "#activities"),
    FlagKind.STUCK: ("Move the deal on, or close it", "opportunities:detail", "#stage-actions"),
    FlagKind.NO_NEXT_STEP: ("Set a next step", "opportunities:detail", "#next-step"),
    FlagKind.NEXT_STEP_OVERDUE: ("Complete or replace the next step", "opportunities:detail", "#next-step"),
    FlagKind.CLOSE_DATE_SLIPPED: ("Update the close date", "opportunities:edit", ""),
    FlagKind.SINGLE_THREADED: ("Engage more of the buying team", "opportunities:detail", "#buying-team"),
    FlagKind.ROLE_MISSING: ("Identify who plays the role", "opportunities:detail", "#buying-team"),
    FlagKind.MEMBER_NOT_CONTACTED: ("Log an activity with them", "opportunities:detail", "#activities"),
}


class Notification(models.Model):
    """An in-app message for one user (the bell), e.g. a flag opened on a deal they own or manage."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications")
    message = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One notification per person per flag: re-running a sweep cannot notify twice.
            models.UniqueConstraint(fields=["user", "flag"], name="one_notification_per_user_flag"),
        ]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.message


class DigestKind(models.TextChoices):
    OWNER = "owner", "Owner digest"
    MANAGER = "manager", "Manager digest"


class DigestSent(models.Model):
    """Proof that a person's daily digest went out: at most one per person, kind and day."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="digests")
    kind = models.CharField(max_length=10, choices=DigestKind.choices)
    day = models.DateField()
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "day"], name="one_digest_per_user_kind_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user} on {self.day}"


class HealthSweep(models.Model):
    """One run of the pipeline-health sweep (`pipeline.health.services.pipeline_sweep`): the
    moment it computed the time-based flags for and what it changed, written in the sweep's own
    transaction. Needs attention says from it how fresh its flags are: a stopped beat otherwise
    looks exactly like a healthy pipeline. A sweep that found another one running writes none.

    The next run starts from it: an incremental sweep evaluates only the deals changed since
    (`HealthChange`) and those whose time thresholds fell between its `ran_at` and the new now,
    which holds only while the configuration the flags read is the one it ran with
    (`config_fingerprint`) and a full run is recent enough to have caught the writes that bypass
    the services."""

    ran_at = models.DateTimeField(help_text="The moment the flags were computed for.")
    opened = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    notified = models.PositiveIntegerField(default=0)
    # The runs recorded before sweeps could be incremental were all full.
    full = models.BooleanField(
        default=True, help_text="Whether it evaluated every open deal, not only the changed and time-crossed ones."
    )
    evaluated = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many deals it evaluated. Empty for the runs from before it was counted."
    )
    config_fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="A hash of what the flags read besides the deals (stage thresholds and order, required "
        "buying roles, the definition itself) when it ran; empty for the runs from before it was kept.",
    )

    class Meta:
        ordering = ["-ran_at", "-id"]
        indexes = [models.Index(fields=["-ran_at"], name="health_sweep_ran_at_idx")]

    def __str__(self) -> str:
        return f"Pipeline sweep at {self.ran_at:%Y-%m-%d %H:%M}"

    @classmethod
    def last(cls) -> "HealthSweep | None":
        """The run with the latest `ran_at`: how fresh the flags are."""
        return cls.objects.order_by("-ran_at", "-id").first()

    @classmethod
    def previous(cls, *, full: bool = False) -> "HealthSweep | None":
        """The run recorded last (the last full one with `full`), whatever moment it ran for: the
        flag table is in the state it left, even when it was run for an earlier moment than the
        one before it."""
        runs = cls.objects.filter(full=True) if full else cls.objects.all()
        return runs.order_by("-id").first()


class HealthChange(models.Model):
    """A deal written through the services since the last pipeline-health sweep: one row each time
    `opportunities.signals.opportunity_changed` announces it (the receiver in
    `pipeline.health.signals`), or an import creates it. The next sweep re-evaluates those deals
    and deletes the rows it read, in its own transaction; a row committed while it runs is left
    for the one after.

    `opportunity_id` is a bare column, not a foreign key: the row is written inside the user's
    transaction, where a key would add a lookup at commit and an index to maintain, and a row
    naming a deal deleted since simply evaluates nothing."""

    opportunity_id = models.BigIntegerField()
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Deal {self.opportunity_id} changed at {self.changed_at:%Y-%m-%d %H:%M}"


class Quota(models.Model):
    """What one person is expected to close won in one calendar quarter, set by their manager
    or an admin (`pipeline.reports.services.quota_set`). The dashboard's attainment is closed won
    divided by the sum of the quotas of the people in view."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="quotas")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField(help_text="1 to 4: January–March is 1.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    set_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["year", "quarter", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "year", "quarter"], name="one_quota_per_user_quarter"),
            models.CheckConstraint(condition=models.Q(quarter__gte=1, quarter__lte=4), name="quota_quarter_1_to_4"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="quota_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.amount} in {quarter_name(self.year, self.quarter)}"


class QuotaChange(models.Model):
    """One quota set or changed: whose, which quarter, from what (none when it was first set) to
    what, by whom and when. Written by `pipeline.reports.services.quota_set` with the change; append-only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField()
    old_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    new_amount = models.DecimalField(max_digits=14, decimal_places=2)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["year", "quarter", "-created_at"], name="quota_change_quarter_idx")]

    def __str__(self) -> str:
        return f"{self.user}'s quota for {quarter_name(self.year, self.quarter)}: {self.old_amount} → {self.new_amount}"
