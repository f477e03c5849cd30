"""The daily digest's Celery task. Its name is the one it had in `pipeline/tasks.py`: the beat
schedule and the messages already queued call it by name."""

from smtplib import SMTPException

from celery import shared_task

from . import digest


# Only transient mail trouble is retried, waiting up to 1, 2, 4, 8, 10 minutes (full jitter) so
# an SMTP outage of up to half an hour is ridden out. Each retry re-runs the whole job, which is
# safe: a digest already recorded as sent is skipped (see pipeline/notify/digest.py). The hard time
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


@shared_task(name="pipeline.tasks.send_reminders", soft_time_limit=5 * 60, time_limit=6 * 60)
def send_reminders() -> int:
    """Hourly: notify people of what the other apps remind them of (overdue post-mortems).
    Idempotent: a reminder is notified once."""
    from . import reminders

    return reminders.reminders_notify()
