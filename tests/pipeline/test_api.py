"""The pipeline features' API: flags, notifications, quotas and the sales processes, with the
same access rules as their pages."""

from django.urls import reverse

from pipeline.models import Flag, FlagKind, Notification, Quota, QuotaChange
from tests.factories import OpportunityFactory


def url(name: str, *args) -> str:
    return reverse(f"pipeline_api:{name}", args=args)


def test_flags_are_those_of_deals_the_user_may_read(api_for, owner, outsider, opportunity):
    mine = Flag.objects.create(opportunity=opportunity, kind=FlagKind.NO_NEXT_STEP, detail="no next step")
    Flag.objects.create(opportunity=OpportunityFactory(owner=outsider), kind=FlagKind.IDLE, detail="idle")
    Flag.objects.create(
        opportunity=opportunity, kind=FlagKind.IDLE, detail="idle", resolved_at=mine.opened_at
    )  # resolved: listed only with state=all
    body = api_for(owner).get(url("flag_list")).json()
    assert [f["id"] for f in body["results"]] == [mine.pk]
    assert body["results"][0]["opportunity"]["name"] == opportunity.name
    assert api_for(owner).get(url("flag_list"), {"state": "all"}).json()["count"] == 2
    assert api_for(owner).get(url("flag_list"), {"kind": "idle"}).json()["count"] == 0
    assert api_for(owner).get(url("flag_list"), {"kind": "nonsense"}).status_code == 400
    assert api_for(outsider).get(url("flag_list")).json()["count"] == 1


def test_notifications_list_and_mark_read(api_for, owner, teammate):
    first = Notification.objects.create(user=owner, message="One")
    Notification.objects.create(user=owner, message="Two")
    Notification.objects.create(user=teammate, message="Not yours")
    api = api_for(owner)
    assert api.get(url("notification_list")).json()["count"] == 2
    response = api.post(url("notification_read", first.pk))
    assert response.status_code == 200 and response.json()["read_at"]
    assert api.get(url("notification_list"), {"unread": "true"}).json()["count"] == 1
    assert api.post(url("notification_read_all")).json() == {"marked": 1}
    assert api_for(teammate).post(url("notification_read", first.pk)).status_code == 404


def test_quotas_are_read_and_set_through_the_service(api_for, owner, manager, teammate):
    api = api_for(manager)
    body = {"year": 2026, "quarter": 2, "amount": "50000.00"}
    response = api.post(url("quota_set", owner.pk), body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["amount"] == "50000.00" and response.json()["may_set"] is True
    assert QuotaChange.objects.filter(user=owner, actor=manager).count() == 1
    listed = api.get(url("quota_list"), {"year": 2026, "quarter": 2}).json()
    assert {row["user"]["id"]: row["amount"] for row in listed}[owner.pk] == "50000.00"
    # A rep sees their own quota and may not set it; another rep's does not exist for them.
    assert [row["user"]["id"] for row in api_for(owner).get(url("quota_list")).json()] == [owner.pk]
    assert api_for(owner).post(url("quota_set", owner.pk), body, format="json").status_code == 403
    assert api_for(teammate).post(url("quota_set", owner.pk), body, format="json").status_code == 404
    bad = api.post(url("quota_set", owner.pk), {**body, "quarter": 5}, format="json")
    assert bad.status_code == 400 and "quarter" in bad.json()
    assert Quota.objects.get(user=owner).amount == 50000


def test_processes_list_their_stages_and_milestones_in_few_queries(
    api_for, owner, process, django_assert_max_num_queries
):
    api = api_for(owner)
    with django_assert_max_num_queries(8):
        body = api.get(url("process_list")).json()
    listed = body["results"][0]
    assert listed["name"] == process.name
    stage_names = list(process.stages.order_by("order").values_list("name", flat=True))
    assert [s["name"] for s in listed["stages"]] == stage_names
    assert listed["stages"][0]["milestones"][0]["is_required"] is True
    assert api.get(url("process_detail", process.pk)).json()["id"] == process.pk
    assert api.post(url("process_list"), {}).status_code == 403  # admins add processes (tests/stages/test_api.py)
    assert api.delete(url("process_detail", process.pk)).status_code == 405
