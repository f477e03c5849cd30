"""The nightly recount of the recommendations' evidence."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services


# One transaction that leaves unchanged rows alone: a rerun (acks_late redelivery, a repeated
# beat) changes nothing, so retrying a lost database is safe.
@shared_task(
    name="recommendations.tasks.refresh_recommendation_stats",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=50 * 60,
    time_limit=55 * 60,
)
def refresh_recommendation_stats() -> dict:
    return services.stats_refresh()
