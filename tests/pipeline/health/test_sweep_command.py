"""The ways the sweep is started: `manage.py sweep_pipeline`, the Celery task, and the beat entry."""

import datetime as dt
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError

from opportunities.models import Opportunity
from pipeline.celery import app
from pipeline.health import services, tasks
from pipeline.management.commands.sweep_pipeline import format_result
from pipeline.models import Flag, FlagKind

ROOT = Path(__file__).resolve().parents[3]


def run_command(*args) -> str:
    out = StringIO()
    call_command("sweep_pipeline", *args, stdout=out)
    return out.getvalue()


def table(output: str) -> dict[str, list[int]]:
    """{row label: [opened, resolved, open]} from the command's table."""
    rows = {}
    for line in output.splitlines():
        parts = line.rsplit(None, 3)
        if len(parts) == 4 and all(p.isdigit() for p in parts[1:]):
            rows[parts[0].strip()] = [int(p) for p in parts[1:]]
    return rows


# --- manage.py sweep_pipeline -------------------------------------------------------------------------------


def test_the_command_prints_opened_resolved_and_open_flags_by_kind(opportunity, manager, now):
    output = run_command("--now", (now + dt.timedelta(days=40)).isoformat())

    rows = table(output)
    assert rows["Idle"] == [1, 0, 1]
    assert rows["Stuck in stage"] == [1, 0, 1]
    assert rows["No next step"] == [1, 0, 1]
    assert rows["Next step overdue"] == [0, 0, 0]
    assert rows["Close date slipped"] == [1, 0, 1]
    assert rows["Total"] == [4, 0, 4]
    assert "Notifications sent: 8." in output
    assert Flag.objects.open().count() == 4


def test_the_command_reports_resolutions_and_a_quiet_second_run(opportunity, now):
    run_command("--now", (now + dt.timedelta(days=40)).isoformat())

    output = run_command("--now", now.isoformat())  # as of 40 days earlier only "no next step" holds

    rows = table(output)
    assert rows["Idle"] == [0, 1, 0]
    assert rows["No next step"] == [0, 0, 1]
    assert rows["Total"] == [0, 3, 1]
    assert table(run_command("--now", now.isoformat()))["Total"] == [0, 0, 1]


def test_the_command_defaults_to_now_and_reads_naive_times_in_the_installation_zone(opportunity, now):
    assert table(run_command())["No next step"] == [1, 0, 1]
    assert f"Sweep at {now.isoformat()}" in run_command("--now", now.replace(tzinfo=None).isoformat())


def test_the_command_says_whether_the_sweep_was_full_and_sweeps_fully_when_asked(opportunity, now):
    assert "Full sweep: every open deal evaluated (1)." in run_command("--now", now.isoformat())
    later = (now + dt.timedelta(minutes=15)).isoformat()
    assert "Incremental sweep: 0 changed or time-crossed deals evaluated." in run_command("--now", later)
    # Written around the services: only a full sweep sees it.
    Opportunity.objects.filter(pk=opportunity.pk).update(status="won")

    output = run_command("--now", later, "--full")

    assert "Full sweep: every open deal evaluated (0)." in output
    assert table(output)["No next step"] == [0, 1, 0]


def test_the_command_refuses_a_malformed_time(db):
    with pytest.raises(CommandError, match="not an ISO 8601"):
        call_command("sweep_pipeline", "--now", "yesterday")


def test_a_skipped_sweep_says_so(now):
    assert "another sweep is running; did nothing" in format_result(services.SweepResult(now=now, skipped=True), {})


# --- the Celery task ------------------------------------------------------------------------------------------


def test_the_task_is_registered_late_acknowledged_and_time_limited():
    task = app.tasks["pipeline.tasks.sweep_pipeline"]
    assert task.name == tasks.sweep_pipeline.name
    assert task.acks_late is True
    assert 0 < task.soft_time_limit < task.time_limit <= 600
    assert set(task.autoretry_for) == {OperationalError, tasks.InterfaceError, ConnectionError}
    assert task.max_retries and task.retry_backoff


def test_the_task_runs_the_sweep_and_returns_json(opportunity, now):
    result = tasks.sweep_pipeline.delay().get()

    assert result["opened"] == {FlagKind.NO_NEXT_STEP: 1}
    assert result["notified"] == 1
    assert result["skipped"] is False
    assert (result["full"], result["evaluated"]) == (True, 1)  # the first sweep ever
    assert Flag.objects.open().count() == 1
    again = tasks.sweep_pipeline.delay().get()
    assert (again["full"], again["evaluated"], again["opened"]) == (False, 0, {})


def test_the_task_retries_a_transient_database_error(opportunity, now):
    real = services.pipeline_sweep
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    with mock.patch.object(services, "pipeline_sweep", side_effect=flaky):
        # throw=False: let apply() run the retry eagerly instead of raising celery's Retry.
        result = tasks.sweep_pipeline.apply(throw=False).get()

    assert len(calls) == 2
    assert result["opened"] == {FlagKind.NO_NEXT_STEP: 1}


def test_the_task_does_not_retry_a_bug(db):
    with (
        mock.patch.object(services, "pipeline_sweep", side_effect=ValueError("bug")) as sweep,
        pytest.raises(ValueError),
    ):
        tasks.sweep_pipeline.apply().get()
    assert sweep.call_count == 1


# --- the beat schedule -----------------------------------------------------------------------------------------


def test_beat_runs_the_sweep_every_15_minutes_and_drops_runs_that_come_too_late():
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-pipeline"]
    assert entry["task"] == "pipeline.tasks.sweep_pipeline" == tasks.sweep_pipeline.name
    assert entry["schedule"] == crontab(minute="*/15")
    assert 0 < entry["options"]["expires"] < 15 * 60


def _settings_with(**env) -> subprocess.CompletedProcess:
    code = (
        "import pipeline.settings as s; e = s.CELERY_BEAT_SCHEDULE['sweep-pipeline'];"
        "print(sorted(e['schedule'].minute), e['options']['expires'])"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("SWEEP_EVERY_MINUTES", "DATABASE_URL")}
    environ.update(LOCKSTEP_INSECURE_DEV_KEY="true", **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


def test_the_sweep_interval_comes_from_the_environment():
    result = _settings_with(SWEEP_EVERY_MINUTES="5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("] ")[0] + "]" == str(list(range(0, 60, 5)))
    assert int(result.stdout.split("] ")[1]) == 270


@pytest.mark.parametrize("value", ["0", "60", "fifteen"])
def test_a_bad_sweep_interval_stops_the_app_with_the_variables_name(value):
    result = _settings_with(SWEEP_EVERY_MINUTES=value)
    assert result.returncode != 0
    assert "SWEEP_EVERY_MINUTES" in result.stderr


def test_the_full_sweep_interval_comes_from_the_environment():
    code = "import pipeline.settings as s; print(s.SWEEP_FULL_EVERY_HOURS)"
    environ = {k: v for k, v in os.environ.items() if k not in ("SWEEP_FULL_EVERY_HOURS", "DATABASE_URL")}
    environ.update(LOCKSTEP_INSECURE_DEV_KEY="true")

    def run(**env):
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**environ, **env}, capture_output=True, text=True, timeout=60
        )

    assert run().stdout.strip() == "24"
    assert run(SWEEP_FULL_EVERY_HOURS="6").stdout.strip() == "6"
    refused = run(SWEEP_FULL_EVERY_HOURS="0")
    assert refused.returncode != 0 and "SWEEP_FULL_EVERY_HOURS" in refused.stderr
