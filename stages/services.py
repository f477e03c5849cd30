"""Writes to the sales processes, their stages and their milestones: admins configure them (the
API; the admin site edits the same rows).

Each function checks that the actor is an admin, cleans and checks every field it is given
against the rules below, locks the process it changes (two admins adding a stage at once cannot
both take the same name or place), and writes one `ProcessChange` row with the change, in one
transaction. A refusal raises `ProcessError` and changes nothing.

Deletion is narrow: a stage is removed only while nothing outside this app (a deal, its history,
a share, a lesson) refers to it (`ProcessInUse` otherwise: rename it or move the deals instead);
a milestone nothing refers to is deleted, one with ticks or other references is retired
(`Milestone.retired_at`) so the history keeps it. A process that should take no more deals is
deactivated.
"""

import datetime as dt
import unicodedata

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from .cleaning import clean_text, parse_int
from .errors import ProcessAccessDenied, ProcessError, ProcessInUse
from .models import ForecastCategory, Milestone, ProcessChange, SalesProcess, Stage

# The product's guidance: each stage has 2–4 exit criteria. More than four and the milestones stop
# being the few things that prove the stage is done. Fewer than two is allowed while a stage is
# being set up (a new stage starts with none), so adding never hits the lower bound; removing a
# milestone may not take a stage below it.
MIN_MILESTONES = 2
MAX_MILESTONES = 4
MAX_ORDER = 1_000_000  # PositiveIntegerField holds 2**31 - 1; orders are spaced by 10
MAX_DAYS = 3650
MAX_LONG_TEXT = 5000

PROCESS_FIELDS = ("name", "description", "is_active")
STAGE_FIELDS = (
    "name",
    "order",
    "objective",
    "guidance",
    "win_probability",
    "forecast_category",
    "stuck_after_days",
    "idle_after_days",
    "slip_push_limit",
    "buying_team_touch_days",
)
STAGE_DAY_FIELDS = {
    "stuck_after_days": "Stuck after (days)",
    "idle_after_days": "Idle after (days)",
    "slip_push_limit": "Slipped after (pushes)",
    "buying_team_touch_days": "Buying-team touch (days)",
}
MILESTONE_FIELDS = ("name", "description", "is_required", "order")


def check_may_configure(actor) -> None:
    """Refuse anyone but an admin (`people`' role rule: `User.is_admin`); reading is for everyone."""
    if not SalesProcess.can_edit(actor):
        raise ProcessAccessDenied("Only admins change sales processes, their stages and milestones.")


# --- cleaning -------------------------------------------------------------------------------------


