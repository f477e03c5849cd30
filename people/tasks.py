from celery import shared_task

from . import services


# The name it was registered under while it lived in pipeline/tasks.py: the beat schedule and
# messages already queued call it by that name.
@shared_task(name="pipeline.tasks.purge_login_failures", soft_time_limit=90, time_limit=120)
def purge_login_failures() -> int:
    return services.login_failures_purge()
