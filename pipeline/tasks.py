from celery import shared_task

from . import services


@shared_task(time_limit=120)
def purge_login_failures() -> int:
    return services.login_failures_purge()
