"""The move of users, teams and settings from `pipeline` to `people` keeps every row.

The database of the previous release is the one the migrations built, minus two records: the
move (people 0001, pipeline 0009) only changes Django's state and the content types, never a
table. So the test builds rows, winds the history back to that release, and migrates forward
with the real `migrate` command, as an upgrade would. On the way it goes through people 0002,
which drops the old sign-in throttle's table (django-axes counts failures now) and adds the
account visibility setting.
"""

from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.exceptions import InconsistentMigrationHistory
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from opportunities.models import Account, Opportunity, OpportunityEvent
from people.migration_history import record_people_initial
from people.models import AccountVisibility, OrgSettings, Team, User, Visibility
from pipeline.models import Flag, FlagKind, Notification, Quota

TABLES = [
    "pipeline_user",
    "pipeline_team",
    "pipeline_team_managers",
    "pipeline_user_groups",
    "pipeline_user_user_permissions",
    "pipeline_orgsettings",
    "pipeline_flag",
    "pipeline_notification",
    "pipeline_quota",
    "opportunities_account",
    "opportunities_opportunity",
    "opportunities_opportunityevent",
    "django_admin_log",
]


def rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")
        return [tuple(row) for row in cursor.fetchall()]


def back_to_the_previous_release() -> None:
    """pipeline 0009 and people 0002 unapplied (its content types back under `pipeline`, the old
    throttle's table back), people 0001 unrecorded."""
    executor = MigrationExecutor(connection)
    executor.migrate([("pipeline", "0008_flag_since"), ("people", "0001_initial")])
    MigrationRecorder(connection).record_unapplied("people", "0001_initial")
    ContentType.objects.clear_cache()


def migrate_to_latest() -> None:
    record_people_initial(connection)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


@pytest.fixture
def history(owner, teammate, manager, outsider, admin, team, opportunity, now):
    """Rows in every moved table and in the tables that point at them."""
    group = Group.objects.create(name="Sales ops")
    owner.groups.add(group)
    user_type = ContentType.objects.get_for_model(User)
    manager.user_permissions.add(Permission.objects.get(content_type=user_type, codename="change_user"))
    OrgSettings.objects.update_or_create(pk=1, defaults={"visibility": Visibility.OWN})
    flag = Flag.objects.create(opportunity=opportunity, kind=FlagKind.IDLE, detail="idle", opened_at=now)
    Notification.objects.create(user=manager, flag=flag, message="Acme rollout is idle", created_at=now)
    Quota.objects.create(user=owner, year=2026, quarter=1, amount=Decimal("100000"), set_by=manager)
    LogEntry.objects.create(
        user=admin, content_type=user_type, object_id=str(owner.pk), object_repr=str(owner), action_flag=ADDITION
    )
    return user_type


@pytest.mark.django_db(transaction=True)
def test_upgrading_a_database_from_before_people_keeps_every_row(history, owner, manager, team, opportunity, now):
    before = {table: rows(table) for table in TABLES}
    assert all(before.values()), [t for t, r in before.items() if not r]
    user_type_id = history.pk

    try:
        back_to_the_previous_release()
        assert ContentType.objects.get(pk=user_type_id).app_label == "pipeline"
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO pipeline_loginfailure (username, ip_address, created_at) VALUES (%s, %s, %s)",
                ["owner", "10.0.0.1", now],
            )
        # What `migrate` on its own would say about such a database; the project's command
        # records people 0001 first (people/management/commands/migrate.py).
        with pytest.raises(InconsistentMigrationHistory):
            MigrationLoader(connection).check_consistent_history(connection)
        call_command("migrate", verbosity=0)
    finally:  # the latest schema whatever happened, for the tests that follow
        migrate_to_latest()

    assert {table: rows(table) for table in TABLES} == before
    assert ContentType.objects.get(pk=user_type_id).natural_key() == ("people", "user")
    assert not ContentType.objects.filter(app_label="pipeline", model__in=["user", "team"]).exists()
    # The rows read back through the models as they were written.
    reread = User.objects.get(pk=owner.pk)
    assert reread.team == team and list(reread.groups.values_list("name", flat=True)) == ["Sales ops"]
    assert list(Team.objects.get(pk=team.pk).managers.all()) == [manager]
    assert User.objects.get(pk=manager.pk).has_perm("people.change_user")
    assert Opportunity.objects.get(pk=opportunity.pk).owner == reread
    assert Account.objects.filter(owner=reread).count() == 1
    assert OpportunityEvent.objects.filter(opportunity=opportunity, actor=reread).exists()
    assert LogEntry.objects.get().get_edited_object() == reread
    settings_row = OrgSettings.current()
    assert settings_row.visibility == Visibility.OWN
    assert settings_row.account_visibility == AccountVisibility.EVERYONE
    assert "pipeline_loginfailure" not in connection.introspection.table_names()


def test_recording_people_initial_happens_only_where_pipeline_created_the_tables(db):
    # The test database was migrated from scratch: people 0001 is applied, nothing to record.
    assert record_people_initial(connection) is False


def test_no_model_change_lacks_a_migration(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
