"""The library pages (list and search, an aid and its versions, create or suggest, edit, new
version, publish and retire, the file download), a deal's share form and roles × aids matrix,
the playbooks, and the measured-use page for managers."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opportunities.errors import DomainError
from opportunities.form_pages import form_page, refuse
from opportunities.models import BuyingTeamMember, Opportunity
from people.access import get_readable
from stages.models import Milestone

from . import matrix, services, usage
from .content import render_markdown
from .forms import AidCreateForm, AidTagsForm, LibraryFilterForm, PlaybookForm, ShareForm, VersionForm
from .models import Aid, AidEvent, AidSource, AidStatus, AidVersion, Playbook, Share, may_curate
from .search import search

PAGE_SIZE = 25


def _aid(request, pk: int) -> Aid:
    return get_object_or_404(Aid.objects.for_user(request.user).select_related("current_version", "created_by"), pk=pk)


def _with_tags(aids):
    return aids.prefetch_related("stages__process", "milestones", "competitors", "tags")


@require_GET
def aid_list(request):
    """The library: published aids (curators also see suggestions and retired ones), searched
    and filtered by kind, status and stage."""
    user = request.user
    form = LibraryFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    aids = Aid.objects.for_user(user)
    status = data.get("status") or ""
    if status:
        aids = aids.filter(status=status)
    elif not may_curate(user):
        # A rep's own suggestions are on their own filter; the library is what is published.
        aids = aids.filter(status=AidStatus.PUBLISHED)
    if data.get("kind"):
        aids = aids.filter(kind=data["kind"])
    if data.get("stage"):
        aids = aids.filter(stages=data["stage"])
    aids = search(aids, data.get("q") or "")
    if not data.get("q"):
        aids = aids.order_by("title", "id")
    page = Paginator(_with_tags(aids.select_related("current_version")), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    suggestions = Aid.objects.filter(status=AidStatus.DRAFT).count() if may_curate(user) else 0
    context = {"page": page, "form": form, "query": query.urlencode(), "curator": may_curate(user)}
    context["suggestions"] = suggestions
    return render(request, "aids/list.html", context)


@require_GET
def aid_detail(request, pk: int):
    aid = _aid(request, pk)
    user = request.user
    versions = list(aid.versions.select_related("created_by").annotate(share_count=Count("shares")))
    current = next((v for v in versions if v.pk == aid.current_version_id), None)
    context = {
        "aid": _with_tags(Aid.objects.filter(pk=aid.pk)).select_related("created_by", "current_version").get(),
        "versions": versions,
        "current": current,
        "body": render_markdown(current.body) if current and current.source == AidSource.TEXT else "",
        "can_edit": services.can_edit_aid(user, aid),
        "curator": may_curate(user),
        "events": AidEvent.objects.filter(aid=aid).select_related("actor")[:20] if may_curate(user) else [],
        "share_count": Share.objects.for_user(user).filter(aid=aid).count(),
    }
    return render(request, "aids/detail.html", context)


@require_http_methods(["GET", "POST"])
def aid_create(request):
    """A new aid. Curators may publish it at once; a rep's aid is a suggestion for a curator."""
    user = request.user
    form = AidCreateForm(request.POST or None, request.FILES or None, initial={"source": AidSource.TEXT})
    if not may_curate(user):
        del form.fields["publish"]

    def create(data) -> Aid:
        return services.aid_create(
            actor=user, publish=data.get("publish", False), **form.meta(), **form.content(), **form.tags()
        )

    def done(aid: Aid):
        message = "Published." if aid.is_published else "Saved as a suggestion: a manager will review it."
        return message, redirect("aids:detail", pk=aid.pk)

    return form_page(
        request, form, write=create, done=done, template="aids/form.html", context={"curator": may_curate(user)}
    )


