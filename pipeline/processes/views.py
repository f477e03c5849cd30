"""The sales-process editor: the processes, and a process's stages in order with each stage's
milestones. Everyone signed in reads them; admins add, edit, reorder and remove stages and
milestones (`SalesProcess.can_edit`; anyone else gets 403 on a write). Every write goes through
`stages.services`, posts and redirects back to the process page, or, asked by htmx, answers
with the page's process section; a refusal is a message and changes nothing."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opportunities.form_pages import show_form_problems
from people.access import get_readable
from stages import services
from stages.errors import ProcessAccessDenied, ProcessError
from stages.models import Milestone, SalesProcess, Stage

from .forms import DirectionForm, MilestoneForm, ProcessForm, StageAddForm, StageForm


def _process_with_stages(request, pk: int) -> SalesProcess:
    process = get_readable(SalesProcess.objects, request.user, pk)
    live = Prefetch("milestones", queryset=Milestone.objects.live().order_by("order", "id"))
    process.ordered_stages = list(process.stages.order_by("order", "id").prefetch_related(live))
    return process


def _refused(request, exc: ProcessError, form=None) -> None:
    """A refusal: 403 when the actor may not, else the message on its field (or the page)."""
    if isinstance(exc, ProcessAccessDenied):
        raise PermissionDenied(exc.message)
    if form is not None and exc.field in form.fields:
        form.add_error(exc.field, exc.message)
    else:
        messages.error(request, exc.message)


def _back(request, process_id: int, *, status: int = 200):
    """After a write: the process page again (redirect), or its process section for htmx."""
    if request.htmx and not request.htmx.boosted:
        return _render_process(request, process_id, status=status)
    return redirect(reverse("processes:detail", args=[process_id]))


def _render_process(request, pk: int, *, status: int = 200, **extra):
    process = _process_with_stages(request, pk)
    context = {
        "process": process,
        "can_edit": process.can_edit(request.user),
        "stage_form": StageAddForm(),
        "milestone_form": MilestoneForm(),
        "max_milestones": services.MAX_MILESTONES,
        **extra,
    }
    partial = request.htmx and not request.htmx.boosted
    template = "pipeline/processes/_process.html" if partial else "pipeline/processes/process_detail.html"
    return render(request, template, context, status=status)


def _act(request, process_id: int, call, success: str):
    """Run a service for a POST on the process page, then go back to it."""
    try:
        call()
    except ProcessError as exc:
        _refused(request, exc)
        return _back(request, process_id)
    messages.success(request, success)
    return _back(request, process_id)


def _added(request, process_id: int, form, create, success):
    """An add form posted on the process page: its errors as messages, or `create(cleaned_data)`
    through the service with `success(cleaned_data)`; back to the process page either way."""
    if not form.is_valid():
        show_form_problems(request, form)
        return _back(request, process_id)
    return _act(request, process_id, lambda: create(form.cleaned_data), success(form.cleaned_data))


def _saved(request, form, save, success):
    """A posted edit form: `save(cleaned_data)` through the service, which returns the process
    to go back to, then its page with `success(cleaned_data)`; None when the form or the
    service refused, so that the view shows the form again with the reasons (400)."""
    if not form.is_valid():
        return None
    try:
        process_id = save(form.cleaned_data)
    except ProcessError as exc:
        _refused(request, exc, form)
        return None
    messages.success(request, success(form.cleaned_data))
    return redirect(reverse("processes:detail", args=[process_id]))


def _neighbours(ids: list[int], pk: int, direction: str) -> list[int] | None:
    """`ids` with `pk` swapped with the one before (up) or after (down); None at the end."""
    i = ids.index(pk)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(ids):
        return None
    ids = list(ids)
    ids[i], ids[j] = ids[j], ids[i]
    return ids


# --- processes ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def process_list(request):
    """Every sales process with its stage count; admins add one."""
    can_edit = SalesProcess.can_edit(request.user)
    form = ProcessForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only admins change sales processes, their stages and milestones.")
        saved = _saved(
            request,
            form,
            lambda data: services.process_create(actor=request.user, **data).pk,
            lambda data: f"Added “{data['name']}”. Now give it its stages.",
        )
        if saved:
            return saved
        status = 400
    processes = SalesProcess.objects.for_user(request.user).prefetch_related("stages").order_by("name", "id")
    return render(
        request,
        "pipeline/processes/process_list.html",
        {"processes": processes, "form": form, "can_edit": can_edit},
        status=status,
    )


@require_GET
def process_detail(request, pk: int):
    return _render_process(request, pk)


# --- stages ---------------------------------------------------------------------------------------


@require_POST
def stage_add(request, pk: int):
    process = get_readable(SalesProcess.objects, request.user, pk, write=True)
    return _added(
        request,
        process.pk,
        StageAddForm(request.POST),
        lambda data: services.stage_create(actor=request.user, process=process, **data),
        lambda data: f"Added the stage “{data['name']}”.",
    )


@require_http_methods(["GET", "POST"])
def stage_edit(request, pk: int):
    stage = get_readable(Stage.objects.select_related("process"), request.user, pk, write=True)
    initial = {field: getattr(stage, field) for field in StageForm.base_fields}
    form = StageForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":

        def save(data) -> int:
            return services.stage_update(actor=request.user, stage=stage, **data).process_id

        saved = _saved(request, form, save, lambda data: f"Saved the stage “{data['name']}”.")
        if saved:
            return saved
        status = 400
    return render(request, "pipeline/processes/stage_form.html", {"form": form, "stage": stage}, status=status)


@require_POST
def stage_move(request, pk: int):
    stage = get_readable(Stage.objects.select_related("process"), request.user, pk, write=True)
    form = DirectionForm(request.POST)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back(request, stage.process_id)
    ids = list(stage.process.stages.order_by("order", "id").values_list("pk", flat=True))
    order = _neighbours(ids, stage.pk, form.cleaned_data["direction"])
    if order is None:
        messages.error(
            request, f"“{stage}” is already {'first' if form.cleaned_data['direction'] == 'up' else 'last'}."
        )
        return _back(request, stage.process_id)
    return _act(
        request,
        stage.process_id,
        lambda: services.stage_reorder(actor=request.user, process=stage.process, stage_ids=order),
        f"Moved “{stage}” {form.cleaned_data['direction']}.",
    )


@require_POST
def stage_remove(request, pk: int):
    stage = get_readable(Stage.objects.select_related("process"), request.user, pk, write=True)
    return _act(
        request,
        stage.process_id,
        lambda: services.stage_remove(actor=request.user, stage=stage),
        f"Removed the stage “{stage}”.",
    )


# --- milestones -----------------------------------------------------------------------------------


@require_POST
def milestone_add(request, pk: int):
    stage = get_readable(Stage.objects.select_related("process"), request.user, pk, write=True)
    return _added(
        request,
        stage.process_id,
        MilestoneForm(request.POST),
        lambda data: services.milestone_create(actor=request.user, stage=stage, **data),
        lambda data: f"Added the milestone “{data['name']}” to “{stage}”.",
    )


def _milestone(request, pk: int) -> Milestone:
    """A milestone in force: a retired one is history, not something to edit (404)."""
    return get_readable(Milestone.objects.live().select_related("stage__process"), request.user, pk, write=True)


@require_http_methods(["GET", "POST"])
def milestone_edit(request, pk: int):
    milestone = _milestone(request, pk)
    initial = {field: getattr(milestone, field) for field in MilestoneForm.base_fields}
    form = MilestoneForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":

        def save(data) -> int:
            services.milestone_update(actor=request.user, milestone=milestone, **data)
            return milestone.stage.process_id

        saved = _saved(request, form, save, lambda data: f"Saved the milestone “{data['name']}”.")
        if saved:
            return saved
        status = 400
    return render(
        request, "pipeline/processes/milestone_form.html", {"form": form, "milestone": milestone}, status=status
    )


@require_POST
def milestone_move(request, pk: int):
    milestone = _milestone(request, pk)
    stage = milestone.stage
    form = DirectionForm(request.POST)
    if not form.is_valid():
        show_form_problems(request, form)
        return _back(request, stage.process_id)
    ids = list(stage.milestones.live().order_by("order", "id").values_list("pk", flat=True))
    order = _neighbours(ids, milestone.pk, form.cleaned_data["direction"])
    if order is None:
        where = "first" if form.cleaned_data["direction"] == "up" else "last"
        messages.error(request, f"“{milestone}” is already {where} in “{stage}”.")
        return _back(request, stage.process_id)
    return _act(
        request,
        stage.process_id,
        lambda: services.milestone_reorder(actor=request.user, stage=stage, order=order),
        f"Moved “{milestone}” {form.cleaned_data['direction']}.",
    )


@require_POST
def milestone_remove(request, pk: int):
    milestone = _milestone(request, pk)
    process_id = milestone.stage.process_id
    try:
        retired = services.milestone_remove(actor=request.user, milestone=milestone)
    except ProcessError as exc:
        _refused(request, exc)
        return _back(request, process_id)
    if retired is None:
        messages.success(request, f"Removed the milestone “{milestone}”.")
    else:
        messages.success(request, f"Retired the milestone “{milestone}”: deals ticked it, so their history keeps it.")
    return _back(request, process_id)
