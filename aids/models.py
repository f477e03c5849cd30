"""The sales-aid library, the playbooks, and the ledger of what was shared with whom.

An `Aid` (a case study, a battle card, …) is tagged with where it helps (stages, milestones,
competitors, buyer roles, industries, deal size bands) and has numbered `AidVersion`s, each a
file, a link or Markdown text; a new version never replaces the old ones, so a `Share` always
says exactly what the buyer received. Every change goes through `aids.services` and writes an
`AidEvent`.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opportunities.models import Activity, BuyingRole, Competitor, Contact, Opportunity
from stages.models import Milestone, SalesProcess, Stage


class AidKind(models.TextChoices):
    CASE_STUDY = "case_study", "Case study"
    BATTLE_CARD = "battle_card", "Battle card"
    ROI_CALCULATOR = "roi_calculator", "ROI calculator"
    CHECKLIST = "checklist", "Checklist"
    EDUCATIONAL = "educational", "Educational content"
    EMAIL_TEMPLATE = "email_template", "Email template"
    PRESENTATION = "presentation", "Presentation"
    ONE_PAGER = "one_pager", "One-pager"


class AidStatus(models.TextChoices):
    DRAFT = "draft", "Suggested (draft)"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class AidSource(models.TextChoices):
    FILE = "file", "File"
    LINK = "link", "Link"
    TEXT = "text", "Text"


class SizeBand(models.TextChoices):
    SMALL = "small", "Under 10,000"
    MEDIUM = "medium", "10,000–100,000"
    LARGE = "large", "100,000–1,000,000"
    ENTERPRISE = "enterprise", "Over 1,000,000"


def size_band_for(amount) -> str:
    """The deal size band of an amount."""
    amount = Decimal(amount or 0)
    if amount < 10_000:
        return SizeBand.SMALL
    if amount < 100_000:
        return SizeBand.MEDIUM
    if amount < 1_000_000:
        return SizeBand.LARGE
    return SizeBand.ENTERPRISE


class TagKind(models.TextChoices):
    BUYER_ROLE = "buyer_role", "Buyer role"
    INDUSTRY = "industry", "Industry"
    SIZE_BAND = "size_band", "Deal size band"


def may_curate(user) -> bool:
    """Admins and managers publish, retire and edit any aid; reps suggest."""
    return user.is_authenticated and (user.is_admin or user.is_manager)


class AidQuerySet(models.QuerySet):
    def for_user(self, user):
        """Curators see every aid; reps the published ones and their own suggestions."""
        if not user.is_authenticated:
            return self.none()
        if may_curate(user):
            return self
        return self.filter(Q(status=AidStatus.PUBLISHED) | Q(created_by=user, status=AidStatus.DRAFT))

    def published(self):
        return self.filter(status=AidStatus.PUBLISHED)


class Aid(models.Model):
    """One piece of selling content, with its tags; what it says is in its versions."""

    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=AidKind.choices)
    summary = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=AidStatus.choices, default=AidStatus.DRAFT)
    processes = models.ManyToManyField(SalesProcess, blank=True, related_name="+")
    stages = models.ManyToManyField(Stage, blank=True, related_name="+")
    milestones = models.ManyToManyField(Milestone, blank=True, related_name="+")
    competitors = models.ManyToManyField(Competitor, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    current_version = models.ForeignKey(
        "AidVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The text the search looks in: title, summary and the current version's Markdown.
    search_text = models.TextField(blank=True, editable=False)

    objects = AidQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == AidStatus.PUBLISHED

    def tag_values(self, kind: str) -> list[str]:
        return [t.value for t in self.tags.all() if t.kind == kind]

    def role_labels(self) -> list[str]:
        labels = dict(BuyingRole.choices)
        return [labels.get(v, v) for v in self.tag_values(TagKind.BUYER_ROLE)]

    def industry_values(self) -> list[str]:
        return self.tag_values(TagKind.INDUSTRY)

    def size_band_labels(self) -> list[str]:
        labels = dict(SizeBand.choices)
        return [labels.get(v, v) for v in self.tag_values(TagKind.SIZE_BAND)]


class AidTag(models.Model):
    """A free-valued tag of an aid: a buyer role, an industry or a deal size band."""

    aid = models.ForeignKey(Aid, on_delete=models.CASCADE, related_name="tags")
    kind = models.CharField(max_length=10, choices=TagKind.choices)
    value = models.CharField(max_length=100)

    class Meta:
        ordering = ["kind", "value", "id"]
        constraints = [models.UniqueConstraint(fields=["aid", "kind", "value"], name="aid_tag_once")]
        indexes = [models.Index(fields=["kind", "value"])]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class AidVersion(models.Model):
    """One version of an aid's content: an uploaded file (kept in the default storage, served
    only through `aids.views.aid_file`), a link, or Markdown text."""

    aid = models.ForeignKey(Aid, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    source = models.CharField(max_length=4, choices=AidSource.choices)
    file = models.FileField(upload_to="aids/%Y/%m/", max_length=255, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    url = models.URLField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["aid", "-number"]
        constraints = [models.UniqueConstraint(fields=["aid", "number"], name="aid_version_number_once")]

    def __str__(self) -> str:
        return f"{self.aid} v{self.number}"


class Playbook(models.Model):
    """An admin's coaching for one milestone: how to run that meeting, what to ask, what to
    avoid. Shown on deals whose owner has rarely completed the milestone."""

    milestone = models.OneToOneField(Milestone, on_delete=models.CASCADE, related_name="+")
    how_to_run = models.TextField()
    questions = models.TextField(blank=True)
    avoid = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["milestone__stage__process", "milestone__stage__order", "milestone__order", "id"]

    def __str__(self) -> str:
        return f"Playbook: {self.milestone}"


class ShareChannel(models.TextChoices):
    EMAIL = "email", "Emailed by Lockstep"
    RECORDED = "recorded", "Recorded (sent from my own mail)"


class ShareQuerySet(models.QuerySet):
    def for_user(self, user):
        """A share follows its deal."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(opportunity__in=Opportunity.objects.for_user(user))


class Share(models.Model):
    """One aid version given to one buying-team member on one deal: who, what, when, by whom,
    and the deal's stage at the time (for the measured-use page)."""

    aid = models.ForeignKey(Aid, on_delete=models.PROTECT, related_name="shares")
    version = models.ForeignKey(AidVersion, on_delete=models.PROTECT, related_name="shares")
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="aid_shares")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    roles = models.JSONField(default=list, blank=True, help_text="The contact's buying roles when shared.")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=ShareChannel.choices)
    message = models.TextField(blank=True)
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    shared_at = models.DateTimeField(default=timezone.now)
    activity = models.ForeignKey(Activity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = ShareQuerySet.as_manager()

    class Meta:
        ordering = ["-shared_at", "-id"]
        indexes = [models.Index(fields=["opportunity", "aid"]), models.Index(fields=["aid", "shared_at"])]

    def __str__(self) -> str:
        return f"{self.version} to {self.contact}"


class AidEvent(models.Model):
    """The audit trail of the library: every create, edit, version, publish, retire, share and
    playbook change, with who did it."""

    aid = models.ForeignKey(Aid, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verb = models.CharField(max_length=30)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.verb} by {self.actor_id}"
