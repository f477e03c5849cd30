"""Everything that changes accounts, contacts and opportunities.

Every interface (HTML views, the API, the admin's actions, seed scripts that model real use)
calls these functions. Each one checks the rules, owns its transaction and writes an
`OpportunityEvent` for every state change inside it.
"""

import contextvars
import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from people.access import can_override, can_reopen
from stages.cleaning import clean_text
from stages.models import Milestone, RoleEnforcement, SalesProcess, Stage, StageRoleRequirement

from .errors import AccessDenied, ConcurrentEdit, DomainError, MissingMilestones
from .history import event_states_rebuild
from .models import (
    SOURCE_NOT_SET,
    Account,
    AccountContactRole,
    AccountEvent,
    AccountEventVerb,
    AccountNextStep,
    AccountPlan,
    AccountStatus,
    Activity,
    ActivityKind,
    BuyingRole,
    BuyingTeamMember,
    Competitor,
    Contact,
    DealCompetitor,
    DealCompetitorStatus,
    EventVerb,
    LeadSource,
    LostReason,
    MilestoneCompletion,
    NextStep,
    NextStepKind,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
    account_can_edit,
)
from .signals import opportunity_changed, opportunity_closed, opportunity_refiled, opportunity_reopened

EARLIEST_DATE = dt.date(2000, 1, 1)
# The following step committed when a completed one leaves the deal closing.
CLOSING_STEP = "Close the deal"
MAX_YEARS_AHEAD = 10


# --- helpers ------------------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _today(now: dt.datetime) -> dt.date:
    return timezone.localdate(now)


def _require_text(value: str | None, label: str, *, max_length: int) -> str:
    value = clean_text(value or "")
    if not value:
        raise DomainError(f"{label} is required.", field=label.lower().replace(" ", "_"))
    if len(value) > max_length:
        raise DomainError(f"{label} must be at most {max_length} characters.")
    return value


def _clean_amount(amount) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise DomainError("Amount must be a number.", field="amount") from None
    if not value.is_finite():
        raise DomainError("Amount must be a number.", field="amount")
    if value < 0:
        raise DomainError("Amount cannot be negative.", field="amount")
    if value >= Decimal("1e12"):
        raise DomainError("Amount is too large.", field="amount")
    return value.quantize(Decimal("0.01"))


def _clean_source(source) -> str:
    """A lead source from `LeadSource`, or "" for not set."""
    value = "" if source is None else source
    if not isinstance(value, str) or (value and value not in LeadSource.values):
        known = ", ".join(LeadSource.labels)
        raise DomainError(f"Lead source must be one of: {known} (or left empty).", field="source")
    return value


def _source_words(source: str) -> str:
    """A lead source as the history shows it."""
    return LeadSource(source).label if source else SOURCE_NOT_SET


def _check_date(value: dt.date | None, label: str, *, today: dt.date, not_before: dt.date | None = None) -> dt.date:
    if not isinstance(value, dt.date):
        raise DomainError(f"{label} is required.")
    lower = not_before or EARLIEST_DATE
    if value < lower:
        raise DomainError(f"{label} cannot be before {lower:%Y-%m-%d}.")
    if value > dt.date(today.year + MAX_YEARS_AHEAD, today.month, min(today.day, 28)):
        raise DomainError(f"{label} is more than {MAX_YEARS_AHEAD} years away.")
    return value


def _record(opportunity: Opportunity, *, actor, verb: str, now: dt.datetime, **fields) -> OpportunityEvent:
    event = OpportunityEvent.objects.create(
        opportunity=opportunity, actor=actor, verb=verb, version=opportunity.version, created_at=now, **fields
    )
    return event


# The deals written by the services running now, in the order they finished: {opportunity id:
# now}. None outside any service.
_changed_deals: contextvars.ContextVar[dict | None] = contextvars.ContextVar("changed_deals", default=None)


def _announces(service):
    """When `service` has finished writing, still inside its transaction: replay the deal's
    history into its state intervals, then send `opportunity_changed` so listeners derive
    their data from the final state of the row.

    A service called by another (creating a deal sets its first next step) leaves this to the
    outer one, so each write is replayed and announced once, when it is complete."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        changed = _changed_deals.get()
        outermost = changed is None
        if outermost:
            changed = {}
            token = _changed_deals.set(changed)
        try:
            result = service(*args, **kwargs)
        finally:
            if outermost:
                _changed_deals.reset(token)
        if args and isinstance(args[0], Opportunity):
            opportunity_id = args[0].pk
        elif isinstance(result, Opportunity):
            opportunity_id = result.pk
        else:
            opportunity_id = getattr(result, "opportunity_id", None)
        if opportunity_id is not None:
            changed.setdefault(opportunity_id, kwargs.get("now") or timezone.now())
        if outermost:
            for changed_id, now in changed.items():
                event_states_rebuild(opportunity_ids=[changed_id])
                opportunity_changed.send(sender=Opportunity, opportunity_id=changed_id, now=now)
        return result

    return wrapper


def _filing_follows(opp: Opportunity, *, actor) -> None:
    """After the deal's status, close day, owner or process changed (and was saved): the rows
    that carry them (`Opportunity.filing`) follow, its competitors' here and, through
    `opportunity_refiled`, those of the apps above."""
    DealCompetitor.objects.filter(opportunity=opp).update(**opp.filing())
    opportunity_refiled.send(sender=Opportunity, opportunity=opp, actor=actor)


def _lock(opportunity: Opportunity) -> Opportunity:
    """Reload the row under a write lock so rules are checked against what is stored now."""
    return (
        Opportunity.objects.select_for_update(of=("self",))
        .select_related("stage", "process", "owner", "account")
        .get(pk=opportunity.pk)
    )


def _mark_touched(opportunity: Opportunity, now: dt.datetime) -> None:
    """Changes that leave the deal's own fields alone (ticks, the buying team) still count as
    work on it: idle detection reads `updated_at`. The version is not bumped, so an open
    edit form of the deal's details is not invalidated by them."""
    Opportunity.objects.filter(pk=opportunity.pk).update(updated_at=now)


def _ensure_can_edit(opportunity: Opportunity, actor) -> None:
    if not opportunity.can_edit(actor):
        raise AccessDenied("You can view this opportunity but not change it.")


def _ensure_open(opportunity: Opportunity, doing: str) -> None:
    if not opportunity.is_open:
        raise DomainError(f"This opportunity is closed {opportunity.status}; reopen it before you {doing}.")


def _ensure_version(opportunity: Opportunity, expected_version: int | None, undone: str) -> None:
    """Refuse an action taken on a page (or a read) older than the deal's current version.

    `None` means the caller did not say which version it saw, and the action is not checked:
    scripts and older clients keep working, every page and the board send it."""
    if expected_version is not None and opportunity.version != expected_version:
        raise ConcurrentEdit(
            f"Someone else changed this opportunity meanwhile; nothing was {undone}.",
            changes=changes_since(opportunity, expected_version),
            current_version=opportunity.version,
        )


def _touch(opportunity: Opportunity, now: dt.datetime, *fields: str) -> None:
    opportunity.version += 1
    opportunity.updated_at = now
    opportunity.save(update_fields=[*fields, "version", "updated_at"])


def ordered_stages(process: SalesProcess) -> list[Stage]:
    return list(process.stages.order_by("order", "id"))


def missing_required_milestones(opportunity: Opportunity, stages: Iterable[Stage]) -> list[Milestone]:
    """Required milestones of `stages` not yet ticked on `opportunity`, in process order."""
    stage_ids = [s.pk for s in stages]
    done = MilestoneCompletion.objects.filter(opportunity=opportunity).values("milestone_id")
    return list(
        Milestone.objects.live()
        .filter(stage_id__in=stage_ids, is_required=True)
        .exclude(pk__in=done)
        .select_related("stage")
        .order_by("stage__order", "stage_id", "order", "id")
    )


