"""The beat schedule: every entry can actually be sent, on a schedule that cannot pile up."""

import pytest
from celery.schedules import crontab
from django.conf import settings

from pipeline import celery_app

# What a worker or beat does at start-up: import every installed app's tasks module.
celery_app.loader.import_default_modules()


@pytest.mark.parametrize("name", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_every_beat_entry_names_a_task_that_can_be_published(name):
    entry = settings.CELERY_BEAT_SCHEDULE[name]
    task = celery_app.tasks[entry["task"]]
    assert isinstance(entry["schedule"], crontab)
    assert entry["options"]["expires"] > 0
    # apply_async refuses a task whose soft limit exceeds its hard one (the global soft limit
    # applies to tasks that set only a hard one), so the beat could never send it.
    if task.soft_time_limit and task.time_limit:
        assert task.soft_time_limit <= task.time_limit
