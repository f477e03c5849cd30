"""The library's services: curation, versions, uploads refused without a trace, the share ledger."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from aids import services
from aids.content import MAX_FILE_BYTES, render_markdown
from aids.models import Aid, AidEvent, AidSource, AidStatus, AidVersion, Share, ShareChannel
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import Activity, ActivityKind, BuyingRole
from tests.aids.world import team_member, text_aid

PDF = b"%PDF-1.4\n%test\n"


def pdf(name="case.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_rep_suggests_a_draft_that_a_manager_publishes(owner, manager):
    aid = text_aid(owner, publish=False)
    assert aid.status == AidStatus.DRAFT
    assert list(Aid.objects.for_user(owner)) == [aid]
    services.aid_publish(aid, actor=manager)
    aid.refresh_from_db()
    assert aid.status == AidStatus.PUBLISHED
    assert list(AidEvent.objects.filter(aid=aid).values_list("verb", flat=True)) == ["published", "tagged", "suggested"]


def test_reps_may_not_publish_or_retire(owner, teammate, manager):
    with pytest.raises(AccessDenied):
        text_aid(owner, publish=True)
    aid = text_aid(manager)
    with pytest.raises(AccessDenied):
        services.aid_retire(aid, actor=owner)
    # Someone else's draft is invisible to a rep, and not theirs to edit.
    draft = text_aid(owner, publish=False)
    assert not Aid.objects.for_user(teammate).filter(pk=draft.pk).exists()
    assert Aid.objects.for_user(teammate).filter(pk=aid.pk).exists()
    services.aid_retire(aid, actor=manager)
    assert not Aid.objects.for_user(teammate).filter(pk=aid.pk).exists()


def test_a_new_version_keeps_the_old_one_and_its_shares(owner, manager, opportunity):
    buyer = team_member(opportunity, actor=owner)
    aid = text_aid(manager)
    first = aid.current_version
    services.aid_share(aid, actor=owner, opportunity=opportunity, contacts=[buyer])
    second = services.aid_add_version(aid, actor=manager, source=AidSource.LINK, url="https://example.com/v2")
    aid.refresh_from_db()
    assert aid.current_version == second and second.number == 2
    assert AidVersion.objects.filter(aid=aid).count() == 2
    assert Share.objects.get().version == first


def test_uploads_are_checked_and_stored(manager, media_root):
    aid = services.aid_create(actor=manager, title="Case", kind="case_study", source=AidSource.FILE, file=pdf())
    version = aid.current_version
    assert version.file_name == "case.pdf" and version.content_type == "application/pdf"
    assert version.file.read() == PDF
    assert "case" not in version.file.name  # a random stored name
    assert len(stored_files(media_root)) == 1


@pytest.mark.parametrize(
    "upload, message",
    [
        (SimpleUploadedFile("run.exe", b"MZ\x90\x00"), "not accepted"),
        (SimpleUploadedFile("fake.pdf", b"MZ\x90\x00 not a pdf"), "not a .pdf"),
        (SimpleUploadedFile("empty.pdf", b""), "empty"),
        (SimpleUploadedFile("big.pdf", PDF + b"0" * MAX_FILE_BYTES), "larger than"),
        (SimpleUploadedFile("notes.txt", b"\x00\x01binary"), "does not look like"),
        (SimpleUploadedFile("noext", PDF), "not accepted"),
    ],
)
def test_refused_uploads_store_nothing(manager, media_root, upload, message):
    with pytest.raises(DomainError, match=message):
        services.aid_create(actor=manager, title="Case", kind="case_study", source=AidSource.FILE, file=upload)
    assert Aid.objects.count() == 0 and AidVersion.objects.count() == 0
    assert stored_files(media_root) == []


def test_a_refused_new_version_stores_nothing(manager, media_root):
    aid = text_aid(manager)
    with pytest.raises(DomainError):
        services.aid_add_version(aid, actor=manager, source=AidSource.FILE, file=SimpleUploadedFile("x.pdf", b"nope"))
    assert aid.versions.count() == 1 and stored_files(media_root) == []


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/x", "not a url", ""])
def test_links_must_be_web_addresses(manager, url):
    with pytest.raises(DomainError, match="http"):
        services.aid_create(actor=manager, title="L", kind="one_pager", source=AidSource.LINK, url=url)


def test_markdown_is_sanitised():
    html = render_markdown("**ok** <script>alert(1)</script> <b onclick=x>b</b> [x](javascript:alert(1))")
    assert "<strong>ok</strong>" in html
    assert "<script" not in html and "<b " not in html and "javascript:" not in html


def test_share_records_who_what_when_and_logs_an_activity(owner, manager, opportunity, now):
    buyer = team_member(opportunity, actor=owner)
    aid = text_aid(manager)
    shares = services.aid_share(aid, actor=owner, opportunity=opportunity, contacts=[buyer], now=now)
    share = Share.objects.get()
    assert shares == [share]
    assert (share.contact, share.version, share.shared_by, share.shared_at) == (buyer, aid.current_version, owner, now)
    assert share.roles == [BuyingRole.ECONOMIC_BUYER] and share.stage_id == opportunity.stage_id
    activity = Activity.objects.get(opportunity=opportunity)
    assert activity.kind == ActivityKind.CONTENT_SHARED and list(activity.contacts.all()) == [buyer]
    assert share.activity == activity
    assert AidEvent.objects.filter(aid=aid, verb="shared").exists()
    assert mail.outbox == []


def test_share_by_email_sends_after_commit(owner, manager, opportunity, django_capture_on_commit_callbacks):
    buyer = team_member(opportunity, actor=owner)
    aid = services.aid_create(
        actor=manager, title="Case", kind="case_study", source=AidSource.FILE, file=pdf(), publish=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.aid_share(aid, actor=owner, opportunity=opportunity, contacts=[buyer], channel=ShareChannel.EMAIL)
    assert [m.to for m in mail.outbox] == [[buyer.email]]
    assert mail.outbox[0].attachments[0][0] == "case.pdf"


def test_share_refusals_change_nothing(owner, teammate, manager, opportunity, account):
    buyer = team_member(opportunity, actor=owner, email="")
    aid = text_aid(manager)
    draft = text_aid(owner, publish=False, title="Mine")
    from tests.factories import ContactFactory

    stranger = ContactFactory(account=account)
    cases = [
        (dict(aid=draft, contacts=[buyer]), "published"),
        (dict(aid=aid, contacts=[]), "who"),
        (dict(aid=aid, contacts=[stranger]), "buying team"),
        (dict(aid=aid, contacts=[buyer], channel=ShareChannel.EMAIL), "No email"),
        (dict(aid=aid, contacts=[buyer], channel="fax"), "email"),
    ]
    for kwargs, message in cases:
        target = kwargs.pop("aid")
        with pytest.raises(DomainError, match=message):
            services.aid_share(target, actor=owner, opportunity=opportunity, **kwargs)
    with pytest.raises(AccessDenied):
        services.aid_share(aid, actor=teammate, opportunity=opportunity, contacts=[buyer])
    assert Share.objects.count() == 0 and Activity.objects.count() == 0


def test_only_admins_write_playbooks(admin, manager, process):
    milestone = process.stages.first().milestones.first()
    with pytest.raises(AccessDenied):
        services.playbook_save(actor=manager, milestone=milestone, how_to_run="x")
    with pytest.raises(DomainError, match="required"):
        services.playbook_save(actor=admin, milestone=milestone, how_to_run=" ")
    playbook = services.playbook_save(actor=admin, milestone=milestone, how_to_run="Agenda first")
    services.playbook_save(actor=admin, milestone=milestone, how_to_run="Agenda, then goals")
    playbook.refresh_from_db()
    assert playbook.how_to_run == "Agenda, then goals"
    assert [e.verb for e in playbook.events.order_by("id")] == ["playbook_written", "playbook_edited"]
