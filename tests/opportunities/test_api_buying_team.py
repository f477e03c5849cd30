"""The buying team through the API: the same service and rules as the deal page."""

from django.urls import reverse

from opportunities.models import BuyingTeamMember, EventVerb, OpportunityEvent
from tests.factories import ContactFactory


def team_url(opp) -> str:
    return reverse("api:opportunity_buying_team", args=[opp.pk])


def test_add_change_and_remove_a_member_writing_events(api_for, owner, opportunity, contact):
    api = api_for(owner)
    response = api.post(team_url(opportunity), {"contact": contact.pk, "roles": ["champion"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == [
        {
            "contact": {"id": contact.pk, "name": str(contact)},
            "roles": ["champion"],
            "added_at": response.json()[0]["added_at"],
        }
    ]
    api.post(team_url(opportunity), {"contact": contact.pk, "roles": ["champion", "decision_maker"]}, format="json")
    assert BuyingTeamMember.objects.get().roles == ["champion", "decision_maker"]
    assert api.get(team_url(opportunity)).json()[0]["roles"] == ["champion", "decision_maker"]
    assert api.delete(team_url(opportunity), {"contact": contact.pk}, format="json").json() == []
    verbs = OpportunityEvent.objects.filter(opportunity=opportunity, verb=EventVerb.BUYING_TEAM_CHANGED)
    assert verbs.count() == 3


def test_bad_input_is_refused_and_changes_nothing(api_for, owner, opportunity, contact):
    api = api_for(owner)
    elsewhere = ContactFactory()  # another account's contact: not one to pick
    for body in (
        {"contact": elsewhere.pk, "roles": ["champion"]},
        {"contact": contact.pk, "roles": ["king"]},
        {"contact": contact.pk, "roles": []},
        {"roles": ["champion"]},
    ):
        assert api.post(team_url(opportunity), body, format="json").status_code == 400
    assert api.delete(team_url(opportunity), {"contact": contact.pk}, format="json").status_code == 400
    assert not BuyingTeamMember.objects.exists()


def test_teammate_reads_but_may_not_change_outsider_sees_nothing(api_for, teammate, outsider, opportunity, contact):
    body = {"contact": contact.pk, "roles": ["champion"]}
    assert api_for(teammate).get(team_url(opportunity)).status_code == 200
    assert api_for(teammate).post(team_url(opportunity), body, format="json").status_code == 403
    assert api_for(outsider).post(team_url(opportunity), body, format="json").status_code == 404
    assert not BuyingTeamMember.objects.exists()


def test_a_deals_activities_are_listed_newest_first_in_few_queries(
    api_for, owner, teammate, outsider, opportunity, contact, django_assert_max_num_queries
):
    api = api_for(owner)
    activities = reverse("api:opportunity_activities", args=[opportunity.pk])
    for subject in ("First", "Second"):
        body = {"kind": "call", "subject": subject, "contacts": [contact.pk]}
        assert api.post(activities, body, format="json").status_code == 201
    with django_assert_max_num_queries(12):
        listed = api.get(activities).json()
    assert [a["subject"] for a in listed["results"]][:2] == ["Second", "First"]
    assert listed["results"][0]["contacts"] == [contact.pk]
    assert api_for(teammate).get(activities).status_code == 200
    assert api_for(outsider).get(activities).status_code == 404
