"""Start-up checks of what the installation runs on."""

import sqlite3

from django.conf import settings
from django.core import checks

from .sql import MIN_SQLITE_VERSION


def _version(info: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in info)


@checks.register()
def sqlite_version(app_configs=None, *, engines=None, sqlite_version_info: tuple[int, ...] | None = None, **kwargs):
    """The hand-written SQL (`pipeline.sql`, `opportunities.sql`) needs SQLite 3.35 or later
    (RETURNING, UPDATE … FROM, window functions). Older SQLite would fail on the first sweep or
    deal change with a syntax error; say so when the site starts instead."""
    engines = engines if engines is not None else [db["ENGINE"] for db in settings.DATABASES.values()]
    if "django.db.backends.sqlite3" not in engines:
        return []
    found = sqlite_version_info or sqlite3.sqlite_version_info
    if tuple(found) >= MIN_SQLITE_VERSION:
        return []
    return [
        checks.Error(
            f"Lockstep needs SQLite {_version(MIN_SQLITE_VERSION)} or later; this Python's sqlite3 module "
            f"uses SQLite {_version(found)}.",
            hint="Run on PostgreSQL (set DATABASE_URL), or use a Python built with a newer SQLite.",
            id="pipeline.E010",
        )
    ]
