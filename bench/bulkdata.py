"""The bulk generator of the benchmarks: the demo company at 100,000 to 1,000,000 deals, with 18
months of history ending now, written with PostgreSQL COPY (bulk_create elsewhere).

    .venv/bin/python bench/bulkdata.py --opportunities 100000    (against DATABASE_URL)

`manage.py seed_demo` builds the small demo through the services (`pipeline.demo`); going through
them here would take hours and date everything "now". This generator therefore replays each
deal's life in time order and writes exactly the rows the services would have written: the same
event verbs and data keys, versions bumped by the same actions, milestones ticked before the moves
they gate, and the denormalized fields of each opportunity equal to what its events say.
tests/bench/test_bulkdata.py checks that with the same consistency checks as the demo seed.
"""

import bisect
import datetime as dt
import itertools
import random
import sys
import time
import unicodedata
from collections import Counter
from json.encoder import encode_basestring as _json_string
from pathlib import Path

if __name__ == "__main__":  # run as a script: the project is importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from bench.databases import NULL, BulkSink, CopySink, drop_indexes, reset_sequences, restore_indexes
from opportunities.models import (
    Account,
    AccountStatus,
    Activity,
    ActivityKind,
    BuyingRole,
    BuyingTeamMember,
    Contact,
    EmployeeBand,
    MilestoneCompletion,
    NextStep,
    Opportunity,
    OpportunityEvent,
    RevenueBand,
)
from people.models import Team
from pipeline.demo import build
from pipeline.demo.content import (
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
    TEAMS,
    TITLES,
    WAITING_STEPS,
    WON_NOTES,
)

# === The generator ===============================================================================

DAY = 36_000  # seconds of one working day (08:00–18:00 local): the generator's unit of time
WINDOW_DAYS = 390  # working days of history, about 18 months
FUTURE_DAYS = 1_500  # working days ahead, for close dates and due dates
CHUNK = 2_000  # opportunities generated and written per batch
REBUILD_INDEXES_FROM = 10_000  # opportunities; below this, loading into indexed tables is quick enough

# The generator writes every row as one line of PostgreSQL's COPY text format, in these columns:
# tab-separated, \N for NULL. Generated text never contains tabs, newlines or backslashes (see
# _check_content), except JSON, whose backslashes are doubled by _js.
COLUMNS = {
    Account: [
        "id",
        "name",
        "website",
        "industry",
        "employee_band",
        "region",
        "revenue_band",
        "owner_id",
        "status",
        "created_at",
    ],
    Contact: ["id", "account_id", "first_name", "last_name", "title", "email", "phone", "created_at"],
    Opportunity: [
        "id",
        "account_id",
        "process_id",
        "stage_id",
        "owner_id",
        "name",
        "amount",
        "expected_close_date",
        "status",
        "closed_on",
        "closed_stage_id",
        "lost_reason_id",
        "close_notes",
        "stage_entered_at",
        "close_date_push_count",
        "last_activity_at",
        "next_step_id",
        "version",
        "created_at",
        "updated_at",
        "furthest_stage_id",
        "description",
        "source",
        "closed_industry",
        "closed_employee_band",
        "closed_region",
    ],
    NextStep: [
        "id",
        "opportunity_id",
        "kind",
        "description",
        "due_date",
        "owner_id",
        "created_by_id",
        "created_at",
        "completed_at",
        "completed_by_id",
    ],
    MilestoneCompletion: ["id", "opportunity_id", "milestone_id", "completed_by_id", "completed_at", "evidence"],
    BuyingTeamMember: ["id", "opportunity_id", "contact_id", "roles", "added_at"],
    Activity: [
        "id",
        "account_id",
        "opportunity_id",
        "kind",
        "subject",
        "notes",
        "occurred_at",
        "created_by_id",
        "created_at",
    ],
    Activity.contacts.through: ["id", "activity_id", "contact_id"],
    OpportunityEvent: [
        "id",
        "opportunity_id",
        "actor_id",
        "verb",
        "from_stage_id",
        "to_stage_id",
        "data",
        "version",
        "created_at",
        "state_stage_id",
        "state_amount",
        "state_close_date",
        "state_owner_id",
        "state_status",
        "valid_to",
        "stage_entered_at",
    ],
}
JSON_COLUMNS = {BuyingTeamMember: "roles", OpportunityEvent: "data"}
# Parents first, so that even immediate foreign keys would hold at the end.
TABLES = [
    Account,
    Contact,
    Opportunity,
    NextStep,
    MilestoneCompletion,
    BuyingTeamMember,
    Activity,
    Activity.contacts.through,
    OpportunityEvent,
]
_LABELS = {
    Account: "accounts",
    Contact: "contacts",
    Opportunity: "opportunities",
    NextStep: "next steps",
    MilestoneCompletion: "milestone completions",
    BuyingTeamMember: "buying team members",
    Activity: "activities",
    Activity.contacts.through: "activity participants",
    OpportunityEvent: "events",
}