def _tag_initial(aid: Aid) -> dict:
    tags = list(aid.tags.all())
    return {
        "title": aid.title,
        "kind": aid.kind,
        "summary": aid.summary,
        "processes": list(aid.processes.values_list("pk", flat=True)),
        "stages": list(aid.stages.values_list("pk", flat=True)),
        "milestones": list(aid.milestones.values_list("pk", flat=True)),
        "competitors": list(aid.competitors.values_list("pk", flat=True)),
        "buyer_roles": [t.value for t in tags if t.kind == "buyer_role"],
        "industries": ", ".join(t.value for t in tags if t.kind == "industry"),
        "size_bands": [t.value for t in tags if t.kind == "size_band"],
    }


@require_http_methods(["GET", "POST"])
def aid_edit(request, pk: int):
    aid = _aid(request, pk)
    if not services.can_edit_aid(request.user, aid):
        raise PermissionDenied("Only managers and admins edit this aid.")
    form = AidTagsForm(request.POST or None, initial=_tag_initial(aid))
    return form_page(
        request,
        form,
        write=lambda data: services.aid_update(aid, actor=request.user, **form.meta(), **form.tags()),
        done=lambda _: ("Saved.", redirect("aids:detail", pk=aid.pk)),
        template="aids/edit.html",
        context={"aid": aid},
    )


@require_http_methods(["GET", "POST"])
def aid_new_version(request, pk: int):
    aid = _aid(request, pk)
    if not services.can_edit_aid(request.user, aid):
        raise PermissionDenied("Only managers and admins add versions of this aid.")
    current = aid.current_version
    initial = {"source": current.source, "url": current.url, "body": current.body} if current else {}
    form = VersionForm(request.POST or None, request.FILES or None, initial=initial)
    return form_page(
        request,
        form,
        write=lambda data: services.aid_add_version(aid, actor=request.user, note=data["note"], **form.content()),
        done=lambda version: (f"Version {version.number} is now the current one.", redirect("aids:detail", pk=aid.pk)),
        template="aids/version_form.html",
        context={"aid": aid},
    )


def _curate(request, pk: int, service, done: str):
    aid = _aid(request, pk)
    if not may_curate(request.user):
        raise PermissionDenied("Only managers and admins publish and retire aids.")
    try:
        service(aid, actor=request.user)
    except DomainError as exc:
        refuse(request, exc)
    else:
        messages.success(request, done)
    return redirect("aids:detail", pk=aid.pk)


@require_POST
def aid_publish(request, pk: int):
    return _curate(request, pk, services.aid_publish, "Published: reps see it now.")


@require_POST
def aid_retire(request, pk: int):
    return _curate(request, pk, services.aid_retire, "Retired: it no longer shows to reps.")