def missing_buying_roles(
    opportunity: Opportunity, stages: Iterable[Stage], *, enforced_only: bool = True
) -> list[StageRoleRequirement]:
    """Role requirements of `stages` (enforced ones only, unless asked) that nobody on the deal's
    buying team plays, in process order. Two queries at most, one when none are set."""
    requirements = StageRoleRequirement.objects.filter(stage_id__in=[s.pk for s in stages]).select_related("stage")
    if enforced_only:
        requirements = requirements.filter(enforcement=RoleEnforcement.ENFORCED)
    requirements = list(requirements.order_by("stage__order", "stage_id", "role"))
    if not requirements:
        return []
    covered = {
        role
        for roles in BuyingTeamMember.objects.filter(opportunity=opportunity).values_list("roles", flat=True)
        for role in roles
    }
    return [r for r in requirements if r.role not in covered]


def _gate(opportunity: Opportunity, *, actor, stages: list[Stage], override_reason: str, action: str, now) -> dict:
    """Refuse `action` while required milestones of `stages` are open, or enforced buying roles
    of `stages` are missing from the buying team, unless overridden.

    Returns the data of the override event to write, or {} when nothing was missing.
    """
    missing = missing_required_milestones(opportunity, stages)
    roles = missing_buying_roles(opportunity, stages)
    if not missing and not roles:
        return {}
    names = [f"{m.stage.name}: {m.name}" for m in missing]
    names += [f"{r.stage.name}: {r.get_role_display().lower()} on the buying team" for r in roles]
    reason = (override_reason or "").strip()
    if not reason:
        what = "required milestones are not done" if not roles else "required milestones or buying roles are missing"
        raise MissingMilestones(f"Cannot {action}: {what} — {'; '.join(names)}.", missing=names)
    if not can_override(actor, opportunity):
        raise AccessDenied("Only the deal's manager or an admin may override missing milestones or buying roles.")
    return {"missing": names, "reason": reason, "action": action}


# --- accounts and contacts ------------------------------------------------------------------------

ACCOUNT_FIELDS = ("name", "website", "industry", "employee_band", "region", "revenue_band", "status")


def _clean_account_fields(fields: dict) -> dict:
    from .models import EmployeeBand, RevenueBand

    cleaned = dict(fields)
    cleaned["name"] = _require_text(fields.get("name"), "Name", max_length=200)
    for key, choices in (
        ("employee_band", EmployeeBand),
        ("revenue_band", RevenueBand),
        ("status", AccountStatus),
    ):
        value = fields.get(key) or ""
        if value and value not in choices.values:
            raise DomainError(f"“{value}” is not a valid {key.replace('_', ' ')}.")
        cleaned[key] = value
    if not cleaned.get("status"):
        cleaned["status"] = AccountStatus.TARGET
    cleaned["website"] = (fields.get("website") or "").strip()
    for key in ("industry", "region"):
        cleaned[key] = clean_text(fields.get(key) or "")
    return cleaned


def _changes(obj, data: dict, fields) -> dict:
    """{field: {"old", "new"}} for each of `fields` whose value in `data` differs from `obj`'s."""
    return {key: {"old": getattr(obj, key), "new": data[key]} for key in fields if getattr(obj, key) != data[key]}


def _audit(account: Account, *, actor, verb: str, now: dt.datetime, contact: Contact | None = None, **data):
    return AccountEvent.objects.create(
        account=account, contact=contact, actor=actor, verb=verb, data=data, created_at=now
    )


def _lock_account(account: Account) -> Account:
    """The stored row under a write lock: the audit's old values are what is stored now."""
    return Account.objects.select_for_update(of=("self",)).select_related("owner").get(pk=account.pk)


@transaction.atomic
def account_create(*, actor, name: str, owner=None, now: dt.datetime | None = None, **fields) -> Account:
    now = _now(now)
    data = _clean_account_fields({"name": name, **fields})
    unknown = set(data) - set(ACCOUNT_FIELDS)
    if unknown:
        raise DomainError(f"Unknown account fields: {', '.join(sorted(unknown))}.")
    account = Account.objects.create(owner=owner or actor, created_at=now, **data)
    changes = {key: {"old": "", "new": value} for key, value in data.items() if value}
    _audit(account, actor=actor, verb=AccountEventVerb.ACCOUNT_CREATED, now=now, name=account.name, changes=changes)
    return account


def _check_account_owner(actor, account: Account, owner) -> None:
    """Who owns an account decides who reads it (under "team"/"own") and who edits it: managers
    hand accounts on within the teams they manage, admins to anyone."""
    if not (actor.is_admin or actor.is_manager):
        raise AccessDenied("Only managers and admins can hand an account to someone else.")
    if not owner.is_active:
        raise DomainError(f"{owner} is not an active user.", field="owner")
    if not actor.is_admin and not (owner.pk == actor.pk or actor.manages(owner)):
        raise AccessDenied(f"You can only hand accounts to people you manage; {owner} is not one of them.")


@transaction.atomic
def account_update(account: Account, *, actor, owner=None, now: dt.datetime | None = None, **fields) -> Account:
    """Change the account's details (and, for managers and admins, its owner); one audit row
    lists every field that changed (none: no row)."""
    now = _now(now)
    account = _lock_account(account)
    if not account_can_edit(actor, account):
        raise AccessDenied("You can view this account but not change it.")
    merged = {key: getattr(account, key) for key in ACCOUNT_FIELDS}
    merged.update(fields)
    data = _clean_account_fields(merged)
    changes = _changes(account, data, ACCOUNT_FIELDS)
    update_fields = list(changes)
    extra = {}
    if owner is not None and owner.pk != account.owner_id:
        _check_account_owner(actor, account, owner)
        changes["owner"] = {"old": str(account.owner), "new": str(owner)}
        extra["owner_ids"] = {"old": account.owner_id, "new": owner.pk}
        account.owner = owner
        update_fields.append("owner")
    if not changes:
        return account
    for key in ACCOUNT_FIELDS:
        setattr(account, key, data[key])
    account.save(update_fields=update_fields)
    _audit(account, actor=actor, verb=AccountEventVerb.ACCOUNT_EDITED, now=now, changes=changes, **extra)
    return account


CONTACT_FIELDS = ("first_name", "last_name", "title", "email", "phone")


def _clean_contact(fields: dict) -> dict:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    data = {
        "first_name": _require_text(fields.get("first_name"), "First name", max_length=100),
        "last_name": _require_text(fields.get("last_name"), "Last name", max_length=100),
        "title": clean_text(fields.get("title") or "")[:150],
        "email": (fields.get("email") or "").strip(),
        "phone": (fields.get("phone") or "").strip()[:50],
    }
    if data["email"]:
        try:
            validate_email(data["email"])
        except ValidationError:
            raise DomainError(f"“{data['email']}” is not a valid email address.", field="email") from None
    return data


@transaction.atomic
def contact_create(*, actor, account: Account, now: dt.datetime | None = None, **fields) -> Contact:
    # Anyone who may see the account may add people to it: adding changes nobody's data (and is
    # audited), and a rep building a buying team must not wait for the account's owner.
    now = _now(now)
    contact = Contact.objects.create(account=account, created_at=now, **_clean_contact(fields))
    changes = {key: {"old": "", "new": getattr(contact, key)} for key in CONTACT_FIELDS if getattr(contact, key)}
    _audit(
        account,
        actor=actor,
        verb=AccountEventVerb.CONTACT_CREATED,
        now=now,
        contact=contact,
        contact_name=str(contact),
        changes=changes,
    )
    return contact


