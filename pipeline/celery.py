"""The Celery application: worker and beat both start from `celery -A pipeline`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline.settings")

# DjangoTask gives every task `delay_on_commit`, so services enqueue only after their
# transaction commits and a worker never reads a row that does not exist yet.
app = Celery("lockstep", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
