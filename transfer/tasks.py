"""The import's Celery task: large files are committed here, off the request."""

import contextlib

from celery import shared_task

from opportunities.errors import DomainError
from people.models import User

from . import services
from .models import ImportJob, ImportStatus


@shared_task(name="transfer.tasks.run_import", acks_late=True)
def run_import(job_id: int, actor_id: int) -> None:
    """Commit the queued import `job_id`. Idempotent: a job no longer queued (already done, or
    redelivered after it finished) is left alone."""
    job = ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).first()
    actor = User.objects.filter(pk=actor_id).first()
    if job is None or actor is None:
        return
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    job.status = ImportStatus.RUNNING
    # A refused import says why on the job (status failed, its message); nothing to retry.
    with contextlib.suppress(DomainError):
        services.import_commit(job, actor=actor)


@shared_task(name="transfer.tasks.run_export", acks_late=True)
def run_export(job_id: int) -> None:
    """Build the export `job_id`; a finished one is left alone, so a redelivery changes nothing."""
    from .models import ExportJob

    job = ExportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is not None:
        services.export_build(job)