@transaction.atomic
def contact_update(contact: Contact, *, actor, now: dt.datetime | None = None, **fields) -> Contact:
    """Change a contact's details; editing contacts follows editing their account."""
    now = _now(now)
    contact = Contact.objects.select_for_update(of=("self",)).select_related("account__owner").get(pk=contact.pk)
    if not account_can_edit(actor, contact.account):
        raise AccessDenied("You can view this contact but not change it.")
    merged = {key: getattr(contact, key) for key in CONTACT_FIELDS}
    merged.update(fields)
    data = _clean_contact(merged)
    changes = _changes(contact, data, CONTACT_FIELDS)
    if not changes:
        return contact
    for key in changes:
        setattr(contact, key, data[key])
    contact.save(update_fields=list(changes))
    _audit(
        contact.account,
        actor=actor,
        verb=AccountEventVerb.CONTACT_EDITED,
        now=now,
        contact=contact,
        contact_name=str(contact),
        changes=changes,
    )
    return contact


# --- opportunities ----------------------------------------------------------------------------------


def _check_owner(actor, owner, *, opportunity: Opportunity | None = None) -> None:
    """Reps own their own deals; managers assign within their teams; admins assign anyone."""
    if owner.pk == actor.pk:
        return
    if not owner.is_active:
        raise DomainError(f"{owner} is not an active user.")
    if actor.is_admin or (actor.is_manager and actor.manages(owner)):
        return
    raise AccessDenied(f"You cannot assign deals to {owner}.")


