"""Celery finds each installed app's tasks in `<app>.tasks`; pipeline's live with their features."""

from .health.tasks import sweep_pipeline
from .notify.tasks import send_daily_digests

__all__ = ["send_daily_digests", "sweep_pipeline"]
