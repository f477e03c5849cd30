"""The recommendations API: the same services and rules as the deal page."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from recommendations.models import Feedback

pytestmark = pytest.mark.django_db

REFERENCE_CALL = "activity:reference_call"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_deals_recommendations(owner, deal):
    response = api(owner).get(reverse("recommendations_api:deal_recommendations", args=[deal.pk]))
    assert response.status_code == 200
    (rec,) = response.json()["recommendations"]
    assert rec["step"] == REFERENCE_CALL
    assert rec["evidence"] == "a reference call before leaving Discover: 12 of 12 won deals, 0 of 12 lost"
    assert (rec["won_with"], rec["won_total"], rec["lost_with"], rec["lost_total"]) == (12, 12, 0, 12)
    assert rec["confidence"] == "medium"
    assert response.json()["message"] == ""


def test_accept_and_dismiss(owner, deal):
    url = reverse("recommendations_api:recommendation_accept", args=[deal.pk])
    response = api(owner).post(url, {"step": REFERENCE_CALL}, format="json")
    assert response.status_code == 201 and response.json()["verdict"] == "accepted"
    deal.refresh_from_db()
    assert deal.next_step.description == "Set up a reference call"
    again = api(owner).post(url, {"step": REFERENCE_CALL}, format="json")
    assert again.status_code == 400 and "already accepted" in again.json()["detail"]
    dismiss = reverse("recommendations_api:recommendation_dismiss", args=[deal.pk])
    assert api(owner).post(dismiss, {"step": "activity:demo"}, format="json").status_code == 400
    assert Feedback.objects.count() == 1


def test_access(teammate, outsider, deal):
    read = reverse("recommendations_api:deal_recommendations", args=[deal.pk])
    accept = reverse("recommendations_api:recommendation_accept", args=[deal.pk])
    assert api(teammate).get(read).status_code == 200
    assert api(outsider).get(read).status_code == 404
    assert api(teammate).post(accept, {"step": REFERENCE_CALL}, format="json").status_code == 403
    assert api(outsider).post(accept, {"step": REFERENCE_CALL}, format="json").status_code == 404
    assert not Feedback.objects.exists()
