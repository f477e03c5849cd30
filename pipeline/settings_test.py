"""Test settings: the real settings, made fast and deterministic."""

import os

os.environ.setdefault("LOCKSTEP_INSECURE_DEV_KEY", "true")
os.environ.setdefault("SECURE_HTTPS", "false")
os.environ.setdefault("STATIC_MANIFEST", "false")
# The fuzz and schema tests send thousands of requests as one user; tests of the limits set
# their own rates with override_settings.
os.environ.setdefault("API_RATE_PER_TOKEN", "1000000/minute")
os.environ.setdefault("API_RATE_PER_USER", "1000000/minute")

from pipeline.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
WHITENOISE_AUTOREFRESH = True

# A test database needs no durability: on PostgreSQL the commits of the browser and end-to-end
# tests (which run outside a rolled-back transaction) need not wait for the disk.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = f"{_options.get('options', '')} -c synchronous_commit=off".strip()

# On SQLite the test database is a file, not Django's default in-memory one, so that the Celery
# worker the end-to-end tests start (another process) works on the database the test wrote. One
# file per run, in the temp directory, removed at exit: concurrent runs must not share it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import atexit
    import tempfile
    from pathlib import Path

    _test_db = Path(tempfile.gettempdir()) / f"lockstep-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db)}  # noqa: F405
    atexit.register(lambda: [Path(f"{_test_db}{end}").unlink(missing_ok=True) for end in ("", "-wal", "-shm")])
