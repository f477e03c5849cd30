"""Pipeline-health sweep benchmark, on PostgreSQL with BENCH_SWEEP_OPPORTUNITIES deals (1,000,000).

`bench/run.py` calls `run()`; `python bench/sweep.py` runs it alone. Figures, one per line:

    sweep_s                 an incremental sweep as the beat runs it between two daily full ones,
                            BENCH_SWEEP_INTERVAL_MIN (15, the beat's default) minutes after the
                            previous sweep: the deals changed meanwhile (BENCH_SWEEP_CHANGES, 1,000,
                            recorded as the services record them: `health_changes_record`, spread
                            over the open deals) and those a time threshold crossed in those
                            minutes are evaluated, and the differences written (the flags those
                            minutes open, with their notifications). The median of BENCH_SWEEP_RUNS
                            (5) such sweeps in a row, each as of 15 minutes after the one before,
                            the last one as of now; sweep_evaluated, the deals each evaluated
    sweep_full_s            a full sweep (`full=True`, what the daily reconciliation and a change of
                            configuration run: every open deal evaluated against every flag) at the
                            same moment as each of those, right after it (median)
    sweep_reference_sql_s   `health.expected_open_flags_sql()` run at the same `now` as each of
                            those sweeps, right after the full one, every row fetched: the cost of
                            merely computing that same flag set (median; one warm-up run first, so
                            both sides run with warm caches)
    sweep_ratio             the median of each pair's full-sweep time / reference time (target: at
                            most 1.2). Timed in turn, a change in the machine's load weighs on both
                            sides of a pair alike
    sweep_full_after_incremental_changes
                            flags the full sweeps opened, resolved or reworded right after the
                            incremental ones at the same moments: 0 when the incremental sweeps left
                            exactly the flags the definition computes over every deal
    sweep_day_s             context: an incremental sweep a day after the previous (full) one (after
                            a day with no sweeps, say, and no changes recorded), crossing a day
                            boundary: it evaluates the deals a day of thresholds crossed and opens
                            and notifies a day's worth of flags; sweep_day_evaluated, and
                            sweep_day_ratio, sweep_day_s / sweep_reference_sql_s
    sweep_noop_s            the sweep task run again straight away, when nothing changed
                            (incremental; target: < 1 s); sweep_noop_evaluated, the deals it
                            evaluated
    sweep_first_s           context: the first sweep ever, from no flags at all (a day before the
                            timed ones, untimed by the ratio; full), which opens and
                            notifies every flag the pipeline needs (the most work a sweep does;
                            hundreds of thousands of rows written at 1,000,000 deals)
    sweep_tasks_enqueued    Celery tasks published while the sweep task ran (must not grow with
                            the data; the sweep is set-based, no task per deal)

plus context lines (sweep_opportunities, sweep_open_opportunities, sweep_first_flags_opened,
sweep_day_flags_opened, sweep_day_notifications, sweep_s_runs and sweep_full_s_runs (each
sweep's time), sweep_s_full (how many of the beat sweeps were full: 0), sweep_changes (change
rows recorded before each beat sweep), sweep_flags_opened, sweep_flags_resolved and
sweep_notifications (per beat sweep, on average), sweep_task_s and sweep_task_evaluated (the
task's first run, as of its own now, a few minutes after the last beat sweep), sweep_noop_full,
sweep_noop_changes). The timed sweeps call `services.pipeline_sweep`, which is all the task does;
then the task `pipeline.tasks.sweep_pipeline` runs twice, as of its own now, executed in this process
(`apply()`) with Celery publishing for real to an in-memory broker, so that any task it enqueued
would be counted: the second of those is sweep_noop_s.

The database is a separate one, `lockstep_bench_1m` for 1,000,000 deals
(`lockstep_bench_sweep_<N>` otherwise; BENCH_SWEEP_DATABASE_URL overrides), seeded once with
`bench/bulkdata.py --opportunities N` when missing or incomplete (deterministic; at 1,000,000
it takes a long while); later runs reuse it. The PostgreSQL server defaults to
postgres://postgres@127.0.0.1:5432 (BENCH_PG_URL overrides).

`python bench/sweep.py --explain` prints EXPLAIN (ANALYZE, BUFFERS) of the reference SQL and of
each statement of a sweep from no flags, and the time of the foreign-key checks its rows cost at
commit (all in a transaction that is rolled back); `--with-explain` measures first, then explains.
"""

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OPPORTUNITIES = 1_000_000


def _say(message: str) -> None:
    sys.stderr.write(f"bench/sweep: {message}\n")


