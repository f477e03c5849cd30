"""Celery finds each installed app's tasks in `<app>.tasks`; pipeline's live with their features."""

from .health.tasks import sweep_pipeline
from .notify.tasks import send_daily_digests, send_reminders

__all__ = ["send_daily_digests", "send_reminders", "sweep_pipeline"]
