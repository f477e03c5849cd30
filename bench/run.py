"""Benchmark: a large seeded PostgreSQL database, and the time and queries of the main pages.

    .venv/bin/python bench/run.py        (or `make bench`; not part of the test suite)

Creates (or recreates) the database named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/lockstep_bench), migrates it and seeds BENCH_OPPORTUNITIES
(default 100000) opportunities with the bulk generator (`bench/bulkdata.py`), unless it already holds exactly that
many, which makes re-runs fast; the event history is then put in time order, as a live
database has it (see `chronological_history`), and the sweep opens the health flags a live
database would hold (`health_flags`). Then it requests each page with Django's test client, signed in
as the demo rep with the most open deals (and as a manager), BENCH_WARMUP times (default 3)
before timing BENCH_REPEAT requests (default 30), and prints one `name = value` line per figure:
the median time in milliseconds and the number of SQL queries of one request. Lines starting
with `#` are remarks.

A section is a function decorated with @section that takes the Bench and returns its figures;
add one per page or job (board, dashboard, sweep) and it runs after the others. BENCH_ONLY
(comma-separated section names, e.g. `my_deals,account_page`) runs only those.
"""

import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lockstep_bench"
TARGET_P50_MS = 50


def configure() -> str:
    """Environment for production-like settings against the benchmark database."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ["LOCKSTEP_INSECURE_DEV_KEY"] = "1"
    os.environ["SECURE_HTTPS"] = "0"
    os.environ["STATIC_MANIFEST"] = "0"
    hosts = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]
    os.environ["ALLOWED_HOSTS"] = ",".join(dict.fromkeys([*hosts, "testserver"]))
    os.environ["DJANGO_SETTINGS_MODULE"] = "pipeline.settings"
    return url


def busiest(deals):
    """The deal of `deals` with the longest history (the most events), with `n_events`."""
    from django.db.models import Count

    return deals.annotate(n_events=Count("events")).order_by("-n_events", "pk").first()


def say(message: str) -> None:
    print(f"# {message}", flush=True)  # noqa: T201 — a command-line script


def figure(name: str, value) -> None:
    print(f"{name} = {value}", flush=True)  # noqa: T201


# --- the database -----------------------------------------------------------------------------------


def prepare_database(url: str, wanted: int) -> bool:
    """Make sure the database exists; True if it must be (re)seeded."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit(f"BENCH_DATABASE_URL has no database name: {url}")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    admin = psycopg2.connect(maintenance)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            exists = cursor.fetchone() is not None
        if exists:
            held = _opportunity_count(url)
            if held == wanted:
                say(
                    f"{name} already holds {held:,} opportunities: not reseeding "
                    "(drop the database to force a fresh seed)"
                )
                return False
            say(f"{name} holds {held:,} opportunities, not {wanted:,}: recreating it")
            with admin.cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        else:
            say(f"creating {name}")
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True
    finally:
        admin.close()


