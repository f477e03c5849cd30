"""The demo company, built through the services: every account, contact, deal, milestone, move,
next step, activity and close is a call of `opportunities.services` with the moment it happened
passed in (`now=`), so the demo holds exactly the events and gate checks a real team's history
would, and a change to a rule shows up here too.

`seed_demo` runs STEPS in order on one shared `Demo`; each deal is planned by DEAL_STEPS (each adds
dated actions to the deal's plan) and then played in time order. Deterministic for a seed: every
random draw comes from one random.Random and no draw's count depends on the clock, so runs at
different times give the same company, only dated differently.

For the 100,000-deal benchmark databases, which would take hours this way, see bench/bulkdata.py.
"""

import datetime as dt
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from opportunities import services
from opportunities.hooks import run_demo_seeders
from opportunities.models import (
    Account,
    AccountStatus,
    Activity,
    BuyingTeamMember,
    Contact,
    EmployeeBand,
    LostReason,
    MilestoneCompletion,
    NextStep,
    Opportunity,
    OpportunityEvent,
    RevenueBand,
)
from people.models import Role, Team, User
from stages.models import Milestone, SalesProcess, Stage, StageRoleRequirement

from .content import (
    ACTIVITY_KINDS,
    ACTIVITY_NOTES,
    ACTIVITY_SUBJECTS,
    COMPETITORS,
    DEPARTMENTS,
    EVIDENCE,
    EXPANSION_DEALS,
    FIRST_NAMES,
    FOUNDERS,
    INDUSTRIES,
    LAST_NAMES,
    LOST_NOTES,
    LOST_REASON_WEIGHTS,
    NAME_HEADS,
    NAME_TAILS,
    NEW_BUSINESS_DEALS,
    PASSWORD,
    PROCESSES,
    REGIONS,
    SOURCE_WEIGHTS,
    TEAMS,
    TITLES,
    USERS,
    WAITING_STEPS,
    WON_NOTES,
)

WINDOW_DAYS = 390  # working days of history, about 18 months
WORKING_SECONDS = 10 * 3600  # a working day runs 08:00–18:00 local time
AMOUNTS = [(3_000, 12_000), (8_000, 30_000), (20_000, 80_000), (50_000, 250_000), (120_000, 900_000)]
COUNTED = {
    "accounts": Account,
    "contacts": Contact,
    "opportunities": Opportunity,
    "next steps": NextStep,
    "milestone completions": MilestoneCompletion,
    "buying team members": BuyingTeamMember,
    "activities": Activity,
    "events": OpportunityEvent,
}


def lead_source(u: float, *, expansion: bool, outcome: str) -> str:
    """The lead source for the draw `u` in [0, 1) of a deal of this kind and outcome: the demo's and
    the bulk generator's one rule (`SOURCE_WEIGHTS`)."""
    weights = SOURCE_WEIGHTS["expansion" if expansion else outcome]
    total = sum(weights.values())
    for source, weight in weights.items():
        u -= weight / total
        if u < 0:
            return source
    return ""


def source_draws(seed: int) -> random.Random:
    """The lead sources' own draws, apart from the company's: adding them left every other draw,
    and so every demo company of a seed, as it was."""
    return random.Random(f"lead-source-{seed}")


@dataclass
class ProcessInfo:
    """A seeded process with its stages in order and each stage's milestones and typical dwell."""

    process: SalesProcess
    stages: list[Stage]
    milestones: dict[int, list[Milestone]]  # stage pk -> its milestones
    typical: list[int]  # working days a healthy deal spends in each stage
    stuck: list[int]  # working days after which a deal counts as stuck there
    next_steps: list[list[str]]  # commitments a seller makes in each stage


