"""Guided selling's Celery tasks: retrain the win model, then rescore every open deal; rescore
the deals that changed. Thin and idempotent: the same closed deals keep the same model and a
second scoring changes nothing."""

from celery import shared_task
from django.contrib.auth import get_user_model

from . import services


@shared_task(name="guidance.tasks.retrain_and_score", acks_late=True, soft_time_limit=50 * 60, time_limit=55 * 60)
def retrain_and_score(actor_id: int | None = None) -> dict:
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    model = services.win_model_train(actor=actor)
    return {"model_version": model.version, **services.signals_score_all()}


@shared_task(name="guidance.tasks.rescore_deals", acks_late=True)
def rescore_deals(opportunity_ids: list[int]) -> dict:
    return services.signals_rescore(opportunity_ids=opportunity_ids)