_HMS = [f"{8 + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]
_BAND_LEVEL = {band.value: level for level, band in enumerate(EmployeeBand)}
_AMOUNTS = [(3_000, 12_000), (8_000, 30_000), (20_000, 80_000), (50_000, 250_000), (120_000, 900_000)]
_ACTIVITY_NAMES = [kind for kind, _ in ACTIVITY_KINDS]
_ACTIVITY_LABELS = {kind.value: kind.label.lower() for kind in ActivityKind}  # as activity_log records them
_ROLE_LABELS = dict(BuyingRole.choices)

# Intention codes of a deal's history; the walk turns them into rows in time order.
(CREATED, NS_SET, NS_DONE, MOVE, TICK, AMOUNT, CLOSE_DATE, OWNER, TEAM_ADD, TEAM_ROLES, ACTIVITY, WON, LOST) = range(13)


def _js(text: str) -> str:
    """A JSON string literal, ready for COPY text format (its backslashes doubled)."""
    literal = _json_string(text)
    return literal.replace("\\", "\\\\") if "\\" in literal else literal


def _check_content() -> None:
    texts = [
        PASSWORD,
        *WAITING_STEPS,
        *TEAMS,
        *NAME_HEADS,
        *NAME_TAILS,
        *FOUNDERS,
        *FIRST_NAMES,
        *LAST_NAMES,
        *TITLES,
        *DEPARTMENTS,
        *COMPETITORS,
        *NEW_BUSINESS_DEALS,
        *EXPANSION_DEALS,
        *WON_NOTES,
        *EVIDENCE,
        *ACTIVITY_NOTES,
        *(n for v in LOST_NOTES.values() for n in v),
        *(n for v in ACTIVITY_SUBJECTS.values() for n in v),
        *(w for v, _ in INDUSTRIES.values() for w in v),
        *(f for v in REGIONS.values() for f in v[0]),
        *INDUSTRIES,
        *REGIONS,
        *(s for p in PROCESSES for st in p["stages"] for s in st["next_steps"]),
    ]
    bad = [t for t in texts if any(ch in t for ch in "\t\n\r\\")]
    assert not bad, f"demo content must not contain tabs, newlines or backslashes: {bad}"


_check_content()


def _weighted(weights):
    """A picker over `weights` that consumes exactly one random() per draw."""
    total = float(sum(weights))
    cumulative = list(itertools.accumulate(w / total for w in weights))
    cumulative[-1] = 1.0

    def pick(u: float) -> int:
        return bisect.bisect_right(cumulative, u)

    return pick


# Where open and lost deals stand: most deals die or wait early in a process.
_STAGE_PICKS = {
    (0, "open"): _weighted([30, 22, 18, 13, 10, 7]),
    (0, "lost"): _weighted([25, 25, 20, 15, 10, 5]),
    (1, "open"): _weighted([35, 30, 20, 15]),
    (1, "lost"): _weighted([30, 30, 25, 15]),
}
_ACTIVITY_PICK = _weighted([w for _, w in ACTIVITY_KINDS])


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


class BulkBuilder:
    """Builds the demo company. Deterministic for a seed: every random draw comes from one
    random.Random, and no draw's count depends on the clock, so runs at different times produce
    the same company, only dated differently."""

    def __init__(self, *, seed: int = 1, opportunities: int = 600, now: dt.datetime | None = None, log=None):
        self.rnd = random.Random(seed)
        self.sources = build.source_draws(seed)
        self.seed = seed
        self.n_opps = max(0, opportunities)
        self.n_accounts = max(10, self.n_opps // 2)
        self.now = now or timezone.now()
        self._log = log or (lambda message: None)
        self.counts: Counter = Counter()
        self.started = time.monotonic()

    def log(self, message: str) -> None:
        self._log(f"{message} ({time.monotonic() - self.started:.0f} s)")

    def pick(self, seq):
        return seq[int(self.rnd.random() * len(seq))]

    # --- set-up -------------------------------------------------------------------------------

    def build(self) -> Counter:
        """Create everything in one transaction; the caller has checked `pipeline.demo.demo_present()`."""
        postgres = connection.vendor == "postgresql"
        tables = [m._meta.db_table for m in TABLES]
        with transaction.atomic():
            dropped = None
            if postgres:
                with connection.cursor() as cursor:
                    # Deals are written before the accounts they date (see _finish_accounts):
                    # foreign keys are checked at the end, whatever the caller set before.
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                    # First, while no row of this transaction awaits its deferred checks.
                    if self.n_opps >= REBUILD_INDEXES_FROM:
                        dropped = drop_indexes(cursor, tables)
            self._reference_data()
            self._time_grid()
            self._next_ids()
            self.sink = CopySink(connection, COLUMNS) if postgres else BulkSink(COLUMNS, JSON_COLUMNS)
            try:
                self._accounts_and_contacts()
                self._deals()
                self._finish_accounts()
            finally:
                self.sink.close()
            if postgres:
                if dropped:
                    self.log("Rebuilding indexes and checking foreign keys…")
                with connection.cursor() as cursor:
                    if dropped:
                        # Run the pending checks of the reference rows now: ALTER TABLE refuses
                        # tables with pending trigger events.
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    restore_indexes(cursor, dropped, tables)
            reset_sequences(TABLES)
        return self.counts

    def _reference_data(self) -> None:
        """Lost reasons, processes, teams and people: the demo seed's own steps make them, so
        both describe the same company; what the generator needs of them is precomputed here."""
        demo = build.Demo(rnd=self.rnd, now=self.now, opportunities=0, log=self._log)
        build.sales_processes(demo)
        build.people(demo)
        self.reasons = [(reason.pk, reason.name, _js(reason.name)) for reason in demo.reasons]
        self.pick_reason = _weighted([LOST_REASON_WEIGHTS.get(name, 3) for _, name, _ in self.reasons])

        self.processes = []
        for info in demo.processes:
            stages = []
            for i, stage in enumerate(info.stages):
                stages.append(
                    _Stage(
                        pk=stage.pk,
                        name=stage.name,
                        js=_js(stage.name),
                        # (pk, required, stage pk, label for override messages, JSON of the tick's names)
                        milestones=[
                            (
                                m.pk,
                                m.is_required,
                                stage.pk,
                                f"{stage.name}: {m.name}",
                                f'"milestone": {_js(m.name)}, "stage_name": {_js(stage.name)}',
                            )
                            for m in info.milestones[stage.pk]
                        ],
                        next_steps=info.next_steps[i],
                        # Working days a healthy deal spends here, and after which it counts as stuck.
                        typical=info.typical[i],
                        stuck=info.stuck[i],
                    )
                )
            self.processes.append(_Process(pk=info.process.pk, stages=stages, cycle=sum(s.typical for s in stages)))

        users = demo.users
        teams = [Team.objects.get(name=name) for name in TEAMS]
        team_index_of = {t.pk: i for i, t in enumerate(teams)}
        self.team_reps = [[u.pk for u in reps] for reps in demo.team_reps]
        self.reps = [pk for members in self.team_reps for pk in members]
        self.managers = [u.pk for u in demo.managers]
        self.admin_id = users["admin"].pk
        self.team_of = {u.pk: team_index_of.get(u.team_id) for u in users.values()}
        self.manager_of_team = {team_index_of[team]: u.pk for team, u in demo.manager_of_team.items()}
        self.user_js = {u.pk: _js(str(u)) for u in users.values()}
        self.growth_reps = self.team_reps[2] or self.reps

    def _time_grid(self) -> None:
        """Working days from ~18 months ago to far ahead, and "now" in the generator's units."""
        tz = timezone.get_current_timezone()
        local_now = timezone.localtime(self.now, tz)
        self.today = local_now.date()
        end = self.today
        if end.weekday() >= 5 or dt.datetime.combine(end, dt.time(8), tzinfo=tz) > local_now:
            end -= dt.timedelta(days=1)
            while end.weekday() >= 5:
                end -= dt.timedelta(days=1)
        days = []
        day = end
        while len(days) < WINDOW_DAYS:
            if day.weekday() < 5:
                days.append(day)
            day -= dt.timedelta(days=1)
        days.reverse()
        day = end + dt.timedelta(days=1)
        while len(days) < WINDOW_DAYS + FUTURE_DAYS:
            if day.weekday() < 5:
                days.append(day)
            day += dt.timedelta(days=1)
        self.days = days
        self.days_s = [d.isoformat() for d in days]
        starts = [dt.datetime.combine(d, dt.time(8), tzinfo=tz) for d in days]
        self.epoch = [int(start.timestamp()) for start in starts]
        self.stamp_pre = [f"{d} " for d in self.days_s]
        self.iso_pre = [f"{d}T" for d in self.days_s]
        self.stamp_off = []
        for start in starts:
            minutes = int(start.utcoffset().total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            self.stamp_off.append(f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
        last = WINDOW_DAYS - 1
        elapsed = int(self.now.timestamp()) - self.epoch[last]
        self.NOW_T = last * DAY + max(0, min(elapsed, DAY - 1))
        self.last_day = len(days) - 1

    def _next_ids(self) -> None:
        self.ids = {model: (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1 for model in TABLES}

    def at(self, t: int) -> str:
        """The moment `t` (working seconds since the window opened) as local time with its UTC
        offset, assembled from precomputed parts: formatting millions of datetimes would
        dominate the run time."""
        d, s = divmod(t, DAY)
        return self.stamp_pre[d] + _HMS[s] + self.stamp_off[d]

    def iso(self, t: int) -> str:
        d, s = divmod(t, DAY)
        return self.iso_pre[d] + _HMS[s] + self.stamp_off[d]

    def days_between(self, t1: int, t2: int) -> int:
        """Whole calendar days from t1 to t2, as timedelta.days would say."""
        return (self.epoch[t2 // DAY] + t2 % DAY - self.epoch[t1 // DAY] - t1 % DAY) // 86400

    def date(self, day: int) -> str:
        return self.days_s[min(day, self.last_day)]

    # --- accounts and contacts -------------------------------------------------------------------

    def _accounts_and_contacts(self) -> None:
        """Companies and their people; their rows are written at the end, dated before first use."""
        rand = self.rnd.random
        pick = self.pick
        industries = list(INDUSTRIES)
        pick_industry = _weighted([INDUSTRIES[i][1] for i in industries])
        regions = list(REGIONS)
        pick_region = _weighted([REGIONS[x][1] for x in regions])
        bands = [b.value for b in EmployeeBand]
        revenue = [b.value for b in RevenueBand]
        n = self.n_accounts
        seen = set()
        self.acc = []  # per account: [name, short name, website, industry, band, region, revenue, owner]
        self.acc_contacts = []  # per account: (first contact id, count)
        self.contacts = []  # per contact: (first, last, title, email, phone)
        self.first_contact_id = contact_id = self.ids[Contact]
        self.acc_offset = self.ids[Account]
        for a in range(n):
            industry = industries[pick_industry(rand())]
            region = regions[pick_region(rand())]
            nouns = INDUSTRIES[industry][0]
            legal_form, tld, phone_prefix = pick(REGIONS[region][0])
            for _attempt in range(4):
                style = rand()
                if style < 0.75:
                    short = pick(NAME_HEADS) + pick(NAME_TAILS)
                elif style < 0.9:
                    short = pick(FOUNDERS)
                else:
                    short = pick(NAME_HEADS) + " " + pick(NAME_HEADS)
                noun = pick(nouns)
                name = f"{short} {noun} {legal_form}"
                if name not in seen:
                    break
            else:
                name = f"{name} ({a + 1})"
            seen.add(name)
            domain = f"{_slug(short)}-{_slug(noun)}.{tld}"
            # Low indexes get most deals (see _deal), so they are the big companies.
            rank = a / n
            if rand() < 0.2:
                band = pick(bands)
            else:
                band = bands[4 if rank < 0.05 else 3 if rank < 0.2 else 2 if rank < 0.5 else 1 if rank < 0.8 else 0]
            rev = revenue[min(4, max(0, bands.index(band) - 1 + int(rand() * 2.2)))]
            owner = self.reps[int(rand() * len(self.reps))]
            self.acc.append((name, short, f"https://www.{domain}", industry, band, region, rev, owner))
            if rank < 0.05:
                count = 6 + int(rand() * 9)
            elif rank < 0.2:
                count = 4 + int(rand() * 5)
            else:
                count = 1 + int(rand() * 3)
            self.acc_contacts.append((contact_id, count))
            for _ in range(count):
                first, last = pick(FIRST_NAMES), pick(LAST_NAMES)
                phone = (
                    f"{phone_prefix} {100 + int(rand() * 900)} {1_000_000 + int(rand() * 9_000_000)}"
                    if rand() < 0.6
                    else ""
                )
                self.contacts.append((first, last, pick(TITLES), f"{_slug(first)}.{_slug(last)}@{domain}", phone))
                contact_id += 1
        never = 1 << 60
        self.acc_first = [never] * n  # earliest moment the account was used
        self.con_first = [never] * len(self.contacts)
        self.acc_won = [-1] * n  # moment of the latest won deal
        self.acc_flags = [0] * n  # 1 has deals, 2 has expansion deals, 4 has open deals
        self.ref_names = [row[1] for row in self.acc[: max(20, n // 20)]]

    def _finish_accounts(self) -> None:
        """Account and contact rows, dated before their first use, and account-only activities."""
        rand = self.rnd.random
        pick = self.pick
        at = self.at
        NOW_T = self.NOW_T
        never = 1 << 60
        accounts, contacts, activities, links = [], [], [], []
        ids = self.ids
        for a, (name, _short, website, industry, band, region, rev, owner) in enumerate(self.acc):
            first_use = self.acc_first[a]
            created = int(rand() * NOW_T) if first_use == never else max(0, first_use - int(rand() * 30 * DAY) - 1)
            flags = self.acc_flags[a]
            if flags & 2 or self.acc_won[a] >= 0:
                recent = self.acc_won[a] > NOW_T - 250 * DAY or flags & 6
                status = AccountStatus.CUSTOMER if recent or rand() < 0.6 else AccountStatus.FORMER_CUSTOMER
            elif flags & 1:
                status = AccountStatus.PROSPECT
            else:
                status = AccountStatus.PROSPECT if rand() < 0.2 else AccountStatus.TARGET
            account_id = self.acc_offset + a
            accounts.append(
                f"{account_id}\t{name}\t{website}\t{industry}\t{band}\t{region}\t{rev}\t{owner}\t"
                f"{status}\t{at(created)}\n"
            )
            first_contact, count = self.acc_contacts[a]
            for c in range(first_contact, first_contact + count):
                ci = c - self.first_contact_id
                limit = min(self.con_first[ci], created + DAY, NOW_T)
                when = created + int(rand() * max(0, limit - created))
                first, last, title, email, phone = self.contacts[ci]
                contacts.append(f"{c}\t{account_id}\t{first}\t{last}\t{title}\t{email}\t{phone}\t{at(when)}\n")
            # A touch on the account outside any deal: an event, a newsletter reply, a check-in.
            if rand() < 0.3 and created + DAY < NOW_T:
                when = created + DAY + int(rand() * (NOW_T - created - DAY))
                kind = _ACTIVITY_NAMES[_ACTIVITY_PICK(rand())]
                if kind == "demo":
                    kind = "meeting"
                c = first_contact + int(rand() * count)
                subject = pick(ACTIVITY_SUBJECTS[kind]).format(
                    c=self.contacts[c - self.first_contact_id][0],
                    dept=pick(DEPARTMENTS),
                    ref=pick(self.ref_names),
                    q=1 + int(rand() * 4),
                    comp=pick(COMPETITORS),
                )
                notes = pick(ACTIVITY_NOTES) if rand() < 0.3 else ""
                aid = ids[Activity]
                ids[Activity] += 1
                activities.append(
                    f"{aid}\t{account_id}\t{NULL}\t{kind}\t{subject}\t{notes}\t{at(when)}\t{owner}\t"
                    f"{at(min(when + int(rand() * 3600), NOW_T))}\n"
                )
                if kind not in ("note", "task"):
                    links.append(f"{ids[Activity.contacts.through]}\t{aid}\t{c}\n")
                    ids[Activity.contacts.through] += 1
        for model, lines in (
            (Account, accounts),
            (Contact, contacts),
            (Activity, activities),
            (Activity.contacts.through, links),
        ):
            self.sink.write(model, lines)
            self.counts[_LABELS[model]] += len(lines)

    # --- deals ---------------------------------------------------------------------------------------

    def _forced(self) -> list[dict]:
        """The first deals cover every stage and outcome, so even a tiny demo shows them all."""
        forced = []
        for pi, process in enumerate(self.processes):
            for k in range(len(process.stages)):
                forced.append({"pi": pi, "outcome": "open", "k": k})
        for pi, process in enumerate(self.processes):
            forced.append({"pi": pi, "outcome": "won", "k": len(process.stages) - 1})
            forced.append({"pi": pi, "outcome": "lost", "k": 1})
        # Next-step states and slipping close dates, on open deals past the first stage.
        forced[1].update(steps="none")
        forced[2].update(steps="today")
        forced[3].update(steps="overdue", pushes=3)
        forced[4].update(steps="later", pushes=4)
        return forced

    def _deals(self) -> None:
        forced = self._forced()
        self.buffers = {model: [] for model in TABLES}
        for i in range(self.n_opps):
            self._deal(forced[i] if i < len(forced) else {})
            if (i + 1) % CHUNK == 0 or i + 1 == self.n_opps:
                for model, lines in self.buffers.items():
                    self.sink.write(model, lines)
                    self.counts[_LABELS[model]] += len(lines)
                self.buffers = {model: [] for model in TABLES}
                if (i + 1) % (CHUNK * 10) == 0 or i + 1 == self.n_opps:
                    self.log(f"  {i + 1:,} / {self.n_opps:,} opportunities")

    def _deal(self, force: dict) -> None:
        rnd = self.rnd
        rand = rnd.random
        pick = self.pick
        at = self.at
        NOW_T = self.NOW_T
        last = WINDOW_DAYS - 1
        ids = self.ids
        B = self.buffers

        # What the deal is, and how it ends.
        pi = force.get("pi", 1 if rand() < PROCESSES[1]["share"] else 0)
        process = self.processes[pi]
        stages = process.stages
        n = len(stages)
        u = rand()
        outcome = force.get("outcome", "open" if u < 0.38 else "won" if u < 0.6 else "lost")
        if "k" in force:
            k = force["k"]
        elif outcome == "open":
            k = _STAGE_PICKS[(pi, "open")](rand())
        elif outcome == "won":
            k = n - 1 if rand() < 0.85 else n - 2
        else:
            k = _STAGE_PICKS[(pi, "lost")](rand())
        is_open = outcome == "open"
        source = build.lead_source(self.sources.random(), expansion=pi == 1, outcome=outcome)

        # Expansion deals go to existing customers, mostly the bigger ones; a few accounts get many.
        a = int(self.n_accounts * (0.4 if pi == 1 else 1.0) * rand() ** 2)
        account = self.acc[a]
        u = rand()
        if u < 0.05:
            owner0 = pick(self.managers)
        elif pi == 1 and u < 0.7:
            owner0 = pick(self.growth_reps)
        elif u < 0.75:
            owner0 = account[7]
        else:
            owner0 = pick(self.reps)

        # Stage timeline in working days, then in working seconds.
        dwell = [max(1, int(s.typical * (0.3 + 1.4 * rand()))) for s in stages[: k + 1]]
        if is_open:
            st = stages[k].stuck
            current = int(st * (1.1 + 2.5 * rand())) if rand() < 0.18 else int(st * 0.95 * rand())
            entry_k = last - current
            before = sum(dwell[:k])
            if entry_k - before < 0:
                entry_k = min(last, before + int(rand() * 5))
            b0 = entry_k - before
            end_day = last
        else:
            total = sum(dwell)
            if total > last - 2:
                dwell = [max(1, d * (last - 2) // total) for d in dwell]
                total = sum(dwell)
            end_day = total + int(rand() * (last - total))
            b0 = end_day - total

        def moment(day: int) -> int:
            """A random working second on `day`, never after now."""
            start = day * DAY
            return start + int(rand() * (DAY if day < last else NOW_T - start + 1))

        def between(lo: int, hi: int) -> int:
            return lo + int(rand() * (hi - lo)) if hi > lo else lo

        t0 = moment(b0)
        entries = [t0]
        day = b0
        for j in range(1, k + 1):
            day += dwell[j - 1]
            entries.append(max(moment(day), entries[-1] + 60))
        t_end = NOW_T if is_open else max(moment(end_day), entries[-1] + 120)
        # Activities and next steps stop early on neglected deals.
        quiet = rand() < 0.18 or force.get("steps") == "overdue"
        gap = int((8 + rand() * 40) * DAY)
        active_until = max(t0 + 60, NOW_T - gap) if is_open and quiet else t_end

        intents = [(t0, 0, CREATED, None, None)]  # (time, order among equals, code, x, y)
        seq = itertools.count(2)
        for j in range(1, k + 1):
            intents.append((entries[j], next(seq), MOVE, j, False))
        if k >= 1 and rand() < 0.07:  # a few deals slip back a stage, then recover
            j = 1 + int(rand() * k)
            lo, hi = entries[j], entries[j + 1] if j < k else t_end
            if hi - lo > 1000:
                intents.append((lo + int((hi - lo) * (0.25 + 0.2 * rand())), next(seq), MOVE, j - 1, True))
                intents.append((lo + int((hi - lo) * (0.55 + 0.25 * rand())), next(seq), MOVE, j, False))

        # Milestones: passed stages have every required one ticked, the current stage some.
        override = None
        for j in range(k + 1):
            lo, hi = entries[j], entries[j + 1] if j < k else t_end
            for m in stages[j].milestones:
                if j < k:
                    tick = m[1] or rand() < 0.3
                elif outcome == "won":
                    tick = m[1] or rand() < 0.5
                else:
                    tick = rand() < 0.45
                if tick:
                    intents.append((between(lo, hi), next(seq), TICK, m, None))
        if outcome == "won":
            for s in stages[k + 1 :]:  # won a stage early: the later stages' criteria were met anyway
                for m in s.milestones:
                    if m[1]:
                        intents.append((between(entries[k], t_end), next(seq), TICK, m, None))
            if rand() < 0.04:  # the manager signed it off with a criterion open
                required = [x for x in intents if x[2] == TICK and x[3][2] == stages[k].pk and x[3][1]]
                if required:
                    intents.remove(required[-1])
                    override = required[-1][3][3]
        elif is_open and k + 1 < n and rand() < 0.05:  # buyers don't move in sequence
            intents.append((between(entries[k], t_end), next(seq), TICK, stages[k + 1].milestones[0], None))

        # Amount and close date.
        lo_amt, hi_amt = _AMOUNTS[_BAND_LEVEL[account[4]]]
        amount = lo_amt * (hi_amt / lo_amt) ** rand()
        if pi == 1:
            amount *= 0.2 + 0.3 * rand()
        step_size = 1000 if amount >= 100_000 else 500
        amount0 = max(step_size, int(amount / step_size) * step_size)
        u = rand()
        for _ in range(0 if u < 0.65 else 1 if u < 0.92 else 2):
            intents.append((between(t0 + 1, t_end), next(seq), AMOUNT, 0.7 + 0.7 * rand(), None))

        ecd = ecd_first = b0 + max(5, int(process.cycle * (0.35 + 0.9 * rand())))
        min_pushes = force.get("pushes", 0)
        pushes = 0
        prev_t = t0
        while (ecd < end_day or pushes < min_pushes) and pushes < 8:
            if is_open and pushes >= min_pushes and rand() < 0.12:
                break  # the rep stopped updating it: the close date is now in the past
            pday = min(max(b0, ecd - int(rand() * 4)), end_day)
            t = max(moment(pday), prev_t + 60)
            if t >= t_end:
                break
            new = max(ecd, pday) + 8 + int(rand() * 30)
            intents.append((t, next(seq), CLOSE_DATE, new, None))
            prev_t, ecd = t, new
            pushes += 1
        if is_open and ecd > last + 10 and rand() < 0.08:  # the buyer pulled it in
            t = between(prev_t + 60, NOW_T)
            if t > prev_t:
                intents.append((t, next(seq), CLOSE_DATE, max(last + 1, ecd - 5 - int(rand() * 10)), None))

        # Reassignment within the team (by its manager) or, rarely, across teams (by the admin).
        owner_changes = []
        if owner0 in self.reps and rand() < 0.05 and t_end - t0 > 2000:
            if rand() < 0.2:
                new_owner, actor = pick(self.reps), self.admin_id
            else:
                team = self.team_of[owner0]
                new_owner, actor = pick(self.team_reps[team]), self.manager_of_team.get(team, self.admin_id)
            if new_owner != owner0:
                t = between(t0 + (t_end - t0) // 5, t_end - 1)
                intents.append((t, next(seq), OWNER, new_owner, actor))
                owner_changes.append((t, new_owner))

        # Buying team.
        first_contact, n_contacts = self.acc_contacts[a]
        members = []
        if rand() < 0.9:
            size = min(n_contacts, 1 + int(rand() * 4))
            for position, offset in enumerate(rnd.sample(range(n_contacts), size)):
                if position == 0:
                    roles = ["champion", "user"] if rand() < 0.3 else ["champion"]
                elif position == 1:
                    roles = ["economic_buyer", "decision_maker"] if rand() < 0.4 else ["economic_buyer"]
                elif position == 2:
                    roles = ["technical_evaluator"]
                else:
                    roles = [pick(["influencer", "user", "blocker", "decision_maker"])]
                t = between(t0 + 1, t0 + (t_end - t0) // (2 if position else 6) + 2)
                members.append([first_contact + offset, roles, t])
                intents.append((t, next(seq), TEAM_ADD, len(members) - 1, None))
            if members and rand() < 0.06:
                intents.append(
                    (between(members[0][2] + 1, t_end), next(seq), TEAM_ROLES, 0, ["champion", "decision_maker"])
                )
        pool = [m[0] for m in members] or [first_contact + int(rand() * n_contacts)]
        names = [self.contacts[c - self.first_contact_id][0] for c in pool]

        # Next steps: one set at creation, then completed (or replaced) every week or two.
        mode = force.get("steps")
        if mode is None:
            u = rand()
            if u < 0.08:
                mode = "none"
            elif not is_open:
                mode = "natural"
            elif quiet or u > 0.92:  # neglected deals, and a few busy ones, are behind on their step
                mode = "overdue"
            else:
                mode = "today" if u < 0.15 else "later"
        if mode != "none":
            intents.append((t0, 1, NS_SET, None, None))
            t = t0
            while True:
                t += int((3 + rand() * 14) * DAY)
                if t >= active_until:
                    break
                intents.append((t, next(seq), NS_DONE if rand() < 0.85 else NS_SET, None, None))

        # Activities: roughly weekly while the deal is worked, logged a little after they happen.
        for _ in range(1 + min(12, int((active_until - t0) / DAY / (7 + rand() * 10)))):
            t = between(t0, active_until)
            kind = _ACTIVITY_NAMES[_ACTIVITY_PICK(rand())]
            if kind == "demo" and stages[bisect.bisect_right(entries, t) - 1].name not in ("Demonstrate", "Validate"):
                kind = "meeting"
            chosen = []
            if kind not in ("note", "task"):
                chosen.append(pick(pool))
                if len(pool) > 1 and rand() < 0.35:
                    other = pick(pool)
                    if other != chosen[0]:
                        chosen.append(other)
            subject = pick(ACTIVITY_SUBJECTS[kind]).format(
                c=self.contacts[(chosen[0] if chosen else pool[0]) - self.first_contact_id][0],
                dept=pick(DEPARTMENTS),
                ref=pick(self.ref_names),
                q=1 + int(rand() * 4),
                comp=pick(COMPETITORS),
            )
            notes = pick(ACTIVITY_NOTES) if rand() < 0.3 else ""
            intents.append((min(t + int(rand() * 7200), NOW_T), next(seq), ACTIVITY, t, (kind, subject, notes, chosen)))

        if not is_open:
            intents.append((t_end, 1 << 30, WON if outcome == "won" else LOST, override, None))
        # Nothing after the close (only activities may be logged later), nothing after now.
        intents = [(min(i[0], NOW_T if i[2] == ACTIVITY else t_end), *i[1:]) for i in intents]
        intents.sort()

        # The walk: replay the intentions in time order, writing what the services would write.
        # Each event also carries the deal's state right after it and, from the next event,
        # `valid_to`: exactly what opportunities.history.event_states_rebuild computes.
        last_step_at = (
            max((i for i, x in enumerate(intents) if x[2] in (NS_SET, NS_DONE)), default=-1) if is_open else -1
        )
        oid = ids[Opportunity]
        ids[Opportunity] += 1
        account_id = self.acc_offset + a
        completions = B[MilestoneCompletion]
        acts = B[Activity]
        links = B[Activity.contacts.through]
        ev = []  # (event line without valid_to, its created_at)
        eid = ids[OpportunityEvent]
        owner = owner0
        version = 0
        cur = furthest = 0
        left = {}  # index in `ev` of an event leaving a stage -> when the deal entered that stage
        entered = updated = t0
        push_count = 0
        ecd_now = ecd_first
        amt = amount0
        status = "open"
        state = f"{stages[0].pk}\t{amount0}.00\t{self.date(ecd_first)}\t{owner0}\topen"
        last_activity = None
        step = None  # the open next step: [id, kind, text, due date, owner, created_by, created, done, done_by]
        steps = []
        for index, (t, _order, code, x, y) in enumerate(intents):
            when = at(t)
            if code == CREATED:
                version = 1
                data = (
                    f'{{"stage_name": {stages[0].js}, "amount": "{amount0}.00", '
                    f'"expected_close_date": "{self.date(ecd_first)}", "owner_id": {owner}, "source": "{source}"}}'
                )
                ev.append((f"{eid}\t{oid}\t{owner}\tcreated\t{NULL}\t{stages[0].pk}\t{data}\t1\t{when}\t{state}", when))
                eid += 1
            elif code == ACTIVITY:
                kind, subject, notes, chosen = y
                aid = ids[Activity]
                ids[Activity] += 1
                acts.append(f"{aid}\t{account_id}\t{oid}\t{kind}\t{subject}\t{notes}\t{at(x)}\t{owner}\t{when}\n")
                for contact in chosen:
                    links.append(f"{ids[Activity.contacts.through]}\t{aid}\t{contact}\n")
                    ids[Activity.contacts.through] += 1
                    ci = contact - self.first_contact_id
                    if x < self.con_first[ci]:
                        self.con_first[ci] = x
                if last_activity is None or x > last_activity:
                    last_activity = x
                data = (
                    f'{{"activity_id": {aid}, "kind": "{_ACTIVITY_LABELS[kind]}", "subject": {_js(subject)}, '
                    f'"occurred_at": "{self.iso(x)}"}}'
                )
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tactivity_logged\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t{state}",
                        when,
                    )
                )
                eid += 1
            elif code in (NS_SET, NS_DONE):
                replaced = "null"
                if step is not None:
                    step[7], step[8] = when, owner
                    if code == NS_DONE:
                        shown = f"Waiting on buyer until {step[3]}" if step[1] == "waiting" else step[2]
                        data = f'{{"next_step_id": {step[0]}, "description": {_js(shown)}, "due_date": "{step[3]}"}}'
                        ev.append(
                            (
                                f"{eid}\t{oid}\t{owner}\tnext_step_completed\t{NULL}\t{NULL}\t{data}\t{version}\t"
                                f"{when}\t{state}",
                                when,
                            )
                        )
                        eid += 1
                    else:  # superseded, not done
                        replaced = step[0]
                day = t // DAY
                if rand() < 0.15:
                    kind = "waiting"
                    text = pick(WAITING_STEPS)
                    due = self.date(day + 1 + int(rand() * 10))
                else:
                    kind = "action"
                    text = pick(stages[cur].next_steps).format(c=pick(names), dept=pick(DEPARTMENTS))
                    due = self.date(day + int(rand() * 8))
                if index == last_step_at:
                    due = self._final_due(mode, kind, self.days[day], due)
                step = [ids[NextStep], kind, text, due, owner, owner, when, NULL, NULL]
                ids[NextStep] += 1
                steps.append(step)
                version += 1
                updated = t
                data = (
                    f'{{"next_step_id": {step[0]}, "kind": "{kind}", "description": {_js(text)}, '
                    f'"due_date": "{due}", "replaced": {replaced}}}'
                )
                ev.append(
                    (f"{eid}\t{oid}\t{owner}\tnext_step_set\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t{state}", when)
                )
                eid += 1
            elif code == MOVE:
                before_stage, after_stage = stages[cur], stages[x]
                version += 1
                updated = t
                state = f"{after_stage.pk}\t{state.split(chr(9), 1)[1]}"
                data = (
                    f'{{"from_name": {before_stage.js}, "to_name": {after_stage.js}, '
                    f'"backwards": {"true" if y else "false"}, "days_in_stage": {self.days_between(entered, t)}}}'
                )
                left[len(ev)] = at(entered)
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tstage_moved\t{before_stage.pk}\t{after_stage.pk}\t{data}\t"
                        f"{version}\t{when}\t{state}",
                        when,
                    )
                )
                eid += 1
                cur, entered = x, t
                furthest = max(furthest, x)
            elif code == TICK:
                updated = t  # ticks count as work on the deal (updated_at), without a new version
                evidence = pick(EVIDENCE).format(c=pick(names)) if rand() < 0.45 else ""
                completions.append(f"{ids[MilestoneCompletion]}\t{oid}\t{x[0]}\t{owner}\t{when}\t{evidence}\n")
                ids[MilestoneCompletion] += 1
                data = f'{{"milestone_id": {x[0]}, {x[4]}, "evidence": {_js(evidence)}}}'
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tmilestone_ticked\t{NULL}\t{x[2]}\t{data}\t{version}\t{when}\t{state}",
                        when,
                    )
                )
                eid += 1
            elif code == AMOUNT:
                new_amt = max(500, int(amt * x / 500) * 500)
                if new_amt != amt:
                    version += 1
                    updated = t
                    parts = state.split("\t")
                    parts[1] = f"{new_amt}.00"
                    state = "\t".join(parts)
                    data = f'{{"old": "{amt}.00", "new": "{new_amt}.00"}}'
                    ev.append(
                        (
                            f"{eid}\t{oid}\t{owner}\tamount_changed\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t"
                            f"{state}",
                            when,
                        )
                    )
                    eid += 1
                    amt = new_amt
            elif code == CLOSE_DATE:
                pushed = x > ecd_now
                if pushed:
                    push_count += 1
                version += 1
                updated = t
                parts = state.split("\t")
                parts[2] = self.date(x)
                state = "\t".join(parts)
                data = (
                    f'{{"old": "{self.date(ecd_now)}", "new": "{self.date(x)}", '
                    f'"pushed_later": {"true" if pushed else "false"}, "push_count": {push_count}}}'
                )
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tclose_date_changed\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t"
                        f"{state}",
                        when,
                    )
                )
                eid += 1
                ecd_now = x
            elif code == OWNER:
                version += 1
                updated = t
                parts = state.split("\t")
                parts[3] = str(x)
                state = "\t".join(parts)
                data = (
                    f'{{"old": {owner}, "new": {x}, "old_name": {self.user_js[owner]}, "new_name": {self.user_js[x]}}}'
                )
                ev.append(
                    (f"{eid}\t{oid}\t{y}\towner_changed\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t{state}", when)
                )
                eid += 1
                if step is not None and step[4] == owner:  # the open step follows the deal if it was theirs
                    step[4] = x
                owner = x
            elif code in (TEAM_ADD, TEAM_ROLES):
                member = members[x]
                updated = t  # like ticks: work on the deal, no new version
                if code == TEAM_ROLES:
                    member[1] = y
                first, last_name = self.contacts[member[0] - self.first_contact_id][:2]
                roles = ", ".join(f'"{_ROLE_LABELS[role]}"' for role in member[1])
                data = (
                    f'{{"action": "{"changed roles of" if code == TEAM_ROLES else "added"}", '
                    f'"contact": {_js(f"{first} {last_name}")}, "contact_id": {member[0]}, "roles": [{roles}]}}'
                )
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tbuying_team_changed\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t"
                        f"{state}",
                        when,
                    )
                )
                eid += 1
                ci = member[0] - self.first_contact_id
                if t < self.con_first[ci]:
                    self.con_first[ci] = t
            else:  # WON / LOST; x is the missing milestone the manager overrode, if any
                closer = self.manager_of_team.get(self.team_of[owner], self.admin_id) if x else owner
                version += 1
                updated = t
                if step is not None:
                    step[7], step[8] = when, closer
                    step = None
                stage = stages[cur]
                if code == WON:
                    if x:
                        data = (
                            f'{{"missing": [{_js(x)}], "reason": "Customer signed; the criterion is met in '
                            f'substance.", "action": "close won"}}'
                        )
                        ev.append(
                            (
                                f"{eid}\t{oid}\t{closer}\toverride_used\t{stage.pk}\t{NULL}\t{data}\t{version}\t"
                                f"{when}\t{state}",
                                when,
                            )
                        )
                        eid += 1
                    status, reason_id = "won", NULL
                    close_notes = pick(WON_NOTES).format(n=1 + int(rand() * 3), comp=pick(COMPETITORS))
                    data = f'{{"stage_name": {stage.js}, "amount": "{amt}.00", "notes": {_js(close_notes)}}}'
                else:
                    reason_id, reason_name, reason_js = self.reasons[self.pick_reason(rand())]
                    status = "lost"
                    close_notes = pick(LOST_NOTES.get(reason_name, LOST_NOTES["Other"])).format(
                        comp=pick(COMPETITORS), q=1 + int(rand() * 4)
                    )
                    data = (
                        f'{{"stage_name": {stage.js}, "reason": {reason_js}, "reason_id": {reason_id}, '
                        f'"notes": {_js(close_notes)}, "amount": "{amt}.00"}}'
                    )
                state = f"{state.rsplit(chr(9), 1)[0]}\t{status}"
                left[len(ev)] = at(entered)
                ev.append(
                    (
                        f"{eid}\t{oid}\t{closer}\tclosed_{status}\t{stage.pk}\t{NULL}\t{data}\t{version}\t{when}\t"
                        f"{state}",
                        when,
                    )
                )
                eid += 1
                closed_on, closed_stage = self.days_s[t // DAY], stage.pk
        ids[OpportunityEvent] = eid

        events = B[OpportunityEvent]
        for i in range(len(ev) - 1):
            events.append(f"{ev[i][0]}\t{ev[i + 1][1]}\t{left.get(i, NULL)}\n")
        events.append(f"{ev[-1][0]}\t{NULL}\t{left.get(len(ev) - 1, NULL)}\n")
        next_steps = B[NextStep]
        for sid, kind, text, due, s_owner, by, created, done, done_by in steps:
            next_steps.append(f"{sid}\t{oid}\t{kind}\t{text}\t{due}\t{s_owner}\t{by}\t{created}\t{done}\t{done_by}\n")
        team = B[BuyingTeamMember]
        for contact, roles, t in members:
            roles_js = ", ".join(f'"{role}"' for role in roles)
            team.append(f"{ids[BuyingTeamMember]}\t{oid}\t{contact}\t[{roles_js}]\t{at(t)}\n")
            ids[BuyingTeamMember] += 1

        # The opportunity row, as the services leave it.
        if t0 < self.acc_first[a]:
            self.acc_first[a] = t0
        self.acc_flags[a] |= 1 | (2 if pi == 1 else 0) | (4 if is_open else 0)
        title = pick(EXPANSION_DEALS if pi == 1 else NEW_BUSINESS_DEALS).format(
            dept=pick(DEPARTMENTS), n=pick([25, 50, 100, 250])
        )
        last_activity_s = at(last_activity) if last_activity is not None else NULL
        if is_open:
            closed = f"open\t{NULL}\t{NULL}\t{NULL}\t"
            next_step = step[0] if step else NULL
            segment = "\t\t"
        else:
            # The account's segment as it closed (the generator never changes an account's).
            segment = "\t".join(account[3:6])
            if status == "won" and t_end > self.acc_won[a]:
                self.acc_won[a] = t_end
            closed = f"{status}\t{closed_on}\t{closed_stage}\t{reason_id}\t{close_notes}"
            next_step = NULL
        B[Opportunity].append(
            f"{oid}\t{account_id}\t{process.pk}\t{stages[cur].pk}\t{owner}\t{account[1]} — {title}\t{amt}\t"
            f"{self.date(ecd_now)}\t{closed}\t{at(entered)}\t{push_count}\t{last_activity_s}\t{next_step}\t"
            # The description is left empty: a demo deal's title says enough.
            f"{version}\t{at(t0)}\t{at(updated)}\t{stages[furthest].pk}\t\t{source}\t{segment}\n"
        )

    def _final_due(self, mode: str, kind: str, set_on: dt.date, due: str) -> str:
        """The due date of an open deal's last next step, bent into the state `mode` asks for
        where the rules allow it (due no earlier than the day it was set; waiting: the day after)."""
        today = self.today
        earliest = set_on + dt.timedelta(days=1 if kind == "waiting" else 0)
        if mode == "today" and earliest <= today:
            return today.isoformat()
        if mode == "overdue" and earliest < today:
            return earliest.isoformat()
        if mode == "later" and due <= today.isoformat():
            return (today + dt.timedelta(days=3)).isoformat()
        return due


class _Stage:
    """What the generator needs of a stage, precomputed."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


class _Process(_Stage):
    """What the generator needs of a process."""


def main(argv: list[str] | None = None) -> int:
    """Seed the database of DATABASE_URL (the demo users included) unless the demo is there."""
    import argparse

    from pipeline.demo import demo_present

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1, help="The same seed gives the same data.")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    say = (lambda message: None) if args.quiet else (lambda message: print(message, flush=True))  # noqa: T201
    if demo_present():
        say("demo data already present")
        return 0
    started = time.monotonic()
    counts = BulkBuilder(seed=args.seed, opportunities=max(0, args.opportunities), log=say).build()
    say(f"Done in {time.monotonic() - started:.1f} s: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