@dataclass
class Demo:
    """What the steps share: the draws, the calendar and the rows made so far."""

    rnd: random.Random
    now: dt.datetime
    opportunities: int
    log: Callable[[str], None]
    days: list[dt.date] = field(default_factory=list)
    processes: list[ProcessInfo] = field(default_factory=list)
    reasons: list[LostReason] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)
    team_reps: list[list[User]] = field(default_factory=list)
    managers: list[User] = field(default_factory=list)
    manager_of_team: dict[int, User] = field(default_factory=dict)
    accounts: list[dict] = field(default_factory=list)  # the plan of each account, then its row
    sources: random.Random = field(default_factory=lambda: source_draws(1))

    def pick(self, seq):
        return seq[int(self.rnd.random() * len(seq))]

    def weighted(self, weights):
        return self.rnd.choices(range(len(weights)), weights=weights)[0]

    def at(self, day: int, fraction: float | None = None) -> dt.datetime:
        """A moment of working day `day` (an index into `days`), never after now."""
        day = max(0, min(day, len(self.days) - 1))
        fraction = self.rnd.random() if fraction is None else fraction
        start = dt.datetime.combine(self.days[day], dt.time(8), tzinfo=timezone.get_current_timezone())
        return min(start + dt.timedelta(seconds=int(fraction * WORKING_SECONDS)), self.now)

    @property
    def today(self) -> int:
        """The last working day's index: today's, on a working day after 08:00."""
        return len(self.days) - 1

    def date(self, day: int) -> dt.date:
        """The calendar date `day` working days after the window opened; beyond the last working
        day, about that many working days after today's date."""
        if day < len(self.days):
            return self.days[max(0, day)]
        return timezone.localdate(self.now) + dt.timedelta(days=round((day - self.today) * 7 / 5))

    @property
    def reps(self) -> list[User]:
        return [user for members in self.team_reps for user in members]


def seed_demo(*, now: dt.datetime, seed: int = 1, opportunities: int = 600, log=None) -> Counter:
    """Build the demo company in one transaction and return how many rows of each kind it made.
    The caller has checked `demo_present()`."""
    demo = Demo(
        rnd=random.Random(seed),
        now=now,
        opportunities=max(0, opportunities),
        log=log or (lambda m: None),
        sources=source_draws(seed),
    )
    before = {label: model.objects.count() for label, model in COUNTED.items()}
    with transaction.atomic():
        for step in STEPS:
            step(demo)
        # What higher apps add on top (postmortem: reviews in every state and their lessons).
        run_demo_seeders(seed=seed, now=now)
    return Counter({label: model.objects.count() - before[label] for label, model in COUNTED.items()})


# --- the company --------------------------------------------------------------------------------


def calendar(demo: Demo) -> None:
    """The working days from about 18 months ago to today (or the last working day before now)."""
    local_now = timezone.localtime(demo.now)
    day = local_now.date()
    if day.weekday() >= 5 or local_now.time() < dt.time(8):
        day -= dt.timedelta(days=1)
    days = []
    while len(days) < WINDOW_DAYS:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    demo.days = days[::-1]


def sales_processes(demo: Demo) -> None:
    """The two sales processes with their stages, milestones and lost reasons."""
    for order, name in enumerate(LOST_REASON_WEIGHTS, start=1):
        LostReason.objects.get_or_create(name=name, defaults={"order": order * 10})
    demo.reasons = list(LostReason.objects.filter(is_active=True).order_by("order", "id"))
    if not demo.reasons:  # an admin deactivated them all: add one rather than refuse
        demo.reasons = [LostReason.objects.create(name="Lost (demo)", order=999)]
    for spec in PROCESSES:
        process = SalesProcess.objects.create(name=spec["name"], description=spec["description"])
        stages, milestones = [], {}
        for order, s in enumerate(spec["stages"], start=1):
            stage = Stage.objects.create(
                process=process,
                name=s["name"],
                order=order * 10,
                objective=s["objective"],
                guidance=s["guidance"],
                win_probability=s["win_probability"],
                forecast_category=s["forecast_category"],
                stuck_after_days=s["stuck_after_days"],
                idle_after_days=s["idle_after_days"],
                slip_push_limit=s["slip_push_limit"],
            )
            stages.append(stage)
            for role, enforcement in s.get("buying_roles", ()):
                StageRoleRequirement.objects.create(stage=stage, role=role, enforcement=enforcement)
            milestones[stage.pk] = [
                Milestone.objects.create(stage=stage, name=name, description=text, is_required=required, order=i * 10)
                for i, (name, text, required) in enumerate(s["milestones"], start=1)
            ]
        demo.processes.append(
            ProcessInfo(
                process=process,
                stages=stages,
                milestones=milestones,
                typical=[max(1, round(s["typical_days"] * 5 / 7)) for s in spec["stages"]],
                stuck=[max(2, round(s["stuck_after_days"] * 5 / 7)) for s in spec["stages"]],
                next_steps=[s["next_steps"] for s in spec["stages"]],
            )
        )


