"""Optimistic concurrency over HTTP: reads of a deal or a review send its `version` as an ETag,
and writes honour `If-Match` (412 on a stale tag, nothing changed), beside the `version` field."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities.models import Opportunity
from postmortem.models import Review
from tests.postmortem.world import draft_review


@pytest.fixture
def api(owner) -> APIClient:
    client = APIClient()
    client.force_login(owner)
    return client


def test_a_deal_read_carries_its_version_as_etag(api, opportunity):
    response = api.get(reverse("api:opportunity_detail", args=[opportunity.pk]))
    assert response["ETag"] == f'"{opportunity.version}"'


def test_a_write_with_the_current_etag_succeeds_and_returns_the_new_one(api, opportunity):
    detail = reverse("api:opportunity_detail", args=[opportunity.pk])
    tag = api.get(detail)["ETag"]
    body = {"version": opportunity.version, "name": "Renamed"}
    response = api.patch(detail, body, format="json", HTTP_IF_MATCH=tag)
    assert response.status_code == 200, response.content
    assert response["ETag"] == f'"{response.json()["version"]}"' != tag


@pytest.mark.parametrize("header", ['"999"', 'W/"1"', "garbage"])
def test_a_stale_or_weak_if_match_is_412_and_changes_nothing(api, opportunity, header):
    detail = reverse("api:opportunity_detail", args=[opportunity.pk])
    body = {"version": opportunity.version, "name": "Renamed"}
    response = api.patch(detail, body, format="json", HTTP_IF_MATCH=header)
    assert response.status_code == 412
    assert "detail" in response.json()
    assert Opportunity.objects.get(pk=opportunity.pk).name == opportunity.name


def test_if_match_guards_the_deals_actions_too(api, opportunity):
    move = reverse("api:opportunity_reassign", args=[opportunity.pk])
    assert api.post(move, {}, format="json", HTTP_IF_MATCH='"999"').status_code == 412
    assert api.post(move, {}, format="json", HTTP_IF_MATCH="*").status_code != 412


def test_if_match_is_checked_after_access(client, outsider, opportunity):
    api = APIClient()
    api.force_login(outsider)
    detail = reverse("api:opportunity_detail", args=[opportunity.pk])
    assert api.patch(detail, {}, format="json", HTTP_IF_MATCH='"999"').status_code == 404


def test_reviews_carry_etags_and_honour_if_match(api, owner, account, process):
    review = draft_review(owner=owner, account=account, process=process)
    detail = reverse("postmortem_api:review_detail", args=[review.pk])
    assert api.get(detail)["ETag"] == f'"{review.version}"'
    response = api.patch(detail, {"version": review.version}, format="json", HTTP_IF_MATCH='"999"')
    assert response.status_code == 412
    assert Review.objects.get(pk=review.pk).version == review.version


def test_lists_have_no_etag(api, opportunity):
    assert "ETag" not in api.get(reverse("api:opportunity_list"))


def test_the_if_match_version_reaches_the_service_which_rechecks_it_under_its_lock(api, opportunity, monkeypatch):
    from opportunities import services

    seen = {}
    real = services.opportunity_move

    def spy(opp, **kwargs):
        seen.update(kwargs)
        return real(opp, **kwargs)

    monkeypatch.setattr(services, "opportunity_move", spy)
    stage = opportunity.process.stages.order_by("order")[1]
    move = reverse("api:opportunity_move", args=[opportunity.pk])
    body = {"stage": stage.pk, "override_reason": ""}
    api.post(move, body, format="json", HTTP_IF_MATCH=f'"{opportunity.version}"')
    assert seen["expected_version"] == opportunity.version
