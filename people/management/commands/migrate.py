from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from people.migration_history import record_people_initial


class Command(DjangoMigrate):
    """Django's `migrate`, which first records the state-only `people` 0001 on a database that
    predates it (see people/migration_history.py); otherwise the same command."""

    def handle(self, *args, **options):
        if record_people_initial(connections[options["database"]]) and options["verbosity"] >= 1:
            self.stdout.write("Recorded people.0001_initial as applied: its tables were created by pipeline.0001.")
        return super().handle(*args, **options)
