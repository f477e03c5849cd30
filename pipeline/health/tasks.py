"""Celery tasks of the pipeline. Their names are the ones they had in `pipeline/tasks.py`: the beat
schedule and the messages already queued call them by name."""

from smtplib import SMTPException

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ..notify import digest
from . import services


# Only transient mail trouble is retried, waiting up to 1, 2, 4, 8, 10 minutes (full jitter) so
# an SMTP outage of up to half an hour is ridden out. Each retry re-runs the whole job, which is
# safe: a digest already recorded as sent is skipped (see pipeline/digest.py). The hard time
# limit must stay below digest.CLAIM_TIMEOUT.
@shared_task(
    name="pipeline.tasks.send_daily_digests",
    autoretry_for=(SMTPException, ConnectionError, OSError),
    retry_backoff=60,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=25 * 60,
    time_limit=30 * 60,
)
def send_daily_digests() -> int:
    return digest.digest_send_all()


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