def people(demo: Demo) -> None:
    """Teams, reps, managers and the admin; users who already exist keep their password."""
    password = make_password(PASSWORD)  # hashed once: the slow hasher would cost seconds per user
    teams = [Team.objects.get_or_create(name=name)[0] for name in TEAMS]
    joined = demo.now - dt.timedelta(days=600)
    for username, first, last, role, team_index, managed in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@lockstep.example",
                role=role,
                team=teams[team_index] if team_index is not None else None,
                password=password,
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
                date_joined=joined,
            )
        for index in managed:
            teams[index].managers.add(user)
            demo.manager_of_team.setdefault(teams[index].pk, user)
        demo.users[username] = user
    users = demo.users.values()
    demo.team_reps = [[u for u in users if u.role == Role.REP and u.team_id == t.pk] for t in teams]
    demo.managers = [u for u in users if u.role == Role.MANAGER]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def account_plans(demo: Demo) -> None:
    """Who the companies are; each is created (with its people) just before it is first needed."""
    rnd, pick = demo.rnd, demo.pick
    industries, regions = list(INDUSTRIES), list(REGIONS)
    bands, revenue = [b.value for b in EmployeeBand], [b.value for b in RevenueBand]
    n = max(10, demo.opportunities // 2)
    seen = set()
    for a in range(n):
        industry = industries[demo.weighted([INDUSTRIES[i][1] for i in industries])]
        region = regions[demo.weighted([REGIONS[r][1] for r in regions])]
        legal_form, tld, phone_prefix = pick(REGIONS[region][0])
        short = pick(NAME_HEADS) + pick(NAME_TAILS) if rnd.random() < 0.8 else pick(FOUNDERS)
        noun = pick(INDUSTRIES[industry][0])
        name = f"{short} {noun} {legal_form}"
        if name in seen:
            name = f"{name} ({a + 1})"
        seen.add(name)
        domain = f"{_slug(short)}-{_slug(noun)}.{tld}"
        # Low indexes get most deals (see choose_deal), so they are the big companies.
        rank = a / n
        band = bands[4 if rank < 0.05 else 3 if rank < 0.2 else 2 if rank < 0.5 else 1 if rank < 0.8 else 0]
        size = 6 if rank < 0.05 else 4 if rank < 0.2 else 1
        contacts = []
        for _ in range(size + int(rnd.random() * 3)):
            first, last = pick(FIRST_NAMES), pick(LAST_NAMES)
            phone = f"{phone_prefix} {100 + int(rnd.random() * 900)} {1_000_000 + int(rnd.random() * 9_000_000)}"
            contacts.append(
                {
                    "first_name": first,
                    "last_name": last,
                    "title": pick(TITLES),
                    "email": f"{_slug(first)}.{_slug(last)}@{domain}",
                    "phone": phone if rnd.random() < 0.6 else "",
                }
            )
        demo.accounts.append(
            {
                "fields": {
                    "name": name,
                    "website": f"https://www.{domain}",
                    "industry": industry,
                    "employee_band": band,
                    "region": region,
                    "revenue_band": revenue[min(4, max(0, bands.index(band) - 1 + int(rnd.random() * 2.2)))],
                },
                "owner": pick(demo.reps),
                "contacts": contacts,
                "row": None,
                "people": [],
                "won": None,  # the working day of its latest won deal
                "current": False,  # an open or expansion deal: a customer still
            }
        )


def account_row(demo: Demo, plan: dict, when: dt.datetime) -> Account:
    """The account of `plan`, created with its people at `when` unless it already exists."""
    if plan["row"] is None:
        owner = plan["owner"]
        plan["row"] = services.account_create(actor=owner, owner=owner, now=when, **plan["fields"])
        for i, fields in enumerate(plan["contacts"]):
            later = when + dt.timedelta(minutes=5 * (i + 1))
            plan["people"].append(services.contact_create(actor=owner, account=plan["row"], now=later, **fields))
    return plan["row"]


def deals(demo: Demo) -> None:
    """The deals: the first ones cover every stage and outcome, so even a tiny demo shows them all."""
    forced = []
    for pi, info in enumerate(demo.processes):
        forced += [{"pi": pi, "outcome": "open", "k": k} for k in range(len(info.stages))]
    for pi, info in enumerate(demo.processes):
        forced += [{"pi": pi, "outcome": "won", "k": len(info.stages) - 1}, {"pi": pi, "outcome": "lost", "k": 1}]
    # Next-step states and slipping close dates, on open deals past the first stage.
    forced[1].update(steps="none")
    forced[2].update(steps="today")
    forced[3].update(steps="overdue", pushes=3)
    forced[4].update(steps="later", pushes=4)
    started = time.monotonic()
    for i in range(demo.opportunities):
        deal = Deal(demo=demo, force=forced[i] if i < len(forced) else {})
        for step in DEAL_STEPS:
            step(deal)
        deal.play()
        if (i + 1) % 100 == 0 or i + 1 == demo.opportunities:
            demo.log(f"  {i + 1:,} / {demo.opportunities:,} opportunities ({time.monotonic() - started:.0f} s)")


def the_rest_of_the_accounts(demo: Demo) -> None:
    """Accounts no deal used yet, touches on accounts outside any deal, and the status of customers."""
    rnd = demo.rnd
    for plan in demo.accounts:
        account = account_row(demo, plan, demo.at(int(rnd.random() * demo.today)))
        owner = plan["owner"]
        if plan["won"] is not None:
            # Customers who bought long ago and have nothing going on have often moved on.
            current = plan["current"] or plan["won"] > demo.today - 250 or rnd.random() < 0.6
            status = AccountStatus.CUSTOMER if current else AccountStatus.FORMER_CUSTOMER
            day = plan["won"] + (1 if current else 200)  # the day after the win, or after they left
            services.account_update(account, actor=owner, status=status, now=demo.at(min(day, demo.today)))
        if rnd.random() < 0.3 and account.created_at < demo.now - dt.timedelta(days=2):
            span = (demo.now - account.created_at).total_seconds()
            when = account.created_at + dt.timedelta(seconds=int(span * rnd.random()))
            contact = demo.pick(plan["people"])
            services.activity_log(
                actor=owner,
                account=account,
                kind="call",
                subject=f"Check-in call with {contact.first_name}",
                occurred_at=when,
                contacts=[contact],
                now=when,
            )


STEPS = [calendar, sales_processes, people, account_plans, deals, the_rest_of_the_accounts]


# --- one deal -------------------------------------------------------------------------------------


@dataclass
class Deal:
    """One deal's plan: what it is, and the dated actions of its life, played in time order."""

    demo: Demo
    force: dict  # what the first deals must be, so that even a tiny demo shows everything
    actions: list[tuple[dt.datetime, int, Callable[[dt.datetime], None]]] = field(default_factory=list)
    opp: Opportunity | None = None  # once played
    # Chosen by choose_deal, open_deal and stages_and_milestones; days are indexes into demo.days.
    pi: int = 0  # which process
    info: ProcessInfo | None = None
    outcome: str = "open"  # open, won or lost
    k: int = 0  # the stage it is in (open) or closed from
    account: dict | None = None  # the account's plan (demo.accounts)
    owner: User | None = None  # who works it now: a reassignment changes it while playing
    manager: User | None = None  # who may override its gates
    entered: list[int] = field(default_factory=list)  # the day each stage up to k is entered
    start: int = 0
    end: int = 0  # the day it closes, or today
    amount: Decimal = Decimal(0)
    name: str = ""
    created: dt.datetime | None = None
    close_date: dt.date | None = None  # expected, when created
    overridden_close: bool = False  # won with a required milestone open, on the manager's say

    def plan(self, when: dt.datetime, action: Callable[[dt.datetime], None]) -> None:
        self.actions.append((when, len(self.actions), action))

    def play(self) -> None:
        for when, _, action in sorted(self.actions, key=lambda a: a[:2]):
            action(when)

    def version(self) -> int:
        return Opportunity.objects.values_list("version", flat=True).get(pk=self.opp.pk)


def choose_deal(deal: Deal) -> None:
    """Process, outcome, the stage it ends in, account, owner and the working days of its life."""
    demo, force, rand = deal.demo, deal.force, deal.demo.rnd.random
    deal.pi = force.get("pi", 1 if rand() < PROCESSES[1]["share"] else 0)
    deal.info = info = demo.processes[deal.pi]
    n = len(info.stages)
    u = rand()
    deal.outcome = force.get("outcome", "open" if u < 0.38 else "won" if u < 0.6 else "lost")
    if "k" in force:
        deal.k = force["k"]
    elif deal.outcome == "open":
        deal.k = demo.weighted([30, 22, 18, 13, 10, 7][:n])
    elif deal.outcome == "won":
        deal.k = n - 1 if rand() < 0.85 else n - 2
    else:
        deal.k = demo.weighted([25, 25, 20, 15, 10, 5][:n])
    # Expansion deals go to existing customers, mostly the bigger ones; a few accounts get many.
    deal.account = demo.accounts[int(len(demo.accounts) * (0.4 if deal.pi == 1 else 1.0) * rand() ** 2)]
    deal.account["current"] |= deal.pi == 1 or deal.outcome == "open"
    u = rand()
    if u < 0.05:
        deal.owner = demo.pick(demo.managers)
    elif deal.pi == 1 and u < 0.7:
        deal.owner = demo.pick(demo.team_reps[2] or demo.reps)
    elif u < 0.75:
        deal.owner = deal.account["owner"]
    else:
        deal.owner = demo.pick(demo.reps)
    # Working days in each stage up to the last; an open deal's last stage runs until today.
    dwell = [max(1, int(t * (0.3 + 1.4 * rand()))) for t in info.typical[: deal.k + 1]]
    if deal.outcome == "open":
        stuck = info.stuck[deal.k]
        dwell[-1] = int(stuck * (1.1 + 2.5 * rand())) if rand() < 0.18 else int(stuck * 0.95 * rand())
        end = demo.today
    else:
        end = demo.today - int(rand() * (demo.today - min(sum(dwell), demo.today - 2)))
    scale = min(1.0, (demo.today - 2) / max(1, sum(dwell)))
    dwell = [max(1, int(d * scale)) for d in dwell]
    deal.entered = [max(0, end - sum(dwell[i:])) for i in range(len(dwell))]  # day each stage is entered
    deal.start, deal.end = deal.entered[0], end
    band = [b.value for b in EmployeeBand].index(deal.account["fields"]["employee_band"])
    low, high = AMOUNTS[band]
    deal.amount = Decimal(round(low + (high - low) * rand() ** 2, -2))
    template = demo.pick(EXPANSION_DEALS if deal.pi == 1 else NEW_BUSINESS_DEALS)
    deal.name = template.format(dept=demo.pick(DEPARTMENTS), n=5 * (1 + int(rand() * 20)))


def open_deal(deal: Deal) -> None:
    """Created on its first day, with a close date one typical sales cycle away."""
    demo = deal.demo
    when = demo.at(deal.start, 0.05 + 0.3 * demo.rnd.random())
    account_row(demo, deal.account, when - dt.timedelta(days=1 + int(demo.rnd.random() * 30)))
    close_date = demo.date(deal.start + sum(deal.info.typical) + int(demo.rnd.random() * 20))
    source = lead_source(demo.sources.random(), expansion=deal.pi == 1, outcome=deal.outcome)

    def create(when):
        deal.opp = services.opportunity_create(
            actor=deal.owner,
            account=deal.account["row"],
            process=deal.info.process,
            name=deal.name,
            amount=deal.amount,
            expected_close_date=close_date,
            source=source,
            now=when,
        )

    deal.plan(when, create)
    deal.created = when
    deal.close_date = close_date


def buying_team(deal: Deal) -> None:
    """A champion in the first days, and others from the account as the deal goes on."""
    demo, rand = deal.demo, deal.demo.rnd.random
    roles = [["champion"], ["economic_buyer"], ["technical_evaluator"], ["user", "influencer"], ["blocker"]]
    count = 1 + int(rand() * 3)
    for i in range(count):
        day = deal.start + (1 if i == 0 else int(rand() * (deal.end - deal.start + 1)))
        when = demo.at(min(day, deal.end), 0.8 * rand())

        def add(when, i=i):
            people = deal.account["people"]
            if i < len(people):
                services.buying_team_add(deal.opp, actor=deal.owner, contact=people[i], roles=roles[i], now=when)

        deal.plan(max(when, deal.created), add)


def stages_and_milestones(deal: Deal) -> None:
    """Tick the required milestones of each stage passed (and some others), then move on; a few
    deals slip back a stage and recover. A won deal rarely closes with a criterion open, on its
    manager's say (an override of the gate)."""
    demo, rand, info = deal.demo, deal.demo.rnd.random, deal.info
    deal.manager = demo.manager_of_team.get(deal.owner.team_id) or demo.users["admin"]
    deal.overridden_close = deal.outcome == "won" and rand() < 0.04

    def move(when, stage):
        services.opportunity_move(deal.opp, actor=deal.owner, to_stage=stage, now=when)

    def tick(when, milestone, evidence=""):
        services.milestone_tick(deal.opp, actor=deal.owner, milestone=milestone, evidence=evidence, now=when)

    final = len(info.stages) - 1 if deal.outcome == "won" else deal.k
    for i in range(final + 1):
        stage = info.stages[i]
        first, last = (
            (deal.entered[i], deal.entered[i + 1] if i < deal.k else deal.end) if i <= deal.k else (deal.end,) * 2
        )
        leaving = i < deal.k or deal.outcome == "won"
        for j, milestone in enumerate(info.milestones[stage.pk]):
            left_open = deal.overridden_close and i == final and j == 0 and milestone.is_required
            if left_open or not (milestone.is_required and leaving or rand() < 0.4):
                continue
            # Before the move it gates (or the close), on whichever day it happened.
            when = min(demo.at(first + int(rand() * (last - first + 1))), demo.at(last, 0.45))
            evidence = demo.pick(EVIDENCE).format(c=demo.pick(FIRST_NAMES))
            deal.plan(max(when, deal.created), lambda w, m=milestone, e=evidence: tick(w, m, e))
        if i < deal.k:
            to_stage = info.stages[i + 1]
            when = max(demo.at(last, 0.5 + 0.3 * rand()), deal.created)
            deal.plan(when, lambda w, s=to_stage: move(w, s))
            if i >= 1 and last < demo.today and rand() < 0.07:  # the buyer went quiet: back a stage, then forward again
                deal.plan(when + dt.timedelta(minutes=20), lambda w, s=stage: move(w, s))
                deal.plan(when + dt.timedelta(minutes=40), lambda w, s=to_stage: move(w, s))


def close_dates_and_amounts(deal: Deal) -> None:
    """Close dates slip (a few deals many times), some are pulled in, some amounts change."""
    demo, rand = deal.demo, deal.demo.rnd.random
    u = rand()
    pushes = deal.force.get("pushes", 0 if u < 0.55 else 1 + int(rand() * 2) if u < 0.9 else 3 + int(rand() * 3))
    span = max(1, deal.end - deal.start)
    days = sorted(deal.start + 1 + int(rand() * span) for _ in range(pushes))
    close_date = deal.close_date
    for day in days:
        when = max(demo.at(min(day, deal.end), 0.2 + 0.2 * rand()), deal.created)
        close_date = max(close_date, demo.date(day)) + dt.timedelta(days=14 + int(rand() * 30))
        deal.plan(when, lambda w, d=close_date: update(deal, w, expected_close_date=d))
    if deal.outcome == "open" and close_date > demo.date(demo.today + 10) and rand() < 0.08:
        # The buyer pulled it in.
        when = demo.at(demo.today, 0.1 * rand())
        pulled = demo.date(demo.today + 5)
        deal.plan(max(when, deal.created), lambda w: update(deal, w, expected_close_date=pulled))
    if rand() < 0.15:
        when = max(demo.at(deal.start + int(rand() * span), 0.3), deal.created)
        amount = (deal.amount * Decimal(0.7 + 0.6 * rand())).quantize(Decimal(100))
        deal.plan(when, lambda w: update(deal, w, amount=max(amount, Decimal(100))))


def update(deal: Deal, when: dt.datetime, **changes) -> None:
    services.opportunity_update(deal.opp, actor=deal.owner, expected_version=deal.version(), now=when, **changes)


def reassignment(deal: Deal) -> None:
    """Now and then the team's manager hands a deal to another rep of the team."""
    demo, rand = deal.demo, deal.demo.rnd.random
    team = next((reps for reps in demo.team_reps if deal.owner in reps), [])
    others = [rep for rep in team if rep != deal.owner]
    manager = demo.manager_of_team.get(deal.owner.team_id)
    if not (others and manager and rand() < 0.06 and deal.end - deal.start > 4):
        return
    new = demo.pick(others)
    when = max(demo.at(deal.start + 1 + int(rand() * (deal.end - deal.start - 2)), 0.95), deal.created)

    def reassign(when):
        services.opportunity_reassign(deal.opp, actor=manager, owner=new, now=when)
        deal.owner = new  # what follows is done by the new owner

    deal.plan(when, reassign)


def stage_at(deal: Deal, day: int) -> int:
    return max(i for i, entered in enumerate(deal.entered) if entered <= day) if day >= deal.start else 0


def next_steps(deal: Deal) -> None:
    """A step committed at creation, then completed (or replaced) every week or two with the next
    one; an open deal ends with its last step due later, today, overdue, or waiting on the buyer."""
    demo, rand = deal.demo, deal.demo.rnd.random
    mode = deal.force.get("steps")
    if deal.outcome == "open" and mode is None:
        u = rand()
        mode = (
            "none" if u < 0.04 else "today" if u < 0.12 else "overdue" if u < 0.3 else "waiting" if u < 0.4 else "later"
        )
    if mode == "none":
        return

    def set_step(when, text, due, waiting):
        services.next_step_set(
            deal.opp, actor=deal.owner, description=text, due_date=due, waiting_until=waiting, now=when
        )

    def complete_step(when, text, due, waiting):
        services.next_step_complete(
            deal.opp, actor=deal.owner, next_description=text, next_due_date=due, waiting_until=waiting, now=when
        )

    last = deal.end if deal.outcome != "open" else demo.today - (3 + int(rand() * 8) if mode == "overdue" else 0)
    days = [deal.start]
    while days[-1] + 12 < last:
        days.append(days[-1] + 4 + int(rand() * 8))
    if deal.outcome != "open" and len(days) > 1 and days[-1] >= deal.end:
        days.pop()
    for n, day in enumerate(days):
        final = n == len(days) - 1
        following = days[n + 1] if not final else day + 4 + int(rand() * 8)
        stage = stage_at(deal, day)
        text = demo.pick(deal.info.next_steps[stage]).format(c=demo.pick(FIRST_NAMES), dept=demo.pick(DEPARTMENTS))
        due, waiting = demo.date(following), None
        if final and deal.outcome == "open":
            if mode == "today":
                due = timezone.localdate(demo.now)  # not the last working day: a weekend has a today too
            elif mode == "overdue" and day < demo.today:
                due = demo.date(day + max(1, int(rand() * (demo.today - day))))
                due = min(due, demo.date(demo.today - 1))
            elif mode == "waiting":
                text, due, waiting = demo.pick(WAITING_STEPS), None, demo.date(demo.today + 3 + int(rand() * 15))
            elif mode != "overdue":
                due = max(due, demo.date(demo.today + 1 + int(rand() * 10)))
        fraction = 0.4 + 0.1 * rand() if n == 0 else 0.6 + 0.3 * rand()
        when = max(demo.at(day, fraction), deal.created)
        if n == 0:
            deal.plan(when, lambda w, t=text, d=due, x=waiting: set_step(w, t, d, x))
        else:
            deal.plan(when, lambda w, t=text, d=due, x=waiting: complete_step(w, t, d, x))


def activities(deal: Deal) -> None:
    """Calls, emails and meetings roughly weekly while the deal is worked, logged a little after
    they happen; neglected open deals went quiet a few weeks ago."""
    demo, rand = deal.demo, deal.demo.rnd.random
    last = deal.end
    if deal.outcome == "open" and rand() < 0.15:
        last = max(deal.start, demo.today - 15 - int(rand() * 25))
    kinds = [kind for kind, _ in ACTIVITY_KINDS]
    weights = [weight for _, weight in ACTIVITY_KINDS]
    day = deal.start + int(rand() * 3)
    while day < last or (day == last and deal.outcome == "open"):
        kind = kinds[demo.weighted(weights)]
        people = deal.account["contacts"]
        c = int(rand() * len(people))
        subject = demo.pick(ACTIVITY_SUBJECTS[kind]).format(
            c=people[c]["first_name"],
            dept=demo.pick(DEPARTMENTS),
            ref=demo.accounts[int(rand() * min(20, len(demo.accounts)))]["fields"]["name"],
            q=1 + int(rand() * 4),
            comp=demo.pick(COMPETITORS),
        )
        notes = demo.pick(ACTIVITY_NOTES) if rand() < 0.3 else ""
        occurred = max(demo.at(day, 0.8 * rand()), deal.created)
        logged = min(occurred + dt.timedelta(minutes=int(rand() * 120)), demo.now)

        def log(when, kind=kind, subject=subject, notes=notes, occurred=occurred, c=c):
            contacts = [] if kind in ("note", "task") else [deal.account["people"][c]]
            services.activity_log(
                actor=deal.owner,
                opportunity=deal.opp,
                kind=kind,
                subject=subject,
                notes=notes,
                occurred_at=occurred,
                contacts=contacts,
                now=when,
            )

        deal.plan(logged, log)
        day += 3 + int(rand() * 6)


def close(deal: Deal) -> None:
    """Won deals close with a note (a few past a missing milestone, on the manager's say);
    lost ones with a reason."""
    if deal.outcome == "open":
        return
    demo, rand = deal.demo, deal.demo.rnd.random
    when = max(demo.at(deal.end, 0.9 + 0.1 * rand()), deal.created)
    if deal.outcome == "won":
        notes = demo.pick(WON_NOTES).format(n=1 + int(rand() * 3), comp=demo.pick(COMPETITORS))
        deal.account["won"] = max(deal.account["won"] or 0, deal.end)
        if deal.overridden_close:
            reason = "Signed contract in hand; the last criterion is a formality."
            deal.plan(
                when,
                lambda w: services.opportunity_close_won(
                    deal.opp, actor=deal.manager, override_reason=reason, notes=notes, now=w
                ),
            )
        else:
            deal.plan(when, lambda w: services.opportunity_close_won(deal.opp, actor=deal.owner, notes=notes, now=w))
        return
    reason = demo.reasons[demo.weighted([LOST_REASON_WEIGHTS.get(r.name, 3) for r in demo.reasons])]
    notes = demo.pick(LOST_NOTES.get(reason.name, ["Lost."])).format(comp=demo.pick(COMPETITORS), q=1 + int(rand() * 4))
    deal.plan(
        when, lambda w: services.opportunity_close_lost(deal.opp, actor=deal.owner, reason=reason, notes=notes, now=w)
    )


DEAL_STEPS = [
    choose_deal,
    open_deal,
    buying_team,
    stages_and_milestones,
    close_dates_and_amounts,
    reassignment,
    next_steps,
    activities,
    close,
]
