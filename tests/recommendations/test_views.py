"""The deal page's recommendations panel and its accept and dismiss forms."""

import pytest
from django.urls import reverse

from recommendations.models import Feedback, FeedbackVerdict

pytestmark = pytest.mark.django_db

REFERENCE_CALL = "activity:reference_call"


def panel_url(deal):
    return reverse("opportunities:panel", args=[deal.pk, "recommendations"])


def test_the_deal_page_loads_the_panel_lazily(client_for, owner, deal):
    page = client_for(owner).get(reverse("opportunities:detail", args=[deal.pk]))
    html = page.content.decode()
    assert panel_url(deal) in html and "Recommended next steps" in html
    assert "12 of 12 won deals" not in html  # only the placeholder on the page itself


def test_the_panel_shows_the_evidence_and_forms(client_for, owner, deal, django_assert_max_num_queries):
    client = client_for(owner)
    with django_assert_max_num_queries(16):
        response = client.get(panel_url(deal), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Set up a reference call" in html
    assert "A reference call before leaving Discover: 12 of 12 won deals, 0 of 12 lost." in html
    assert "Medium confidence" in html
    assert reverse("recommendations:accept", args=[deal.pk]) in html
    assert 'name="reason" required' in html


def test_without_javascript_the_panel_shows_inline(client_for, owner, deal):
    response = client_for(owner).get(reverse("opportunities:detail", args=[deal.pk]) + "?panel=recommendations")
    assert "12 of 12 won deals" in response.content.decode()


def test_a_teammate_reads_the_panel_without_forms(client_for, teammate, deal):
    html = client_for(teammate).get(panel_url(deal), HTTP_HX_REQUEST="true").content.decode()
    assert "12 of 12 won deals" in html
    assert reverse("recommendations:accept", args=[deal.pk]) not in html


def test_accepting_sets_the_next_step_and_comes_back_to_the_deal(client_for, owner, deal):
    client = client_for(owner)
    response = client.post(reverse("recommendations:accept", args=[deal.pk]), {"step": REFERENCE_CALL})
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunities:detail", args=[deal.pk]) + "?panel=recommendations#next-step"
    deal.refresh_from_db()
    assert deal.next_step.description == "Set up a reference call"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "is the deal&#x27;s next step" in html or "is the deal's next step" in html
    assert Feedback.objects.get().verdict == FeedbackVerdict.ACCEPTED


def test_an_htmx_accept_gets_the_deal_fragment(client_for, owner, deal):
    response = client_for(owner).post(
        reverse("recommendations:accept", args=[deal.pk]), {"step": REFERENCE_CALL}, HTTP_HX_REQUEST="true", follow=True
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="next-step-now"' in html and "Set up a reference call" in html
    assert "<html" not in html


def test_dismissing_without_a_reason_changes_nothing(client_for, owner, deal):
    client = client_for(owner)
    response = client.post(reverse("recommendations:dismiss", args=[deal.pk]), {"step": REFERENCE_CALL}, follow=True)
    assert "Say why you dismiss" in response.content.decode()
    assert not Feedback.objects.exists()
    client.post(reverse("recommendations:dismiss", args=[deal.pk]), {"step": REFERENCE_CALL, "reason": "No refs"})
    assert Feedback.objects.get().reason == "No refs"


def test_refused_input_says_why(client_for, owner, deal):
    response = client_for(owner).post(
        reverse("recommendations:accept", args=[deal.pk]), {"step": "activity:nothing"}, follow=True
    )
    assert "not a recommended step" in response.content.decode()
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("name", ["accept", "dismiss"])
def test_access(client_for, teammate, outsider, deal, name):
    url = reverse(f"recommendations:{name}", args=[deal.pk])
    data = {"step": REFERENCE_CALL, "reason": "No"}
    assert client_for(teammate).post(url, data).status_code == 403
    assert client_for(outsider).post(url, data).status_code == 404
    assert client_for(teammate).get(url).status_code == 405
    assert not Feedback.objects.exists()


def test_an_outsider_cannot_load_the_panel(client_for, outsider, deal):
    assert client_for(outsider).get(panel_url(deal), HTTP_HX_REQUEST="true").status_code == 404
