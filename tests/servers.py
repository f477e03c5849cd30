"""A real gunicorn, started with the repository's gunicorn.conf.py on a free loopback port, serving
this test's database: for the tests of what only a real server shows (connections kept between
requests, shutdown on SIGTERM). The test must commit (`django_db(transaction=True)`) for the
server, another process, to see its rows.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
START_SECONDS = 60
# Every connection the server opens says so, to be told apart from the test's own.
APPLICATION_NAME = "lockstep-test-gunicorn"


def database_env(*, application_name: str = "") -> dict[str, str]:
    """This test database, as the settings' environment variables spell it, for a server or
    worker started in another process; on PostgreSQL its connections carry `application_name`,
    to be told apart from the test's own."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "127.0.0.1"
        port = f":{db['PORT']}" if db["PORT"] else ""
        query = f"?application_name={quote(application_name)}" if application_name else ""
        return {"DATABASE_URL": f"postgres://{auth}@{host}{port}/{db['NAME']}{query}"}
    assert "memory" not in str(db["NAME"]), "settings_test gives the SQLite test database a file"
    return {"SQLITE_PATH": str(db["NAME"])}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def gunicorn(tmp_path: Path, *, app: str = "pipeline.wsgi:application", **env: str) -> Iterator[Server]:
    """gunicorn -c gunicorn.conf.py `app` on 127.0.0.1:<free port>; `env` adds to its environment
    (WEB_CONCURRENCY, WEB_THREADS, ...). Stopped (TERM, then KILL) on the way out."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pipeline.settings_test",
        "DEBUG": "0",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        **database_env(application_name=APPLICATION_NAME),
        **env,
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app, "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(process=process, url=f"http://127.0.0.1:{port}", log=log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.process.returncode}:\n{server.output()}")
        with suppress(OSError), urllib.request.urlopen(f"{server.url}/health/", timeout=5) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer /health/ within {START_SECONDS} s:\n{server.output()}")
