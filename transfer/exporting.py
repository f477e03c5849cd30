"""The full export of what a user may see: every table as JSON Lines, zipped, for backups and for
leaving — plus the accounts, contacts and deals in the import's own format (`import/`), so that
the same file brings the data into an empty Lockstep (`transfer.services`)."""

import datetime as dt
import io
import json
import zipfile
from collections import defaultdict

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from opportunities.models import (
    Account,
    AccountEvent,
    Activity,
    BuyingTeamMember,
    Competitor,
    Contact,
    DealCompetitor,
    EventVerb,
    LostReason,
    MilestoneCompletion,
    NextStep,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
)
from people.models import Team, User
from pipeline.models import Flag, Quota
from postmortem.models import Lesson, Review
from stages.models import Milestone, SalesProcess, Stage

CHUNK = 2000


def tables(user) -> dict:
    """{file name: queryset} of every table `user` may read, their rows limited by the same
    `for_user` rules as the pages."""
    deals = Opportunity.objects.for_user(user)
    accounts = Account.objects.for_user(user)
    return {
        "processes": SalesProcess.objects.all(),
        "stages": Stage.objects.all(),
        "milestones": Milestone.objects.all(),
        "lost_reasons": LostReason.objects.all(),
        "competitors": Competitor.objects.all(),
        "teams": Team.objects.all(),
        "users": User.objects.values("id", "username", "first_name", "last_name", "email", "role", "team_id"),
        "accounts": accounts,
        "account_events": AccountEvent.objects.filter(account__in=accounts),
        "contacts": Contact.objects.for_user(user),
        "opportunities": deals,
        "opportunity_events": OpportunityEvent.objects.filter(opportunity__in=deals),
        "activities": Activity.objects.for_user(user),
        "buying_team": BuyingTeamMember.objects.filter(opportunity__in=deals),
        "milestone_completions": MilestoneCompletion.objects.filter(opportunity__in=deals),
        "deal_competitors": DealCompetitor.objects.filter(opportunity__in=deals),
        "next_steps": NextStep.objects.filter(opportunity__in=deals),
        "flags": Flag.objects.for_user(user),
        "quotas": Quota.objects.filter(Q(user=user) | Q(user__in=deals.values("owner")))
        if not user.is_admin
        else Quota.objects.all(),
        "reviews": Review.objects.for_user(user),
        "lessons": Lesson.objects.for_user(user),
    }


def _lines(queryset):
    """Each row as one line of JSON: its columns as stored (foreign keys as ids)."""
    rows = queryset.order_by("pk")
    if rows._iterable_class.__name__ != "ValuesIterable":
        rows = rows.values()
    for row in rows.iterator(chunk_size=CHUNK):
        yield json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n"


def export_zip(user, *, now: dt.datetime) -> bytes:
    """The zip of every readable table and the import-format files."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, queryset in tables(user).items():
            archive.writestr(f"tables/{name}.jsonl", "".join(_lines(queryset)))
        for name, rows in import_files(user).items():
            archive.writestr(f"import/{name}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        archive.writestr(
            "README.txt",
            f"Lockstep export for {user.username}, {now:%Y-%m-%d %H:%M} UTC.\n"
            "tables/: every table you may read, one JSON object per line.\n"
            "import/: accounts, contacts and deals in the import's format; import them in that order.\n",
        )
    return out.getvalue()


# --- the import's format ------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """A value inside a history column, where | and ; separate items and parts."""
    return (text or "").replace("|", "/").replace(";", ",")


def import_files(user) -> dict[str, list[dict]]:
    accounts = list(Account.objects.for_user(user).select_related("owner").order_by("pk"))
    contacts = list(Contact.objects.for_user(user).select_related("account").order_by("pk"))
    account_rows = [
        {
            "name": a.name,
            "website": a.website,
            "industry": a.industry,
            "region": a.region,
            "employee_band": a.employee_band,
            "revenue_band": a.revenue_band,
            "status": a.status,
            "owner": a.owner.username,
        }
        for a in accounts
    ]
    contact_rows = [
        {
            "first_name": c.first_name,
            "last_name": c.last_name,
            "email": c.email,
            "title": c.title,
            "phone": c.phone,
            "account": c.account.name,
        }
        for c in contacts
    ]
    return {"accounts": account_rows, "contacts": contact_rows, "deals": list(deal_rows(user))}


def deal_rows(user):
    """Each deal the user may read as one import row, its history in the history columns."""
    deals = Opportunity.objects.for_user(user).select_related(
        "account", "owner", "process", "stage", "lost_reason", "lost_to", "next_step"
    )
    for start in range(0, deals.count(), CHUNK):
        chunk = list(deals.order_by("pk")[start : start + CHUNK])
        ids = [d.pk for d in chunk]
        entries = defaultdict(list)
        events = OpportunityEvent.objects.filter(
            opportunity_id__in=ids, verb__in=[EventVerb.CREATED, EventVerb.STAGE_MOVED]
        ).select_related("to_stage")
        for event in events.order_by("created_at", "pk"):
            if event.data.get("on_close"):
                continue
            entries[event.opportunity_id].append(f"{_clean(event.to_stage.name)};{event.created_at.date():%Y-%m-%d}")
        created = dict(
            OpportunityEvent.objects.filter(opportunity_id__in=ids, verb=EventVerb.CREATED).values_list(
                "opportunity_id", "created_at"
            )
        )
        ticks = defaultdict(list)
        for c in MilestoneCompletion.objects.filter(opportunity_id__in=ids).select_related("milestone__stage"):
            name = _clean(f"{c.milestone.stage.name}: {c.milestone.name}")
            ticks[c.opportunity_id].append(f"{name};{c.completed_at.date():%Y-%m-%d}")
        activities = defaultdict(list)
        for a in Activity.objects.filter(opportunity_id__in=ids).order_by("occurred_at", "pk"):
            activities[a.opportunity_id].append(f"{a.occurred_at.date():%Y-%m-%d};{a.kind};{_clean(a.subject)}")
        team = defaultdict(list)
        for m in BuyingTeamMember.objects.filter(opportunity_id__in=ids).select_related("contact"):
            if m.contact.email:
                team[m.opportunity_id].append(f"{m.contact.email};{','.join(m.roles)}")
        beaten = dict(
            DealCompetitor.objects.filter(opportunity_id__in=ids, beaten=True).values_list(
                "opportunity_id", "competitor__name"
            )
        )
        for d in chunk:
            history = entries.get(d.pk, [])
            last_stage = history[-1].split(";")[0] if history else d.stage.name
            competitor = d.lost_to.name if d.lost_to else beaten.get(d.pk, "")
            step = d.next_step
            yield {
                "name": d.name,
                "account": d.account.name,
                "amount": str(d.amount),
                "stage": last_stage,
                "status": d.status,
                "owner": d.owner.username,
                "process": d.process.name,
                "expected_close_date": d.expected_close_date.isoformat(),
                "created_date": (created.get(d.pk) or d.created_at).date().isoformat(),
                "closed_date": d.closed_on.isoformat() if d.closed_on else "",
                "source": d.source,
                "lost_reason": d.lost_reason.name if d.lost_reason and d.status == OpportunityStatus.LOST else "",
                "competitor": competitor,
                "stage_history": "|".join(history),
                "milestones": "|".join(ticks.get(d.pk, [])),
                "activities": "|".join(activities.get(d.pk, [])),
                "buying_team": "|".join(team.get(d.pk, [])),
                "next_step": str(step) if step and d.is_open else "",
                "next_step_due": step.due_date.isoformat() if step and d.is_open else "",
            }
