"""`make loadtest`: 16 signed-in reps and managers for 60 seconds against gunicorn with the
production configuration, on PostgreSQL and Redis, on the 100,000-deal bench database.

    .venv/bin/python bench/loadtest/run.py       (or `make loadtest`; not part of the test suite)

1. The bench database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/lockstep_bench)
   must hold BENCH_OPPORTUNITIES (100,000) deals; if not, bench/run.py seeds it first (slow: minutes).
2. The run works on a fresh copy of it (`lockstep_loadtest`, dropped afterwards unless
   LOADTEST_KEEP_DATABASE=1), since the simulated people write: the bench's figures stay put and
   every run starts from the same data. LOADTEST_DATABASE_URL runs against that database as is.
3. gunicorn -c gunicorn.conf.py on 127.0.0.1 and a free port, DEBUG off (settings as in
   production, except plain http and the development key, which is safe on loopback only);
   REDIS_URL (default redis://127.0.0.1:6379/0) is the broker, through a queue of its own.
4. locust, headless, LOADTEST_USERS (16) people, LOADTEST_RUN_TIME (60s); it stops by itself.
5. The summary: requests per second, p50/p95/p99 per page, the errors, and whether the targets
   (0 errors; p95 under 500 ms on every page) were met: exit status 1 if not. The gunicorn log
   (with each request's time) and locust's CSV files are kept in var/loadtest/.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
PY = sys.executable
BIN = Path(PY).parent
OUT = ROOT / "var" / "loadtest"

DEFAULT_BENCH_URL = "postgres://postgres@127.0.0.1:5432/lockstep_bench"
COPY_NAME = "lockstep_loadtest"


def say(message: str) -> None:
    print(f"# {message}", flush=True)  # noqa: T201 — a command-line script


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _count_deals(url: str) -> int:
    import psycopg2

    try:
        connection = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return 0
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('opportunities_opportunity') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return 0
            cursor.execute("SELECT count(*) FROM opportunities_opportunity")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def ensure_bench_database(url: str) -> None:
    wanted = int(os.environ.get("BENCH_OPPORTUNITIES", "100000"))
    held = _count_deals(url)
    if held == wanted:
        say(f"{urlsplit(url).path.lstrip('/')} holds {held:,} deals")
        return
    say(f"the bench database holds {held:,} deals, not {wanted:,}: seeding it with bench/run.py (minutes)…")
    # BENCH_ONLY names no section: bench/run.py prepares the database and measures nothing.
    env = {**os.environ, "BENCH_DATABASE_URL": url, "BENCH_ONLY": "none"}
    subprocess.run([PY, str(ROOT / "bench" / "run.py")], cwd=ROOT, env=env, check=True)


def copy_database(source_url: str) -> str:
    """A fresh copy of the bench database; PostgreSQL copies the files (no WAL, no re-indexing)."""
    import psycopg2
    from psycopg2 import sql

    source = urlsplit(source_url).path.lstrip("/")
    target_url = _with_database(source_url, COPY_NAME)
    admin = psycopg2.connect(_with_database(source_url, "postgres"))
    admin.autocommit = True
    started = time.monotonic()
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(COPY_NAME)))
            try:
                cursor.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                        sql.Identifier(COPY_NAME), sql.Identifier(source)
                    )
                )
            except psycopg2.errors.ObjectInUse:
                raise SystemExit(
                    f"{source} is in use (a bench run?), so it cannot be copied now; try again when it is "
                    "idle, or set LOADTEST_DATABASE_URL to run against a database as it is."
                ) from None
    finally:
        admin.close()
    say(f"copied {source} to {COPY_NAME} in {time.monotonic() - started:.0f} s")
    return target_url


def drop_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    admin = psycopg2.connect(_with_database(url, "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(COPY_NAME)))
    finally:
        admin.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {log}")
        with suppress(OSError), urllib.request.urlopen(f"{url}/health/", timeout=5) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer within 90 s; see {log}")


def forget_queue(redis_url: str, queue: str) -> None:
    """Nothing the pages do enqueues a task today; should one, its messages are dropped here
    rather than left for a real worker sharing this Redis."""
    from redis import Redis

    with suppress(Exception):
        Redis.from_url(redis_url).delete(queue, f"_kombu.binding.{queue}")


def main() -> int:
    bench_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_BENCH_URL)
    given = os.environ.get("LOADTEST_DATABASE_URL", "")
    if given:
        url = given
    else:
        ensure_bench_database(bench_url)
        url = copy_database(bench_url)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    queue = f"lockstep-loadtest-{os.getpid()}"
    users = os.environ.get("LOADTEST_USERS", "16")
    run_time = os.environ.get("LOADTEST_RUN_TIME", "60s")
    OUT.mkdir(parents=True, exist_ok=True)

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pipeline.settings",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "CELERY_DEFAULT_QUEUE": queue,
        "DEBUG": "0",
        # Loopback only (gunicorn.conf.py refuses this key on any other address).
        "LOCKSTEP_INSECURE_DEV_KEY": "1",
        "SECURE_HTTPS": "0",
        "STATIC_MANIFEST": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    log = OUT / "gunicorn.log"
    server = None
    try:
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [
                    PY,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "pipeline.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                ],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        wait_until_up(host, server, log)
        say(f"gunicorn (gunicorn.conf.py) on {host}; load average {os.getloadavg()[0]:.2f}")
        say(f"locust: {users} people for {run_time}…")
        prefix = OUT / "locust"
        with (OUT / "locust.log").open("wb") as locust_log:
            locust = subprocess.run(
                [
                    str(BIN / "locust"),
                    "-f",
                    str(HERE / "locustfile.py"),
                    "--headless",
                    "--users",
                    users,
                    "--spawn-rate",
                    "4",
                    "--run-time",
                    run_time,
                    "--stop-timeout",
                    "10",
                    "--host",
                    host,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=ROOT,
                env={k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"},
                stdout=locust_log,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=600,
            )
        if locust.returncode not in (0, 1):  # 1: some requests failed, which the report shows
            raise SystemExit(f"locust exited with {locust.returncode}; see {OUT / 'locust.log'}")
        say(f"load average after: {os.getloadavg()[0]:.2f}; logs: {log}, {OUT / 'locust.log'}")
        return subprocess.run([PY, str(HERE / "report.py"), str(prefix)], cwd=ROOT, check=False).returncode
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        forget_queue(redis_url, queue)
        if not given and os.environ.get("LOADTEST_KEEP_DATABASE") != "1":
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
