"""Building import files and running an import the way the pages do, for the tests."""

import csv
import io

from transfer import services


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def run_import(actor, kind, data: bytes, *, filename="data.csv", mapping=None, value_map=None, now=None, **options):
    """Upload, map (the suggestion, overridden by `mapping`), map values (the suggestion,
    overridden by `value_map`), then commit. Returns the job."""
    job = services.import_upload(actor=actor, kind=kind, filename=filename, data=data, now=now)
    chosen = {**job.mapping, **(mapping or {})}
    services.import_map(job, actor=actor, mapping=chosen, **options)
    values = services.suggest_value_map(job)
    for field, overrides in (value_map or {}).items():
        values.setdefault(field, {}).update(overrides)
    services.import_map(job, actor=actor, mapping=chosen, value_map=values, **options)
    return services.import_commit(job, actor=actor, now=now)
