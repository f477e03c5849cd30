"""The board's section of `bench/run.py`: GET /board/<process>/ live and "as of" a past day.

`bench/run.py` (`make bench`) calls `run(bench)` on its seeded 100,000-deal PostgreSQL database.
Figures:

    board_p50_ms, board_queries, board_cpu_p50_ms
                            the live board of the process with the most open deals, for an admin
                            (every deal in view: the biggest columns there are)
    board_asof_p50_ms, board_asof_queries, board_asof_cpu_p50_ms
                            the same board as of the end of the day BENCH_BOARD_ASOF_DAYS (30)
                            ago, rebuilt from the event history
    board_asof_ratio        board_asof_p50_ms / board_p50_ms (target: at most 2)
    board_manager_p50_ms, board_manager_queries, board_manager_cpu_p50_ms
                            the live board of the bench's manager (their teams' deals)
    board_load_more_p50_ms, board_load_more_queries, board_load_more_cpu_p50_ms
                            the next page of cards of the first column (the htmx "Load more")

Targets: p50 <= 150 ms, constant queries, as-of <= 2 x live.

`.venv/bin/python bench/board.py` prints EXPLAIN (ANALYZE, BUFFERS) of every statement the live
and the as-of board run, on the same database (BENCH_DATABASE_URL), which must be seeded already.
"""

import datetime as dt
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_P50_MS = 150  # issue 4: board p50 <= 150 ms; as of a date, at most twice the live board


def _busiest_process():
    """The process with the most open deals: the biggest board there is."""
    from django.db.models import Count, Q

    from stages.models import SalesProcess

    return (
        SalesProcess.objects.annotate(open_deals=Count("opportunities", filter=Q(opportunities__status="open")))
        .order_by("-open_deals", "pk")
        .first()
    )


def _admin():
    from django.contrib.auth import get_user_model

    from people.models import Role

    return get_user_model().objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()


def _as_of() -> str:
    from django.utils import timezone

    days = int(os.environ.get("BENCH_BOARD_ASOF_DAYS", "30"))
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


def _say(message: str) -> None:
    print(f"# {message}", flush=True)  # noqa: T201 — bench/run.py's remark lines


def run(bench) -> dict:
    from django.urls import reverse

    from pipeline.board.queries import CARDS_PER_COLUMN

    process, admin = _busiest_process(), _admin()
    if process is None or admin is None:
        _say("board: no process or admin in the database; was it seeded with bench/bulkdata.py?")
        return {}
    _say(f"board: {process.name} ({process.open_deals:,} open deals), as {admin.username}; as of {_as_of()}")
    url = reverse("board:process", args=[process.pk])
    first_stage = process.stages.order_by("order", "id").first()
    more = reverse("board:column", args=[process.pk, first_stage.pk]) + f"?offset={CARDS_PER_COLUMN}"

    figures = bench.page("board", url, admin, target_ms=TARGET_P50_MS)
    figures.update(bench.page("board_asof", f"{url}?as_of={_as_of()}", admin, target_ms=2 * TARGET_P50_MS))
    try:
        figures["board_asof_ratio"] = f"{float(figures['board_asof_p50_ms']) / float(figures['board_p50_ms']):.2f}"
    except (ValueError, ZeroDivisionError):
        figures["board_asof_ratio"] = "n/a"
    figures.update(bench.page("board_manager", url, bench.manager, target_ms=TARGET_P50_MS))
    figures.update(bench.page("board_load_more", more, admin, target_ms=TARGET_P50_MS))
    return figures


def explain() -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from run import configure

    configure()
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client()
    client.force_login(_admin())
    url = reverse("board:process", args=[_busiest_process().pk])
    for label, params in (("live", {}), ("as of", {"as_of": _as_of()})):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, params).status_code == 200
        with connection.cursor() as cursor:
            for i, query in enumerate(ctx.captured_queries):
                sql = query["sql"]
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                print(f"--- {label} #{i}\n{sql}\n{plan}\n")  # noqa: T201 — a command-line script


if __name__ == "__main__":
    explain()
