"""Dashboard benchmark: `bench/run.py` calls `run(bench)` as one of its sections;
`python bench/dashboard.py` runs it alone against the same database (BENCH_DATABASE_URL, by
default lockstep_bench with 100,000 seeded deals). Figures, one per line:

    dashboard_p50_ms        median time of GET /dashboard/ for an admin (every deal in view),
                            through the whole Django stack, after warm-up; default filters
                            (this quarter, live)
    dashboard_queries       the queries that request runs (constant whatever the data size)
    dashboard_sql_p50_ms    the median time of re-running, raw on a cursor with every row fetched,
                            the exact statements that request ran (captured with
                            CaptureQueriesContext, parameters inlined as sent): for information,
                            not a target (the page's time beyond its SQL is not one either)
    dashboard_asof_p50_ms   the same page "as of" the end of a day BENCH_DASHBOARD_ASOF_DAYS (30)
                            ago, rebuilt from the event history
    asof_ratio              dashboard_asof_p50_ms / dashboard_p50_ms (target: at most 2)

plus dashboard_cpu_p50_ms (this process's CPU per request), dashboard_asof_queries and
dashboard_manager_p50_ms (a manager's page). Target: p50 <= 150 ms.

`python bench/dashboard.py --explain` prints EXPLAIN (ANALYZE, BUFFERS) of every statement the
live and the as-of page run.
"""

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URL = "/dashboard/"
TARGET_P50_MS = 150


def _admin():
    from people.models import Role, User

    return User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id").first()


def _as_of_url() -> str:
    from django.utils import timezone

    days = int(os.environ.get("BENCH_DASHBOARD_ASOF_DAYS", "30"))
    return f"{URL}?as_of={(timezone.localdate() - dt.timedelta(days=days)).isoformat()}"


def _captured(client, url: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def _replay(statements: list[str]) -> float:
    """Seconds to run the statements exactly as sent (no parameters left to bind), every row
    fetched."""
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        for sql in statements:
            cursor.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()
        return time.perf_counter() - started


def _sql_p50_ms(statements: list[str], *, warmup: int, repeat: int) -> float:
    """The median ms of running the raw statements, after `warmup` runs."""
    times = [_replay(statements) for _ in range(warmup + repeat)][warmup:]
    return 1000 * statistics.median(times)


def run(bench) -> dict:
    admin = _admin()
    if admin is None:
        raise SystemExit("The database has no active admin; was it seeded with bench/bulkdata.py?")
    figures = bench.page("dashboard", URL, admin, target_ms=TARGET_P50_MS)
    asof = bench.page("dashboard_asof", _as_of_url(), admin, target_ms=2 * TARGET_P50_MS)
    figures.update({k: v for k, v in asof.items() if k != "dashboard_asof_cpu_p50_ms"})
    try:
        live_ms = float(figures["dashboard_p50_ms"])
        figures["asof_ratio"] = f"{float(figures['dashboard_asof_p50_ms']) / live_ms:.2f}"
        statements = _captured(bench.client(admin), URL)
        figures["dashboard_sql_p50_ms"] = f"{_sql_p50_ms(statements, warmup=bench.warmup, repeat=bench.repeat):.1f}"
    except ValueError:  # a page failed: bench.page said so and reported "n/a"
        figures["dashboard_sql_p50_ms"] = figures["asof_ratio"] = "n/a"
    manager = bench.page("dashboard_manager", URL, bench.manager, target_ms=TARGET_P50_MS)
    figures["dashboard_manager_p50_ms"] = manager["dashboard_manager_p50_ms"]
    return figures


def explain() -> None:
    from django.db import connection

    from bench.run import Bench

    client = Bench(warmup=0, repeat=0).client(_admin())
    for label, url in (("live", URL), ("as of", _as_of_url())):
        with connection.cursor() as cursor:
            for i, sql in enumerate(_captured(client, url)):
                started = time.perf_counter()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                print(f"--- {label} #{i} ({1000 * (time.perf_counter() - started):.1f} ms)\n{sql}\n{plan}")  # noqa: T201


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from bench import run as bench_run

    # No seeding here: bench/run.py prepares the database (and would recreate a mismatched one).
    bench_run.configure()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if "--explain" in sys.argv:
        explain()
        return 0
    bench = bench_run.Bench(
        warmup=int(os.environ.get("BENCH_WARMUP", "3")), repeat=int(os.environ.get("BENCH_REPEAT", "30"))
    )
    for name, value in run(bench).items():
        bench_run.figure(name, value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
