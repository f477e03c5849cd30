"""Database helpers of the bulk generator (`bench/bulkdata.py`): where its COPY lines go, and
how PostgreSQL loads millions of rows quickly (indexes and constraints off while loading, rebuilt
once at the end).
"""

import io
import json
import queue
import threading

from django.core.management.color import no_style
from django.db import connection

NULL = "\\N"  # COPY text format's NULL


def reset_sequences(models) -> None:
    """Move the id sequences of `models` past the ids that were written explicitly."""
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def drop_indexes(cursor, tables: list[str]) -> tuple[list, list]:
    """Drop the secondary indexes and the foreign-key and unique constraints of `tables`.

    Loading millions of rows into bare tables and then building each index once is several
    times faster than maintaining ten indexes row by row, and re-adding a foreign key checks it
    with one join instead of millions of deferred per-row triggers at commit. Everything happens
    inside the seed's transaction, so a failure rolls the schema back too.
    """
    indexes, constraints = [], []
    for table in tables:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [table],
        )
        for name, definition in cursor.fetchall():
            constraints.append((table, name, definition))
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY c.relname",
            [table],
        )
        for name, definition in cursor.fetchall():
            indexes.append(definition)
            cursor.execute(f'DROP INDEX "{name}"')
    return indexes, constraints


def restore_indexes(cursor, dropped: tuple[list, list] | None, tables: list[str]) -> None:
    """Rebuild what drop_indexes dropped, and refresh the planner's statistics."""
    if dropped:
        indexes, constraints = dropped
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in indexes:
            cursor.execute(definition)
    for table in tables:
        cursor.execute(f'ANALYZE "{table}"')
    if dropped:
        # Unique constraints before foreign keys; each foreign key is validated in one pass.
        for table, name, definition in sorted(constraints, key=lambda c: not c[2].startswith("UNIQUE")):
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


class BulkSink:
    """Turns COPY lines back into model instances for bulk_create: any database, fine for a
    few thousand rows (tests, SQLite demos)."""

    def __init__(self, columns: dict, json_columns: dict):
        self.columns = columns
        self.json_columns = json_columns

    def write(self, model, lines: list[str]) -> None:
        if not lines:
            return
        columns = self.columns[model]
        json_at = columns.index(self.json_columns[model]) if model in self.json_columns else None
        objects = []
        for line in lines:
            values = [None if v == NULL else v for v in line[:-1].split("\t")]
            if json_at is not None:
                values[json_at] = json.loads(values[json_at].replace("\\\\", "\\"))
            objects.append(model(**dict(zip(columns, values, strict=True))))
        model.objects.bulk_create(objects, batch_size=2_000)

    def close(self) -> None:
        pass


class CopySink:
    """Writes lines with PostgreSQL COPY from a second thread while the next batch is generated.

    Both threads use the one connection of this transaction, never at the same time: the main
    thread only generates until close(). psycopg2 releases the GIL while the server works, so
    generating and loading overlap on two cores.
    """

    def __init__(self, connection, columns: dict):
        self.raw = connection.connection
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.statements = {
            model: f'COPY "{model._meta.db_table}" ({", ".join(columns)}) FROM STDIN'
            for model, columns in columns.items()
        }
        self.thread = threading.Thread(target=self._load, name="seed-demo-copy", daemon=True)
        self.thread.start()

    def write(self, model, lines: list[str]) -> None:
        if self.error is not None:
            raise self.error
        if lines:
            self.queue.put((self.statements[model], io.StringIO("".join(lines))))

    def _load(self) -> None:
        cursor = self.raw.cursor()
        while True:
            item = self.queue.get()
            if item is None:
                break
            if self.error is None:
                try:
                    cursor.copy_expert(*item, size=1 << 20)
                except BaseException as exc:  # handed to the main thread
                    self.error = exc
        cursor.close()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
