import sqlite3

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

# The hand-written SQL (`opportunities.sql`, `pipeline.health.sql`, `pipeline.reports.sql`) needs
# SQLite 3.35 or later: RETURNING and `AS MATERIALIZED` (3.35), UPDATE … FROM (3.33), window
# functions (3.25).
MIN_SQLITE_VERSION = (3, 35, 0)


def _version(info: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in info)


def sqlite_version(app_configs=None, *, engines=None, sqlite_version_info: tuple[int, ...] | None = None, **kwargs):
    """A start-up check of what the installation runs on: older SQLite would fail on the first
    sweep or deal change with a syntax error; say so when the site starts instead."""
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


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        from opportunities.hooks import DealBadges, register_deal_badges

        from .health import signals
        from .models import Flag

        # Without a tag: runserver, migrate and check run it, not only `check --database`.
        checks.register(sqlite_version)
        signals.connect()
        # The deal page and deal lists of `opportunities` show each deal's open flags.
        register_deal_badges(
            DealBadges(
                name="flags",
                related_name="flags",
                queryset=lambda: Flag.objects.open().order_by("kind", "id"),
                template="pipeline/_deal_flags.html",
            )
        )
