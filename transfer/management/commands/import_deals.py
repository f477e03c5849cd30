"""`manage.py import_deals FILE --mapping MAPPING.json`: the import pages' work from a shell.

MAPPING.json says what the pages ask:

    {"kind": "deals", "actor": "admin", "process": "New business",
     "columns": {"name": "Opportunity Name", "amount": "Amount", …},
     "values": {"stage": {"Closed Won": "won", "Prospecting": "Qualify"}, "owner": {"jo@x.io": "jo"}},
     "duplicates": "skip"}

`columns` and `values` are added to the suggestions from the header; a value may name its
target (a stage or process by name, an owner by username or email, a lost reason or competitor
by name) or give its id. Any problem is printed per row and nothing is written.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from opportunities.errors import DomainError
from opportunities.models import Competitor, LostReason
from people.models import User
from stages.models import SalesProcess, Stage
from transfer import services
from transfer.fields import Kind


def _user(text: str) -> User | None:
    return User.objects.filter(username=text).first() or User.objects.filter(email__iexact=text).first()


def _target(field: str, text: str, process) -> str:
    """A value's target as the value map stores it: an id, or "won"/"lost"."""
    text = str(text)
    if text in ("won", "lost") or text.isdigit():
        return text
    found = None
    if field == "stage":
        found = Stage.objects.filter(process=process, name__iexact=text).first()
    elif field == "owner":
        found = _user(text)
    elif field == "lost_reason":
        found = LostReason.objects.filter(name__iexact=text).first()
    elif field == "competitor":
        found = Competitor.objects.filter(name__iexact=text).first()
    if found is None:
        raise CommandError(f"The mapping names “{text}” as a {field.replace('_', ' ')}, and there is none.")
    return str(found.pk)


class Command(BaseCommand):
    help = "Import accounts, contacts or deals (open and past) from CSV, XLSX or JSON Lines."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--mapping", required=True, help="A JSON file: kind, actor, columns, values, …")
        parser.add_argument("--check", action="store_true", help="Only check the rows; write nothing.")

    def handle(self, *args, file, mapping, check, **options):
        try:
            spec = json.loads(Path(mapping).read_text())
            data = Path(file).read_bytes()
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the files: {exc}") from None
        if not isinstance(spec, dict):
            raise CommandError("The mapping must be a JSON object.")
        actor = _user(spec.get("actor", ""))
        if actor is None:
            raise CommandError("The mapping's “actor” must name an admin by username or email.")
        kind = spec.get("kind", Kind.DEALS)
        try:
            job = services.import_upload(actor=actor, kind=kind, filename=Path(file).name, data=data)
            process = job.process
            if spec.get("process"):
                process = SalesProcess.objects.filter(name__iexact=spec["process"]).first()
                if process is None:
                    raise CommandError(f"There is no sales process “{spec['process']}”.")
            columns = {**job.mapping, **(spec.get("columns") or {})}
            services.import_map(
                job, actor=actor, mapping=columns, process=process, duplicates=spec.get("duplicates", "skip")
            )
            values = services.suggest_value_map(job)
            for field, chosen in (spec.get("values") or {}).items():
                values.setdefault(field, {}).update({k: _target(field, v, process) for k, v in chosen.items()})
            services.import_map(
                job,
                actor=actor,
                mapping=columns,
                value_map=values,
                process=process,
                duplicates=spec.get("duplicates", "skip"),
            )
            if check:
                services.import_check(job, actor=actor)
                self._report_problems(job)
                self.stdout.write(f"{job.row_count} rows checked, {job.error_count} problems.")
                return
            job = services.import_commit(job, actor=actor)
        except DomainError as exc:
            job = locals().get("job")
            if job is not None:
                self._report_problems(job)
            raise CommandError(exc.message) from None
        counts = job.counts
        self.stdout.write(
            f"Import {job.pk}: {counts['created']} created, {counts['updated']} updated, {counts['skipped']} skipped."
        )

    def _report_problems(self, job) -> None:
        for problem in job.errors:
            self.stderr.write(problem)
        if job.error_count > len(job.errors):
            self.stderr.write(f"… {job.error_count - len(job.errors)} more.")
