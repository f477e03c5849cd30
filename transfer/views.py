"""The import pages: upload, map columns, map values, preview and commit, then the import's page
with its progress, counts, original file and undo. Admins only: the others get 403 on the list
and 404 on an import (`ImportJob.objects.for_user`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from opportunities.errors import AccessDenied, DomainError

from . import progress, services
from .fields import FIELDS
from .forms import MappingForm, UploadForm, ValuesForm
from .models import DuplicateAction, ExportJob, ExportStatus, ImportJob, ImportStatus
from .reading import MAX_BYTES
from .rows import VALUE_FIELDS

PREVIEW_ROWS = 100


def _job(request, pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.for_user(request.user).select_related("created_by", "process"), pk=pk)


def _editable(request, job: ImportJob):
    """None, or where to send someone who opens a step of an import already committed."""
    if job.is_editable:
        return None
    messages.info(request, "This import has been committed; its page shows how it went.")
    return redirect("transfer:detail", job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request):
    if not request.user.is_admin:
        raise PermissionDenied("Only admins can import data.")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_BYTES:
                raise DomainError("The file is larger than the limit; split it into smaller files.")
            job = services.import_upload(
                actor=request.user, kind=form.cleaned_data["kind"], filename=upload.name, data=upload.read()
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("transfer:map", job.pk)
    status = 400 if form.errors else 200
    page = Paginator(ImportJob.objects.for_user(request.user).select_related("created_by"), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "transfer/imports.html", {"form": form, "page": page}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def import_columns(request, pk: int):
    job = _job(request, pk)
    if (elsewhere := _editable(request, job)) is not None:
        return elsewhere
    form = MappingForm(request.POST or None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            services.import_map(
                job,
                actor=request.user,
                mapping=form.mapping(),
                process=form.cleaned_data.get("process"),
                duplicates=form.cleaned_data.get("duplicates") or job.duplicates,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("transfer:values", job.pk)
    sample = services.sample_rows(job, 3)
    context = {"job": job, "form": form, "sample": sample}
    return render(request, "transfer/map.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def import_values(request, pk: int):
    job = _job(request, pk)
    if (elsewhere := _editable(request, job)) is not None:
        return elsewhere
    form = ValuesForm(request.POST or None, job=job, suggested=services.suggest_value_map(job))
    if request.method == "POST" and form.is_valid():
        services.import_map(
            job,
            actor=request.user,
            mapping=job.mapping,
            value_map=form.value_map(),
            duplicates=job.duplicates,
        )
        services.import_check(job, actor=request.user)
        return redirect("transfer:preview", job.pk)
    context = {"job": job, "form": form, "has_values": any(job.mapping.get(f) for f in VALUE_FIELDS[job.kind])}
    return render(request, "transfer/values.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request, pk: int):
    job = _job(request, pk)
    if (elsewhere := _editable(request, job)) is not None:
        return elsewhere
    if request.method == "POST":
        actions = {
            key.removeprefix("row_"): value
            for key, value in request.POST.items()
            if key.startswith("row_") and value in DuplicateAction.values
        }
        try:
            services.import_map(
                job,
                actor=request.user,
                mapping=job.mapping,
                duplicates=request.POST.get("duplicates") or job.duplicates,
                row_actions={**job.row_actions, **actions},
            )
            job = services.import_start(job, actor=request.user)
        except AccessDenied as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("transfer:preview", job.pk)
        if job.status == ImportStatus.DONE:
            messages.success(request, f"Imported {job.row_count} rows.")
        return redirect("transfer:detail", job.pk)
    checked = services.import_check(job, actor=request.user, save=False)
    duplicates = [r for r in checked if r.duplicate_of is not None]
    shown = checked[:PREVIEW_ROWS]
    columns = [(f.label, job.mapping[f.name]) for f in FIELDS[job.kind] if job.mapping.get(f.name)]
    sample = services.sample_rows(job, PREVIEW_ROWS)
    preview = [
        {
            "row": r,
            "cells": [raw.get(column, "") for _, column in columns],
            "action": job.row_actions.get(str(r.number), job.duplicates),
        }
        for r, raw in zip(shown, sample, strict=False)
    ]
    context = {
        "job": job,
        "labels": [label for label, _ in columns],
        "preview": preview,
        "problems": [f"Row {r.number}: {e}" for r in checked for e in r.errors][: services.KEEP_ERRORS],
        "error_count": sum(len(r.errors) for r in checked),
        "duplicate_count": len(duplicates),
        "actions": DuplicateAction.choices,
        "more": max(0, len(checked) - PREVIEW_ROWS),
    }
    return render(request, "transfer/preview.html", context)


@login_required
@require_http_methods(["GET"])
def import_detail(request, pk: int):
    job = _job(request, pk)
    done = progress.get_progress(job.pk) if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING) else None
    if done is not None:
        job.progress = done
    context = {"job": job, "blockers": services.undo_blockers(job) if job.status == ImportStatus.DONE else []}
    if request.htmx and request.GET.get("part") == "progress":
        return render(request, "transfer/_progress.html", context)
    return render(request, "transfer/detail.html", context)


@login_required
@require_POST
def import_undo(request, pk: int):
    job = _job(request, pk)
    try:
        services.import_undo(job, actor=request.user)
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The import was undone.")
    return redirect("transfer:detail", job.pk)


@login_required
@require_http_methods(["GET"])
def import_file(request, pk: int):
    """The original file, to admins only (never served from MEDIA_URL)."""
    job = _job(request, pk)
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.filename)


# --- full export ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def export_list(request):
    """Your full exports: request one (built in the background), download those that are ready."""
    if request.method == "POST":
        services.export_request(actor=request.user)
        messages.success(request, "Your export is being prepared; it appears here when it is ready.")
        return redirect("transfer:exports")
    jobs = ExportJob.objects.for_user(request.user)[:20]
    pending = any(job.status == ExportStatus.QUEUED for job in jobs)
    if request.htmx and request.GET.get("part") == "list":
        return render(request, "transfer/_exports.html", {"jobs": jobs, "pending": pending})
    return render(request, "transfer/exports.html", {"jobs": jobs, "pending": pending})


@login_required
@require_http_methods(["GET"])
def export_file(request, pk: int):
    job = get_object_or_404(ExportJob.objects.for_user(request.user), pk=pk, status=ExportStatus.DONE)
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])
