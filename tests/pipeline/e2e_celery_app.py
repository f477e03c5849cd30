"""The Celery app that the end-to-end tests start their real worker with.

It is `pipeline.celery.app`, the very app `celery -A pipeline worker -B` runs, with its settings,
tasks and beat schedule, plus two knobs that only a test sets, through the environment:

E2E_SWEEP_EVERY_SECONDS  the beat's own "sweep-pipeline" entry (same task, same options) fires
                         every this many seconds instead of every SWEEP_EVERY_MINUTES: crontab is
                         minute-grained, and a test cannot wait for minutes.
E2E_PAUSE_MARKER         in a task, right after the sweep's INSERT into pipeline_flag has run
                         (its resolve, refresh and open statements done, its transaction still
                         open), write this file and sleep, so that the test can kill the worker
                         mid-sweep. Django's execute_wrapper hook, so the sweep code is unchanged.

Nothing here is imported by the application.
"""

import datetime as dt
import os
import time
from pathlib import Path

from celery.signals import task_prerun

from pipeline.celery import app

__all__ = ["app"]

_every = os.environ.get("E2E_SWEEP_EVERY_SECONDS")
if _every:
    _schedule = app.conf.beat_schedule
    _schedule["sweep-pipeline"] = {**_schedule["sweep-pipeline"], "schedule": dt.timedelta(seconds=float(_every))}

_marker = os.environ.get("E2E_PAUSE_MARKER")
if _marker:

    def _pause_after_opening_flags(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "INSERT INTO pipeline_flag" in sql:
            Path(_marker).write_text(str(os.getpid()))
            time.sleep(600)  # until the test kills us
        return result

    @task_prerun.connect
    def _install_pause(**kwargs):
        from django.db import connection

        if _pause_after_opening_flags not in connection.execute_wrappers:
            connection.execute_wrappers.append(_pause_after_opening_flags)