@transaction.atomic
@_announces
def opportunity_create(
    *,
    actor,
    account: Account,
    process: SalesProcess,
    name: str,
    amount,
    expected_close_date: dt.date,
    owner=None,
    source: str = "",
    next_step_description: str = "",
    next_step_due_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Opportunity:
    now = _now(now)
    today = _today(now)
    owner = owner or actor
    _check_owner(actor, owner)
    if not process.is_active:
        raise DomainError(f"The sales process “{process}” no longer takes new deals.")
    first = process.first_stage()
    if first is None:
        raise DomainError(f"The sales process “{process}” has no stages yet; ask an admin to add them.")
    opportunity = Opportunity.objects.create(
        account=account,
        process=process,
        stage=first,
        furthest_stage=first,
        owner=owner,
        name=_require_text(name, "Name", max_length=200),
        amount=_clean_amount(amount),
        expected_close_date=_check_date(expected_close_date, "Expected close date", today=today, not_before=today),
        source=_clean_source(source),
        stage_entered_at=now,
        created_at=now,
        updated_at=now,
    )
    _record(
        opportunity,
        actor=actor,
        verb=EventVerb.CREATED,
        now=now,
        to_stage=first,
        data={
            "stage_name": first.name,
            "amount": str(opportunity.amount),
            "expected_close_date": opportunity.expected_close_date.isoformat(),
            "owner_id": owner.pk,
            "source": opportunity.source,
        },
    )
    if Account.objects.filter(pk=account.pk, status=AccountStatus.TARGET).update(status=AccountStatus.PROSPECT):
        _audit(
            account,
            actor=actor,
            verb=AccountEventVerb.ACCOUNT_EDITED,
            now=now,
            # Not the deal's name: whoever reads the account's history may not see the deal.
            reason="its first deal was opened",
            changes={"status": {"old": AccountStatus.TARGET, "new": AccountStatus.PROSPECT}},
        )
    if next_step_description or next_step_due_date:
        next_step_set(opportunity, actor=actor, description=next_step_description, due_date=next_step_due_date, now=now)
        # next_step_set wrote through its own copy of the row (version, next_step).
        opportunity.refresh_from_db()
    return opportunity


def changes_since(opportunity: Opportunity, version: int) -> list[str]:
    events = (
        OpportunityEvent.objects.filter(opportunity=opportunity, version__gt=version)
        .select_related("actor")
        .order_by("created_at", "id")
    )
    return [f"{e.actor or 'System'}: {e.describe()}" for e in events]


@transaction.atomic
@_announces
def opportunity_update(
    opportunity: Opportunity,
    *,
    actor,
    expected_version: int,
    name: str | None = None,
    amount=None,
    expected_close_date: dt.date | None = None,
    owner=None,
    description: str | None = None,
    source: str | None = None,
    account: Account | None = None,
    process: SalesProcess | None = None,
    stage: Stage | None = None,
    override_reason: str = "",
    now: dt.datetime | None = None,
) -> Opportunity:
    """Edit the deal's details. Refused if anyone changed it since `expected_version`.

    Each argument left None keeps its value. Moving the deal to another sales `process` needs
    the `stage` of that process it lands in (stages do not map by themselves: the processes
    may have different steps), through the gate of that process's stages before it."""
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    if opp.version != expected_version:
        changes = changes_since(opp, expected_version)
        raise ConcurrentEdit(
            "Someone else changed this opportunity while you were editing; nothing was saved. "
            "Review their changes, then save again.",
            changes=changes,
            current_version=opp.version,
        )
    # What a closed deal was worth and when it closed are what the forecast and the win rates
    # were built on: only the deal's manager or an admin corrects them.
    worth_changes = (amount is not None and _clean_amount(amount) != opp.amount) or (
        expected_close_date is not None and expected_close_date != opp.expected_close_date
    )
    if opp.is_closed and worth_changes and not can_override(actor, opp):
        raise DomainError("This deal is closed: only its manager or an admin can change its amount or close date.")
    # Checked before anything is written: a bad source refuses the whole edit.
    new_source = None if source is None else _clean_source(source)
    changed: list[str] = []
    if name is not None:
        new_name = _require_text(name, "Name", max_length=200)
        if new_name != opp.name:
            opp.version += 1
            _record(
                opp,
                actor=actor,
                verb=EventVerb.EDITED,
                now=now,
                data={"changes": {"name": {"old": opp.name, "new": new_name}}},
            )
            opp.name = new_name
            changed.append("name")
    if amount is not None:
        new_amount = _clean_amount(amount)
        if new_amount != opp.amount:
            opp.version += 1
            _record(
                opp,
                actor=actor,
                verb=EventVerb.AMOUNT_CHANGED,
                now=now,
                data={"old": str(opp.amount), "new": str(new_amount)},
            )
            opp.amount = new_amount
            changed.append("amount")
    if expected_close_date is not None and expected_close_date != opp.expected_close_date:
        new_date = _check_date(expected_close_date, "Expected close date", today=_today(now))
        pushed = new_date > opp.expected_close_date
        if pushed:
            opp.close_date_push_count += 1
            changed.append("close_date_push_count")
        opp.version += 1
        _record(
            opp,
            actor=actor,
            verb=EventVerb.CLOSE_DATE_CHANGED,
            now=now,
            data={
                "old": opp.expected_close_date.isoformat(),
                "new": new_date.isoformat(),
                "pushed_later": pushed,
                "push_count": opp.close_date_push_count,
            },
        )
        opp.expected_close_date = new_date
        changed.append("expected_close_date")
    if description is not None:
        new_description = (description or "").strip()
        if len(new_description) > 10000:
            raise DomainError("Description must be at most 10000 characters.", field="description")
        if new_description != opp.description:
            opp.version += 1
            change = {"description": {"old": opp.description, "new": new_description}}
            _record(opp, actor=actor, verb=EventVerb.EDITED, now=now, data={"changes": change})
            opp.description = new_description
            changed.append("description")
    if new_source is not None and new_source != opp.source:
        opp.version += 1
        change = {"source": {"old": _source_words(opp.source), "new": _source_words(new_source)}}
        _record(opp, actor=actor, verb=EventVerb.EDITED, now=now, data={"changes": change})
        opp.source = new_source
        changed.append("source")
    if account is not None and account.pk != opp.account_id:
        _change_account(opp, actor=actor, account=account, now=now)
        changed.append("account")
    if process is not None and process.pk != opp.process_id:
        _change_process(opp, actor=actor, process=process, stage=stage, override_reason=override_reason, now=now)
        changed += ["process", "stage", "furthest_stage", "stage_entered_at"]
    if owner is not None and owner.pk != opp.owner_id:
        _reassign(opp, actor=actor, owner=owner, now=now)
        changed.append("owner")
    if changed:
        opp.updated_at = now
        opp.save(update_fields=[*changed, "version", "updated_at"])
    if "owner" in changed or "process" in changed:
        _filing_follows(opp, actor=actor)
    return opp


def _change_account(opp: Opportunity, *, actor, account: Account, now) -> None:
    """The deal was filed under the wrong company. Its buying team works at the old one, so it
    must be taken off first (contacts belong to their account)."""
    if BuyingTeamMember.objects.filter(opportunity=opp).exists():
        raise DomainError(
            f"Take the buying team off first: its people work at {opp.account}, not at {account}.", field="account"
        )
    opp.version += 1
    _record(
        opp,
        actor=actor,
        verb=EventVerb.EDITED,
        now=now,
        data={
            "changes": {"account": {"old": opp.account.name, "new": account.name}},
            "account_ids": {"old": opp.account_id, "new": account.pk},
        },
    )
    opp.account = account


def _change_process(opp: Opportunity, *, actor, process: SalesProcess, stage: Stage | None, override_reason, now):
    """Move the open deal to `stage` of another sales process, as a stage move (so the replay and
    time in stage see it) through the gate of the new process's stages before `stage`."""
    _ensure_open(opp, "change its sales process")
    if not process.is_active:
        raise DomainError(f"The sales process “{process}” no longer takes deals.", field="process")
    stages = ordered_stages(process)
    if stage is None or stage.process_id != process.pk:
        names = ", ".join(s.name for s in stages)
        raise DomainError(f"Choose the stage of {process.name} the deal moves to ({names}).", field="to_stage")
    there = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    override = _gate(
        opp,
        actor=actor,
        stages=stages[:there],
        override_reason=override_reason,
        action=f"move to {process.name}: {stage.name}",
        now=now,
    )
    from_stage = opp.stage
    opp.version += 1
    if override:
        _record(
            opp,
            actor=actor,
            verb=EventVerb.OVERRIDE_USED,
            now=now,
            from_stage=from_stage,
            to_stage=stage,
            data=override,
        )
    _record(
        opp,
        actor=actor,
        verb=EventVerb.STAGE_MOVED,
        now=now,
        from_stage=from_stage,
        to_stage=stage,
        stage_entered_at=opp.stage_entered_at,
        data={
            "from_name": from_stage.name,
            "to_name": stage.name,
            "backwards": False,
            "days_in_stage": opp.days_in_stage(now),
            "process_changed": {"old": opp.process.name, "new": process.name},
        },
    )
    opp.process = process
    opp.stage = stage
    opp.furthest_stage = stage
    opp.stage_entered_at = now


def _reassign(opp: Opportunity, *, actor, owner, now) -> None:
    if not (actor.is_admin or actor.is_manager):
        raise AccessDenied("Only managers and admins can reassign deals.")
    if not actor.is_admin and not (actor.manages(opp.owner) and actor.manages(owner)):
        raise AccessDenied(f"You can only reassign deals among the teams you manage; {owner} is not in them.")
    if not owner.is_active:
        raise DomainError(f"{owner} is not an active user.")
    opp.version += 1
    _record(
        opp,
        actor=actor,
        verb=EventVerb.OWNER_CHANGED,
        now=now,
        data={
            "old": opp.owner_id,
            "new": owner.pk,
            "old_name": str(opp.owner),
            "new_name": str(owner),
        },
    )
    # The open step follows the deal only if it was the old owner's: filter before reassigning.
    if opp.next_step_id:
        NextStep.objects.filter(pk=opp.next_step_id, owner_id=opp.owner_id).update(owner=owner)
    opp.owner = owner


@transaction.atomic
@_announces
def opportunity_reassign(opportunity: Opportunity, *, actor, owner, now: dt.datetime | None = None) -> Opportunity:
    """Hand the deal to `owner`: managers among the teams they manage, admins to anyone; the
    open next step follows if it was the old owner's."""
    now = _now(now)
    opp = _lock(opportunity)
    if owner.pk == opp.owner_id:
        return opp
    _reassign(opp, actor=actor, owner=owner, now=now)
    opp.updated_at = now
    opp.save(update_fields=["owner", "version", "updated_at"])
    _filing_follows(opp, actor=actor)
    return opp


@transaction.atomic
@_announces
def opportunity_move(
    opportunity: Opportunity,
    *,
    actor,
    to_stage: Stage,
    override_reason: str = "",
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Opportunity:
    """Move the deal to another stage of its process.

    Forward moves need every required milestone of the stages left behind; backward moves are
    always allowed and recorded. A manager or admin may override with a written reason.
    """
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "move it")
    _ensure_version(opp, expected_version, "moved")
    if to_stage.process_id != opp.process_id:
        raise DomainError(f"“{to_stage.name}” is not a stage of the {opp.process.name} process.")
    if to_stage.pk == opp.stage_id:
        raise DomainError(f"The opportunity is already in {to_stage.name}.")
    stages = ordered_stages(opp.process)
    positions = {s.pk: i for i, s in enumerate(stages)}
    here, there = positions[opp.stage_id], positions[to_stage.pk]
    forward = there > here
    override = {}
    if forward:
        override = _gate(
            opp,
            actor=actor,
            stages=stages[here:there],
            override_reason=override_reason,
            action=f"move to {to_stage.name}",
            now=now,
        )
    from_stage = opp.stage
    opp.version += 1
    if override:
        _record(
            opp,
            actor=actor,
            verb=EventVerb.OVERRIDE_USED,
            now=now,
            from_stage=from_stage,
            to_stage=to_stage,
            data=override,
        )
    _record(
        opp,
        actor=actor,
        verb=EventVerb.STAGE_MOVED,
        now=now,
        from_stage=from_stage,
        to_stage=to_stage,
        stage_entered_at=opp.stage_entered_at,
        data={
            "from_name": from_stage.name,
            "to_name": to_stage.name,
            "backwards": not forward,
            "days_in_stage": opp.days_in_stage(now),
        },
    )
    opp.stage = to_stage
    if there > positions.get(opp.furthest_stage_id, -1):
        opp.furthest_stage = to_stage
    opp.stage_entered_at = now
    opp.updated_at = now
    opp.save(update_fields=["stage", "furthest_stage", "stage_entered_at", "version", "updated_at"])
    return opp


def _close_open_next_step(opp: Opportunity, *, actor, now) -> None:
    if opp.next_step_id:
        NextStep.objects.filter(pk=opp.next_step_id).update(completed_at=now, completed_by=actor)
        opp.next_step = None


@transaction.atomic
@_announces
def opportunity_close_won(
    opportunity: Opportunity,
    *,
    actor,
    override_reason: str = "",
    notes: str = "",
    beaten: Iterable[Competitor] = (),
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Opportunity:
    """Close the deal won; `beaten` names the competitors it beat (added to the deal if they
    were not on it)."""
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "close it")
    _ensure_version(opp, expected_version, "closed")
    beaten = list(dict.fromkeys(beaten))
    for competitor in beaten:
        _ensure_active_competitor(competitor, "beaten")
    stages = ordered_stages(opp.process)
    override = _gate(
        opp,
        actor=actor,
        stages=stages,
        override_reason=override_reason,
        action="close won",
        now=now,
    )
    opp.version += 1
    if override:
        _record(opp, actor=actor, verb=EventVerb.OVERRIDE_USED, now=now, from_stage=opp.stage, data=override)
    notes = (notes or "").strip()
    data = {"stage_name": opp.stage.name, "amount": str(opp.amount), "notes": notes}
    if beaten:
        data["beaten"] = [c.name for c in beaten]
        data["beaten_ids"] = [c.pk for c in beaten]
        for competitor in beaten:
            DealCompetitor.objects.update_or_create(
                opportunity=opp,
                competitor=competitor,
                defaults={"beaten": True},
                create_defaults={"beaten": True, "status": DealCompetitorStatus.ELIMINATED, "added_at": now},
            )
    moved = []
    if stages and opp.stage_id != stages[-1].pk:
        data |= _move_to_final_stage(opp, stages, actor=actor, now=now)
        moved = ["stage", "furthest_stage", "stage_entered_at"]
    return _close(
        opp, actor=actor, status=OpportunityStatus.WON, reason=None, notes=notes, data=data, now=now, also=moved
    )


def _move_to_final_stage(opp: Opportunity, stages: list[Stage], *, actor, now) -> dict:
    """A deal won before its last stage is moved there first, in the closing transaction: a won
    deal has passed every stage (the close-won gate already asked for all their milestones), and
    "won in Qualify" would count a win where the process says deals are not won. The move is an
    ordinary stage-move event, so the replay and the time-in-stage figures see the stay it ends;
    returns what the closing event says about it."""
    positions = {s.pk: i for i, s in enumerate(stages)}
    here = positions[opp.stage_id]
    final, from_stage = stages[-1], opp.stage
    skipped = [s.name for s in stages[here + 1 : -1]]
    _record(
        opp,
        actor=actor,
        verb=EventVerb.STAGE_MOVED,
        now=now,
        from_stage=from_stage,
        to_stage=final,
        stage_entered_at=opp.stage_entered_at,
        data={
            "from_name": from_stage.name,
            "to_name": final.name,
            "backwards": False,
            "days_in_stage": opp.days_in_stage(now),
            "on_close": True,
            "skipped": skipped,
        },
    )
    opp.stage = final
    opp.furthest_stage = final
    opp.stage_entered_at = now
    return {"stage_name": final.name, "from_stage_name": from_stage.name, "skipped": skipped}


@transaction.atomic
@_announces
def opportunity_close_lost(
    opportunity: Opportunity,
    *,
    actor,
    reason: LostReason | None,
    notes: str = "",
    lost_to: Competitor | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Opportunity:
    """Close the deal lost for `reason`; `lost_to` names the competitor that won it, if one did
    (added to the deal as preferred by the buyer if it was not on it)."""
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "close it")
    _ensure_version(opp, expected_version, "closed")
    if reason is None:
        raise DomainError("Choose why the deal was lost.", field="reason")
    if not reason.is_active:
        raise DomainError(f"“{reason}” is no longer a lost reason; choose another.", field="reason")
    if lost_to is not None:
        _ensure_active_competitor(lost_to, "lost_to")
    opp.version += 1
    notes = (notes or "").strip()
    data = {
        "stage_name": opp.stage.name,
        "reason": reason.name,
        "reason_id": reason.pk,
        "notes": notes,
        "amount": str(opp.amount),
    }
    if lost_to is not None:
        data["lost_to"] = lost_to.name
        data["lost_to_id"] = lost_to.pk
        DealCompetitor.objects.update_or_create(
            opportunity=opp,
            competitor=lost_to,
            defaults={"status": DealCompetitorStatus.PREFERRED},
            create_defaults={"status": DealCompetitorStatus.PREFERRED, "added_at": now},
        )
    opp.lost_to = lost_to
    return _close(opp, actor=actor, status=OpportunityStatus.LOST, reason=reason, notes=notes, data=data, now=now)


def _close(
    opp: Opportunity, *, actor, status: str, reason, notes: str, data: dict, now, also: list[str] = ()
) -> Opportunity:
    """Close the locked, checked `opp` won or lost: what both ways of closing write alike (its
    open next step finished, the closing facts, the closing event with `data`); `also` names
    other fields of `opp` the caller changed."""
    _close_open_next_step(opp, actor=actor, now=now)
    opp.status = status
    opp.closed_on = _today(now)
    opp.closed_stage = opp.stage
    opp.lost_reason = reason
    opp.close_notes = notes
    segment = opp.remember_closing_segment()
    verb = EventVerb.CLOSED_WON if status == OpportunityStatus.WON else EventVerb.CLOSED_LOST
    _record(
        opp, actor=actor, verb=verb, now=now, from_stage=opp.stage, stage_entered_at=opp.stage_entered_at, data=data
    )
    opp.updated_at = now
    opp.save(
        update_fields=[
            "status",
            "closed_on",
            "closed_stage",
            "close_notes",
            "lost_reason",
            "lost_to",
            "next_step",
            "version",
            "updated_at",
            *segment,
            *also,
        ]
    )
    _filing_follows(opp, actor=actor)
    opportunity_closed.send(sender=Opportunity, opportunity=opp, actor=actor, now=now)
    return opp


@transaction.atomic
@_announces
def opportunity_reopen(
    opportunity: Opportunity,
    *,
    actor,
    next_description: str = "",
    next_due_date: dt.date | None = None,
    waiting_until: dt.date | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Opportunity:
    """Reopen a closed deal and commit its next step in the same breath (closing finished the
    old one, and an open deal is never left without one). Its manager or an admin may reopen
    it at any time; its owner within the organisation's reopen window (`can_reopen`)."""
    now = _now(now)
    opp = _lock(opportunity)
    if opp.is_open:
        raise DomainError("This opportunity is already open.")
    if not can_reopen(actor, opp, today=_today(now)):
        if opp.owner_id == actor.pk and actor.reopen_days():
            days = actor.reopen_days()
            raise AccessDenied(
                f"You can reopen your own deal only within {days} day{'s' if days != 1 else ''} of closing it; "
                "ask your manager."
            )
        raise AccessDenied("Only the deal's manager or an admin can reopen a closed deal.")
    _ensure_version(opp, expected_version, "reopened")
    if waiting_until is None and not (next_description or "").strip():
        raise DomainError(
            "Say what the next step is and when it is due, or until when you wait on the buyer.", field="next_step"
        )
    was = opp.status
    opp.version += 1
    _record(
        opp,
        actor=actor,
        verb=EventVerb.REOPENED,
        now=now,
        to_stage=opp.stage,
        data={
            "was": was,
            "closed_on": opp.closed_on.isoformat() if opp.closed_on else None,
        },
    )
    opp.status = OpportunityStatus.OPEN
    opp.closed_on = None
    opp.closed_stage = None
    opp.lost_reason = None
    opp.lost_to = None
    segment = opp.remember_closing_segment()
    # What the close said about the competition no longer holds for a deal being worked again.
    DealCompetitor.objects.filter(opportunity=opp, beaten=True).update(beaten=False)
    opp.stage_entered_at = now
    opp.updated_at = now
    opp.save(
        update_fields=[
            "status",
            "closed_on",
            "closed_stage",
            "lost_reason",
            "lost_to",
            "stage_entered_at",
            "version",
            "updated_at",
            *segment,
        ]
    )
    _filing_follows(opp, actor=actor)
    opportunity_reopened.send(sender=Opportunity, opportunity=opp, actor=actor, now=now)
    next_step_set(
        opp, actor=actor, description=next_description, due_date=next_due_date, waiting_until=waiting_until, now=now
    )
    # next_step_set wrote through its own copy of the row (version, next_step).
    opp.refresh_from_db()
    return opp


# --- milestones ------------------------------------------------------------------------------------------


@transaction.atomic
@_announces
def milestone_tick(
    opportunity: Opportunity, *, actor, milestone: Milestone, evidence: str = "", now: dt.datetime | None = None
) -> MilestoneCompletion:
    """Tick a milestone of any stage of the deal's process: buyers don't move in sequence."""
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "tick milestones")
    if milestone.stage.process_id != opp.process_id:
        raise DomainError(f"“{milestone.name}” is not a milestone of the {opp.process.name} process.")
    if milestone.is_retired:
        raise DomainError(f"“{milestone.name}” was retired by an admin and can no longer be ticked.")
    evidence = (evidence or "").strip()
    if len(evidence) > 500:
        raise DomainError("Evidence must be at most 500 characters.", field="evidence")
    if MilestoneCompletion.objects.filter(opportunity=opp, milestone=milestone).exists():
        raise DomainError(f"“{milestone.name}” is already ticked.")
    completion = MilestoneCompletion.objects.create(
        opportunity=opp, milestone=milestone, completed_by=actor, completed_at=now, evidence=evidence
    )
    _mark_touched(opp, now)
    _record(
        opp,
        actor=actor,
        verb=EventVerb.MILESTONE_TICKED,
        now=now,
        to_stage=milestone.stage,
        data={
            "milestone_id": milestone.pk,
            "milestone": milestone.name,
            "stage_name": milestone.stage.name,
            "evidence": evidence,
        },
    )
    return completion


@transaction.atomic
@_announces
def milestone_untick(opportunity: Opportunity, *, actor, milestone: Milestone, now: dt.datetime | None = None) -> None:
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "untick milestones")
    deleted, _ = MilestoneCompletion.objects.filter(opportunity=opp, milestone=milestone).delete()
    if not deleted:
        raise DomainError(f"“{milestone.name}” is not ticked.")
    _mark_touched(opp, now)
    _record(
        opp,
        actor=actor,
        verb=EventVerb.MILESTONE_UNTICKED,
        now=now,
        to_stage=milestone.stage,
        data={
            "milestone_id": milestone.pk,
            "milestone": milestone.name,
            "stage_name": milestone.stage.name,
        },
    )