@require_GET
def aid_file(request, pk: int):
    """A version's file, to a signed-in user who may see its aid: the only way to it (the media
    directory has no URL). Always a download, never rendered in the site's origin."""
    version = get_object_or_404(
        AidVersion.objects.filter(aid__in=Aid.objects.for_user(request.user), source=AidSource.FILE), pk=pk
    )
    if not version.file:
        raise Http404("This version has no file.")
    try:
        handle = version.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is missing from storage.") from exc
    response = FileResponse(handle, as_attachment=True, filename=version.file_name, content_type=version.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- on a deal -----------------------------------------------------------------------------------


def _team(deal) -> list[BuyingTeamMember]:
    return list(BuyingTeamMember.objects.filter(opportunity=deal).select_related("contact"))


@require_http_methods(["GET", "POST"])
def deal_share(request, pk: int):
    """Share an aid with buying-team members of the deal: the form (the aid and roles picked
    from the deal page's link) and the share."""
    deal = get_readable(Opportunity.objects.select_related("account", "stage"), request.user, pk, write=True)
    team = _team(deal)
    initial = {}
    if request.method == "GET":
        aid_pk = request.GET.get("aid", "")
        initial["aid"] = aid_pk if aid_pk.isdigit() else None
        role = request.GET.get("role", "")
        contact = request.GET.get("contact", "")
        initial["contacts"] = [str(m.contact_id) for m in team if role in m.roles or str(m.contact_id) == contact]
    form = ShareForm(request.POST or None, initial=initial, team=team)
    shareable = Aid.objects.for_user(request.user).published().select_related("current_version").order_by("title")
    aids = list(shareable.prefetch_related(Prefetch("versions", queryset=AidVersion.objects.order_by("-number"))))

    def share(data) -> tuple[Aid, list]:
        # The form checks the ids; which of them name a published aid and its version, here.
        aid = next((a for a in aids if a.pk == data["aid"]), None)
        if aid is None:
            raise DomainError("Choose a published aid.", field="aid")
        version = None
        if data.get("version"):
            version = next((v for v in aid.versions.all() if v.pk == data["version"]), None)
            if version is None:
                raise DomainError("Choose a version of this aid.", field="version")
        chosen = {int(c) for c in data["contacts"]}
        contacts = [m.contact for m in team if m.contact_id in chosen]
        services.aid_share(
            aid,
            actor=request.user,
            opportunity=deal,
            contacts=contacts,
            version=version,
            channel=data["channel"],
            message=data["message"],
        )
        return aid, contacts

    def done(shared: tuple[Aid, list]):
        aid, contacts = shared
        names = ", ".join(str(c) for c in contacts)
        return f"Shared “{aid.title}” with {names}.", redirect("aids:matrix", pk=deal.pk)

    context = {"opp": deal, "aids": aids, "team": team}
    return form_page(request, form, write=share, done=done, template="aids/share.html", context=context)


@require_GET
def deal_matrix(request, pk: int):
    """The deal's roles × aids matrix: who received which aid (and version), who nothing yet;
    below it, the ledger of every share."""
    deal = get_readable(Opportunity.objects.select_related("account"), request.user, pk)
    context = {"opp": deal, **matrix.deal_matrix(deal), "can_share": deal.can_edit(request.user)}
    return render(request, "aids/matrix.html", context)


# --- playbooks ----------------------------------------------------------------------------------


@require_GET
def playbook_list(request):
    playbooks = Playbook.objects.select_related("milestone__stage__process", "updated_by")
    milestones = []
    if request.user.is_admin:
        milestones = (
            Milestone.objects.live()
            .select_related("stage__process")
            .order_by("stage__process__name", "stage__order", "order")
        )
    return render(
        request,
        "aids/playbooks.html",
        {"playbooks": [(p, render_markdown(p.how_to_run)) for p in playbooks], "milestones": milestones},
    )


@require_http_methods(["GET", "POST"])
def playbook_edit(request, milestone_pk: int):
    milestone = get_object_or_404(Milestone.objects.select_related("stage__process"), pk=milestone_pk)
    if not request.user.is_admin:
        raise PermissionDenied("Only admins write playbooks.")
    playbook = Playbook.objects.filter(milestone=milestone).first()
    initial = (
        {"how_to_run": playbook.how_to_run, "questions": playbook.questions, "avoid": playbook.avoid}
        if playbook
        else {}
    )
    form = PlaybookForm(request.POST or None, initial=initial)
    return form_page(
        request,
        form,
        write=lambda data: services.playbook_save(actor=request.user, milestone=milestone, **data),
        done=lambda _: ("Playbook saved.", redirect(reverse("aids:playbooks"))),
        template="aids/playbook_form.html",
        context={"milestone": milestone},
    )


# --- measured use ---------------------------------------------------------------------------------


@require_GET
def usage_page(request):
    """Which aids are shared, at which stage, by whom, and how deals that received aids fare
    against those that did not: managers (their teams' deals) and admins."""
    if not may_curate(request.user):
        raise PermissionDenied("The measured use of the library is for managers and admins.")
    return render(request, "aids/usage.html", usage.measured_use(request.user))
