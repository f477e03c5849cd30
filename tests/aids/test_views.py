"""The library pages, the share form and matrix, file downloads, the measured-use page and the API."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from aids import services
from aids.models import Aid, AidSource, AidStatus, AidVersion, Share
from opportunities.models import Activity, BuyingRole
from tests.aids.world import team_member, text_aid

PDF = b"%PDF-1.4\n%demo\n"


def file_aid(actor, *, publish=True, title="Case study"):
    upload = SimpleUploadedFile("case.pdf", PDF, content_type="application/pdf")
    return services.aid_create(
        actor=actor, title=title, kind="case_study", source=AidSource.FILE, file=upload, publish=publish
    )


def test_a_rep_suggests_through_the_form_and_a_manager_publishes(client_for, owner, manager):
    response = client_for(owner).post(
        reverse("aids:create"),
        {"title": "My checklist", "kind": "checklist", "source": "text", "body": "- Ask *why*", "publish": "on"},
    )
    aid = Aid.objects.get()
    assert response.status_code == 302 and aid.status == AidStatus.DRAFT  # a rep cannot publish
    response = client_for(manager).post(reverse("aids:publish", args=[aid.pk]))
    assert response.status_code == 302
    aid.refresh_from_db()
    assert aid.status == AidStatus.PUBLISHED


def test_a_refused_upload_shows_its_error_and_stores_nothing(client_for, manager, media_root):
    upload = SimpleUploadedFile("evil.pdf", b"<html><script>", content_type="application/pdf")
    response = client_for(manager).post(
        reverse("aids:create"), {"title": "Bad", "kind": "case_study", "source": "file", "file": upload}
    )
    assert response.status_code == 400
    assert "not a .pdf file" in response.content.decode()
    assert Aid.objects.count() == 0
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


def test_files_only_reach_those_who_may_see_the_aid(client_for, owner, teammate, manager):
    aid = file_aid(manager)
    url = reverse("aids:file", args=[aid.current_version_id])
    response = client_for(teammate).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    # Not signed in: sent to sign in, no file.
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    # Retired, a rep no longer reaches it; a draft is its author's and the curators'.
    services.aid_retire(aid, actor=manager)
    assert client_for(teammate).get(url).status_code == 404
    draft = file_aid(owner, publish=False, title="Mine")
    draft_url = reverse("aids:file", args=[draft.current_version_id])
    assert client_for(teammate).get(draft_url).status_code == 404
    assert client_for(owner).get(draft_url).status_code == 200


def test_reps_see_published_aids_only(client_for, owner, teammate, manager):
    text_aid(manager, title="Published one")
    text_aid(teammate, title="Teammate's draft", publish=False)
    retired = text_aid(manager, title="Retired one")
    services.aid_retire(retired, actor=manager)
    page = client_for(owner).get(reverse("aids:list")).content.decode()
    assert "Published one" in page and "Teammate" not in page and "Retired one" not in page
    assert client_for(owner).get(reverse("aids:detail", args=[retired.pk])).status_code == 404
    assert "Retired one" in client_for(manager).get(reverse("aids:list")).content.decode()


def test_search_finds_title_summary_and_text(client_for, owner, manager):
    services.aid_create(
        actor=manager, title="Pricing", kind="one_pager", source=AidSource.TEXT, body="Volume discounts", publish=True
    )
    text_aid(manager, title="Unrelated")
    page = client_for(owner).get(reverse("aids:list"), {"q": "discounts"}).content.decode()
    assert "Pricing" in page and "Unrelated" not in page


def test_a_new_version_through_the_form(client_for, manager):
    aid = text_aid(manager)
    response = client_for(manager).post(
        reverse("aids:new_version", args=[aid.pk]), {"source": "link", "url": "https://example.com/v2", "note": "New"}
    )
    assert response.status_code == 302
    assert list(AidVersion.objects.filter(aid=aid).values_list("number", flat=True)) == [2, 1]


def test_share_from_the_form_then_the_matrix(client_for, owner, manager, opportunity):
    buyer = team_member(opportunity, actor=owner)
    champion = team_member(opportunity, actor=owner, roles=[BuyingRole.CHAMPION], first_name="Chad", email="c@x.io")
    aid = text_aid(manager, title="ROI story")
    client = client_for(owner)
    form = client.get(reverse("aids:share", args=[opportunity.pk]), {"aid": aid.pk, "role": "economic_buyer"})
    assert f'value="{buyer.pk}"' in form.content.decode()
    response = client.post(
        reverse("aids:share", args=[opportunity.pk]),
        {"aid": aid.pk, "contacts": [buyer.pk], "channel": "recorded", "message": ""},
    )
    assert response.status_code == 302 and response["Location"] == reverse("aids:matrix", args=[opportunity.pk])
    share = Share.objects.get()
    assert share.contact == buyer and share.version == aid.current_version
    matrix = client.get(reverse("aids:matrix", args=[opportunity.pk])).content.decode()
    assert "ROI story" in matrix and "✓ v1" in matrix
    assert "Nothing yet:</strong> Chad Buyer" in matrix
    assert champion.pk != buyer.pk


def test_share_refusals_are_400_and_change_nothing(client_for, owner, manager, opportunity):
    buyer = team_member(opportunity, actor=owner)
    draft = text_aid(owner, publish=False)
    client = client_for(owner)
    url = reverse("aids:share", args=[opportunity.pk])
    for data in (
        {"aid": draft.pk, "contacts": [buyer.pk], "channel": "recorded"},
        {"aid": "99999999999999999999999", "contacts": [buyer.pk], "channel": "recorded"},
        {"aid": text_aid(manager).pk, "contacts": ["x"], "channel": "recorded"},
    ):
        assert client.post(url, data).status_code == 400
    assert Share.objects.count() == 0 and Activity.objects.count() == 0


def test_measured_use_compares_deals_with_and_without_aids(client_for, owner, manager, opportunity):
    buyer = team_member(opportunity, actor=owner)
    aid = text_aid(manager, title="Case")
    services.aid_share(aid, actor=owner, opportunity=opportunity, contacts=[buyer])
    response = client_for(manager).get(reverse("aids:usage"))
    assert response.status_code == 200
    ctx = response.context
    assert ctx["with_aid"]["deals"] == 1 and ctx["by_aid"][0]["shares"] == 1
    assert ctx["by_sharer"][0]["shared_by_id"] == owner.pk
    assert client_for(owner).get(reverse("aids:usage")).status_code == 403


def test_the_api_lists_aids_and_shares_through_the_services(client_for, owner, teammate, manager, opportunity):
    buyer = team_member(opportunity, actor=owner)
    aid = text_aid(manager, title="Case", buyer_roles=["economic_buyer"])
    text_aid(teammate, title="Draft", publish=False)
    client = client_for(owner)
    listing = client.get(reverse("aids_api:aid_list")).json()
    assert [a["title"] for a in listing["results"]] == ["Case"]
    assert listing["results"][0]["buyer_roles"] == ["economic_buyer"]
    detail = client.get(reverse("aids_api:aid_detail", args=[aid.pk])).json()
    assert [v["number"] for v in detail["versions"]] == [1]
    url = reverse("aids_api:deal_shares", args=[opportunity.pk])
    created = client.post(url, json.dumps({"aid": aid.pk, "contacts": [buyer.pk]}), content_type="application/json")
    assert created.status_code == 201 and created.json()[0]["contact"]["id"] == buyer.pk
    assert [s["aid"]["name"] for s in client.get(url).json()] == ["Case"]
    refused = client.post(url, json.dumps({"aid": aid.pk, "contacts": [999]}), content_type="application/json")
    assert refused.status_code == 400 and Share.objects.count() == 1
    assert client_for(teammate).post(url, {}, content_type="application/json").status_code == 403


def test_playbooks_are_written_by_admins(client_for, admin, manager, process):
    milestone = process.stages.first().milestones.first()
    url = reverse("aids:playbook_edit", args=[milestone.pk])
    assert client_for(manager).get(url).status_code == 403
    assert client_for(admin).post(url, {"how_to_run": "Agenda first"}).status_code == 302
    assert "Agenda first" in client_for(manager).get(reverse("aids:playbooks")).content.decode()