# --- next steps ----------------------------------------------------------------------------------------------

# The one-committed-next-step rules, shared by deals (`next_step_*`) and accounts
# (`account_next_step_*`): one helper per rule, so the two cannot drift apart.


def _step_owner(owner, *, default):
    """Who owns a step: `default` (the deal's or the account's owner) unless someone is named."""
    if owner is None:
        return default
    if not owner.is_active:
        # A colleague may own a step (a solutions engineer's demo), but only a current one.
        raise DomainError(f"{owner} is not an active user.", field="owner")
    return owner


def _clean_step(description: str, due_date: dt.date | None, waiting_until: dt.date | None, *, today: dt.date):
    """(kind, text, due) of a step: an action (`description` + a due date from today on) or
    "waiting on buyer" until a date after today."""
    if waiting_until is not None:
        due = _check_date(waiting_until, "Waiting until", today=today, not_before=today + dt.timedelta(days=1))
        return NextStepKind.WAITING, clean_text(description or "")[:300] or "Waiting on buyer", due
    text = _require_text(description, "Next step", max_length=300)
    return NextStepKind.ACTION, text, _check_date(due_date, "Due date", today=today, not_before=today)


def _require_following_step(next_description: str, waiting_until: dt.date | None) -> None:
    """Completing a step never leaves nothing committed: say what follows, or wait on the buyer."""
    if waiting_until is None and not (next_description or "").strip():
        raise DomainError("Say what happens next, or that you are waiting on the buyer until a date.")