def _name(value, *, label: str, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise ProcessError(f"{label} must be text.", field=field)
    name = clean_text(value)
    if not name:
        raise ProcessError(f"{label} cannot be blank.", field=field)
    if len(name) > max_length:
        raise ProcessError(f"{label} is at most {max_length} characters.", field=field)
    return name


def _line(value, *, label: str, field: str, max_length: int) -> str:
    """Optional one-line text (a stage's objective)."""
    if not isinstance(value, str):
        raise ProcessError(f"{label} must be text.", field=field)
    text = clean_text(value)
    if len(text) > max_length:
        raise ProcessError(f"{label} is at most {max_length} characters.", field=field)
    return text


def _long_text(value, *, label: str, field: str) -> str:
    """Optional text of several lines: control characters other than line breaks and tabs are
    dropped (PostgreSQL refuses NUL in text), as are invisible format characters."""
    if not isinstance(value, str):
        raise ProcessError(f"{label} must be text.", field=field)
    text = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf")).strip()
    if len(text) > MAX_LONG_TEXT:
        raise ProcessError(f"{label} is at most {MAX_LONG_TEXT} characters.", field=field)
    return text


def _number(value, *, label: str, field: str, maximum: int) -> int:
    number = parse_int(value, minimum=0, maximum=maximum)
    if number is None:
        raise ProcessError(f"{label} must be a whole number from 0 to {maximum}.", field=field)
    return number


def _flag(value, *, label: str, field: str) -> bool:
    if not isinstance(value, bool):
        raise ProcessError(f"{label} must be true or false.", field=field)
    return value


def _unknown(fields: dict, allowed: tuple[str, ...]) -> None:
    extra = sorted(set(fields) - set(allowed))
    if extra:
        raise ProcessError(f"Unknown field: {', '.join(extra)}.", field=extra[0])


def _clean_process(data: dict) -> dict:
    return {
        "name": _name(data["name"], label="Name", field="name", max_length=100),
        "description": _long_text(data["description"], label="Description", field="description"),
        "is_active": _flag(data["is_active"], label="Active", field="is_active"),
    }


def _clean_stage(data: dict) -> dict:
    category = data["forecast_category"]
    if category not in ForecastCategory.values:
        choices = ", ".join(ForecastCategory.values)
        raise ProcessError(f"Forecast category must be one of {choices}.", field="forecast_category")
    cleaned = {
        "name": _name(data["name"], label="Name", field="name", max_length=100),
        "order": _number(data["order"], label="Order", field="order", maximum=MAX_ORDER),
        "objective": _line(data["objective"], label="Objective", field="objective", max_length=300),
        "guidance": _long_text(data["guidance"], label="Guidance", field="guidance"),
        "win_probability": _number(
            data["win_probability"], label="Win probability", field="win_probability", maximum=100
        ),
        "forecast_category": category,
    }
    for field, label in STAGE_DAY_FIELDS.items():
        cleaned[field] = _number(data[field], label=label, field=field, maximum=MAX_DAYS)
    return cleaned


def _clean_milestone(data: dict) -> dict:
    return {
        "name": _name(data["name"], label="Name", field="name", max_length=150),
        "description": _long_text(data["description"], label="Description", field="description"),
        "is_required": _flag(data["is_required"], label="Required", field="is_required"),
        "order": _number(data["order"], label="Order", field="order", maximum=MAX_ORDER),
    }


# --- shared steps -----------------------------------------------------------------------------------


def _lock_process(process_id: int) -> SalesProcess:
    """The process, locked: every change to it, its stages or their milestones takes this lock
    first, so the uniqueness checks below see every other admin's committed change."""
    try:
        return SalesProcess.objects.select_for_update().get(pk=process_id)
    except SalesProcess.DoesNotExist:
        raise ProcessError("That sales process no longer exists.") from None


def _lock_stage(stage: Stage) -> tuple[SalesProcess, Stage]:
    """The stage's process, locked (`_lock_process`), and the stage as it is now in it."""
    process = _lock_process(stage.process_id)
    try:
        return process, Stage.objects.get(pk=stage.pk, process=process)
    except Stage.DoesNotExist:
        raise ProcessError("That stage no longer exists.") from None


def _values(row, fields: tuple[str, ...]) -> dict:
    return {field: getattr(row, field) for field in fields}


def _changed(row, data: dict) -> dict:
    return {field: value for field, value in data.items() if getattr(row, field) != value}


def _subject(row) -> str:
    """The row as people read it: "New business", "New business: Qualify", "New business: Qualify: Budget"."""
    if isinstance(row, Milestone):
        return f"{row.stage.process}: {row.stage}: {row}"
    if isinstance(row, Stage):
        return f"{row.process}: {row}"
    return str(row)


def _record(*, process, actor, action: str, row, before: dict, after: dict, now: dt.datetime) -> None:
    ProcessChange.objects.create(
        process=process,
        action=action,
        subject=_subject(row)[:300],
        object_id=row.pk,
        before=before,
        after=after,
        actor=actor,
        created_at=now,
    )


def _save(row, *, update_fields: list[str] | None = None, clash: str) -> None:
    """Save `row`; a uniqueness constraint that another writer won in the meantime is refused
    with `clash` rather than failing."""
    try:
        with transaction.atomic():
            row.save(update_fields=update_fields)
    except IntegrityError:
        raise ProcessError(clash, field="name") from None


def _check_process_name(name: str, *, exclude: int | None = None) -> None:
    taken = SalesProcess.objects.filter(name__iexact=name).exclude(pk=exclude).first()
    if taken is not None:
        raise ProcessError(f"A sales process named “{taken}” already exists.", field="name")


def _check_stage_place(process, data: dict, changed: dict, *, exclude: int | None = None) -> None:
    others = Stage.objects.filter(process=process).exclude(pk=exclude)
    taken = others.filter(name__iexact=data["name"]).first() if "name" in changed else None
    if taken is not None:
        raise ProcessError(f"“{process}” already has a stage named “{taken}”.", field="name")
    if "order" in changed and others.filter(order=data["order"]).exists():
        taken = others.filter(order=data["order"]).first()
        raise ProcessError(f"Stage “{taken}” is already at order {data['order']}; choose a free number.", field="order")


def _check_milestone_place(stage, data: dict, changed: dict, *, exclude: int | None = None) -> None:
    others = Milestone.objects.filter(stage=stage).exclude(pk=exclude)
    taken = others.filter(name__iexact=data["name"]).first() if "name" in changed else None
    if taken is not None:
        raise ProcessError(f"Stage “{stage}” already has a milestone named “{taken}”.", field="name")
    if "order" in changed and others.filter(order=data["order"]).exists():
        taken = others.filter(order=data["order"]).first()
        raise ProcessError(
            f"Milestone “{taken}” is already at order {data['order']}; choose a free number.", field="order"
        )


# --- processes --------------------------------------------------------------------------------------


def process_create(
    *, actor, name: str, description: str = "", is_active: bool = True, now: dt.datetime | None = None
) -> SalesProcess:
    """A new sales process, with no stages yet (deals cannot start in it until it has one)."""
    check_may_configure(actor)
    now = now or timezone.now()
    data = _clean_process({"name": name, "description": description, "is_active": is_active})
    with transaction.atomic():
        _check_process_name(data["name"])
        process = SalesProcess(**data)
        _save(process, clash=f"A sales process named “{data['name']}” already exists.")
        _record(process=process, actor=actor, action="process_create", row=process, before={}, after=data, now=now)
    return process


def process_update(*, actor, process: SalesProcess, now: dt.datetime | None = None, **fields) -> SalesProcess:
    """Rename, describe, deactivate or reactivate a process. An inactive process takes no new
    deals; its open ones carry on. The last active process cannot be deactivated: new deals
    would have nowhere to start."""
    check_may_configure(actor)
    _unknown(fields, PROCESS_FIELDS)
    now = now or timezone.now()
    with transaction.atomic():
        process = _lock_process(process.pk)
        data = _clean_process({**_values(process, PROCESS_FIELDS), **fields})
        changed = _changed(process, data)
        if not changed:
            return process
        if "name" in changed:
            _check_process_name(data["name"], exclude=process.pk)
        if changed.get("is_active") is False and not SalesProcess.objects.active().exclude(pk=process.pk).exists():
            raise ProcessError(
                f"“{process}” is the only active sales process; activate another before deactivating it.",
                field="is_active",
            )
        before = {field: getattr(process, field) for field in changed}
        for field, value in changed.items():
            setattr(process, field, value)
        _save(process, update_fields=list(changed), clash=f"A sales process named “{data['name']}” already exists.")
        _record(
            process=process, actor=actor, action="process_update", row=process, before=before, after=changed, now=now
        )
    return process


# --- stages -----------------------------------------------------------------------------------------


def stage_create(*, actor, process: SalesProcess, name: str, now: dt.datetime | None = None, **fields) -> Stage:
    """A new stage of `process`, last unless `order` places it (each stage has its own order)."""
    check_may_configure(actor)
    _unknown(fields, STAGE_FIELDS)
    now = now or timezone.now()
    with transaction.atomic():
        process = _lock_process(process.pk)
        if "order" not in fields:
            last = process.stages.aggregate(last=Max("order"))["last"]
            fields["order"] = min(MAX_ORDER, 10 if last is None else last + 10)
        defaults = _values(Stage(), STAGE_FIELDS)
        data = _clean_stage({**defaults, **fields, "name": name})
        _check_stage_place(process, data, data)
        stage = Stage(process=process, **data)
        _save(stage, clash=f"“{process}” already has a stage named “{data['name']}”.")
        _record(process=process, actor=actor, action="stage_create", row=stage, before={}, after=data, now=now)
    return stage


def stage_update(*, actor, stage: Stage, now: dt.datetime | None = None, **fields) -> Stage:
    """Change a stage's name, place, objective, guidance, forecast meaning or health thresholds.
    Deals in it stay in it."""
    check_may_configure(actor)
    _unknown(fields, STAGE_FIELDS)
    now = now or timezone.now()
    with transaction.atomic():
        process, stage = _lock_stage(stage)
        data = _clean_stage({**_values(stage, STAGE_FIELDS), **fields})
        changed = _changed(stage, data)
        if not changed:
            return stage
        _check_stage_place(process, data, changed, exclude=stage.pk)
        before = {field: getattr(stage, field) for field in changed}
        for field, value in changed.items():
            setattr(stage, field, value)
        _save(stage, update_fields=list(changed), clash=f"“{process}” already has a stage named “{data['name']}”.")
        _record(process=process, actor=actor, action="stage_update", row=stage, before=before, after=changed, now=now)
    return stage


def stage_reorder(*, actor, process: SalesProcess, stage_ids: list[int], now: dt.datetime | None = None) -> list[Stage]:
    """Put the process's stages in the order of `stage_ids` (every stage of the process, once):
    they get orders 10, 20, 30… Deals stay in their stages."""
    check_may_configure(actor)
    now = now or timezone.now()
    with transaction.atomic():
        process = _lock_process(process.pk)
        stages = {stage.pk: stage for stage in process.stages.all()}
        ids = [parse_int(pk, minimum=1) for pk in stage_ids] if isinstance(stage_ids, list | tuple) else None
        if ids is None or None in ids or len(set(ids)) != len(ids) or set(ids) != set(stages):
            raise ProcessError(f"List every stage of “{process}” once, in the order they should run.", field="stages")
        before = {stages[pk].name: stages[pk].order for pk in sorted(stages, key=lambda pk: stages[pk].order)}
        for position, pk in enumerate(ids, start=1):
            stages[pk].order = position * 10
        ordered = [stages[pk] for pk in ids]
        after = {stage.name: stage.order for stage in ordered}
        if before != after:
            Stage.objects.bulk_update(ordered, ["order"])
            _record(
                process=process, actor=actor, action="stage_reorder", row=process, before=before, after=after, now=now
            )
    return ordered


# --- milestones -------------------------------------------------------------------------------------


def milestone_create(*, actor, stage: Stage, name: str, now: dt.datetime | None = None, **fields) -> Milestone:
    """A new exit criterion of `stage` (required unless `is_required` is false), last unless
    `order` places it. A stage has at most MAX_MILESTONES."""
    check_may_configure(actor)
    _unknown(fields, MILESTONE_FIELDS)
    now = now or timezone.now()
    with transaction.atomic():
        process, stage = _lock_stage(stage)
        existing = stage.milestones.live().count()
        if existing >= MAX_MILESTONES:
            raise ProcessError(
                f"“{stage}” already has {existing} milestones; a stage has {MIN_MILESTONES} to {MAX_MILESTONES}. "
                "Edit or merge one instead of adding another."
            )
        if "order" not in fields:
            last = stage.milestones.aggregate(last=Max("order"))["last"]
            fields["order"] = min(MAX_ORDER, 0 if last is None else last + 1)
        defaults = _values(Milestone(), MILESTONE_FIELDS)
        data = _clean_milestone({**defaults, **fields, "name": name})
        _check_milestone_place(stage, data, data)
        milestone = Milestone(stage=stage, **data)
        _save(milestone, clash=f"Stage “{stage}” already has a milestone named “{data['name']}”.")
        _record(process=process, actor=actor, action="milestone_create", row=milestone, before={}, after=data, now=now)
    return milestone


def milestone_update(*, actor, milestone: Milestone, now: dt.datetime | None = None, **fields) -> Milestone:
    """Change a milestone's name, description, whether it is required, or its place. Ticks on
    deals stay; making it required gates deals that have not ticked it from their next move."""
    check_may_configure(actor)
    _unknown(fields, MILESTONE_FIELDS)
    now = now or timezone.now()
    with transaction.atomic():
        process = _lock_process(milestone.stage.process_id)
        try:
            milestone = Milestone.objects.select_related("stage").get(pk=milestone.pk)
        except Milestone.DoesNotExist:
            raise ProcessError("That milestone no longer exists.") from None
        if milestone.is_retired:
            raise ProcessError(f"“{milestone}” is retired; add a new milestone instead of changing it.")
        data = _clean_milestone({**_values(milestone, MILESTONE_FIELDS), **fields})
        changed = _changed(milestone, data)
        if not changed:
            return milestone
        _check_milestone_place(milestone.stage, data, changed, exclude=milestone.pk)
        before = {field: getattr(milestone, field) for field in changed}
        for field, value in changed.items():
            setattr(milestone, field, value)
        clash = f"Stage “{milestone.stage}” already has a milestone named “{data['name']}”."
        _save(milestone, update_fields=list(changed), clash=clash)
        _record(
            process=process,
            actor=actor,
            action="milestone_update",
            row=milestone,
            before=before,
            after=changed,
            now=now,
        )
    return milestone


# --- removal ----------------------------------------------------------------------------------------


def _references(row) -> int:
    """How many rows outside this app refer to `row` (deals, their events, ticks, shares, lessons,
    reviews, playbooks). `stages` sits below the apps that own them, so it asks the relations Django
    knows about rather than naming their models. Tag lists (many-to-many) do not count: removing
    the row just drops the tag."""
    count = 0
    for relation in type(row)._meta.related_objects:
        if relation.many_to_many or relation.related_model._meta.app_label == "stages":
            continue
        count += relation.related_model._base_manager.filter(**{relation.field.name: row}).count()
    return count


def stage_remove(*, actor, stage: Stage, now: dt.datetime | None = None) -> None:
    """Delete a stage nothing refers to (no deal, open or closed, no event of any deal's history,
    no tick of its milestones), with its milestones; the remaining stages are renumbered 10, 20, 30…"""
    check_may_configure(actor)
    now = now or timezone.now()
    with transaction.atomic():
        process, stage = _lock_stage(stage)
        milestones = list(stage.milestones.all())
        used = _references(stage) + sum(_references(m) for m in milestones)
        if used:
            raise ProcessInUse(
                f"“{stage}” cannot be removed: deals or their history refer to it ({used} records). "
                "Rename it, or move its deals to another stage, instead."
            )
        before = {**_values(stage, STAGE_FIELDS), "milestones": [m.name for m in milestones]}
        stage_id = stage.pk
        stage.delete()
        stage.pk = stage_id  # the change record names the row removed
        remaining = list(process.stages.order_by("order", "id"))
        for position, other in enumerate(remaining, start=1):
            other.order = position * 10
        Stage.objects.bulk_update(remaining, ["order"])
        _record(process=process, actor=actor, action="stage_remove", row=stage, before=before, after={}, now=now)


def milestone_remove(*, actor, milestone: Milestone, now: dt.datetime | None = None) -> Milestone | None:
    """Remove a milestone from its stage: deleted when nothing ever referred to it (None is
    returned), retired when deals ticked it or records name it (the retired milestone is
    returned). Either way it stops gating, showing and taking ticks. A stage keeps at least
    MIN_MILESTONES."""
    check_may_configure(actor)
    now = now or timezone.now()
    with transaction.atomic():
        process = _lock_process(milestone.stage.process_id)
        try:
            milestone = Milestone.objects.select_related("stage").get(pk=milestone.pk, retired_at__isnull=True)
        except Milestone.DoesNotExist:
            raise ProcessError("That milestone no longer exists or is already retired.") from None
        live = milestone.stage.milestones.live().count()
        if live - 1 < MIN_MILESTONES:
            raise ProcessError(
                f"“{milestone.stage}” has {live} milestone{'s' if live != 1 else ''}; a stage keeps at least "
                f"{MIN_MILESTONES}. Add another before removing “{milestone}”, or edit it instead."
            )
        before = _values(milestone, MILESTONE_FIELDS)
        if _references(milestone):
            milestone.retired_at = now
            milestone.save(update_fields=["retired_at"])
            _record(
                process=process,
                actor=actor,
                action="milestone_retire",
                row=milestone,
                before=before,
                after={"retired_at": now.isoformat()},
                now=now,
            )
            return milestone
        milestone_id = milestone.pk
        milestone.delete()
        milestone.pk = milestone_id
        _record(
            process=process, actor=actor, action="milestone_remove", row=milestone, before=before, after={}, now=now
        )
    return None


def milestone_reorder(*, actor, stage: Stage, order: list[int], now: dt.datetime | None = None) -> list[Milestone]:
    """Put the stage's live milestones in the order of `order` (every live milestone id, once):
    they get orders 10, 20, 30… Ticks stay."""
    check_may_configure(actor)
    now = now or timezone.now()
    with transaction.atomic():
        process, stage = _lock_stage(stage)
        milestones = {m.pk: m for m in stage.milestones.live()}
        ids = [parse_int(pk, minimum=1) for pk in order] if isinstance(order, list | tuple) else None
        if ids is None or None in ids or len(set(ids)) != len(ids) or set(ids) != set(milestones):
            raise ProcessError(f"List every milestone of “{stage}” once, in the order they come.", field="order")
        before = {m.name: m.order for m in sorted(milestones.values(), key=lambda m: (m.order, m.pk))}
        for position, pk in enumerate(ids, start=1):
            milestones[pk].order = position * 10
        ordered = [milestones[pk] for pk in ids]
        after = {m.name: m.order for m in ordered}
        if list(before.items()) != list(after.items()):
            Milestone.objects.bulk_update(ordered, ["order"])
            _record(
                process=process, actor=actor, action="milestone_reorder", row=stage, before=before, after=after, now=now
            )
    return ordered
