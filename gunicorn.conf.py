"""gunicorn configuration: the one web-server setup, used by `make run` (scripts/run.sh), the Docker
image and docker-compose.yml (`gunicorn -c gunicorn.conf.py pipeline.wsgi:application --bind ...`).

The address to bind is given on each command line (loopback for `make run`, 0.0.0.0 in the
container); everything else is here, and each figure can be overridden from the environment:

    WEB_CONCURRENCY            worker processes (default: the CPUs this process may use, at least 2)
    WEB_THREADS                threads per worker (default 4)
    GUNICORN_TIMEOUT           seconds a worker may stay silent before it is replaced (default 30)
    GUNICORN_GRACEFUL_TIMEOUT  seconds in-flight requests get to finish after SIGTERM (default 30)
    GUNICORN_MAX_REQUESTS      requests before a worker is recycled, plus up to 10 % jitter (default 2000)
    LOCKSTEP_ALLOW_PUBLIC_DEBUG  set to 1 to serve beyond loopback with DEBUG on anyway (see on_starting)

A bad value stops the server at start-up with the variable's name, as settings.py does.
"""

import ipaddress
import os
import sys


def _env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise SystemExit(f"gunicorn.conf.py: {name}={value} is below the minimum of {minimum}.")
    return value


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _cpus() -> int:
    # The CPUs this process may run on (a container's cpuset), not the host's count.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no sched_getaffinity
        return os.cpu_count() or 1


# Threaded workers: a request spends much of its time waiting for PostgreSQL, and threads overlap
# those waits for a fraction of a process's memory; one process per CPU spreads the Python work
# (which the GIL keeps to one core per process). 2 × 4 on this 2-CPU machine: eight requests at
# once, eight database connections (CONN_MAX_AGE keeps one per thread).
worker_class = "gthread"
workers = _env_int("WEB_CONCURRENCY", max(2, _cpus()))
threads = _env_int("WEB_THREADS", 4)

# gthread workers report to the master from their main loop, so `timeout` catches a worker that
# is stuck as a whole, not a slow request; requests have no hard limit here.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (docker stop, Ctrl-C in `make run`) a worker stops accepting and gets this long to
# answer the requests it has; compose's stop_grace_period must exceed it.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Idle keep-alive connections from the reverse proxy are held this long.
keepalive = 5

# Recycling workers now and then caps any slow growth in memory; the jitter keeps them from all
# restarting at the same moment.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = max_requests // 10

# The workers' heartbeat files: on tmpfs, since a container's overlay filesystem can stall them.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Access log to stdout, with the request time in milliseconds (%(M)s) and the client as the proxy
# reports it (%({x-forwarded-for}i)s).
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'

# Nothing here uses gunicornc; the control socket's default path ($HOME/.gunicorn/gunicorn.ctl) is
# shared by every gunicorn of a user, so a second server on the machine would take it over.
control_socket_disable = True


def _is_loopback(address: str) -> bool:
    """`address` is one of gunicorn's bind strings: HOST:PORT, [IPv6]:PORT, unix:PATH or fd://N."""
    if address.startswith("unix:"):
        return True
    if address.startswith("fd://"):
        return False
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 or address.startswith("[") else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def public_debug_refusal(binds: list[str], environ) -> str | None:
    """Why serving `binds` with this environment is refused, or None.

    DEBUG shows tracebacks, settings and every URL pattern, and comes with the published
    development SECRET_KEY (anyone can forge sessions with it); LOCKSTEP_INSECURE_DEV_KEY gives
    that key with DEBUG off. On loopback only this machine sees it; beyond, anyone on the network.
    """
    debug = environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    dev_key = environ.get("LOCKSTEP_INSECURE_DEV_KEY", "").strip().lower() in {"1", "true", "yes", "on"}
    allowed = environ.get("LOCKSTEP_ALLOW_PUBLIC_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    public = [b for b in binds if not _is_loopback(b)]
    if not (debug or dev_key) or not public or allowed:
        return None
    what = "DEBUG on" if debug else "LOCKSTEP_INSECURE_DEV_KEY (the published development key)"
    return (
        f"Refusing to serve {', '.join(public)} with {what}: anyone who can reach it would see "
        "tracebacks, settings and the URL list, and could forge sessions with the public key.\n"
        "  Production: set DEBUG=0 SECRET_KEY=<a long random string> ALLOWED_HOSTS=<your host name> "
        "(and SECURE_HTTPS=0 only to try it over plain http).\n"
        "  Development: bind to loopback (HOST=127.0.0.1).\n"
        "  Only on a network you trust: LOCKSTEP_ALLOW_PUBLIC_DEBUG=1 overrides this check."
    )


def on_starting(server):
    # Here, not at the top of the file: the --bind given on the command line is known only now.
    refusal = public_debug_refusal(list(server.cfg.bind), os.environ)
    if refusal:
        print(f"gunicorn.conf.py: {refusal}", file=sys.stderr)  # noqa: T201 — before logging exists
        raise SystemExit(1)
