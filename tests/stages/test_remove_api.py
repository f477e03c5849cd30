"""Removing stages and milestones, and reordering milestones, through the API: the same services
as the pages; 204 when deleted, 200 with the milestone when retired, 409 with the reason while
deals or their history refer to a stage, 403 for anyone but an admin, 400 for a bad order."""

import pytest
from django.urls import reverse

from opportunities import services as deal_services
from stages.models import Milestone, Stage
from tests.factories import OpportunityFactory
from tests.stages.test_remove_services import snapshot


def url(name: str, *args) -> str:
    return reverse(f"pipeline_api:{name}", args=args)


@pytest.fixture
def stages(process) -> list[Stage]:
    return list(process.stages.order_by("order"))


@pytest.mark.parametrize("persona", ["owner", "manager"])
def test_only_admins_remove_or_reorder(persona, request, api_for, stages):
    api = api_for(request.getfixturevalue(persona))
    stage = stages[2]
    milestone = stage.milestones.first()
    before = snapshot()
    for method, path, body in [
        ("delete", url("stage_detail", stage.pk), None),
        ("delete", url("stage_milestone_detail", stage.pk, milestone.pk), None),
        ("post", url("stage_milestone_order", stage.pk), {"order": [m.pk for m in stage.milestones.all()]}),
    ]:
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code == 403, path
        assert "Only admins" in response.json()["detail"]
    assert snapshot() == before


def test_delete_an_unused_stage(api_for, admin, process, stages):
    response = api_for(admin).delete(url("stage_detail", stages[1].pk))
    assert response.status_code == 204
    assert list(process.stages.order_by("order").values_list("name", "order")) == [("Qualify", 10), ("Propose", 20)]


def test_delete_a_stage_in_use_is_409_with_the_reason(api_for, admin, owner, stages):
    OpportunityFactory(stage=stages[0], owner=owner)
    before = snapshot()
    response = api_for(admin).delete(url("stage_detail", stages[0].pk))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("“Qualify” cannot be removed")
    assert snapshot() == before


def test_delete_an_unknown_stage_is_404(api_for, admin):
    assert api_for(admin).delete(url("stage_detail", 999999)).status_code == 404


def test_delete_an_unticked_milestone_is_204(api_for, admin, stages):
    milestone = stages[0].milestones.get(name="Optional 1")
    response = api_for(admin).delete(url("stage_milestone_detail", stages[0].pk, milestone.pk))
    assert response.status_code == 204
    assert not Milestone.objects.filter(pk=milestone.pk).exists()


def test_delete_a_ticked_milestone_retires_it(api_for, admin, owner, stages, now):
    stage = stages[0]
    milestone = stage.milestones.get(name="Optional 1")
    deal_services.milestone_tick(OpportunityFactory(stage=stage, owner=owner), actor=owner, milestone=milestone)
    api = api_for(admin)
    response = api.delete(url("stage_milestone_detail", stage.pk, milestone.pk))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["retired_at"] is not None) == (milestone.pk, "Optional 1", True)
    # The stage reads its milestones in force only; the retired one is still readable by its id.
    shown = [m["name"] for m in api.get(url("stage_detail", stage.pk)).json()["milestones"]]
    assert shown == ["Check 1", "Check 2"]
    assert api.get(url("stage_milestone_detail", stage.pk, milestone.pk)).json()["retired_at"] is not None
    again = api.delete(url("stage_milestone_detail", stage.pk, milestone.pk))
    assert again.status_code == 400 and "already retired" in again.json()["detail"]


def test_delete_below_two_milestones_is_refused(api_for, admin, stages):
    stage = stages[0]
    api = api_for(admin)
    assert (
        api.delete(url("stage_milestone_detail", stage.pk, stage.milestones.get(name="Optional 1").pk)).status_code
        == 204
    )
    before = snapshot()
    response = api.delete(url("stage_milestone_detail", stage.pk, stage.milestones.get(name="Check 1").pk))
    assert response.status_code == 400
    assert "keeps at least 2" in response.json()["detail"]
    assert snapshot() == before


def test_milestone_of_another_stage_is_404(api_for, admin, stages):
    other = stages[1].milestones.first()
    assert api_for(admin).delete(url("stage_milestone_detail", stages[0].pk, other.pk)).status_code == 404


def test_milestone_order(api_for, admin, stages):
    stage = stages[0]
    ids = list(stage.milestones.order_by("order").values_list("pk", flat=True))
    response = api_for(admin).post(url("stage_milestone_order", stage.pk), {"order": ids[::-1]}, format="json")
    assert response.status_code == 200
    assert [m["name"] for m in response.json()["milestones"]] == ["Optional 1", "Check 2", "Check 1"]


@pytest.mark.parametrize("body", [{}, {"order": []}, {"order": "1,2"}, {"order": [-1]}, {"order": [1, 2, 3, 4]}])
def test_a_bad_milestone_order_is_400_and_changes_nothing(api_for, admin, stages, body):
    before = snapshot()
    response = api_for(admin).post(url("stage_milestone_order", stages[0].pk), body, format="json")
    assert response.status_code == 400
    assert snapshot() == before
