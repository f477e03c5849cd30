"""End to end: a real Celery worker (and its embedded beat) in another process, a real broker.

The broker is Redis when REDIS_URL is set and the embedded SQLite broker otherwise; `make test`
runs both ways and these tests run (never skip) in both. The worker works on this test's own
database (the test database's connection settings are handed to it), so the tests commit
(`transaction=True`) and poll the database, bounded, until the worker's effect shows.

The worker is `tests.pipeline.e2e_celery_app`: the project's app, settings and beat schedule,
with the sweep's beat entry firing every second and, for one test, a pause mid-sweep.
"""

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from opportunities.models import MilestoneCompletion, NextStep, Opportunity
from pipeline import celery_app
from pipeline.health import definition as health
from pipeline.health.services import pipeline_sweep
from pipeline.models import Flag, FlagKind, Notification
from tests.factories import AccountFactory, NextStepFactory, OpportunityFactory
from tests.servers import database_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
WAIT_SECONDS = 60
SWEEP = "pipeline.tasks.sweep_pipeline"


# --- the worker ---------------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path
    broker_url: str
    queue: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker, its pool process and its beat: no clean-up runs anywhere."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown; whatever has not stopped after a few seconds is killed."""
        if self.process.poll() is None:
            self.process.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=1.5)
        os.killpg(self.process.pid, signal.SIGKILL)  # the beat and pool processes, if left
        self.process.wait(timeout=10)

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited ({self.process.returncode}) before {what}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"No {what} within {WAIT_SECONDS} s. Worker log:\n{self.output()[-4000:]}")
            time.sleep(0.2)


def _broker_url(tmp_path: Path) -> str:
    """The real broker of this run: Redis if REDIS_URL is set, else a private SQLite broker file."""
    return os.environ.get("REDIS_URL") or f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"


@contextmanager
def celery_worker(tmp_path: Path, *, broker_url: str, beat: bool = True, **env: str):
    queue = f"lockstep-e2e-{uuid.uuid4().hex[:12]}"  # no other worker on a shared Redis takes our tasks
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "CELERY_BROKER_PATH"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="pipeline.settings",
        PYTHONPATH=str(ROOT),
        LOCKSTEP_INSECURE_DEV_KEY="1",
        DEBUG="0",
        SECURE_HTTPS="0",
        STATIC_MANIFEST="0",
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_DEFAULT_QUEUE=queue,
        E2E_SWEEP_EVERY_SECONDS="1",
        **database_env(),
        **env,
    )
    if broker_url.startswith("redis://"):
        environment["REDIS_URL"] = broker_url
    else:
        environment["CELERY_BROKER_PATH"] = broker_url.removeprefix("sqla+sqlite:///")
    command = [
        sys.executable, "-m", "celery", "-A", "tests.pipeline.e2e_celery_app", "worker",
        "--loglevel=info", "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
        f"--hostname={queue}@%h",
    ]  # fmt: skip
    if beat:
        command += ["--beat", f"--schedule={tmp_path / f'{queue}-beat-schedule'}"]
    log = tmp_path / f"{queue}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process=process, log=log, broker_url=broker_url, queue=queue)
    try:
        yield worker
    finally:
        worker.stop()
        _purge(worker)


def _purge(worker: Worker) -> None:
    """Leave nothing of ours in a shared Redis: the queue, its bindings, and the message a
    killed worker held unacknowledged (kombu would put it back into our queue an hour later).
    A private SQLite broker lives in tmp_path and goes with it."""
    if not worker.broker_url.startswith("redis://"):
        return
    redis = Redis.from_url(worker.broker_url, socket_connect_timeout=1)
    try:
        queue = worker.queue
        redis.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        for tag, payload in redis.hgetall("unacked").items():
            if json.loads(payload)[-1] == queue:
                redis.hdel("unacked", tag)
                redis.zrem("unacked_index", tag)
    except RedisConnectionError:
        pass  # a private Redis that is already stopped
    finally:
        redis.close()


