"""A sweep that cannot take the sweep lock is not done: the task retries shortly, a bounded number
of times, and the work is done once the lock is free (issue 16, "a sweep killed mid-transaction
is lost").

The held lock is real on PostgreSQL: another session holds the sweep's advisory lock, as the
connection of a worker killed mid-sweep does until the server notices. SQLite has no such lock
(its IMMEDIATE transactions queue writers instead), so there the lock is reported taken.
"""

from contextlib import contextmanager
from unittest import mock

import psycopg2
import pytest
from celery.app.task import Task
from celery.exceptions import MaxRetriesExceededError
from django.conf import settings
from django.db import connection

from pipeline.health import services, tasks
from pipeline.models import Flag, FlagKind


@contextmanager
def eager_without_propagation():
    """apply() runs a retry eagerly, but a retry of a retry (`sig.apply()`) raises celery's Retry
    when eager tasks propagate their exceptions, as the test settings have them do."""
    conf = tasks.sweep_pipeline.app.conf
    saved = conf.task_eager_propagates
    conf.task_eager_propagates = False
    try:
        yield
    finally:
        conf.task_eager_propagates = saved


class HeldSweepLock:
    """The sweep lock, taken by someone else until `release()`."""

    def __init__(self):
        self.held = True
        self.other = None
        if connection.vendor == "postgresql":
            self.other = psycopg2.connect(**connection.get_connection_params())
            self.other.autocommit = True
            with self.other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [services.SWEEP_LOCK_KEY])
            self.patch = mock.patch.object(services, "_take_sweep_lock", wraps=services._take_sweep_lock)
        else:
            real = services._take_sweep_lock
            self.patch = mock.patch.object(
                services, "_take_sweep_lock", side_effect=lambda cursor: not self.held and real(cursor)
            )

    def release(self) -> None:
        self.held = False
        if self.other is not None and not self.other.closed:
            with self.other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [services.SWEEP_LOCK_KEY])
            self.other.close()


@pytest.fixture
def held_lock(db):
    lock = HeldSweepLock()
    with lock.patch:
        yield lock
    lock.release()


@pytest.fixture
def attempts():
    """The sweeps the task ran, as results."""
    results = []
    real = services.pipeline_sweep

    def sweep(**kwargs):
        results.append(real(**kwargs))
        return results[-1]

    with mock.patch.object(services, "pipeline_sweep", side_effect=sweep):
        yield results


def test_retries_are_short_and_end_before_the_beat_sends_the_next_sweep():
    task = tasks.sweep_pipeline
    assert task.max_retries == tasks.SWEEP_MAX_RETRIES > 0
    expires = settings.CELERY_BEAT_SCHEDULE["sweep-pipeline"]["options"]["expires"]
    assert 0 < tasks.SWEEP_LOCK_RETRY_SECONDS * tasks.SWEEP_MAX_RETRIES < expires


def test_a_sweep_that_finds_the_lock_held_asks_for_a_retry_instead_of_succeeding(opportunity, now, held_lock, attempts):
    requested = []
    real_retry = Task.retry

    def retry(self, *args, **kwargs):
        requested.append(kwargs)
        return real_retry(self, *args, **kwargs)

    # Eagerly, each retry runs at once; not propagating, the last one's failure is the result.
    with mock.patch.object(Task, "retry", retry), eager_without_propagation():
        outcome = tasks.sweep_pipeline.apply()

    assert outcome.failed() and isinstance(outcome.result, MaxRetriesExceededError)

    assert requested[0] == {"countdown": tasks.SWEEP_LOCK_RETRY_SECONDS}
    # The first run and every retry found the lock held and did nothing; then the task failed.
    assert len(attempts) == tasks.SWEEP_MAX_RETRIES + 1
    assert all(result.skipped for result in attempts)
    assert not Flag.objects.exists()

    held_lock.release()
    result = tasks.sweep_pipeline.apply().get()
    assert result["opened"] == {FlagKind.NO_NEXT_STEP: 1}
    assert Flag.objects.open().count() == 1


def test_the_sweep_is_redone_once_the_lock_is_released(opportunity, now, held_lock, attempts):
    real = services.pipeline_sweep.side_effect

    def release_after_the_first_attempt(**kwargs):
        result = real(**kwargs)
        held_lock.release()
        return result

    services.pipeline_sweep.side_effect = release_after_the_first_attempt
    # throw=False: apply() runs the retry eagerly instead of raising celery's Retry.
    result = tasks.sweep_pipeline.apply(throw=False).get()

    assert [r.skipped for r in attempts] == [True, False]
    assert result["opened"] == {FlagKind.NO_NEXT_STEP: 1} and result["skipped"] is False
    assert Flag.objects.open().count() == 1
