"""Every change of the sales-aid library, its playbooks and its share ledger.

Each service checks who acts, owns its transaction and writes an `AidEvent`; a refusal raises
`DomainError` (or `AccessDenied`) and changes nothing, and an upload refused or rolled back
leaves no file behind in storage. Sharing goes through `opportunities.services.activity_log`,
so the deal's timeline shows it like any other touch.
"""

import datetime as dt
import logging
import secrets
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from opportunities import services as deal_services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import (
    ActivityKind,
    BuyingRole,
    BuyingTeamMember,
    Competitor,
    Contact,
    Opportunity,
)
from stages.cleaning import clean_text
from stages.models import Milestone, SalesProcess, Stage

from .content import check_upload
from .models import (
    Aid,
    AidEvent,
    AidKind,
    AidSource,
    AidStatus,
    AidTag,
    AidVersion,
    Playbook,
    Share,
    ShareChannel,
    SizeBand,
    TagKind,
    may_curate,
)

log = logging.getLogger(__name__)

TITLE_MAX = 200
SUMMARY_MAX = 2000
BODY_MAX = 50_000
NOTE_MAX = 300
MESSAGE_MAX = 2000
MAX_RECIPIENTS = 20


def _now(now):
    return now or timezone.now()


def _record(*, actor, verb: str, now, aid: Aid | None = None, playbook: Playbook | None = None, **data) -> AidEvent:
    return AidEvent.objects.create(aid=aid, playbook=playbook, actor=actor, verb=verb, data=data, created_at=now)


def can_edit_aid(user, aid: Aid) -> bool:
    """Curators edit any aid; a rep only their own suggestion while it is a draft."""
    return may_curate(user) or (aid.created_by_id == user.pk and aid.status == AidStatus.DRAFT)


def _text(value, label: str, max_length: int, *, required: bool = False, one_line: bool = False) -> str:
    value = (clean_text(value or "") if one_line else (value or "").replace("\x00", "")).strip()
    if required and not value:
        raise DomainError(f"{label} is required.", field=label.lower())
    if len(value) > max_length:
        raise DomainError(f"{label} is longer than {max_length} characters.", field=label.lower())
    return value


def _clean_tags(tags: dict) -> dict:
    """The tags, checked: {"processes", "stages", "milestones", "competitors": model rows;
    "buyer_roles", "industries", "size_bands": strings}."""
    roles = list(dict.fromkeys(tags.get("buyer_roles") or []))
    if bad := [r for r in roles if r not in BuyingRole.values]:
        raise DomainError(f"Unknown buyer role: {', '.join(bad)}.", field="buyer_roles")
    bands = list(dict.fromkeys(tags.get("size_bands") or []))
    if bad := [b for b in bands if b not in SizeBand.values]:
        raise DomainError(f"Unknown deal size band: {', '.join(bad)}.", field="size_bands")
    industries = []
    for industry in tags.get("industries") or []:
        industry = clean_text(industry).strip()
        if len(industry) > 100:
            raise DomainError("An industry is longer than 100 characters.", field="industries")
        if industry and industry.lower() not in {i.lower() for i in industries}:
            industries.append(industry)
    cleaned = {"buyer_roles": roles, "size_bands": bands, "industries": industries}
    for key, model in (
        ("processes", SalesProcess),
        ("stages", Stage),
        ("milestones", Milestone),
        ("competitors", Competitor),
    ):
        rows = list(tags.get(key) or [])
        if any(not isinstance(r, model) for r in rows):
            raise DomainError(f"Bad {key} tag.", field=key)
        cleaned[key] = rows
    return cleaned


def _set_tags(aid: Aid, tags: dict) -> None:
    aid.processes.set(tags["processes"])
    aid.stages.set(tags["stages"])
    aid.milestones.set(tags["milestones"])
    aid.competitors.set(tags["competitors"])
    AidTag.objects.filter(aid=aid).delete()
    AidTag.objects.bulk_create(
        [AidTag(aid=aid, kind=TagKind.BUYER_ROLE, value=v) for v in tags["buyer_roles"]]
        + [AidTag(aid=aid, kind=TagKind.INDUSTRY, value=v) for v in tags["industries"]]
        + [AidTag(aid=aid, kind=TagKind.SIZE_BAND, value=v) for v in tags["size_bands"]]
    )


