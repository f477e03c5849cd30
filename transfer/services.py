"""Importing a file: upload, check (mapping, values, every row), commit all or nothing with
set-based writes, and undo.

Past deals are written as the history the services would have written had the deal been worked
in Lockstep (`deal_history`): the same `OpportunityEvent` verbs, data, versions and times, then
replayed into their state intervals by `event_states_rebuild` — so time travel, the dashboard
and the post-mortem facts read them like any other deal. The created event carries the import's
id (`data["import_id"]`), which with the job's `created_ids` marks them as imported.

Not sent: `opportunity_closed`, which opens a post-mortem review per closed deal; a team
bringing years of closed deals has no use for thousands of overdue reviews. Nor
`opportunity_changed`, whose listeners work one deal at a time: the open deals imported are
handed to the next pipeline-health sweep in one bulk write instead (`health_changes_record`).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from opportunities.errors import AccessDenied, DomainError
from opportunities.history import event_states_rebuild
from opportunities.models import (
    Account,
    AccountEvent,
    AccountEventVerb,
    AccountStatus,
    Activity,
    ActivityKind,
    BuyingRole,
    BuyingTeamMember,
    Contact,
    DealCompetitor,
    DealCompetitorStatus,
    EventVerb,
    MilestoneCompletion,
    NextStep,
    NextStepKind,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
)
from pipeline.health.services import health_changes_record
from stages.models import SalesProcess

from . import progress, rows
from .fields import FIELDS, Kind, missing_required
from .models import DuplicateAction, ImportJob, ImportStatus
from .reading import FileRefused, read_table

# Files with more rows than this are committed by a Celery task, with a progress bar.
SYNC_ROWS = 2000
BATCH = 2000
# How many row problems are kept on the job for the page (the count is always exact).
KEEP_ERRORS = 500
# Events and rows written on a date, at this time of day (local): a file says which day.
TIME_OF_DAY = dt.time(9, 0)


def ensure_can_import(actor) -> None:
    if not actor.is_authenticated or not actor.is_admin:
        raise AccessDenied("Only admins can import data.")


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, TIME_OF_DAY))


# --- upload and check -------------------------------------------------------------------------------


def import_upload(*, actor, kind: str, filename: str, data: bytes, now: dt.datetime | None = None) -> ImportJob:
    """Store the file and read its header; a file that cannot be read is refused, not stored."""
    ensure_can_import(actor)
    now = now or timezone.now()
    if kind not in Kind.VALUES:
        raise DomainError("Choose what the file holds: accounts, contacts or deals.", field="kind")
    header, table = read_table(data, filename)
    from .fields import suggest_mapping

    job = ImportJob(
        kind=kind,
        filename=(filename or "upload")[-255:],
        created_by=actor,
        created_at=now,
        header=header,
        row_count=len(table),
        mapping=suggest_mapping(kind, header),
        process=SalesProcess.objects.active().order_by("pk").first() if kind == Kind.DEALS else None,
    )
    job.file.save(job.filename, ContentFile(data), save=False)
    job.save()
    return job


def read_job(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    with job.file.open("rb") as handle:
        data = handle.read()
    return read_table(data, job.filename)


def import_map(
    job: ImportJob,
    *,
    actor,
    mapping: dict,
    value_map: dict | None = None,
    process: SalesProcess | None = None,
    duplicates: str = DuplicateAction.SKIP,
    row_actions: dict | None = None,
) -> ImportJob:
    """Save how columns and values map; refuses a mapping that names columns not in the file
    or leaves a required field without a column."""
    ensure_can_import(actor)
    if not job.is_editable:
        raise DomainError("This import has already been committed.")
    known = {f.name for f in FIELDS[job.kind]}
    mapping = {k: v for k, v in mapping.items() if v}
    bad = [v for k, v in mapping.items() if k not in known or v not in job.header]
    if bad:
        raise DomainError(f"These columns are not in the file: {', '.join(bad)}.")
    missing = missing_required(job.kind, mapping)
    if missing:
        raise DomainError(f"Choose a column for: {', '.join(missing)}.")
    if duplicates not in DuplicateAction.values:
        raise DomainError("Choose what to do with duplicates.")
    if any(a not in DuplicateAction.values for a in (row_actions or {}).values()):
        raise DomainError("Choose skip, update or create for each duplicate.")
    job.mapping = mapping
    if value_map is not None:
        job.value_map = value_map
    if process is not None:
        job.process = process
    job.duplicates = duplicates
    if row_actions is not None:
        job.row_actions = {str(k): v for k, v in row_actions.items()}
    job.status = ImportStatus.UPLOADED
    job.save()
    return job


def import_check(job: ImportJob, *, actor, now: dt.datetime | None = None, save: bool = True) -> list[rows.Row]:
    """Check every row against the mapping; the problems are kept on the job (with `save`).
    Writes nothing else."""
    ensure_can_import(actor)
    now = now or timezone.now()
    header, table = read_job(job)
    ctx = rows.load_context(
        kind=job.kind,
        mapping=job.mapping,
        value_map=job.value_map,
        actor=actor,
        process=job.process,
        header=header,
        rows=table,
        today=timezone.localdate(now),
    )
    checked = rows.check_rows(ctx, header, table)
    problems = [f"Row {r.number}: {e}" for r in checked for e in r.errors]
    job.error_count = len(problems)
    job.errors = problems[:KEEP_ERRORS]
    if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        job.status = ImportStatus.CHECKED
    if save:
        job.save(update_fields=["error_count", "errors", "status"])
    job._checked = (ctx, checked)
    return checked


# --- commit ----------------------------------------------------------------------------------------------


def import_start(job: ImportJob, *, actor, now: dt.datetime | None = None) -> ImportJob:
    """Commit now, or for a large file queue the commit (it runs after this transaction)."""
    ensure_can_import(actor)
    if not job.is_editable:
        raise DomainError("This import has already been committed.")
    if job.row_count <= SYNC_ROWS:
        return import_commit(job, actor=actor, now=now)
    from .tasks import run_import

    job.status = ImportStatus.QUEUED
    job.progress = 0
    job.save(update_fields=["status", "progress"])
    run_import.delay_on_commit(job.pk, actor.pk)
    return job


def import_commit(job: ImportJob, *, actor, now: dt.datetime | None = None) -> ImportJob:
    """Check every row again and write them all, or — if any row has a problem — nothing."""
    ensure_can_import(actor)
    now = now or timezone.now()
    try:
        checked = import_check(job, actor=actor, now=now)
    except FileRefused as exc:
        _fail(job, exc.message)
        raise
    if job.error_count:
        message = f"{job.error_count} problem{'s' if job.error_count != 1 else ''} found; nothing was imported."
        _fail(job, message)
        raise DomainError(message)
    ctx = job._checked[0]
    writer = Writer(job=job, actor=actor, ctx=ctx, now=now)
    with transaction.atomic():
        {Kind.ACCOUNTS: writer.accounts, Kind.CONTACTS: writer.contacts, Kind.DEALS: writer.deals}[job.kind](checked)
        # Any later event or audit row on these rows is someone else's change, which blocks undo.
        job.last_event_id = OpportunityEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        job.last_audit_id = AccountEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        job.status = ImportStatus.DONE
        job.counts = writer.counts
        job.created_ids = writer.created_ids
        job.progress = job.row_count
        job.finished_at = now
        job.message = ""
        job.save()
    progress.clear_progress(job.pk)
    return job


def _fail(job: ImportJob, message: str) -> None:
    job.status = ImportStatus.FAILED
    job.message = message[:500]
    job.save(update_fields=["status", "message"])
    progress.clear_progress(job.pk)


@dataclass
class Writer:
    """The set-based writes of one import, inside its transaction."""

    job: ImportJob
    actor: object
    ctx: rows.Context
    now: dt.datetime
    counts: dict = field(default_factory=lambda: {"created": 0, "updated": 0, "skipped": 0})
    created_ids: dict = field(default_factory=lambda: {"account": [], "contact": [], "opportunity": []})
    done: int = 0

    def _tick(self, n: int = 1) -> None:
        self.done += n
        if self.done % BATCH == 0 or self.done == self.job.row_count:
            progress.set_progress(self.job.pk, self.done)

    def _action(self, row: rows.Row) -> str:
        if row.duplicate_of is None:
            return DuplicateAction.CREATE
        return self.job.row_actions.get(str(row.number), self.job.duplicates)

    # accounts ---------------------------------------------------------------------------------------

    def accounts(self, checked: list[rows.Row]) -> None:
        fields = ("name", "website", "industry", "region", "employee_band", "revenue_band", "status")
        new, updates = [], []
        for row in checked:
            action = self._action(row)
            if action == DuplicateAction.SKIP:
                self.counts["skipped"] += 1
            elif action == DuplicateAction.UPDATE:
                updates.append(row)
            else:
                v = row.values
                new.append(Account(owner_id=v["owner_id"], created_at=self.now, **{k: v[k] for k in fields}))
            self._tick()
        created = Account.objects.bulk_create(new, batch_size=BATCH)
        AccountEvent.objects.bulk_create(
            [
                AccountEvent(
                    account=a,
                    actor=self.actor,
                    verb=AccountEventVerb.ACCOUNT_CREATED,
                    created_at=self.now,
                    data={
                        "name": a.name,
                        "changes": {k: {"old": "", "new": getattr(a, k)} for k in fields if getattr(a, k)},
                        "import_id": self.job.pk,
                    },
                )
                for a in created
            ],
            batch_size=BATCH,
        )
        self.created_ids["account"] = [a.pk for a in created]
        self.counts["created"] = len(created)
        self._update(Account, updates, fields, AccountEventVerb.ACCOUNT_EDITED, "account")

    def _update(self, model, updates: list[rows.Row], fields, verb, key: str, existing: dict | None = None) -> None:
        """Rows chosen to update a duplicate: only the fields the file fills change, audited,
        and their old values kept for undo."""
        if not updates:
            return
        if existing is None:
            existing = model.objects.in_bulk([r.duplicate_of for r in updates])
        changed, audits, old_values = [], [], {}
        for row in updates:
            obj = existing[row.duplicate_of]
            values = {k: row.values[k] for k in fields if row.values.get(k) not in (None, "")}
            changes = {k: {"old": getattr(obj, k), "new": new} for k, new in values.items() if getattr(obj, k) != new}
            if not changes:
                self.counts["skipped"] += 1
                continue
            old_values[str(obj.pk)] = {k: c["old"] for k, c in changes.items()}
            for k, c in changes.items():
                setattr(obj, k, c["new"])
            changed.append(obj)
            account = obj if model is Account else obj.account
            audits.append(
                AccountEvent(
                    account_id=account.pk,
                    contact=obj if model is Contact else None,
                    actor=self.actor,
                    verb=verb,
                    created_at=self.now,
                    data={
                        "changes": changes,
                        "reason": "imported",
                        "import_id": self.job.pk,
                        **({"contact_name": str(obj)} if model is Contact else {}),
                    },
                )
            )
        model.objects.bulk_update(changed, list(fields), batch_size=BATCH)
        AccountEvent.objects.bulk_create(audits, batch_size=BATCH)
        self.counts["updated"] += len(changed)
        self.created_ids[f"updated_{key}"] = old_values

    # contacts ---------------------------------------------------------------------------------------

    def _accounts_for(self, names: list[str], owner_ids: dict[str, int]) -> dict[str, int]:
        """{normalised name: account id} for `names`, creating the accounts that do not exist."""
        found = {}
        missing = {}
        for name in names:
            key = rows.norm(name)
            if key in self.ctx.accounts_by_name:
                found[key] = self.ctx.accounts_by_name[key]
            elif key not in missing:
                missing[key] = name
        new = [
            Account(name=name, owner_id=owner_ids.get(key, self.actor.pk), created_at=self.now)
            for key, name in missing.items()
        ]
        created = Account.objects.bulk_create(new, batch_size=BATCH)
        AccountEvent.objects.bulk_create(
            [
                AccountEvent(
                    account=a,
                    actor=self.actor,
                    verb=AccountEventVerb.ACCOUNT_CREATED,
                    created_at=self.now,
                    data={
                        "name": a.name,
                        "changes": {"name": {"old": "", "new": a.name}, "status": {"old": "", "new": a.status}},
                        "import_id": self.job.pk,
                    },
                )
                for a in created
            ],
            batch_size=BATCH,
        )
        self.created_ids["account"].extend(a.pk for a in created)
        for key, account in zip(missing, created, strict=True):
            found[key] = account.pk
            self.ctx.accounts_by_name[key] = account.pk
        return found

    def contacts(self, checked: list[rows.Row]) -> None:
        fields = ("first_name", "last_name", "title", "email", "phone")
        accounts = self._accounts_for([r.values["account"] for r in checked if self._action(r) != "skip"], {})
        new, updates = [], []
        for row in checked:
            action = self._action(row)
            if action == DuplicateAction.SKIP:
                self.counts["skipped"] += 1
            elif action == DuplicateAction.UPDATE:
                updates.append(row)
            else:
                v = row.values
                account_id = accounts[rows.norm(v["account"])]
                new.append(Contact(account_id=account_id, created_at=self.now, **{k: v[k] for k in fields}))
            self._tick()
        created = Contact.objects.bulk_create(new, batch_size=BATCH)
        AccountEvent.objects.bulk_create(
            [
                AccountEvent(
                    account_id=c.account_id,
                    contact=c,
                    actor=self.actor,
                    verb=AccountEventVerb.CONTACT_CREATED,
                    created_at=self.now,
                    data={
                        "contact_name": str(c),
                        "changes": {k: {"old": "", "new": getattr(c, k)} for k in fields if getattr(c, k)},
                        "import_id": self.job.pk,
                    },
                )
                for c in created
            ],
            batch_size=BATCH,
        )
        self.created_ids["contact"] = [c.pk for c in created]
        self.counts["created"] = len(created)
        if updates:
            existing = Contact.objects.select_related("account").in_bulk([r.duplicate_of for r in updates])
            self._update(Contact, updates, fields, AccountEventVerb.CONTACT_EDITED, "contact", existing)

    # deals ---------------------------------------------------------------------------------------------

    def deals(self, checked: list[rows.Row]) -> None:
        owner_of = {rows.norm(r.values["account"]): r.values["owner_id"] for r in checked}
        accounts = self._accounts_for([r.values["account"] for r in checked], owner_of)
        # In batches: memory stays bounded on large files, and the progress bar moves as rows
        # are written rather than when they are planned.
        for first in range(0, len(checked), BATCH):
            self._deal_batch(checked[first : first + BATCH], accounts)
            self.done += len(checked[first : first + BATCH])
            progress.set_progress(self.job.pk, self.done)
        # A target account becomes a prospect with its first deal, as opportunity_create does.
        targets = list(
            Account.objects.filter(pk__in=set(accounts.values()), status=AccountStatus.TARGET).values_list(
                "pk", flat=True
            )
        )
        Account.objects.filter(pk__in=targets).update(status=AccountStatus.PROSPECT)
        AccountEvent.objects.bulk_create(
            [
                AccountEvent(
                    account_id=pk,
                    actor=self.actor,
                    verb=AccountEventVerb.ACCOUNT_EDITED,
                    created_at=self.now,
                    data={
                        "reason": "its first deal was opened",
                        "changes": {"status": {"old": AccountStatus.TARGET, "new": AccountStatus.PROSPECT}},
                        "import_id": self.job.pk,
                    },
                )
                for pk in targets
            ],
            batch_size=BATCH,
        )
        ids = self.created_ids["opportunity"]
        for start in range(0, len(ids), 20_000):
            event_states_rebuild(opportunity_ids=ids[start : start + 20_000])

    def _deal_batch(self, batch: list[rows.Row], accounts: dict[str, int]) -> None:
        plans = []
        for row in batch:
            v = row.values
            v["account_id"] = accounts[rows.norm(v["account"])]
            plans.append(
                deal_history(v, process=self.ctx.process, actor=self.actor, now=self.now, stages=self.ctx.ordered)
            )
        # A closed deal keeps its account's segment as it closed, as closing through the services does.
        accounts_by_id = Account.objects.in_bulk({p.opportunity.account_id for p in plans})
        for plan in plans:
            plan.opportunity.account = accounts_by_id[plan.opportunity.account_id]
            plan.opportunity.remember_closing_segment()
        created = Opportunity.objects.bulk_create([p.opportunity for p in plans])
        self.created_ids["opportunity"] += [o.pk for o in created]
        self.counts["created"] += len(created)
        # The services announce each deal they write, and the next pipeline-health sweep evaluates
        # the deals announced; these are written around the services, so they say so themselves.
        health_changes_record(opportunity_ids=[o.pk for o in created if o.is_open], now=self.now)
        events, milestones, activities, members, competitors, steps = [], [], [], [], [], []
        for plan in plans:
            for event in plan.events:
                event.opportunity_id = plan.opportunity.pk
            plan.events[0].data["import_id"] = self.job.pk
            events.extend(plan.events)
            for obj in plan.milestones + plan.activities + plan.members + plan.competitors + plan.steps:
                obj.opportunity_id = plan.opportunity.pk
            # A deal's competitors carry its filing, as the services keep it on them.
            filing = plan.opportunity.filing()
            for competitor in plan.competitors:
                for name, value in filing.items():
                    setattr(competitor, name, value)
            milestones += plan.milestones
            activities += plan.activities
            members += plan.members
            competitors += plan.competitors
            steps += plan.steps
        MilestoneCompletion.objects.bulk_create(milestones, batch_size=BATCH)
        Activity.objects.bulk_create(activities, batch_size=BATCH)
        BuyingTeamMember.objects.bulk_create(members, batch_size=BATCH)
        DealCompetitor.objects.bulk_create(competitors, batch_size=BATCH)
        NextStep.objects.bulk_create(steps, batch_size=BATCH)
        # The ids the events name exist only now.
        for plan in plans:
            for event, obj in plan.event_refs:
                event.data[{"activity": "activity_id", "step": "next_step_id"}[obj[0]]] = obj[1].pk
            if plan.steps:
                plan.opportunity.next_step = plan.steps[-1]
        OpportunityEvent.objects.bulk_create(events, batch_size=BATCH)
        Opportunity.objects.bulk_update([p.opportunity for p in plans if p.steps], ["next_step"], batch_size=BATCH)


# --- a past deal's history ---------------------------------------------------------------------------


@dataclass
class DealPlan:
    """One deal as the services would have left it, and the rows they would have written."""

    opportunity: Opportunity
    events: list = field(default_factory=list)
    milestones: list = field(default_factory=list)
    activities: list = field(default_factory=list)
    members: list = field(default_factory=list)
    competitors: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    # (event, ("activity" | "step", row)): the data key to fill with the row's id once saved.
    event_refs: list = field(default_factory=list)


def deal_history(v: dict, *, process: SalesProcess, actor, now: dt.datetime, stages=None) -> DealPlan:
    """The deal of one checked row and its history, in the order and shape the services write it:
    created, then day by day the buying team, milestones ticked, activities logged and stage
    moves, then the close (a won deal first moved to the last stage, as closing won does), and
    for an open deal its next step, set now."""
    from opportunities.models import Contact as ContactModel

    if stages is None:
        stages = list(process.stages.order_by("order", "id"))
    positions = {s.pk: i for i, s in enumerate(stages)}
    history = v["history"]
    first_stage, created_day = history[0]
    created_at = at(created_day)
    status = v["status"]
    opp = Opportunity(
        account_id=v["account_id"],
        process=process,
        stage=first_stage,
        furthest_stage=first_stage,
        owner_id=v["owner_id"],
        name=v["name"],
        amount=v["amount"],
        expected_close_date=v["expected"],
        source=v.get("source", ""),
        stage_entered_at=created_at,
        created_at=created_at,
        updated_at=created_at,
        version=1,
    )
    plan = DealPlan(opportunity=opp)

    def record(verb, when, **fields):
        event = OpportunityEvent(actor=actor, verb=verb, version=opp.version, created_at=when, **fields)
        plan.events.append(event)
        return event

    record(
        EventVerb.CREATED,
        created_at,
        to_stage=first_stage,
        data={
            "stage_name": first_stage.name,
            "amount": str(opp.amount),
            "expected_close_date": opp.expected_close_date.isoformat(),
            "owner_id": opp.owner_id,
            "source": opp.source,
        },
    )
    # Everything else that happened, by day; on one day in the order people work a deal.
    steps = []
    contacts = ContactModel.objects.in_bulk([pk for pk, _ in v["team"]]) if v["team"] else {}
    for contact_id, roles in v["team"]:
        steps.append((created_day, 0, "team", (contacts[contact_id], roles)))
    closed_day = v["closed"]
    for milestone, day in v["milestones"]:
        steps.append((min(day, closed_day) if closed_day else day, 1, "tick", milestone))
    for day, kind, subject in v["activities"]:
        steps.append((day, 2, "activity", (kind, subject)))
    for stage, day in history[1:]:
        steps.append((day, 3, "move", stage))
    steps.sort(key=lambda s: (s[0], s[1]))
    last_activity = None
    for day, _, what, item in steps:
        when = at(day)
        if what == "team":
            contact, roles = item
            plan.members.append(BuyingTeamMember(contact=contact, roles=roles, added_at=when))
            record(
                EventVerb.BUYING_TEAM_CHANGED,
                when,
                data={
                    "action": "added",
                    "contact": str(contact),
                    "contact_id": contact.pk,
                    "roles": [BuyingRole(r).label for r in roles],
                },
            )
            opp.updated_at = when
        elif what == "tick":
            milestone = item
            plan.milestones.append(
                MilestoneCompletion(milestone=milestone, completed_by=actor, completed_at=when, evidence="")
            )
            record(
                EventVerb.MILESTONE_TICKED,
                when,
                to_stage=milestone.stage,
                data={
                    "milestone_id": milestone.pk,
                    "milestone": milestone.name,
                    "stage_name": milestone.stage.name,
                    "evidence": "",
                },
            )
            opp.updated_at = when
        elif what == "activity":
            kind, subject = item
            activity = Activity(
                account_id=opp.account_id,
                kind=kind,
                subject=subject,
                occurred_at=when,
                created_by=actor,
                created_at=when,
            )
            plan.activities.append(activity)
            event = record(
                EventVerb.ACTIVITY_LOGGED,
                when,
                data={
                    "activity_id": None,
                    "kind": ActivityKind(kind).label.lower(),
                    "subject": subject,
                    "occurred_at": when.isoformat(),
                },
            )
            plan.event_refs.append((event, ("activity", activity)))
            last_activity = max(last_activity or when, when)
        elif what == "move":
            to_stage = item
            if to_stage.pk == opp.stage_id:
                continue
            opp.version += 1
            _move(opp, record, to_stage, when, positions)
    if status != OpportunityStatus.OPEN:
        _close(opp, plan, record, v, stages, positions, at(closed_day))
    elif v["next_step"]:
        step = NextStep(
            kind=NextStepKind.ACTION,
            description=v["next_step"],
            due_date=v["next_step_due"],
            owner_id=opp.owner_id,
            created_by=actor,
            created_at=now,
        )
        plan.steps.append(step)
        opp.version += 1
        event = record(
            EventVerb.NEXT_STEP_SET,
            now,
            data={
                "next_step_id": None,
                "kind": NextStepKind.ACTION,
                "description": step.description,
                "due_date": step.due_date.isoformat(),
                "replaced": None,
            },
        )
        plan.event_refs.append((event, ("step", step)))
        opp.updated_at = now
    opp.last_activity_at = last_activity
    return plan


def _move(opp: Opportunity, record, to_stage, when, positions, **extra) -> None:
    from_stage = opp.stage
    record(
        EventVerb.STAGE_MOVED,
        when,
        from_stage=from_stage,
        to_stage=to_stage,
        stage_entered_at=opp.stage_entered_at,
        data={
            "from_name": from_stage.name,
            "to_name": to_stage.name,
            "backwards": positions[to_stage.pk] < positions[from_stage.pk],
            "days_in_stage": (when - opp.stage_entered_at).days,
            **extra,
        },
    )
    opp.stage = to_stage
    if positions[to_stage.pk] > positions.get(opp.furthest_stage_id, -1):
        opp.furthest_stage = to_stage
    opp.stage_entered_at = when
    opp.updated_at = when


def _close(opp: Opportunity, plan: DealPlan, record, v: dict, stages, positions, when) -> None:
    opp.version += 1
    won = v["status"] == OpportunityStatus.WON
    competitor = v["competitor"]
    data = {"stage_name": opp.stage.name, "amount": str(opp.amount), "notes": ""}
    if won:
        if competitor is not None:
            data["beaten"] = [competitor.name]
            data["beaten_ids"] = [competitor.pk]
            plan.competitors.append(
                DealCompetitor(
                    competitor=competitor, beaten=True, status=DealCompetitorStatus.ELIMINATED, added_at=when
                )
            )
        final = stages[-1]
        if opp.stage_id != final.pk:
            here = positions[opp.stage_id]
            skipped = [s.name for s in stages[here + 1 : -1]]
            from_stage = opp.stage
            _move(opp, record, final, when, positions, on_close=True, skipped=skipped)
            opp.furthest_stage = final
            data |= {"stage_name": final.name, "from_stage_name": from_stage.name, "skipped": skipped}
        verb = EventVerb.CLOSED_WON
    else:
        reason = v["reason"]
        data |= {"reason": reason.name, "reason_id": reason.pk}
        if competitor is not None:
            data["lost_to"] = competitor.name
            data["lost_to_id"] = competitor.pk
            plan.competitors.append(
                DealCompetitor(competitor=competitor, status=DealCompetitorStatus.PREFERRED, added_at=when)
            )
        opp.lost_to = competitor
        opp.lost_reason = reason
        verb = EventVerb.CLOSED_LOST
    opp.status = OpportunityStatus.WON if won else OpportunityStatus.LOST
    opp.closed_on = v["closed"]
    opp.closed_stage = opp.stage
    record(verb, when, from_stage=opp.stage, stage_entered_at=opp.stage_entered_at, data=data)
    opp.updated_at = when


# --- undo ---------------------------------------------------------------------------------------------------


def undo_blockers(job: ImportJob) -> list[str]:
    """Why the import cannot be undone: what else has touched its rows since. Empty when it can."""
    if job.status != ImportStatus.DONE:
        return ["Only a finished import can be undone."]
    ids = job.created_ids or {}
    deals, accounts, contacts = ids.get("opportunity", []), ids.get("account", []), ids.get("contact", [])
    updated_accounts = [int(k) for k in ids.get("updated_account", {})]
    updated_contacts = [int(k) for k in ids.get("updated_contact", {})]
    reasons = []
    if OpportunityEvent.objects.filter(opportunity_id__in=deals, pk__gt=job.last_event_id).exists():
        reasons.append("Some of its deals have been changed since.")
    audits = AccountEvent.objects.filter(pk__gt=job.last_audit_id).exclude(data__import_id=job.pk)
    if audits.filter(
        Q(account_id__in=accounts + updated_accounts) | Q(contact_id__in=contacts + updated_contacts)
    ).exists():
        reasons.append("Some of its accounts or contacts have been changed since.")
    if Opportunity.objects.filter(account_id__in=accounts).exclude(pk__in=deals).exists():
        reasons.append("Deals have been opened on its accounts since.")
    if (
        Activity.objects.filter(Q(account_id__in=accounts) | Q(contacts__in=contacts))
        .exclude(opportunity_id__in=deals)
        .exists()
    ):
        reasons.append("Activities have been logged on its accounts or contacts since.")
    if BuyingTeamMember.objects.filter(contact_id__in=contacts).exclude(opportunity_id__in=deals).exists():
        reasons.append("Its contacts have been put on buying teams since.")
    return reasons


@transaction.atomic
def import_undo(job: ImportJob, *, actor, now: dt.datetime | None = None) -> ImportJob:
    """Remove everything the import created and restore what it updated, while nothing else has
    touched those rows; otherwise refuse and change nothing."""
    ensure_can_import(actor)
    now = now or timezone.now()
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    blockers = undo_blockers(job)
    if blockers:
        raise DomainError("This import cannot be undone: " + " ".join(blockers))
    ids = job.created_ids
    deals = ids.get("opportunity", [])
    Opportunity.objects.filter(pk__in=deals).update(next_step=None)
    for model in (DealCompetitor, BuyingTeamMember, MilestoneCompletion, Activity, NextStep, OpportunityEvent):
        model.objects.filter(opportunity_id__in=deals).delete()
    Opportunity.objects.filter(pk__in=deals).delete()
    Contact.objects.filter(pk__in=ids.get("contact", [])).delete()
    Account.objects.filter(pk__in=ids.get("account", [])).delete()
    for model, key in ((Account, "updated_account"), (Contact, "updated_contact")):
        for pk, old in ids.get(key, {}).items():
            model.objects.filter(pk=int(pk)).update(**old)
    # The audit rows of what it updated go with the change they described.
    AccountEvent.objects.filter(data__import_id=job.pk).delete()
    job.status = ImportStatus.UNDONE
    job.undone_at = now
    job.undone_by = actor
    job.save(update_fields=["status", "undone_at", "undone_by"])
    return job


def suggest_value_map(job: ImportJob) -> dict:
    """{field: {value in the file: suggested target}} for the mapped columns whose values name
    things (stages, owners, lost reasons, competitors), keeping what was already chosen."""
    header, table = read_job(job)
    suggested = {}
    for name in rows.VALUE_FIELDS[job.kind]:
        column = job.mapping.get(name)
        if not column or column not in header:
            continue
        values = rows.distinct_values(header, table, column)
        guesses = rows.suggest_values(name, values, job.process)
        chosen = (job.value_map or {}).get(name, {})
        suggested[name] = {value: chosen.get(value) or guesses.get(value, "") for value in values}
    return suggested


def sample_rows(job: ImportJob, count: int) -> list[dict]:
    """The first rows of the file by column, to show beside the mapping."""
    header, table = read_job(job)
    return [dict(zip(header, row, strict=False)) for row in table[:count]]


# --- export ------------------------------------------------------------------------------------------------


def export_request(*, actor, now: dt.datetime | None = None):
    """Queue a full export of what `actor` may read; the task runs after this transaction."""
    from .models import ExportJob
    from .tasks import run_export

    if not actor.is_authenticated:
        raise AccessDenied("Sign in to export.")
    job = ExportJob.objects.create(created_by=actor, created_at=now or timezone.now())
    run_export.delay_on_commit(job.pk)
    return job


def export_build(job, *, now: dt.datetime | None = None):
    """Write the export's zip (idempotent: a finished export is left alone)."""
    from .exporting import export_zip
    from .models import ExportStatus

    if job.status == ExportStatus.DONE:
        return job
    now = now or timezone.now()
    data = export_zip(job.created_by, now=now)
    job.file.save(f"lockstep-export-{now:%Y%m%d-%H%M}.zip", ContentFile(data), save=False)
    job.size = len(data)
    job.status = ExportStatus.DONE
    job.finished_at = now
    job.save()
    return job
