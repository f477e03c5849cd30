"""The production web server: gunicorn.conf.py's figures, a real gunicorn draining on SIGTERM and
riding out a database that dropped its connections, and the refusal to serve DEBUG beyond loopback.

`make run`, the Dockerfile and docker-compose.yml all start gunicorn with gunicorn.conf.py
(tests/test_deploy.py checks that); here it is started for real, on a free loopback port.
"""

import os
import runpy
import signal
import subprocess
import sys
import threading
import urllib.request
from types import SimpleNamespace

import psycopg2
import pytest
import requests
from django.db import connection

from tests.factories import UserFactory
from tests.servers import APPLICATION_NAME, ROOT, gunicorn

CONFIG = runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def load_config(**env: str) -> dict:
    """gunicorn.conf.py's settings as read with `env` added to the environment."""
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- the configuration -----------------------------------------------------------------------------


def test_threaded_workers_sized_from_the_cpus_with_timeouts_and_recycling():
    cpus = len(os.sched_getaffinity(0))
    config = load_config(WEB_CONCURRENCY="", WEB_THREADS="")
    assert config["worker_class"] == "gthread"
    assert config["workers"] == max(2, cpus)
    assert config["threads"] > 1
    assert config["timeout"] > 0
    assert config["graceful_timeout"] >= 30
    assert config["max_requests"] > 0 and 0 < config["max_requests_jitter"] < config["max_requests"]
    assert "%(M)s" in config["access_log_format"] and config["accesslog"] == "-"
    assert config["control_socket_disable"] is True


def test_the_environment_overrides_the_sizes_and_refuses_garbage():
    config = load_config(WEB_CONCURRENCY="5", WEB_THREADS="8", GUNICORN_GRACEFUL_TIMEOUT="45")
    assert (config["workers"], config["threads"], config["graceful_timeout"]) == (5, 8, 45)
    with pytest.raises(SystemExit, match="WEB_THREADS"):
        load_config(WEB_THREADS="many")


# --- graceful shutdown ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sigterm_during_a_slow_request_still_answers_it(tmp_path):
    started = tmp_path / "slow-started"
    with gunicorn(tmp_path, app="tests.slow_wsgi:application", LOCKSTEP_TEST_SLOW_STARTED=str(started)) as server:
        answer = {}

        def slow_request():
            try:
                with urllib.request.urlopen(f"{server.url}/__test__/slow/?seconds=3", timeout=60) as response:
                    answer.update(status=response.status, body=response.read())
            except Exception as exc:  # reported by the assertion below
                answer.update(error=repr(exc))

        client = threading.Thread(target=slow_request)
        client.start()
        for _ in range(600):
            if started.exists() or not client.is_alive():
                break
            threading.Event().wait(0.05)
        assert started.exists(), answer

        server.process.send_signal(signal.SIGTERM)
        client.join(timeout=60)
        returncode = server.process.wait(timeout=60)

    assert answer == {"status": 200, "body": b"slow request finished"}, server.output()
    assert returncode == 0, server.output()


# --- database connections dropped between requests --------------------------------------------------


def _terminate_server_connections() -> int:
    """Close every database connection the server holds, from another connection, as a database
    restart or failover does; the number closed."""
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                [APPLICATION_NAME],
            )
            return cursor.fetchone()[0]
    finally:
        other.close()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_requests_after_the_database_dropped_the_connections_succeed(tmp_path):
    UserFactory(username="rep", password="a-long-password-1")
    # One worker thread: every request reuses the one connection that is cut.
    with gunicorn(tmp_path, WEB_THREADS="1") as server:
        browser = requests.Session()
        login_page = browser.get(f"{server.url}/login/", timeout=30)
        assert login_page.status_code == 200
        assert _terminate_server_connections() == 1

        signed_in = browser.post(
            f"{server.url}/login/",
            data={
                "username": "rep",
                "password": "a-long-password-1",
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            allow_redirects=False,
            timeout=30,
        )
        assert signed_in.status_code == 302, server.output()

        assert _terminate_server_connections() == 1
        my_deals = browser.get(f"{server.url}/", timeout=30)
        assert my_deals.status_code == 200, server.output()
        assert "Sign out" in my_deals.text

        assert _terminate_server_connections() == 1
        assert browser.get(f"{server.url}/health/", timeout=30).status_code == 200, server.output()


# --- DEBUG stays on loopback -------------------------------------------------------------------------


@pytest.mark.parametrize("bind", ["127.0.0.1:8000", "[::1]:8000", "localhost:8000", "unix:/tmp/lockstep.sock"])
def test_debug_is_served_on_loopback(bind):
    assert CONFIG["public_debug_refusal"]([bind], {"DEBUG": "1"}) is None


@pytest.mark.parametrize("bind", ["0.0.0.0:8000", "[::]:8000", "192.168.1.20:8000", "lockstep.example.com:80"])
def test_debug_or_the_development_key_beyond_loopback_is_refused_with_what_to_set(bind):
    refuse = CONFIG["public_debug_refusal"]
    message = refuse([bind], {"DEBUG": "true"})
    assert "DEBUG=0 SECRET_KEY=" in message and "HOST=127.0.0.1" in message and "LOCKSTEP_ALLOW_PUBLIC_DEBUG" in message
    assert refuse([bind], {"DEBUG": "0", "LOCKSTEP_INSECURE_DEV_KEY": "1"})
    assert refuse([bind], {"DEBUG": "0", "SECRET_KEY": "x" * 60}) is None
    assert refuse([bind], {"DEBUG": "1", "LOCKSTEP_ALLOW_PUBLIC_DEBUG": "1"}) is None


def test_gunicorn_refuses_to_start_with_debug_beyond_loopback():
    server = SimpleNamespace(cfg=SimpleNamespace(bind=["0.0.0.0:8000"]))
    saved = os.environ.get("DEBUG")
    os.environ["DEBUG"] = "1"
    try:
        with pytest.raises(SystemExit):
            CONFIG["on_starting"](server)
    finally:
        os.environ.pop("DEBUG") if saved is None else os.environ.update(DEBUG=saved)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "pipeline.wsgi:application",
            "--bind",
            "0.0.0.0:0",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DEBUG=0 SECRET_KEY=" in result.stderr + result.stdout


def test_make_run_refuses_debug_beyond_loopback_before_touching_the_database(tmp_path):
    result = subprocess.run(
        ["scripts/run.sh"],
        cwd=ROOT,
        env={
            **os.environ,
            "HOST": "0.0.0.0",
            "DEBUG": "1",
            "VENV": str(os.path.dirname(os.path.dirname(sys.executable))),
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "DEBUG=0 SECRET_KEY=" in result.stderr and "HOST=127.0.0.1" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()
