from django.conf import settings
from django.db import models
from django.utils import timezone

from .fields import Kind


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    CHECKED = "checked", "Checked"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"
    UNDONE = "undone", "Undone"


class DuplicateAction(models.TextChoices):
    SKIP = "skip", "Skip the row"
    UPDATE = "update", "Update the existing record"
    CREATE = "create", "Create a new record anyway"


class ImportJobQuerySet(models.QuerySet):
    def for_user(self, user):
        """Imports are an admin's tool: admins see every import, nobody else any."""
        if not user.is_authenticated or not user.is_admin:
            return self.none()
        return self


class ImportJob(models.Model):
    """One file brought in from a spreadsheet or another CRM: the original file, how its columns
    and values map onto Lockstep, what the check found, and — once committed — the ids of every
    row it created, which is what marks them as imported and what undo removes."""

    kind = models.CharField(max_length=20, choices=Kind.CHOICES)
    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    process = models.ForeignKey("stages.SalesProcess", on_delete=models.PROTECT, null=True, blank=True)
    header = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    # {field name: column name}, {field name: {value in the file: target id or "won"/"lost"}}.
    mapping = models.JSONField(default=dict, blank=True)
    value_map = models.JSONField(default=dict, blank=True)
    # What to do with rows that match an existing record: a default and per-row exceptions.
    duplicates = models.CharField(max_length=10, choices=DuplicateAction.choices, default=DuplicateAction.SKIP)
    row_actions = models.JSONField(default=dict, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first problems found, per row.")
    # {"created": n, "updated": n, "skipped": n}.
    counts = models.JSONField(default=dict, blank=True)
    # {"account": [ids], "contact": [ids], "opportunity": [ids]} created by the commit, and the
    # event and audit ids after which anything else touching them blocks undo.
    created_ids = models.JSONField(default=dict, blank=True)
    last_event_id = models.BigIntegerField(default=0)
    last_audit_id = models.BigIntegerField(default=0)
    progress = models.PositiveIntegerField(default=0, help_text="Rows written so far, for the progress bar.")
    message = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.filename}"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.progress / self.row_count)) if self.row_count else 0

    @property
    def is_editable(self) -> bool:
        return self.status in (ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.FAILED)


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ExportJobQuerySet(models.QuerySet):
    def for_user(self, user):
        """Your own exports only: each holds what its requester may read."""
        return self.filter(created_by=user) if user.is_authenticated else self.none()


class ExportJob(models.Model):
    """A full export of what its requester may read, built by a Celery task into a zip file
    (JSON Lines per table) that only they may download."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} for {self.created_by_id}"
