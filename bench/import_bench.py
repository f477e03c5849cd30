"""Import benchmark: `import_100k_s`, the time to import BENCH_IMPORT_ROWS (100,000) past and open
deals with their history from one CSV file — check every row, then write them all (set-based) and
replay their events — as the Celery task does it.

`bench/run.py` calls `run()` on its seeded database; the import runs in a transaction that is
rolled back, so the database keeps exactly the deals it was seeded with. `generate()` writes the
file; tests/bench/test_import_bench.py imports a small one.
"""

import csv
import datetime as dt
import io
import tempfile
import time

HEADER = [
    "Opportunity Name",
    "Account Name",
    "Amount",
    "Stage",
    "Opportunity Owner",
    "Close Date",
    "Created Date",
    "Closed Date",
    "Lost Reason",
    "Stage history",
    "Milestones",
    "Activities",
]


def generate(rows: int, *, process, owners: list[str], lost_reason: str, start=dt.date(2023, 1, 2)) -> bytes:
    """A CSV of `rows` deals of `process`: a third open, a third won, a third lost, each with two
    stages passed through, a milestone ticked and a meeting logged; 5,000 accounts."""
    stages = list(process.stages.order_by("order", "id"))
    first, second = stages[0], stages[min(1, len(stages) - 1)]
    milestone = first.milestones.order_by("order", "id").first()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        created = start + dt.timedelta(days=i % 600)
        moved = created + dt.timedelta(days=10)
        closed = moved + dt.timedelta(days=20)
        outcome = ("open", "won", "lost")[i % 3]
        writer.writerow(
            [
                f"Imported deal {i}",
                f"Imported account {i % 5000}",
                f"{1000 + (i % 97) * 250}.00",
                {"open": second.name, "won": "Closed Won", "lost": "Closed Lost"}[outcome],
                owners[i % len(owners)],
                (dt.date(2031, 1, 1) if outcome == "open" else closed).isoformat(),
                created.isoformat(),
                "" if outcome == "open" else closed.isoformat(),
                lost_reason if outcome == "lost" else "",
                f"{first.name};{created.isoformat()}|{second.name};{moved.isoformat()}",
                f"{first.name}: {milestone.name};{(created + dt.timedelta(days=3)).isoformat()}" if milestone else "",
                f"{(created + dt.timedelta(days=2)).isoformat()};meeting;Discovery call",
            ]
        )
    return out.getvalue().encode()


def timed_import(data: bytes, *, actor, process) -> tuple[float, object]:
    """Upload, map (the suggestions) and commit; the seconds it took and the job."""
    from transfer import services
    from transfer.fields import Kind

    started = time.perf_counter()
    job = services.import_upload(actor=actor, kind=Kind.DEALS, filename="bench.csv", data=data)
    services.import_map(job, actor=actor, mapping=job.mapping, process=process)
    services.import_map(job, actor=actor, mapping=job.mapping, value_map=services.suggest_value_map(job))
    job = services.import_commit(job, actor=actor)
    return time.perf_counter() - started, job


def run(rows: int, emit) -> dict:
    from django.db import transaction
    from django.test import override_settings

    from opportunities.models import LostReason
    from people.models import Role, User
    from stages.models import SalesProcess

    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    process = SalesProcess.objects.active().order_by("pk").first()
    reason = LostReason.objects.filter(is_active=True).order_by("pk").first()
    owners = list(User.objects.filter(role=Role.REP, is_active=True).values_list("username", flat=True)[:20])
    if admin is None or process is None or reason is None or not owners:
        raise RuntimeError("the database has no admin, active process, lost reason or reps")
    data = generate(rows, process=process, owners=owners, lost_reason=reason.name)
    emit(f"import file: {rows:,} rows, {len(data) / 2**20:.1f} MB")
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media), transaction.atomic():
        seconds, job = timed_import(data, actor=admin, process=process)
        created = job.counts.get("created", 0)
        transaction.set_rollback(True)
    return {"import_100k_s": f"{seconds:.1f}", "import_rows": rows, "import_created": created}