@transaction.atomic
@_announces
def next_step_set(
    opportunity: Opportunity,
    *,
    actor,
    description: str = "",
    due_date: dt.date | None = None,
    waiting_until: dt.date | None = None,
    owner=None,
    now: dt.datetime | None = None,
) -> NextStep:
    """Commit the deal's next step, replacing any open one (which is kept as history).

    Either an action (`description` + `due_date`) or "waiting on buyer until `waiting_until`".
    """
    now = _now(now)
    today = _today(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "plan next steps")
    owner = _step_owner(owner, default=opp.owner)
    kind, text, due = _clean_step(description, due_date, waiting_until, today=today)
    replaced = None
    if opp.next_step_id:
        replaced = opp.next_step_id
        # Superseded rather than done: the old commitment was replaced, not achieved.
        NextStep.objects.filter(pk=opp.next_step_id).update(completed_at=now, completed_by=actor)
    step = NextStep.objects.create(
        opportunity=opp, kind=kind, description=text, due_date=due, owner=owner, created_by=actor, created_at=now
    )
    opp.next_step = step
    opp.version += 1
    _record(
        opp,
        actor=actor,
        verb=EventVerb.NEXT_STEP_SET,
        now=now,
        data={
            "next_step_id": step.pk,
            "kind": kind,
            "description": text,
            "due_date": due.isoformat(),
            "replaced": replaced,
        },
    )
    opp.updated_at = now
    opp.save(update_fields=["next_step", "version", "updated_at"])
    return step


@transaction.atomic
@_announces
def next_step_complete(
    opportunity: Opportunity,
    *,
    actor,
    next_description: str = "",
    next_due_date: dt.date | None = None,
    waiting_until: dt.date | None = None,
    closing: bool = False,
    now: dt.datetime | None = None,
) -> NextStep:
    """Complete the open next step and commit the following one in the same breath.

    A deal is never left without a next step by completing one: the caller supplies the next
    action, the date until which the seller waits on the buyer, or says the deal is `closing`
    — then the following step is closing it, due on its expected close date (today if that
    has passed), and it is the Move or close form's turn.
    """
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "complete next steps")
    if not opp.next_step_id:
        raise DomainError("There is no open next step to complete.")
    if closing:
        if waiting_until is not None or (next_description or "").strip():
            raise DomainError("Either the deal is closing, or say what happens next — not both.")
        next_description, next_due_date = CLOSING_STEP, max(opp.expected_close_date, _today(now))
    else:
        _require_following_step(next_description, waiting_until)
    current = NextStep.objects.get(pk=opp.next_step_id)
    NextStep.objects.filter(pk=current.pk).update(completed_at=now, completed_by=actor)
    _record(
        opp,
        actor=actor,
        verb=EventVerb.NEXT_STEP_COMPLETED,
        now=now,
        data={
            "next_step_id": current.pk,
            "description": str(current),
            "due_date": current.due_date.isoformat(),
            "then": "closing" if closing else "waiting" if waiting_until is not None else "next",
        },
    )
    opp.next_step = None
    opp.save(update_fields=["next_step"])
    return next_step_set(
        opp, actor=actor, description=next_description, due_date=next_due_date, waiting_until=waiting_until, now=now
    )


# --- activities and the buying team ---------------------------------------------------------------------------