def _line(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def _opportunities() -> int:
    return int(os.environ.get("BENCH_SWEEP_OPPORTUNITIES", DEFAULT_OPPORTUNITIES))


def database_url(opportunities: int | None = None) -> str:
    if os.environ.get("BENCH_SWEEP_DATABASE_URL"):
        return os.environ["BENCH_SWEEP_DATABASE_URL"]
    n = opportunities or _opportunities()
    server = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    name = "lockstep_bench_1m" if n == DEFAULT_OPPORTUNITIES else f"lockstep_bench_sweep_{n}"
    return f"{server}/{name}"


def _environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL"}}
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="pipeline.settings",
        LOCKSTEP_INSECURE_DEV_KEY="1",
        DEBUG="0",
        SECURE_HTTPS="0",
        STATIC_MANIFEST="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        BENCH_SWEEP_CHILD="1",
    )
    return env


def _manage(url: str, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_environment(url), check=True)


def _ensure_database(url: str, opportunities: int) -> None:
    """Create, migrate and seed the bench database unless it already holds the demo data."""
    import psycopg2

    server, name = url.rsplit("/", 1)
    admin = psycopg2.connect(f"{server}/postgres")
    admin.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                _say(f"creating {name}")
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    _manage(url, "migrate", "--noinput", "-v", "0")
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM opportunities_opportunity")
            (present,) = cursor.fetchone()
    finally:
        conn.close()
    if present == 0:
        _say(f"seeding {name} with {opportunities:,} opportunities (slow)…")
        started = time.monotonic()
        command = [sys.executable, "bench/bulkdata.py", "--quiet", "--opportunities", str(opportunities)]
        subprocess.run(command, cwd=ROOT, env=_environment(url), check=True)
        _say(f"seeded in {time.monotonic() - started:.0f} s")
    elif present != opportunities:
        _say(
            f"{name} holds {present:,} opportunities, not {opportunities:,}; "
            "measuring what is there (drop the database to reseed)"
        )