def _tag_summary(tags: dict) -> dict:
    summary = {k: [str(r) for r in v] for k, v in tags.items()}
    return {k: v for k, v in summary.items() if v}


def _clean_content(source: str, *, file=None, url: str = "", body: str = "") -> dict:
    """The checked content of a version, its upload not stored yet."""
    if source == AidSource.FILE:
        if file is None:
            raise DomainError("Choose a file to upload.", field="file")
        name, content_type = check_upload(file)
        return {"source": source, "file_name": name, "content_type": content_type, "size": file.size}
    if source == AidSource.LINK:
        url = (url or "").strip()
        if len(url) > 500:
            raise DomainError("The link is longer than 500 characters.", field="url")
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise DomainError("Enter a web address starting with http:// or https://.", field="url") from exc
        return {"source": source, "url": url}
    if source == AidSource.TEXT:
        return {"source": source, "body": _text(body, "Text", BODY_MAX, required=True)}
    raise DomainError("Choose whether the aid is a file, a link or text.", field="source")


def _search_text(aid: Aid, version: AidVersion | None) -> str:
    return "\n".join(p for p in (aid.title, aid.summary, version.body if version else "") if p)


def _add_version(aid: Aid, *, actor, content: dict, file, note: str, now) -> AidVersion:
    """Store the version. The upload was checked before; it is written to storage last, and
    deleted again if saving its row fails, so a refused write leaves no file behind."""
    number = (aid.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = AidVersion(aid=aid, number=number, note=note, created_by=actor, created_at=now, **content)
    if content["source"] == AidSource.FILE:
        # A random stored name: the original one is kept for the download, never used as a path.
        extension = content["file_name"].rsplit(".", 1)[-1].lower()
        version.file.save(f"{secrets.token_hex(16)}.{extension}", file, save=False)
    try:
        version.save()
        aid.current_version = version
        aid.search_text = _search_text(aid, version)
        aid.updated_at = now
        aid.save(update_fields=["current_version", "search_text", "updated_at"])
    except Exception:
        if version.file:
            version.file.storage.delete(version.file.name)
        raise
    return version


@transaction.atomic
def aid_create(
    *,
    actor,
    title: str,
    kind: str,
    summary: str = "",
    source: str,
    file=None,
    url: str = "",
    body: str = "",
    publish: bool = False,
    now: dt.datetime | None = None,
    **tags,
) -> Aid:
    """Create an aid with its first version. Curators may publish it at once; a rep's aid is a
    suggestion (a draft) until a curator publishes it."""
    now = _now(now)
    if publish and not may_curate(actor):
        raise AccessDenied("Only managers and admins publish aids; yours is saved as a suggestion.")
    if kind not in AidKind.values:
        raise DomainError("Choose a kind of aid.", field="kind")
    title = _text(title, "Title", TITLE_MAX, required=True, one_line=True)
    summary = _text(summary, "Summary", SUMMARY_MAX)
    tags = _clean_tags(tags)
    content = _clean_content(source, file=file, url=url, body=body)
    aid = Aid.objects.create(
        title=title,
        kind=kind,
        summary=summary,
        status=AidStatus.PUBLISHED if publish else AidStatus.DRAFT,
        created_by=actor,
        created_at=now,
        updated_at=now,
        published_at=now if publish else None,
    )
    _set_tags(aid, tags)
    version = _add_version(aid, actor=actor, content=content, file=file, note="", now=now)
    _record(aid=aid, actor=actor, verb="published" if publish else "suggested", now=now, version=version.number)
    _record(aid=aid, actor=actor, verb="tagged", now=now, tags=_tag_summary(tags))
    return aid


def _lock(aid: Aid) -> Aid:
    return Aid.objects.select_for_update().get(pk=aid.pk)


def _ensure_can_edit(actor, aid: Aid) -> None:
    if not can_edit_aid(actor, aid):
        raise AccessDenied("Only managers and admins change this aid (you may edit your own suggestions).")


@transaction.atomic
def aid_update(aid: Aid, *, actor, title: str, kind: str, summary: str = "", now: dt.datetime | None = None, **tags):
    """Change an aid's title, kind, summary and tags (its content changes by a new version)."""
    now = _now(now)
    aid = _lock(aid)
    _ensure_can_edit(actor, aid)
    if kind not in AidKind.values:
        raise DomainError("Choose a kind of aid.", field="kind")
    aid.title = _text(title, "Title", TITLE_MAX, required=True, one_line=True)
    aid.kind = kind
    aid.summary = _text(summary, "Summary", SUMMARY_MAX)
    tags = _clean_tags(tags)
    aid.search_text = _search_text(aid, aid.current_version)
    aid.updated_at = now
    aid.save(update_fields=["title", "kind", "summary", "search_text", "updated_at"])
    _set_tags(aid, tags)
    _record(aid=aid, actor=actor, verb="edited", now=now, title=aid.title, tags=_tag_summary(tags))
    return aid


@transaction.atomic
def aid_add_version(
    aid: Aid,
    *,
    actor,
    source: str,
    file=None,
    url: str = "",
    body: str = "",
    note: str = "",
    now: dt.datetime | None = None,
) -> AidVersion:
    """Add a new version; it becomes the current one. The old versions, and what was shared of
    them, stay."""
    now = _now(now)
    aid = _lock(aid)
    _ensure_can_edit(actor, aid)
    if aid.status == AidStatus.RETIRED:
        raise DomainError("This aid is retired; publish it again before adding a version.")
    note = _text(note, "Note", NOTE_MAX, one_line=True)
    content = _clean_content(source, file=file, url=url, body=body)
    _record(aid=aid, actor=actor, verb="version_added", now=now, source=source, note=note)
    return _add_version(aid, actor=actor, content=content, file=file, note=note, now=now)


@transaction.atomic
def aid_publish(aid: Aid, *, actor, now: dt.datetime | None = None) -> Aid:
    """Publish a suggestion, or bring a retired aid back: reps then see it."""
    now = _now(now)
    aid = _lock(aid)
    if not may_curate(actor):
        raise AccessDenied("Only managers and admins publish aids.")
    if aid.status == AidStatus.PUBLISHED:
        raise DomainError("This aid is already published.")
    before = aid.status
    aid.status = AidStatus.PUBLISHED
    aid.published_at = now
    aid.updated_at = now
    aid.save(update_fields=["status", "published_at", "updated_at"])
    _record(aid=aid, actor=actor, verb="published", now=now, from_status=before)
    return aid


@transaction.atomic
def aid_retire(aid: Aid, *, actor, now: dt.datetime | None = None) -> Aid:
    """Take an aid out of the library (or turn down a suggestion). Its versions and share
    history stay, so deals still show what their buyers received."""
    now = _now(now)
    aid = _lock(aid)
    if not may_curate(actor):
        raise AccessDenied("Only managers and admins retire aids.")
    if aid.status == AidStatus.RETIRED:
        raise DomainError("This aid is already retired.")
    before = aid.status
    aid.status = AidStatus.RETIRED
    aid.updated_at = now
    aid.save(update_fields=["status", "updated_at"])
    _record(aid=aid, actor=actor, verb="retired", now=now, from_status=before)
    return aid


def _share_email(version: AidVersion, *, actor, contact: Contact, message: str) -> EmailMessage:
    aid = version.aid
    lines = [f"Hello {contact.first_name or contact},", ""]
    if message:
        lines += [message, ""]
    if version.source == AidSource.LINK:
        lines += [f"{aid.title}: {version.url}"]
    elif version.source == AidSource.TEXT:
        lines += [aid.title, "", version.body]
    else:
        lines += [f"{aid.title} is attached."]
    lines += ["", f"{actor.get_full_name() or actor}"]
    email = EmailMessage(
        subject=aid.title, body="\n".join(lines), to=[contact.email], reply_to=[actor.email] if actor.email else None
    )
    if version.source == AidSource.FILE and version.file:
        with version.file.open("rb") as handle:
            email.attach(version.file_name, handle.read(), version.content_type)
    return email


@transaction.atomic
def aid_share(
    aid: Aid,
    *,
    actor,
    opportunity: Opportunity,
    contacts: Iterable[Contact],
    version: AidVersion | None = None,
    channel: str = ShareChannel.RECORDED,
    message: str = "",
    now: dt.datetime | None = None,
) -> list[Share]:
    """Share one version of `aid` (the current one unless named) with buying-team members of
    `opportunity`: one `Share` per contact, a "content shared" activity on the deal (through
    the deal's services, which check that the actor may change the deal), and, for the email
    channel, one email per contact sent once the transaction commits."""
    now = _now(now)
    if aid.status != AidStatus.PUBLISHED:
        raise DomainError("Only a published aid can be shared.")
    version = version or aid.current_version
    if version is None or version.aid_id != aid.pk:
        raise DomainError("Choose a version of this aid.", field="version")
    if channel not in ShareChannel.values:
        raise DomainError("Choose to send the email or just record the share.", field="channel")
    contacts = list(dict.fromkeys(contacts))
    if not contacts:
        raise DomainError("Choose who to share it with.", field="contacts")
    if len(contacts) > MAX_RECIPIENTS:
        raise DomainError(f"Share with at most {MAX_RECIPIENTS} people at a time.", field="contacts")
    message = _text(message, "Message", MESSAGE_MAX)
    roles = dict(
        BuyingTeamMember.objects.filter(opportunity=opportunity, contact__in=contacts).values_list(
            "contact_id", "roles"
        )
    )
    if strangers := [c for c in contacts if c.pk not in roles]:
        names = ", ".join(str(c) for c in strangers)
        raise DomainError(f"{names} not on this deal's buying team.", field="contacts")
    if channel == ShareChannel.EMAIL and (no_email := [c for c in contacts if not c.email]):
        names = ", ".join(str(c) for c in no_email)
        raise DomainError(f"No email address for {names}: record the share instead.", field="contacts")
    activity = deal_services.activity_log(
        actor=actor,
        opportunity=opportunity,
        kind=ActivityKind.CONTENT_SHARED,
        subject=f"Shared “{aid.title}” (v{version.number})"[:200],
        notes=message,
        contacts=contacts,
        now=now,
    )
    shares = Share.objects.bulk_create(
        [
            Share(
                aid=aid,
                version=version,
                opportunity=opportunity,
                contact=contact,
                roles=roles[contact.pk],
                stage_id=opportunity.stage_id,
                channel=channel,
                message=message,
                shared_by=actor,
                shared_at=now,
                activity=activity,
            )
            for contact in contacts
        ]
    )
    _record(
        aid=aid,
        actor=actor,
        verb="shared",
        now=now,
        opportunity=opportunity.pk,
        version=version.number,
        contacts=[c.pk for c in contacts],
        channel=channel,
    )
    if channel == ShareChannel.EMAIL:
        emails = [_share_email(version, actor=actor, contact=c, message=message) for c in contacts]
        transaction.on_commit(lambda: _send(emails))
    return shares


def _send(emails: list[EmailMessage]) -> None:
    for email in emails:
        try:
            email.send()
        except Exception:  # the share stands; a mail server failing is logged, not a 500
            log.exception("Sending a shared aid to %s failed", email.to)


@transaction.atomic
def playbook_save(
    *,
    actor,
    milestone: Milestone,
    how_to_run: str,
    questions: str = "",
    avoid: str = "",
    now: dt.datetime | None = None,
) -> Playbook:
    """Write (or rewrite) the playbook of `milestone`: admins only."""
    now = _now(now)
    if not actor.is_admin:
        raise AccessDenied("Only admins write playbooks.")
    fields = {
        "how_to_run": _text(how_to_run, "How to run it", BODY_MAX, required=True),
        "questions": _text(questions, "What to ask", BODY_MAX),
        "avoid": _text(avoid, "What to avoid", BODY_MAX),
        "updated_by": actor,
        "updated_at": now,
    }
    playbook, created = Playbook.objects.update_or_create(milestone=milestone, defaults=fields)
    _record(playbook=playbook, actor=actor, verb="playbook_written" if created else "playbook_edited", now=now)
    return playbook
