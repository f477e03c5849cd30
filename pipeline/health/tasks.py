"""The sweep's Celery task. Its name is the one it had in `pipeline/tasks.py`: the beat schedule
and the messages already queued call it by name."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

# The sweep is one transaction: a worker killed mid-sweep (or by the hard time limit) commits
# nothing, and acks_late redelivers the message, so the rerun does the whole job. Only a lost or
# busy database is worth retrying; anything else is a bug and fails at once.
#
# A sweep that finds the lock taken has done nothing, so it is not done: it retries shortly. The
# holder may be a sweep running now (the retry then finds nothing left to do) or the connection of
# a worker killed mid-sweep, which PostgreSQL releases only when it notices, at the latest when
# the statement it was running ends; acknowledging the redelivered message then would lose the
# sweep until the next beat, and that one could meet the same lock. Retries stay within the beat
# entry's expiry (SWEEP_EVERY_MINUTES × 0.9), after which a newer sweep is due anyway; when they
# run out the task fails, visibly, rather than report success.
SWEEP_LOCK_RETRY_SECONDS = 30
SWEEP_MAX_RETRIES = 8


@shared_task(
    name="pipeline.tasks.sweep_pipeline",
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=SWEEP_MAX_RETRIES,
    soft_time_limit=240,
    time_limit=300,
)
def sweep_pipeline(self) -> dict:
    result = services.pipeline_sweep()
    if result.skipped:
        raise self.retry(countdown=SWEEP_LOCK_RETRY_SECONDS)
    return result.as_dict()