@transaction.atomic
@_announces
def activity_log(
    *,
    actor,
    account: Account | None = None,
    opportunity: Opportunity | None = None,
    kind: str,
    subject: str,
    notes: str = "",
    occurred_at: dt.datetime | None = None,
    contacts: Iterable[Contact] = (),
    now: dt.datetime | None = None,
) -> Activity:
    now = _now(now)
    if opportunity is not None:
        opportunity = _lock(opportunity)
        _ensure_can_edit(opportunity, actor)
        account = opportunity.account
    if account is None:
        raise DomainError("An activity belongs to an account or an opportunity.")
    if kind not in ActivityKind.values:
        raise DomainError(f"“{kind}” is not a kind of activity.", field="kind")
    occurred_at = occurred_at or now
    if occurred_at.date() < EARLIEST_DATE or occurred_at > now + dt.timedelta(days=366):
        raise DomainError("The activity's date is not sensible.", field="occurred_at")
    contacts = list(contacts)
    strangers = [c for c in contacts if c.account_id != account.pk]
    if strangers:
        raise DomainError(f"{', '.join(map(str, strangers))} do not work at {account}.", field="contacts")
    activity = Activity.objects.create(
        account=account,
        opportunity=opportunity,
        kind=kind,
        subject=_require_text(subject, "Subject", max_length=200),
        notes=(notes or "").strip(),
        occurred_at=occurred_at,
        created_by=actor,
        created_at=now,
    )
    if contacts:
        activity.contacts.set(contacts)
    if opportunity is not None and occurred_at <= now:
        # Derived, like stage_entered_at: the newest logged touch, used for idle detection.
        Opportunity.objects.filter(pk=opportunity.pk).exclude(last_activity_at__gte=occurred_at).update(
            last_activity_at=occurred_at
        )
    if opportunity is not None:
        _record(
            opportunity,
            actor=actor,
            verb=EventVerb.ACTIVITY_LOGGED,
            now=now,
            data={
                "activity_id": activity.pk,
                "kind": activity.get_kind_display().lower(),
                "subject": activity.subject,
                "occurred_at": occurred_at.isoformat(),
            },
        )
    return activity


def _clean_roles(roles: Iterable[str]) -> list[str]:
    roles = list(dict.fromkeys(roles))
    bad = [r for r in roles if r not in BuyingRole.values]
    if bad:
        raise DomainError(f"Unknown buying role: {', '.join(bad)}.", field="roles")
    if not roles:
        raise DomainError("Choose at least one role for this contact.", field="roles")
    return roles


def _put_on_team(model, *, contact: Contact, roles: list[str], now: dt.datetime, **team):
    """Put `contact` on a buying team (a deal's or an account's, `team` naming it) with `roles`,
    or change their roles there: (member, what was done) or (member, None) if nothing changed."""
    member, created = model.objects.get_or_create(contact=contact, defaults={"roles": roles, "added_at": now}, **team)
    if created:
        return member, "added"
    if member.roles == roles:
        return member, None
    member.roles = roles
    member.save(update_fields=["roles"])
    return member, "changed roles of"


@transaction.atomic
@_announces
def buying_team_add(
    opportunity: Opportunity, *, actor, contact: Contact, roles: Iterable[str], now: dt.datetime | None = None
) -> BuyingTeamMember:
    """Put a contact on the buying team, or change the roles of one already on it."""
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    if contact.account_id != opp.account_id:
        raise DomainError(f"{contact} does not work at {opp.account}.", field="contact")
    roles = _clean_roles(roles)
    member, action = _put_on_team(BuyingTeamMember, opportunity=opp, contact=contact, roles=roles, now=now)
    if action is None:
        return member
    _mark_touched(opp, now)
    _record(
        opp,
        actor=actor,
        verb=EventVerb.BUYING_TEAM_CHANGED,
        now=now,
        data={
            "action": action,
            "contact": str(contact),
            "contact_id": contact.pk,
            "roles": [BuyingRole(r).label for r in roles],
        },
    )
    return member


@transaction.atomic
@_announces
def buying_team_remove(opportunity: Opportunity, *, actor, contact: Contact, now: dt.datetime | None = None) -> None:
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    deleted, _ = BuyingTeamMember.objects.filter(opportunity=opp, contact=contact).delete()
    if not deleted:
        raise DomainError(f"{contact} is not on the buying team.")
    _mark_touched(opp, now)
    _record(
        opp,
        actor=actor,
        verb=EventVerb.BUYING_TEAM_CHANGED,
        now=now,
        data={
            "action": "removed",
            "contact": str(contact),
            "contact_id": contact.pk,
            "roles": [],
        },
    )


# --- bulk actions -----------------------------------------------------------------------------------------------

# A selection larger than this is refused: a page shows at most 100 deals, and each deal is its
# own transaction, so a bulk action is as slow as that many single ones.
BULK_LIMIT = 200


@dataclass
class BulkResult:
    """What a bulk action did: the deals it changed and, for each it refused, why."""

    done: list[Opportunity] = field(default_factory=list)
    refused: list[tuple[Opportunity, str]] = field(default_factory=list)


def _bulk(opportunities: Iterable[Opportunity], act) -> BulkResult:
    """Run `act(deal)` on each deal in its own transaction (each single-deal service is atomic): a
    refusal of one deal — a gate, a closed deal, someone it may not change — is reported for
    that deal and does not undo or stop the others."""
    opportunities = list(opportunities)
    if not opportunities:
        raise DomainError("Select at least one deal.", field="ids")
    if len(opportunities) > BULK_LIMIT:
        raise DomainError(f"Select at most {BULK_LIMIT} deals at a time.", field="ids")
    result = BulkResult()
    for opp in opportunities:
        try:
            act(opp)
        except DomainError as exc:
            result.refused.append((opp, exc.message))
        else:
            result.done.append(opp)
    return result


def opportunity_bulk_reassign(
    *, actor, opportunities: Iterable[Opportunity], owner, now: dt.datetime | None = None
) -> BulkResult:
    """Hand the selected deals to `owner` (managers within their teams, admins anyone); the open
    next step of each follows as in `opportunity_reassign`."""
    return _bulk(opportunities, lambda opp: opportunity_reassign(opp, actor=actor, owner=owner, now=now))


def opportunity_bulk_move(
    *, actor, opportunities: Iterable[Opportunity], to_stage: Stage, now: dt.datetime | None = None
) -> BulkResult:
    """Move the selected deals to `to_stage`, each through its gate: a deal with required
    milestones missing (or of another process, or closed) is refused with the reason."""
    return _bulk(opportunities, lambda opp: opportunity_move(opp, actor=actor, to_stage=to_stage, now=now))


def opportunity_bulk_close_lost(
    *,
    actor,
    opportunities: Iterable[Opportunity],
    reason: LostReason | None,
    notes: str = "",
    now: dt.datetime | None = None,
) -> BulkResult:
    """Close the selected deals lost for `reason` (a pipeline clean-up)."""
    if reason is None:
        raise DomainError("Choose why the deals were lost.", field="reason")
    return _bulk(
        opportunities,
        lambda opp: opportunity_close_lost(opp, actor=actor, reason=reason, notes=notes, now=now),
    )


# --- competitors ----------------------------------------------------------------------------------


def _ensure_active_competitor(competitor: Competitor, field: str) -> None:
    if not competitor.is_active:
        raise DomainError(f"“{competitor}” is no longer on the competitor list; choose another.", field=field)


