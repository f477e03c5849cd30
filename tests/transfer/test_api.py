from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities.models import Opportunity
from tests.transfer.helpers import csv_bytes


def test_upload_then_commit_through_the_api(admin, owner, process):
    client = APIClient()
    client.force_authenticate(admin)
    rows = [
        ["Deal Name", "Company", "Value", "Deal Stage", "Close Date"],
        ["A", "Acme", "10", "Discover", "2030-01-01"],
    ]
    upload = SimpleUploadedFile("d.csv", csv_bytes(rows))
    response = client.post(reverse("transfer_api:import_list"), {"kind": "deals", "file": upload}, format="multipart")
    assert response.status_code == 201, response.data
    job = response.data
    assert job["mapping"]["stage"] == "Deal Stage"
    assert job["value_map"]["stage"]["Discover"] == str(process.stages.get(name="Discover").pk)
    response = client.post(reverse("transfer_api:import_commit", args=[job["id"]]), {}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "done"
    assert Opportunity.objects.get().stage.name == "Discover"


def test_a_refused_commit_lists_the_row_problems(admin, process):
    client = APIClient()
    client.force_authenticate(admin)
    rows = [["Name", "Account", "Amount", "Close date"], ["A", "Acme", "n/a", "2030-01-01"]]
    upload = SimpleUploadedFile("d.csv", csv_bytes(rows))
    job = client.post(reverse("transfer_api:import_list"), {"kind": "deals", "file": upload}, format="multipart").data
    response = client.post(reverse("transfer_api:import_commit", args=[job["id"]]), {}, format="json")
    assert response.status_code == 400
    assert response.data["errors"] == ["Row 2: Amount: “n/a” is not a number."]
    assert not Opportunity.objects.exists()


def test_a_bad_file_is_a_400(admin):
    client = APIClient()
    client.force_authenticate(admin)
    upload = SimpleUploadedFile("d.csv", b"")
    response = client.post(reverse("transfer_api:import_list"), {"kind": "deals", "file": upload}, format="multipart")
    assert response.status_code == 400
