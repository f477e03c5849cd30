"""The import pages: upload → map columns → map values → preview → commit, and the import's page."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opportunities.models import Opportunity
from tests.transfer.helpers import csv_bytes
from transfer.models import ImportJob

DEALS = [
    ["Opportunity Name", "Account Name", "Amount", "Stage", "Close Date"],
    ["Big one", "Acme", "1000", "Qualify", "2030-01-01"],
    ["Small one", "Acme", "10", "Closed Lost", "2024-01-01"],
]


def upload(client, rows, kind="deals"):
    data = SimpleUploadedFile("deals.csv", csv_bytes(rows), content_type="text/csv")
    return client.post(reverse("transfer:imports"), {"kind": kind, "file": data})


def test_upload_map_preview_and_commit(admin, process, lost_reason, client_for, now):
    client = client_for(admin)
    response = upload(client, DEALS)
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("transfer:map", args=[job.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Big one" in page.content
    mapping = {f"col_{k}": v for k, v in job.mapping.items()} | {"process": process.pk}
    response = client.post(reverse("transfer:map", args=[job.pk]), mapping)
    assert response["Location"] == reverse("transfer:values", args=[job.pk])
    page = client.get(response["Location"])
    assert "Closed lost" in page.content.decode()
    # The lost deal has no lost reason column: the preview names the row, nothing can be committed.
    response = client.post(
        reverse("transfer:values", args=[job.pk]), {"stage__0": "lost", "stage__1": str(process.stages.first().pk)}
    )
    preview = client.get(response["Location"])
    assert "Row 3: Lost reason: a lost deal needs the reason it was lost." in preview.content.decode()
    response = client.post(reverse("transfer:preview", args=[job.pk]))
    assert not Opportunity.objects.exists()
    # With a reason column the whole file goes in.
    rows = [DEALS[0] + ["Loss Reason"], DEALS[1] + [""], DEALS[2] + ["Price"]]
    upload(client, rows)
    job = ImportJob.objects.order_by("-pk").first()
    client.post(
        reverse("transfer:map", args=[job.pk]),
        {f"col_{k}": v for k, v in job.mapping.items()} | {"process": process.pk},
    )
    client.post(
        reverse("transfer:values", args=[job.pk]),
        {"stage__0": "lost", "stage__1": str(process.stages.first().pk), "lost_reason__0": str(lost_reason.pk)},
    )
    response = client.post(reverse("transfer:preview", args=[job.pk]))
    assert response["Location"] == reverse("transfer:detail", args=[job.pk])
    assert Opportunity.objects.count() == 2
    detail = client.get(response["Location"])
    assert "Undo this import" in detail.content.decode()
    assert client.get(reverse("transfer:file", args=[job.pk])).status_code == 200


def test_a_bad_file_is_refused_on_the_upload_form(admin, client_for):
    response = upload(client_for(admin), [["Name"]])
    assert response.status_code == 400
    assert "no rows" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_progress_partial_polls_while_running(admin, client_for):
    client = client_for(admin)
    upload(client, DEALS)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="running", row_count=4000)
    response = client.get(reverse("transfer:detail", args=[job.pk]) + "?part=progress", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.startswith('<div id="import-progress"') and 'hx-trigger="every 2s"' in body


def test_the_import_and_export_lists_take_a_fixed_number_of_queries(admin, client_for, django_assert_max_num_queries):
    client = client_for(admin)
    for _ in range(3):
        upload(client, DEALS)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("transfer:imports")).status_code == 200
    job = ImportJob.objects.first()
    with django_assert_max_num_queries(8):
        assert client.get(reverse("transfer:detail", args=[job.pk])).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(reverse("transfer:exports")).status_code == 200