@transaction.atomic
@_announces
def deal_competitor_set(
    opportunity: Opportunity,
    *,
    actor,
    competitor: Competitor,
    status: str = DealCompetitorStatus.EVALUATING,
    now: dt.datetime | None = None,
) -> DealCompetitor:
    """Put a competitor in play on the deal, or change where the buyer stands on it."""
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "change its competitors")
    if status not in DealCompetitorStatus.values:
        raise DomainError(f"Unknown competitor status: {status}.", field="status")
    existing = DealCompetitor.objects.filter(opportunity=opp, competitor=competitor).first()
    if existing is None:
        _ensure_active_competitor(competitor, "competitor")
        row = DealCompetitor.objects.create(
            opportunity=opp, competitor=competitor, status=status, added_at=now, **opp.filing()
        )
        action = "added"
    elif existing.status == status:
        return existing
    else:
        existing.status = status
        existing.save(update_fields=["status"])
        row, action = existing, "changed"
    _mark_touched(opp, now)
    _record(
        opp,
        actor=actor,
        verb=EventVerb.COMPETITOR_CHANGED,
        now=now,
        data={
            "action": action,
            "competitor": competitor.name,
            "competitor_id": competitor.pk,
            "status": status,
            "status_label": str(DealCompetitorStatus(status).label),
        },
    )
    return row


@transaction.atomic
@_announces
def deal_competitor_remove(
    opportunity: Opportunity, *, actor, competitor: Competitor, now: dt.datetime | None = None
) -> None:
    now = _now(now)
    opp = _lock(opportunity)
    _ensure_can_edit(opp, actor)
    _ensure_open(opp, "change its competitors")
    deleted, _ = DealCompetitor.objects.filter(opportunity=opp, competitor=competitor).delete()
    if not deleted:
        raise DomainError(f"{competitor} is not in play on this deal.")
    _mark_touched(opp, now)
    _record(
        opp,
        actor=actor,
        verb=EventVerb.COMPETITOR_CHANGED,
        now=now,
        data={"action": "removed", "competitor": competitor.name, "competitor_id": competitor.pk},
    )


# --- account management: the plan, the known buying team and the next step ---------------------------

OBJECTIVES_MAX = 5000


def _lock_for_plan(account: Account, actor) -> Account:
    """The account under a write lock, if `actor` may change it: its plan, team and next step are
    the account owner's (and their manager's) work, like its details."""
    account = _lock_account(account)
    if not account_can_edit(actor, account):
        raise AccessDenied("You can view this account but not change its plan.")
    return account


@transaction.atomic
def account_plan_update(account: Account, *, actor, objectives: str, now: dt.datetime | None = None) -> AccountPlan:
    """Write the account's objectives (the plan is created on first write); unchanged: no event."""
    now = _now(now)
    account = _lock_for_plan(account, actor)
    text = (objectives or "").replace("\r\n", "\n").strip()
    if len(text) > OBJECTIVES_MAX:
        raise DomainError(f"Objectives must be at most {OBJECTIVES_MAX} characters.", field="objectives")
    plan, _ = AccountPlan.objects.get_or_create(account=account, defaults={"updated_at": now})
    if plan.objectives == text:
        return plan
    old = plan.objectives
    plan.objectives, plan.updated_at, plan.updated_by = text, now, actor
    plan.save(update_fields=["objectives", "updated_at", "updated_by"])
    _audit(
        account,
        actor=actor,
        verb=AccountEventVerb.PLAN_EDITED,
        now=now,
        changes={"objectives": {"old": old, "new": text}},
    )
    return plan


@transaction.atomic
def account_team_add(
    account: Account, *, actor, contact: Contact, roles: Iterable[str], now: dt.datetime | None = None
) -> AccountContactRole:
    """Put a contact on the account's known buying team, or change their roles there."""
    now = _now(now)
    account = _lock_for_plan(account, actor)
    if contact.account_id != account.pk:
        raise DomainError(f"{contact} does not work at {account}.", field="contact")
    roles = _clean_roles(roles)
    member, action = _put_on_team(AccountContactRole, account=account, contact=contact, roles=roles, now=now)
    if action is None:
        return member
    _audit(
        account,
        actor=actor,
        verb=AccountEventVerb.TEAM_CHANGED,
        now=now,
        contact=contact,
        contact_name=str(contact),
        action=action,
        roles=[BuyingRole(r).label for r in roles],
    )
    return member


@transaction.atomic
def account_team_remove(account: Account, *, actor, contact: Contact, now: dt.datetime | None = None) -> None:
    now = _now(now)
    account = _lock_for_plan(account, actor)
    deleted, _ = AccountContactRole.objects.filter(account=account, contact=contact).delete()
    if not deleted:
        raise DomainError(f"{contact} is not on the account's buying team.")
    _audit(
        account,
        actor=actor,
        verb=AccountEventVerb.TEAM_CHANGED,
        now=now,
        contact=contact,
        contact_name=str(contact),
        action="removed",
        roles=[],
    )


def _open_account_step(account: Account) -> AccountNextStep | None:
    return AccountNextStep.objects.filter(account=account, completed_at__isnull=True).first()


@transaction.atomic
def account_next_step_set(
    account: Account,
    *,
    actor,
    description: str = "",
    due_date: dt.date | None = None,
    waiting_until: dt.date | None = None,
    owner=None,
    now: dt.datetime | None = None,
) -> AccountNextStep:
    """Commit the account's next step, replacing any open one (kept as history), by the rules of
    a deal's (`_step_owner`, `_clean_step`)."""
    now = _now(now)
    account = _lock_for_plan(account, actor)
    owner = _step_owner(owner, default=account.owner)
    kind, text, due = _clean_step(description, due_date, waiting_until, today=_today(now))
    current = _open_account_step(account)
    if current is not None:
        # Superseded rather than done: the old commitment was replaced, not achieved.
        AccountNextStep.objects.filter(pk=current.pk).update(completed_at=now, completed_by=actor)
    step = AccountNextStep.objects.create(
        account=account, kind=kind, description=text, due_date=due, owner=owner, created_by=actor, created_at=now
    )
    _audit(
        account,
        actor=actor,
        verb=AccountEventVerb.NEXT_STEP_SET,
        now=now,
        next_step_id=step.pk,
        kind=kind,
        description=text,
        due_date=due.isoformat(),
        replaced=current.pk if current else None,
    )
    return step


@transaction.atomic
def account_next_step_complete(
    account: Account,
    *,
    actor,
    next_description: str = "",
    next_due_date: dt.date | None = None,
    waiting_until: dt.date | None = None,
    now: dt.datetime | None = None,
) -> AccountNextStep:
    """Complete the account's open next step and commit the following one in the same breath, as
    on a deal: an account is never left without a next step by completing one."""
    now = _now(now)
    account = _lock_for_plan(account, actor)
    current = _open_account_step(account)
    if current is None:
        raise DomainError("There is no open next step to complete.")
    _require_following_step(next_description, waiting_until)
    AccountNextStep.objects.filter(pk=current.pk).update(completed_at=now, completed_by=actor)
    _audit(
        account,
        actor=actor,
        verb=AccountEventVerb.NEXT_STEP_COMPLETED,
        now=now,
        next_step_id=current.pk,
        description=str(current),
        due_date=current.due_date.isoformat(),
    )
    return account_next_step_set(
        account, actor=actor, description=next_description, due_date=next_due_date, waiting_until=waiting_until, now=now
    )


@transaction.atomic
@_announces
def opportunity_create_from_account(
    *, actor, account: Account, now: dt.datetime | None = None, **fields
) -> Opportunity:
    """Open a deal on `account` (as `opportunity_create`) whose buying team starts as the account's
    known buying team, each member added through `buying_team_add` (one event each)."""
    now = _now(now)
    opportunity = opportunity_create(actor=actor, account=account, now=now, **fields)
    for member in AccountContactRole.objects.filter(account=account).select_related("contact"):
        buying_team_add(opportunity, actor=actor, contact=member.contact, roles=member.roles, now=now)
    opportunity.refresh_from_db()
    return opportunity