def _publish(worker: Worker, task_name: str) -> None:
    with celery_app.connection_for_write(worker.broker_url) as conn, warnings.catch_warnings():
        # The test settings run tasks eagerly; this one must really go to the broker for the
        # worker, which send_task does anyway (and warns that eager mode does not apply).
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        celery_app.send_task(task_name, queue=worker.queue, connection=conn)


# --- the data -----------------------------------------------------------------------------------


def _deal(owner, stage, name: str, *, step_due: dt.date | None = None, **fields) -> Opportunity:
    opp = OpportunityFactory(
        owner=owner, account=AccountFactory(owner=owner), process=stage.process, stage=stage, name=name, **fields
    )
    if step_due is not None:
        opp.next_step = NextStepFactory(opportunity=opp, due_date=step_due)
        opp.save(update_fields=["next_step"])
    return opp


@pytest.fixture
def pipeline_deals(owner, manager, process):
    """One healthy deal, one without a next step, one whose close date passed, one idle."""
    stage = process.stages.order_by("order").first()
    today = timezone.localdate()
    long_ago = timezone.now() - dt.timedelta(days=stage.idle_after_days + 5)
    return {
        "healthy": _deal(owner, stage, "Healthy", step_due=today + dt.timedelta(days=3)),
        "no_step": _deal(owner, stage, "No step"),
        "slipped": _deal(
            owner,
            stage,
            "Slipped",
            step_due=today + dt.timedelta(days=3),
            expected_close_date=today - dt.timedelta(days=2),
        ),
        "idle": _deal(
            owner,
            stage,
            "Idle",
            step_due=today + dt.timedelta(days=3),
            updated_at=long_ago,
            stage_entered_at=long_ago,
            created_at=long_ago,
        ),
    }


def _keys(flags) -> set[tuple[int, str]]:
    return {(opportunity_id, kind) for opportunity_id, kind, *_ in flags}


def _open_flag_keys() -> set[tuple[int, str]]:
    return _keys(health.actual_open_flags())


def _duplicate_open_flags() -> list:
    return list(Flag.objects.open().values("opportunity_id", "kind").annotate(n=Count("id")).filter(n__gt=1))


# --- the tests ----------------------------------------------------------------------------------


def test_the_beats_sweep_runs_in_a_real_worker_and_flags_appear(tmp_path, pipeline_deals, owner, manager):
    expected = _keys(health.expected_open_flags())
    deals = pipeline_deals
    assert {
        (deals["no_step"].pk, FlagKind.NO_NEXT_STEP),
        (deals["slipped"].pk, FlagKind.CLOSE_DATE_SLIPPED),
        (deals["idle"].pk, FlagKind.IDLE),
    } <= expected
    assert not Flag.objects.exists()

    with celery_worker(tmp_path, broker_url=_broker_url(tmp_path)) as worker:
        worker.wait_for(lambda: _open_flag_keys() >= expected, "flags from the beat's sweep")
        log = worker.output()

    assert _open_flag_keys() == expected
    assert not any(pk == deals["healthy"].pk for pk, _ in _open_flag_keys())
    # It was the beat that sent the task and the worker that ran it, over the real broker.
    assert f"Sending due task sweep-pipeline ({SWEEP})" in log
    assert f"Task {SWEEP}[" in log and "succeeded" in log
    scheme = "redis://" if os.environ.get("REDIS_URL") else "sqla+sqlite://"
    assert f"Connected to {scheme}" in log
    # The owner and the team's manager were told, once per flag.
    for person in (owner, manager):
        assert Notification.objects.filter(user=person).count() == len(expected)


