"""Bring the migration history of a database from before the `people` app up to date.

`people` 0001 only moves models in Django's state (their tables stay where `pipeline` 0001
created them). Yet migrations applied long before it existed, `admin` 0001 and `opportunities`
0002, now depend on it through `AUTH_USER_MODEL`, and `migrate` refuses a history where an applied
migration's dependency is not applied. Recording it as applied is exact: it has nothing to do in
the database, and what it depends on (`pipeline` 0001) is applied.
"""

from django.db.migrations.recorder import MigrationRecorder

PEOPLE_INITIAL = ("people", "0001_initial")
CREATED_THE_TABLES = ("pipeline", "0001_initial")


def record_people_initial(connection) -> bool:
    """Record `people` 0001 as applied where `pipeline` 0001 is; True if it had to."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return False
    applied = recorder.applied_migrations()
    if CREATED_THE_TABLES not in applied or PEOPLE_INITIAL in applied:
        return False
    recorder.record_applied(*PEOPLE_INITIAL)
    return True