def _opportunity_count(url: str) -> int:
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('opportunities_opportunity') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return 0
            cursor.execute("SELECT count(*) FROM opportunities_opportunity")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def vacuum() -> None:
    """VACUUM (ANALYZE), as autovacuum soon would on a live database: right after a bulk load the
    visibility map is empty, so index-only scans (the deal counts) would still read the heap."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    say(f"VACUUM (ANALYZE) took {time.perf_counter() - started:.1f} s")


def chronological_history() -> None:
    """Lay the event history out in time order, as it is on a live database.

    Events are only ever appended as they happen, so on a live database the table's physical
    order follows `created_at`. bench/bulkdata.py writes each deal's whole life at once, one deal after
    another, which scatters any one week's events over the whole table. Index-only scans over a
    period's events (the dashboard's days in stage, the as-of views) then switch visibility-map
    pages on nearly every row: at 100,000 deals, 45,000 buffer reads instead of 600 for the days
    in stage alone. Reordered once (CLUSTER), when the planner's statistics say the table is not
    already in time order."""
    from django.db import connection

    from opportunities.models import OpportunityEvent

    table = OpportunityEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT correlation FROM pg_stats WHERE tablename = %s AND attname = 'created_at'", [table])
        row = cursor.fetchone()
        if row is not None and row[0] is not None and row[0] > 0.9:
            return
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(f'CREATE INDEX bench_event_time_order ON "{table}" (created_at, id)')
        cursor.execute(f'CLUSTER "{table}" USING bench_event_time_order')
        cursor.execute("DROP INDEX bench_event_time_order")
        cursor.execute("RESET maintenance_work_mem")
    say(f"event history put in time order (CLUSTER) in {time.perf_counter() - started:.1f} s")


def health_flags() -> None:
    """Open the pipeline-health flags the beat's sweep keeps open on a live database (bench/bulkdata.py
    writes none), so that the pages that show or count them read as many as they would there."""
    from pipeline.health.services import pipeline_sweep
    from pipeline.models import Flag

    if Flag.objects.exists():
        return
    started = time.perf_counter()
    result = pipeline_sweep()
    say(f"sweep opened {sum(result.opened.values()):,} flags in {time.perf_counter() - started:.1f} s")


BENCH_COMPETITORS = ["Northwind CRM", "Contoso Sales", "Fabrikam Pipeline", "Globex Deals", "Initech Revenue"]


def learning_rows() -> None:
    """Give the database what a team that has used Lockstep for a while has beside its deals
    (bench/bulkdata.py writes none of it), so that the deal page's lessons and "For this step"
    panels read as many rows as they would there: a post-mortem for every closed deal (the close
    opens one), four in five of them accepted, one accepted review in five teaching two lessons
    tagged like the demo's; a handful of competitors, in play on half of the deals (beaten by the
    won ones, and the one a lost deal went to two times in three), so that the win/loss analysis
    counts them; an accepted review names its reason and the milestone that decided the deal; and
    a library of published sales aids tagged to stages, milestones, roles and competitors, with a
    playbook for every other milestone. Deterministic; written once."""
    import random

    from django.db import transaction

    from aids.models import Aid, AidKind, AidSource, AidStatus, AidTag, AidVersion, Playbook, TagKind
    from opportunities.models import BuyingRole, Competitor, DealCompetitor, DealCompetitorStatus, Opportunity
    from people.models import Role, User
    from postmortem.models import Lesson, Outcome, Reason, Review, ReviewState
    from stages.models import Milestone, Stage

    if Review.objects.exists() or Aid.objects.exists():
        return
    started = time.perf_counter()
    rng = random.Random(20261205)
    roles = [value for value, _ in BuyingRole.choices]
    if not Competitor.objects.exists():
        Competitor.objects.bulk_create(Competitor(name=name) for name in BENCH_COMPETITORS)
    competitors = list(Competitor.objects.values_list("pk", flat=True))
    reasons = {
        outcome: list(Reason.objects.filter(outcome=outcome, is_active=True).values_list("pk", flat=True))
        for outcome in (Outcome.WON, Outcome.LOST)
    }
    stages_of = {}
    for stage in Stage.objects.order_by("order"):
        stages_of.setdefault(stage.process_id, []).append(stage)
    milestones_of = {}
    for milestone in Milestone.objects.all():
        milestones_of.setdefault(milestone.stage_id, []).append(milestone)
    order_of = {stage.pk: stage.order for stages in stages_of.values() for stage in stages}
    deals = Opportunity.objects.values_list(
        "pk", "status", "owner_id", "closed_on", "process_id", "account__industry", "closed_stage_id", "created_at"
    ).order_by("pk")
    with transaction.atomic():
        reviews, taught, in_play, lost_to = [], [], [], {}
        for pk, status, owner_id, closed_on, process_id, industry, closed_stage_id, created_at in deals.iterator(
            chunk_size=10_000
        ):
            # The deal's filing, which its competitors and review carry (`Opportunity.filing`).
            filing = {
                "deal_status": status,
                "deal_closed_on": closed_on,
                "deal_owner_id": owner_id,
                "deal_process_id": process_id,
            }
            if rng.random() < 0.5:
                evaluating = DealCompetitorStatus.ELIMINATED if status == "won" else DealCompetitorStatus.EVALUATING
                for competitor in rng.sample(competitors, rng.choice((1, 1, 2))):
                    in_play.append(
                        DealCompetitor(
                            opportunity_id=pk,
                            competitor_id=competitor,
                            status=evaluating,
                            beaten=status == "won",
                            added_at=created_at,
                            **filing,
                        )
                    )
                if status == "lost" and rng.random() < 2 / 3:
                    lost_to[pk] = in_play[-1].competitor_id
                    in_play[-1].status = DealCompetitorStatus.PREFERRED
            if status == "open":
                continue
            accepted = rng.random() < 0.8
            outcome = Outcome.WON if status == "won" else Outcome.LOST
            reached = [
                m
                for stage in stages_of[process_id]
                if stage.order <= order_of.get(closed_stage_id, 0)
                for m in milestones_of.get(stage.pk, [])
            ]
            reviews.append(
                Review(
                    opportunity_id=pk,
                    outcome=outcome,
                    state=ReviewState.ACCEPTED if accepted else ReviewState.DRAFT,
                    author_id=owner_id,
                    due_on=closed_on,
                    primary_reason_id=rng.choice(reasons[outcome]) if accepted and reasons[outcome] else None,
                    decisive_milestone=rng.choice(reached) if accepted and reached else None,
                    **filing,
                )
            )
            if accepted and rng.random() < 0.2:
                taught.append((len(reviews) - 1, process_id, industry))
        DealCompetitor.objects.bulk_create(in_play, batch_size=5_000)
        went_to = {}
        for pk, competitor in lost_to.items():
            went_to.setdefault(competitor, []).append(pk)
        for competitor, pks in went_to.items():
            Opportunity.objects.filter(pk__in=pks).update(lost_to_id=competitor)
        Review.objects.bulk_create(reviews, batch_size=5_000)
        lessons = []
        for index, process_id, industry in taught:
            for n in range(2):
                stage = rng.choice(stages_of[process_id])
                milestone = rng.choice(milestones_of.get(stage.pk) or [None])
                lessons.append(
                    Lesson(
                        review=reviews[index],
                        text=f"Lesson {n + 1} of review {reviews[index].pk}",
                        stage=stage,
                        milestone=milestone if rng.random() < 0.5 else None,
                        industry=industry if rng.random() < 0.3 else "",
                        competitor_id=rng.choice(competitors) if competitors and rng.random() < 0.3 else None,
                        buying_role=rng.choice(roles) if rng.random() < 0.3 else "",
                    )
                )
        Lesson.objects.bulk_create(lessons, batch_size=5_000)
        author = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
        all_stages = [s for stages in stages_of.values() for s in stages]
        all_milestones = [m for ms in milestones_of.values() for m in ms]
        kinds = [value for value, _ in AidKind.choices]
        aids = Aid.objects.bulk_create(
            Aid(title=f"Aid {i}", kind=rng.choice(kinds), status=AidStatus.PUBLISHED, created_by=author)
            for i in range(200)
        )
        versions = AidVersion.objects.bulk_create(
            AidVersion(aid=aid, number=1, source=AidSource.TEXT, body=f"How to use aid {aid.pk}.", created_by=author)
            for aid in aids
        )
        for aid, version in zip(aids, versions, strict=True):
            aid.current_version = version
        Aid.objects.bulk_update(aids, ["current_version"])
        Aid.stages.through.objects.bulk_create(
            Aid.stages.through(aid=aid, stage=rng.choice(all_stages)) for aid in aids if rng.random() < 0.5
        )
        Aid.milestones.through.objects.bulk_create(
            Aid.milestones.through(aid=aid, milestone=rng.choice(all_milestones)) for aid in aids if rng.random() < 0.4
        )
        if competitors:
            Aid.competitors.through.objects.bulk_create(
                Aid.competitors.through(aid=aid, competitor_id=rng.choice(competitors))
                for aid in aids
                if aid.kind == AidKind.BATTLE_CARD
            )
        AidTag.objects.bulk_create(
            AidTag(aid=aid, kind=TagKind.BUYER_ROLE, value=rng.choice(roles)) for aid in aids if rng.random() < 0.4
        )
        Playbook.objects.bulk_create(
            Playbook(milestone=m, how_to_run=f"How to run {m.name}.", updated_by=author) for m in all_milestones[::2]
        )
    say(
        f"{len(in_play):,} competitors in play, {len(reviews):,} post-mortems, {len(lessons):,} lessons and "
        f"{len(aids)} sales aids written in "
        f"{time.perf_counter() - started:.1f} s"
    )


# --- measuring ----------------------------------------------------------------------------------------

SECTIONS: list[Callable] = []


def section(function: Callable) -> Callable:
    SECTIONS.append(function)
    return function


class Bench:
    """The personas and the measuring helpers every section uses."""

    def __init__(self, *, warmup: int, repeat: int):
        from django.contrib.auth import get_user_model
        from django.db.models import Count, Q

        from people.models import Role

        self.warmup = warmup
        self.repeat = repeat
        users = get_user_model().objects
        # The rep with the most open deals: the heaviest "my deals" list there is.
        self.rep = (
            users.filter(role=Role.REP, is_active=True)
            .annotate(open_deals=Count("opportunities", filter=Q(opportunities__status="open")))
            .order_by("-open_deals", "pk")
            .first()
        )
        # A manager of the rep's team, so that the manager sees the rep's deals.
        self.manager = (
            users.filter(role=Role.MANAGER, is_active=True)
            .annotate(manages_rep=Count("managed_teams", filter=Q(managed_teams=self.rep.team_id) if self.rep else Q()))
            .order_by("-manages_rep", "pk")
            .first()
        )
        if self.rep is None or self.manager is None:
            raise SystemExit("The database has no demo rep or manager; was it seeded with bench/bulkdata.py?")
        say(f"rep: {self.rep.username} ({self.rep.open_deals:,} open deals); manager: {self.manager.username}")
        self._clients = {}

    def client(self, user):
        from django.test import Client

        if user.pk not in self._clients:
            client = Client()
            client.force_login(user)
            self._clients[user.pk] = client
        return self._clients[user.pk]

    def page(self, name: str, url: str, user, *, target_ms: float = TARGET_P50_MS, htmx: bool = False) -> dict:
        """`name`_p50_ms and `name`_queries for GET `url` as `user` (as htmx asks for a partial if
        `htmx`); a remark if over `target_ms`."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = self.client(user)
        headers = {"HX-Request": "true"} if htmx else {}
        try:
            for _ in range(self.warmup):
                self._get(client, url, headers)
            with CaptureQueriesContext(connection) as queries:
                self._get(client, url, headers)
            # Count now: the next request's request_started signal empties the query log.
            n_queries = len(queries)
            timings, cpu = [], []
            for _ in range(self.repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                self._get(client, url, headers)
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
        except Exception as exc:  # a page that fails must not stop the other figures
            say(f"{name}: {url} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
            return {f"{name}_p50_ms": "n/a", f"{name}_queries": "n/a", f"{name}_cpu_p50_ms": "n/a"}
        p50 = statistics.median(timings) * 1000
        if p50 > target_ms:
            say(f"{name}: p50 {p50:.1f} ms is over the {target_ms:g} ms target ({url})")
        # CPU of this process (Django, not PostgreSQL) per request: steadier than wall time when
        # the machine is shared.
        cpu_p50 = statistics.median(cpu) * 1000
        return {f"{name}_p50_ms": f"{p50:.1f}", f"{name}_queries": n_queries, f"{name}_cpu_p50_ms": f"{cpu_p50:.1f}"}

    @staticmethod
    def _get(client, url: str, headers: dict):
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}")
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        return response


@section
def my_deals(bench: Bench) -> dict:
    from django.urls import reverse

    return bench.page("my_deals", reverse("opportunities:my_deals"), bench.rep)


@section
def opportunity_page(bench: Bench) -> dict:
    from django.urls import reverse

    from opportunities.models import Opportunity

    # The rep's deal with the longest history.
    opp = busiest(Opportunity.objects.filter(owner=bench.rep))
    say(f"opportunity: #{opp.pk} with {opp.n_events} events")
    figures = bench.page("opportunity_page", reverse("opportunities:detail", args=[opp.pk]), bench.rep)
    figures.update(
        bench.page("opportunity_page_manager", reverse("opportunities:detail", args=[opp.pk]), bench.manager)
    )
    # The lessons that match the deal, which the page loads right after itself.
    lessons = reverse("opportunities:panel", args=[opp.pk, "lessons"])
    figures.update(bench.page("opportunity_lessons", lessons, bench.rep, htmx=True))
    # The rep's open deal with the longest history: the page with every open deal's panels (its
    # stored signals, buying-team coverage; "For this step" loads right after it).
    open_opp = busiest(Opportunity.objects.open().filter(owner=bench.rep))
    say(f"open opportunity: #{open_opp.pk} with {open_opp.n_events} events")
    figures.update(bench.page("opportunity_page_open", reverse("opportunities:detail", args=[open_opp.pk]), bench.rep))
    # Its "For this step" panel (aids, battle cards, playbooks), which loads right after the page.
    aids = reverse("opportunities:panel", args=[open_opp.pk, "for-this-step"])
    figures.update(bench.page("opportunity_aids", aids, bench.rep, htmx=True))
    return figures


@section
def account_page(bench: Bench) -> dict:
    from django.db.models import Count
    from django.urls import reverse

    from opportunities.models import Account

    account = Account.objects.annotate(n_deals=Count("opportunities")).order_by("-n_deals", "pk").first()
    say(f"account: #{account.pk} with {account.n_deals} deals")
    figures = bench.page("account_page", reverse("opportunities:account_detail", args=[account.pk]), bench.rep)
    figures.update(
        bench.page("account_page_manager", reverse("opportunities:account_detail", args=[account.pk]), bench.manager)
    )
    return figures


@section
def search(bench: Bench) -> dict:
    """The global search page as the rep: a busy account's name, the same name with a typo (the
    trigram arm), and a contact's email domain (the substring arm). Each ranks every match, so
    the target is the board's, not a list page's."""
    from urllib.parse import urlencode

    from django.db.models import Count
    from django.urls import reverse

    from opportunities.models import Account, Contact

    account = Account.objects.annotate(n_deals=Count("opportunities")).order_by("-n_deals", "pk").first()
    name = account.name
    middle = len(name) // 2
    typo = name[: middle - 1] + name[middle] + name[middle - 1] + name[middle + 1 :] if len(name) > 3 else name
    contact = Contact.objects.exclude(email="").order_by("pk").first()
    domain = contact.email.partition("@")[2] if contact else name
    say(f"search: {name!r}, typo {typo!r}, domain {domain!r}")
    url = reverse("opportunities:search")
    figures = {}
    for label, text in (("search_name", name), ("search_typo", typo), ("search_domain", domain)):
        figures.update(bench.page(label, f"{url}?{urlencode({'q': text})}", bench.rep, target_ms=150))
    return figures


@section
def contact_pages(bench: Bench) -> dict:
    """The contacts list and the page of the contact on the most buying teams."""
    from django.db.models import Count
    from django.urls import reverse

    from opportunities.models import Contact

    contact = Contact.objects.annotate(n_deals=Count("buying_roles")).order_by("-n_deals", "pk").first()
    say(f"contact: #{contact.pk} on {contact.n_deals} buying teams")
    figures = bench.page("contact_list", reverse("opportunities:contact_list"), bench.rep)
    figures.update(bench.page("contact_page", reverse("opportunities:contact_detail", args=[contact.pk]), bench.rep))
    return figures


@section
def board(bench: Bench) -> dict:
    """The kanban board, live and as of a past day: see bench/board.py for what each figure measures."""
    from bench import board as board_bench

    return board_bench.run(bench)


@section
def dashboard(bench: Bench) -> dict:
    """The managers' dashboard, live and as of a past day, and its time against its own SQL: see
    bench/dashboard.py for what each figure measures."""
    from bench import dashboard as dashboard_bench

    return dashboard_bench.run(bench)


@section
def winloss(bench: Bench) -> dict:
    """The win/loss analysis over every closed deal of the last year the user may see: as an
    admin (`winloss_p50_ms`, all of them) and as a manager (`winloss_manager_p50_ms`); and the
    rep's busiest open deal with its lessons is `opportunity_page`. Target: p50 <= 150 ms."""
    from django.urls import reverse

    from people.models import Role, User

    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    url = reverse("postmortem:winloss") + "?start=2000-01-01"
    figures = bench.page("winloss", url, admin or bench.manager, target_ms=150)
    figures.update(bench.page("winloss_manager", url, bench.manager, target_ms=150))
    return figures


@section
def recommendations_mining(bench: Bench) -> dict:
    """`stats_refresh_s`: the nightly recount of what won and lost deals did before leaving each
    stage, over every closed deal (a second run, which changes nothing, as `stats_refresh_noop_s`);
    then the deal page's recommendations panel, which the page loads right after itself, on the
    rep's busiest open deal. Target: p50 <= 50 ms."""
    from django.urls import reverse

    from opportunities.models import Opportunity
    from recommendations.services import stats_refresh

    started = time.perf_counter()
    result = stats_refresh()
    figures = {"stats_refresh_s": f"{time.perf_counter() - started:.1f}"}
    say(f"recommendations: {result['created']:,} step statistics created, {result['updated']:,} updated")
    started = time.perf_counter()
    stats_refresh()
    figures["stats_refresh_noop_s"] = f"{time.perf_counter() - started:.1f}"
    opp = busiest(Opportunity.objects.open().filter(owner=bench.rep))
    panel = reverse("opportunities:panel", args=[opp.pk, "recommendations"])
    figures.update(bench.page("opportunity_recommendations", panel, bench.rep, htmx=True))
    return figures


@section
def guidance_signals(bench: Bench) -> dict:
    """Guided selling over the whole database: `train_s` fits the win model on every closed deal,
    `score_all_s` scores and stores every open deal's signals (set-based, one transaction), then
    the rep's Focus page reads them (`focus_p50_ms`, target 50 ms). `rescore_1_s` and
    `rescore_500_s`: the background rescoring of the deals one transaction changed
    (`signals_rescore`), for one of the rep's open deals and for 500 of them, after a day has
    passed (so that their signals do change)."""
    from django.urls import reverse

    from guidance import services

    try:
        started = time.perf_counter()
        services.win_model_train()
        train_s = time.perf_counter() - started
        started = time.perf_counter()
        scored = services.signals_score_all()
        score_s = time.perf_counter() - started
    except Exception as exc:  # like a failing page, a failing model must not stop the other figures
        say(f"guidance: failed: {type(exc).__name__}: {exc}")
        return {"train_s": "n/a", "score_all_s": "n/a"}
    say(f"guidance: scored {scored['scored']:,} open deals")
    figures = {"train_s": f"{train_s:.1f}", "score_all_s": f"{score_s:.1f}"}
    from django.utils import timezone

    from opportunities.models import Opportunity

    ids = list(Opportunity.objects.open().filter(owner=bench.rep).order_by("pk").values_list("pk", flat=True)[:500])
    tomorrow = timezone.now() + dt.timedelta(days=1)
    for name, batch in (("rescore_1_s", ids[:1]), ("rescore_500_s", ids)):
        started = time.perf_counter()
        rescored = services.signals_rescore(opportunity_ids=batch, now=tomorrow)
        figures[name] = f"{time.perf_counter() - started:.2f}"
        say(f"guidance: {name} {rescored}")
    figures.update(bench.page("focus", reverse("guidance:focus"), bench.rep))
    return figures


@section
def process_editor(bench: Bench) -> dict:
    """The process editor's page (`processes:detail`) of the process with the most stages, as an
    admin, who sees every form on it: its stages and their live milestones in a fixed number of
    queries whatever the number of deals. Target: p50 <= TARGET_P50_MS."""
    from django.db.models import Count
    from django.urls import reverse

    from people.models import Role, User
    from stages.models import SalesProcess

    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    process = SalesProcess.objects.annotate(n_stages=Count("stages")).order_by("-n_stages", "pk").first()
    if admin is None or process is None:
        say("process_editor: no admin or no sales process in the database")
        return {"process_editor_p50_ms": "n/a", "process_editor_queries": "n/a", "process_editor_cpu_p50_ms": "n/a"}
    return bench.page("process_editor", reverse("processes:detail", args=[process.pk]), admin)


@section
def import_deals(bench: Bench) -> dict:
    """`import_100k_s`: BENCH_IMPORT_ROWS (100,000) deals with their history imported from one CSV
    file, rolled back afterwards: see bench/import_bench.py."""
    from bench import import_bench

    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
    try:
        return import_bench.run(rows, emit=say)
    except Exception as exc:  # like a failing page, a failing import must not stop the other figures
        say(f"import: failed: {type(exc).__name__}: {exc}")
        return {"import_100k_s": "n/a"}


@section
def sweep(bench: Bench) -> dict:
    """The pipeline-health sweep, on its own database of BENCH_SWEEP_OPPORTUNITIES deals
    (1,000,000; seeded once, which takes long): see bench/sweep.py for what each figure measures."""
    from bench import sweep as sweep_bench

    names = ["sweep_s", "sweep_full_s", "sweep_reference_sql_s", "sweep_ratio", "sweep_noop_s", "sweep_tasks_enqueued"]
    try:
        return sweep_bench.run(emit=lambda line: None)
    except Exception as exc:  # like a failing page, a failing sweep must not stop the other figures
        say(f"sweep: failed: {type(exc).__name__}: {exc}")
        return dict.fromkeys(names, "n/a")


def main() -> int:
    url = configure()
    wanted = int(os.environ.get("BENCH_OPPORTUNITIES", "100000"))
    warmup = int(os.environ.get("BENCH_WARMUP", "3"))
    repeat = int(os.environ.get("BENCH_REPEAT", "30"))
    reseed = prepare_database(url, wanted)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if reseed:
        say(f"seeding {wanted:,} opportunities…")
        started = time.perf_counter()
        from bench.bulkdata import BulkBuilder

        BulkBuilder(opportunities=wanted).build()
        figure("seed_s", f"{time.perf_counter() - started:.1f}")

    chronological_history()
    health_flags()
    learning_rows()
    vacuum()
    say("load average before measuring: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    bench = Bench(warmup=warmup, repeat=repeat)
    only = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()]
    for function in SECTIONS:
        if only and function.__name__ not in only:
            continue
        for name, value in function(bench).items():
            figure(name, value)
    say("load average after measuring: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
