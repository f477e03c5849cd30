"""The managers' page that judges the recommendations."""

import pytest
from django.urls import reverse

from recommendations import services

pytestmark = pytest.mark.django_db

REFERENCE_CALL = "activity:reference_call"


def test_managers_see_each_stage_with_accepted_and_dismissed_counts(client_for, owner, manager, deal, now):
    services.recommendation_accept(actor=owner, opportunity=deal, step=REFERENCE_CALL, now=now)
    response = client_for(manager).get(reverse("recommendations:stats"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Guided" in html and "Discover" in html
    assert "A reference call before leaving Discover: 12 of 12 won deals, 0 of 12 lost" in html
    assert '<td class="num">1</td><td class="num">0</td>' in html  # accepted once, dismissed never


def test_dismissal_reasons_are_shown_to_managers(client_for, owner, manager, deal, now):
    services.recommendation_dismiss(actor=owner, opportunity=deal, step=REFERENCE_CALL, reason="No refs", now=now)
    html = client_for(manager).get(reverse("recommendations:stats")).content.decode()
    assert "No refs" in html and '<td class="num">0</td><td class="num">1</td>' in html


def test_feedback_on_deals_the_manager_may_not_see_is_not_counted(client_for, deal, owner, outsider, now):
    from people.models import Role
    from tests.factories import UserFactory

    services.recommendation_dismiss(actor=owner, opportunity=deal, step=REFERENCE_CALL, reason="Secret", now=now)
    other_manager = UserFactory(username="other-mgr", role=Role.MANAGER, manages=[outsider.team])
    html = client_for(other_manager).get(reverse("recommendations:stats")).content.decode()
    assert "Secret" not in html and "12 of 12 won deals" in html


def test_reps_are_refused_and_managers_get_the_nav_link(client_for, owner, manager, deal):
    assert client_for(owner).get(reverse("recommendations:stats")).status_code == 403
    url = reverse("recommendations:stats")
    assert f'href="{url}"' in client_for(manager).get(reverse("opportunities:my_deals")).content.decode()
    assert f'href="{url}"' not in client_for(owner).get(reverse("opportunities:my_deals")).content.decode()


def test_the_page_before_any_refresh(client_for, admin):
    html = client_for(admin).get(reverse("recommendations:stats")).content.decode()
    assert "No closed deals have been counted yet" in html
