"""The sweep's Celery task. Its name is the one it had in `pipeline/tasks.py`: the beat schedule
and the messages already queued call it by name."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services


# The sweep is one transaction: a worker killed mid-sweep (or by the hard time limit) commits
# nothing, and acks_late redelivers the message, so the rerun does the whole job. Only a lost or
# busy database is worth retrying; anything else is a bug and fails at once.
@shared_task(
    name="pipeline.tasks.sweep_pipeline",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=240,
    time_limit=300,
)
def sweep_pipeline() -> dict:
    return services.pipeline_sweep().as_dict()