def run(emit=_line) -> dict[str, str]:
    """Seed if needed, measure in a child process (its own Django settings and database), and
    hand each `name = value` line to `emit`."""
    opportunities = _opportunities()
    url = database_url(opportunities)
    _ensure_database(url, opportunities)
    output = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure"],
        cwd=ROOT,
        env=_environment(url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = {}
    for line in output.splitlines():
        name, sep, value = line.partition(" = ")
        if sep and name.startswith("sweep_"):
            emit(line)
            figures[name] = value.strip()
    return figures


# --- inside the child process: Django is set up for the bench database ---------------------------


def _reset_flags(cursor) -> None:
    """No flags, no sweep on record and no change waiting: the first sweep starts from nothing."""
    cursor.execute(
        "TRUNCATE pipeline_notification, pipeline_flag, pipeline_healthsweep, pipeline_healthchange RESTART IDENTITY"
    )


def _time_reference(now) -> tuple[float, int]:
    """Seconds to run the definition at `now` with every row fetched, and how many rows."""
    from django.db import connection, transaction

    from pipeline.health import definition as health

    sql, params = health.expected_open_flags_sql(now=now)
    # Planned as the sweep plans it (`health.plan_for_all_deals`), so that both sides of the
    # ratio run the definition the same way.
    with transaction.atomic(), connection.cursor() as cursor:
        health.plan_for_all_deals(cursor)
        started = time.perf_counter()
        cursor.execute(sql, params)
        rows = len(cursor.fetchall())
        return time.perf_counter() - started, rows


def _sweep_counting_tasks():
    """Run the sweep task in this process, as the worker would (it sweeps as of its own now);
    count what it publishes to the (in-memory) broker."""
    from celery.signals import before_task_publish

    from pipeline import celery_app
    from pipeline.tasks import sweep_pipeline

    published = []

    def count(sender=None, **kwargs):
        published.append(sender)

    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "memory://"
    before_task_publish.connect(count, weak=False)
    try:
        started = time.perf_counter()
        result = sweep_pipeline.apply(throw=True).get()
        elapsed = time.perf_counter() - started
    finally:
        before_task_publish.disconnect(count)
    return elapsed, result, len(published)


def _record_changes(open_ids: list[int], count: int, run: int, at) -> None:
    """`count` deals written since the previous sweep, as the services record them: a different
    spread of the open deals each run."""
    from pipeline.health.services import health_changes_record

    if count:
        step = max(1, len(open_ids) // count)
        health_changes_record(opportunity_ids=open_ids[run % step :: step][:count], now=at)


def measure() -> None:
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from opportunities.models import Opportunity, OpportunityStatus

    assert connection.vendor == "postgresql", "the sweep benchmark runs on PostgreSQL"
    with connection.cursor() as cursor:
        _reset_flags(cursor)
        # Planner statistics as autovacuum would have them in production (bench/bulkdata.py loads with
        # COPY and may leave none), and an empty flag table's, since it is empty.
        cursor.execute("VACUUM ANALYZE")
    from pipeline.health.services import pipeline_sweep

    now = timezone.now()
    interval = dt.timedelta(minutes=int(os.environ.get("BENCH_SWEEP_INTERVAL_MIN", "15")))
    changes = int(os.environ.get("BENCH_SWEEP_CHANGES", "1000"))
    open_ids = list(Opportunity.objects.open().order_by("pk").values_list("pk", flat=True))
    # The first sweep ever, from no flags, a day ago: the state the beat's sweeps keep the flags in.
    day = dt.timedelta(days=1)
    started = time.perf_counter()
    first = pipeline_sweep(now=now - day, full=True).as_dict()
    first_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pipeline_flag")
        cursor.execute("ANALYZE pipeline_notification")
    # A day later, `runs` beat intervals before now: the day's flags up to then are caught up
    # (timed as sweep_day_s), incrementally, the full sweep being less than a day old. Then the
    # beat's sweeps, one every `interval` up to now, each timed, then a full sweep at the same
    # moment and the reference, timed in turn.
    runs = max(1, int(os.environ.get("BENCH_SWEEP_RUNS", "5")))
    started = time.perf_counter()
    daily = pipeline_sweep(now=now - runs * interval).as_dict()
    day_s = time.perf_counter() - started
    _time_reference(now - runs * interval)  # warms the caches the reference reads
    sweeps, fulls, references, ratios, evaluated = [], [], [], [], []
    opened = resolved = notified = full_runs = full_fixes = 0
    for k in range(runs - 1, -1, -1):
        at = now - k * interval
        _record_changes(open_ids, changes, k, at - interval / 2)
        started = time.perf_counter()
        result = pipeline_sweep(now=at)
        sweeps.append(time.perf_counter() - started)
        evaluated.append(result.evaluated)
        full_runs += result.full
        opened += sum(result.opened.values())
        resolved += sum(result.resolved.values())
        notified += result.notified
        started = time.perf_counter()
        full = pipeline_sweep(now=at, full=True)
        fulls.append(time.perf_counter() - started)
        full_fixes += sum(full.opened.values()) + sum(full.resolved.values()) + full.details_refreshed
        reference, expected_rows = _time_reference(at)
        references.append(reference)
        ratios.append(fulls[-1] / reference)
    sweep_s, full_s, reference_s = statistics.median(sweeps), statistics.median(fulls), statistics.median(references)

    # The task as the worker runs it, as of its own now: what it publishes, and a sweep right
    # after it, when nothing changed.
    task_s, task, enqueued = _sweep_counting_tasks()
    noop_s, again, enqueued_noop = _sweep_counting_tasks()

    _line(f"sweep_opportunities = {Opportunity.objects.count()}")
    _line(f"sweep_open_opportunities = {Opportunity.objects.filter(status=OpportunityStatus.OPEN).count()}")
    _line(f"sweep_first_flags_opened = {sum(first['opened'].values())}")
    _line(f"sweep_day_flags_opened = {sum(daily['opened'].values())}")
    _line(f"sweep_day_notifications = {daily['notified']}")
    _line(f"sweep_changes = {changes}")
    _line(f"sweep_flags_opened = {opened / runs:.0f}")  # per beat sweep, on average
    _line(f"sweep_flags_resolved = {resolved / runs:.0f}")
    _line(f"sweep_expected_flags = {expected_rows}")
    _line(f"sweep_notifications = {notified / runs:.0f}")
    _line(f"sweep_s = {sweep_s:.3f}")
    _line(f"sweep_s_runs = {' '.join(f'{t:.3f}' for t in sweeps)}")
    _line(f"sweep_s_full = {full_runs}")
    _line(f"sweep_evaluated = {' '.join(str(n) for n in evaluated)}")
    _line(f"sweep_full_s = {full_s:.3f}")
    _line(f"sweep_full_s_runs = {' '.join(f'{t:.3f}' for t in fulls)}")
    _line(f"sweep_full_after_incremental_changes = {full_fixes}")
    _line(f"sweep_reference_sql_s = {reference_s:.3f}")
    _line(f"sweep_ratio = {statistics.median(ratios):.2f}")
    _line(f"sweep_task_s = {task_s:.3f}")
    _line(f"sweep_task_evaluated = {task['evaluated']}")
    _line(f"sweep_noop_s = {noop_s:.3f}")
    _line(f"sweep_noop_full = {again['full']}")
    _line(f"sweep_noop_evaluated = {again['evaluated']}")
    noop_changes = sum(again["opened"].values()) + sum(again["resolved"].values())
    _line(f"sweep_noop_changes = {noop_changes}")
    _line(f"sweep_tasks_enqueued = {max(enqueued, enqueued_noop)}")
    _line(f"sweep_day_s = {day_s:.3f}")
    _line(f"sweep_day_full = {daily['full']}")
    _line(f"sweep_day_evaluated = {daily['evaluated']}")
    _line(f"sweep_day_ratio = {day_s / reference_s:.2f}")
    _line(f"sweep_first_s = {first_s:.3f}")


def explain() -> None:
    """EXPLAIN ANALYZE of the reference SQL and of each sweep statement, from no flags, rolled back.

    The sweep's statements run for real in order (the later ones read the temporary table of
    differences the first one fills), each under EXPLAIN ANALYZE. Then those an incremental sweep
    adds, 15 minutes later with BENCH_SWEEP_CHANGES deals changed: its candidates (the change rows
    and the crossed thresholds) and its differences over them."""
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from pipeline.health import definition as health
    from pipeline.health import services
    from pipeline.health import sql as sql_statements

    now = timezone.now()
    sql, params = health.expected_open_flags_sql(now=now)
    prefix, suffix = services._deal_url_parts()
    params.update(url_prefix=prefix, url_suffix=suffix)
    statements = [("reference", sql)]
    try:
        statements += [
            ("diff", sql_statements.diff_sql(sql, connection.vendor)),
            ("resolve", sql_statements.RESOLVE_SQL),
            ("refresh", sql_statements.REFRESH_SQL),
            ("open", sql_statements.OPEN_SQL),
            ("notify", sql_statements.notify_sql(health.explanation_sql("f", connection))),
        ]
    except AttributeError as exc:  # the sweep's statements were renamed: explain the reference only
        _line(f"(sweep statements not found: {exc})")
    with transaction.atomic(), connection.cursor() as cursor:
        _reset_flags(cursor)
        for name, statement in statements:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params)
            _line(f"--- {name}")
            _line("\n".join(row[0] for row in cursor.fetchall()))
        # The foreign keys are checked at commit (Django declares them deferred), one lookup per
        # row written: no EXPLAIN shows that part, so time it here.
        started = time.perf_counter()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _line(f"--- foreign-key checks of the rows written (at commit): {time.perf_counter() - started:.3f} s")
        try:
            # On PostgreSQL: create the table, fill it consuming the change rows, analyze it.
            create, fill, analyze = sql_statements.candidates_sql(health.crossed_thresholds_sql(), connection.vendor)
            incremental = [
                ("candidates", fill),
                ("analyze the candidates", analyze),
                (
                    "diff, incremental",
                    sql_statements.diff_sql(
                        health.expected_open_flags_sql(now=now, among=sql_statements.CANDIDATES_TABLE)[0],
                        connection.vendor,
                        among=sql_statements.CANDIDATES_TABLE,
                    ),
                ),
            ]
        except AttributeError as exc:  # before the incremental sweep
            _line(f"(incremental sweep statements not found: {exc})")
            incremental = []
        if incremental:
            from opportunities.models import Opportunity

            later = now + dt.timedelta(minutes=15)
            open_ids = list(Opportunity.objects.open().order_by("pk").values_list("pk", flat=True))
            _record_changes(open_ids, int(os.environ.get("BENCH_SWEEP_CHANGES", "1000")), 0, now)
            cursor.execute(sql_statements.DROP_DIFF_SQL)
            cursor.execute(create)
            later_params = {**params, **health.sql_params(now=later, previous=now)}
            for name, statement in incremental:
                if statement.startswith("ANALYZE"):
                    started = time.perf_counter()
                    cursor.execute(statement)
                    _line(f"--- {name}: {time.perf_counter() - started:.3f} s")
                    continue
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", later_params)
                _line(f"--- {name}")
                _line("\n".join(row[0] for row in cursor.fetchall()))
        transaction.set_rollback(True)


if __name__ == "__main__":
    child = os.environ.get("BENCH_SWEEP_CHILD") == "1"
    if child and ("--measure" in sys.argv or "--explain" in sys.argv):
        sys.path.insert(0, str(ROOT))
        (measure if "--measure" in sys.argv else explain)()
    else:
        url = database_url()
        _ensure_database(url, _opportunities())
        env = _environment(url)
        if "--explain" in sys.argv:
            steps = ("--explain",)
        else:
            steps = ("--measure", "--explain") if "--with-explain" in sys.argv else ("--measure",)
        for flag in steps:
            subprocess.run([sys.executable, __file__, flag], cwd=ROOT, env=env, check=True)