def test_a_worker_killed_mid_sweep_commits_nothing_and_the_next_sweep_matches_the_reference(
    tmp_path, pipeline_deals, owner
):
    deals = pipeline_deals
    # A state for the sweep to fix in every way: a flag to resolve (the deal has a next step
    # now), a flag whose detail is stale, and deals without the flags they need.
    stale = timezone.now() - dt.timedelta(days=3)
    Flag.objects.create(
        opportunity=deals["healthy"], kind=FlagKind.NO_NEXT_STEP, detail="no next step", opened_at=stale
    )
    Flag.objects.create(opportunity=deals["idle"], kind=FlagKind.IDLE, detail="idle 1 day", opened_at=stale)
    before = health.actual_open_flags()
    notifications_before = Notification.objects.count()
    marker = tmp_path / "paused-mid-sweep"

    with celery_worker(tmp_path, broker_url=_broker_url(tmp_path), beat=False, E2E_PAUSE_MARKER=str(marker)) as worker:
        _publish(worker, SWEEP)
        worker.wait_for(marker.exists, "sweep paused after opening flags")
        # The worker has resolved, refreshed and inserted inside its transaction; none of it shows.
        assert health.actual_open_flags() == before
        worker.kill()

    assert health.actual_open_flags() == before
    assert Notification.objects.count() == notifications_before

    # The next sweep. On PostgreSQL the dead worker's session may hold the sweep's advisory lock
    # for a moment, until the server notices the client is gone: the sweep then skips; retry.
    deadline = time.monotonic() + WAIT_SECONDS
    while (result := pipeline_sweep()).skipped:
        assert time.monotonic() < deadline, "the killed worker's sweep lock was never released"
        time.sleep(0.2)

    assert result.resolved == {FlagKind.NO_NEXT_STEP: 1}
    assert result.opened and result.details_refreshed == 1
    assert health.actual_open_flags() == health.expected_open_flags(now=result.now)
    assert _duplicate_open_flags() == []
    assert not Notification.objects.values("user", "flag").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Notification.objects.filter(user=owner).count() == sum(result.opened.values())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def private_redis(port: int, workdir: Path):
    """A redis-server of our own: stopping the shared one would break everyone else's tests."""
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, "redis-server did not start"
                assert time.monotonic() < deadline, "redis-server did not accept connections"
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def publishing_to(broker_url: str):
    """This (web) process's Celery app publishes for real, to `broker_url`, instead of eagerly."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = broker_url, False
    celery_app._pool = None  # pools are cached per broker; drop them on the way in and out
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = saved
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def test_with_redis_stopped_pages_answer_and_actions_commit_and_the_beat_catches_up(
    tmp_path, pipeline_deals, owner, client_for
):
    deals = pipeline_deals
    deal = deals["no_step"]
    milestone = deal.stage.milestones.order_by("order").first()
    port = _free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    with private_redis(port, tmp_path):
        pass  # it ran, and now it is stopped

    client = client_for(owner)
    with publishing_to(broker_url):
        pages = [
            reverse("opportunities:my_deals"),
            reverse("opportunities:detail", args=[deal.pk]),
            reverse("opportunities:account_list"),
            reverse("opportunities:account_detail", args=[deal.account_id]),
            reverse("pipeline:needs_attention"),
            reverse("pipeline:notifications"),
        ]
        for url in pages:
            assert client.get(url).status_code == 200, url
        due = timezone.localdate() + dt.timedelta(days=5)
        response = client.post(
            reverse("opportunities:next_step_set", args=[deal.pk]),
            {"description": "Call the CFO", "due_date": due.isoformat()},
        )
        assert response.status_code == 302
        response = client.post(
            reverse("opportunities:milestone_toggle", args=[deal.pk, milestone.pk]),
            {"done": "on", "evidence": "Budget confirmed"},
        )
        assert response.status_code == 302

    deal.refresh_from_db()
    assert NextStep.objects.get(pk=deal.next_step_id).description == "Call the CFO"
    assert MilestoneCompletion.objects.filter(opportunity=deal, milestone=milestone).exists()
    # Nothing was swept meanwhile: the deal that needs flags has none yet.
    assert not Flag.objects.exists()

    # Redis is back: the beat's next sweep does the work, and sees the action that committed.
    with private_redis(port, tmp_path), celery_worker(tmp_path, broker_url=broker_url) as worker:
        worker.wait_for(
            lambda: (deals["slipped"].pk, FlagKind.CLOSE_DATE_SLIPPED) in _open_flag_keys(),
            "flags from the beat's sweep after Redis came back",
        )
    assert (deal.pk, FlagKind.NO_NEXT_STEP) not in _open_flag_keys()
    assert _open_flag_keys() == _keys(health.expected_open_flags())
