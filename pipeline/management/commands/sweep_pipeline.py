"""`manage.py sweep_pipeline [--now ISO] [--full]`: run the pipeline-health sweep by hand.

The same code the Celery beat runs every SWEEP_EVERY_MINUTES, incremental when it can be;
`--full` evaluates every open deal, as after a change made around the application (a script,
raw SQL) that the next daily full sweep would otherwise be the first to see. Prints what it did.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pipeline.health.services import SweepResult, pipeline_sweep
from pipeline.models import Flag, FlagKind


def _parse_now(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now {value!r} is not an ISO 8601 date and time (e.g. 2026-03-02T10:00).") from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def format_result(result: SweepResult, open_totals: dict[str, int]) -> str:
    """The sweep's result as a small table: opened, resolved and (`open_totals`) open flags by kind."""
    if result.skipped:
        return f"Sweep at {result.now.isoformat()}: another sweep is running; did nothing."
    rows = [
        (kind.label, result.opened.get(kind, 0), result.resolved.get(kind, 0), open_totals.get(kind, 0))
        for kind in FlagKind
    ]
    rows.append(("Total", sum(result.opened.values()), sum(result.resolved.values()), sum(open_totals.values())))
    width = max(len(row[0]) for row in rows)
    evaluated = (
        f"Full sweep: every open deal evaluated ({result.evaluated})."
        if result.full
        else f"Incremental sweep: {result.evaluated} changed or time-crossed deals evaluated."
    )
    lines = [
        f"Sweep at {result.now.isoformat()}",
        evaluated,
        f"{'Flag':<{width}}  {'Opened':>8}  {'Resolved':>8}  {'Open':>8}",
    ]
    lines += [f"{label:<{width}}  {opened:>8}  {resolved:>8}  {total:>8}" for label, opened, resolved, total in rows]
    lines.append(f"Notifications sent: {result.notified}. Details refreshed: {result.details_refreshed}.")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Open and resolve pipeline-health flags now and notify people (what the beat runs)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            type=_parse_now,
            default=None,
            help="Sweep as of this moment (ISO 8601; naive means the installation's time zone).",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Evaluate every open deal, not only those changed or crossing a time threshold since the last sweep.",
        )

    def handle(self, *args, now=None, full=False, **options):
        result = pipeline_sweep(now=now, full=full)
        self.stdout.write(format_result(result, Flag.objects.open().counts_by_kind()))
