"""The start-up check of the SQLite version the hand-written SQL needs."""

from django.core.checks.registry import registry
from django.core.management import call_command

from pipeline.apps import MIN_SQLITE_VERSION, sqlite_version

SQLITE = ["django.db.backends.sqlite3"]
POSTGRES = ["django.db.backends.postgresql"]


def test_an_old_sqlite_is_refused_with_the_version_it_needs():
    (error,) = sqlite_version(engines=SQLITE, sqlite_version_info=(3, 34, 1))
    assert error.id == "pipeline.E010" and error.is_serious()
    assert "SQLite 3.35.0 or later" in error.msg and "SQLite 3.34.1" in error.msg
    assert "DATABASE_URL" in error.hint


def test_a_new_enough_sqlite_or_postgresql_passes():
    assert MIN_SQLITE_VERSION == (3, 35, 0)
    assert sqlite_version(engines=SQLITE, sqlite_version_info=(3, 35, 0)) == []
    assert sqlite_version(engines=SQLITE, sqlite_version_info=(3, 46, 1)) == []
    assert sqlite_version(engines=POSTGRES, sqlite_version_info=(3, 20, 0)) == []


def test_the_check_runs_at_start_up_with_the_others():
    # Registered without a tag: runserver, migrate and check run it, not only `check --database`.
    assert sqlite_version in registry.get_checks()
    call_command("check")  # this installation's own SQLite, if it uses one, is new enough
