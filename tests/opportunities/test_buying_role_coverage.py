"""Required buying roles per stage: enforced ones gate advancement in every write path (with the
same audited manager override as milestones); warn-only ones never do."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities import services
from opportunities.errors import AccessDenied, MissingMilestones
from opportunities.models import BuyingRole, EventVerb, MilestoneCompletion, Opportunity
from stages.models import RoleEnforcement, StageRoleRequirement
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
MISSING = "Qualify: economic buyer on the buying team"


def stages(process):
    return list(process.stages.order_by("order"))


@pytest.fixture
def gated(process, opportunity, owner):
    """Every milestone ticked, so only the buying roles stand in the way: the economic buyer is
    enforced before leaving Qualify, a champion only warned about."""
    qualify = stages(process)[0]
    StageRoleRequirement.objects.create(stage=qualify, role=BuyingRole.ECONOMIC_BUYER)
    StageRoleRequirement.objects.create(stage=qualify, role=BuyingRole.CHAMPION, enforcement=RoleEnforcement.WARN)
    for stage in stages(process):
        for milestone in stage.milestones.all():
            MilestoneCompletion.objects.create(opportunity=opportunity, milestone=milestone, completed_by=owner)
    return opportunity


def add_role(opp, owner, role):
    contact = ContactFactory(account=opp.account)
    services.buying_team_add(opp, actor=owner, contact=contact, roles=[role])


def fresh(opp):
    return Opportunity.objects.get(pk=opp.pk)


def test_the_service_refuses_naming_the_role_then_allows_once_covered(gated, owner, process):
    discover = stages(process)[1]
    with pytest.raises(MissingMilestones) as refused:
        services.opportunity_move(gated, actor=owner, to_stage=discover)
    assert refused.value.missing == [MISSING]
    assert "buying roles are missing" in refused.value.message
    add_role(gated, owner, BuyingRole.CHAMPION)  # the warned role does not help
    with pytest.raises(MissingMilestones):
        services.opportunity_move(fresh(gated), actor=owner, to_stage=discover)
    add_role(gated, owner, BuyingRole.ECONOMIC_BUYER)
    assert services.opportunity_move(fresh(gated), actor=owner, to_stage=discover).stage == discover


def test_warn_only_requirements_never_gate(process, opportunity, owner):
    StageRoleRequirement.objects.create(
        stage=stages(process)[0], role=BuyingRole.CHAMPION, enforcement=RoleEnforcement.WARN
    )
    for milestone in stages(process)[0].milestones.all():
        MilestoneCompletion.objects.create(opportunity=opportunity, milestone=milestone, completed_by=owner)
    assert services.opportunity_move(opportunity, actor=owner, to_stage=stages(process)[1]).stage == stages(process)[1]


def test_a_requirement_of_the_stage_ahead_does_not_gate_reaching_it(process, gated, owner):
    StageRoleRequirement.objects.filter(stage=stages(process)[0]).delete()
    StageRoleRequirement.objects.create(stage=stages(process)[1], role=BuyingRole.DECISION_MAKER)
    services.opportunity_move(gated, actor=owner, to_stage=stages(process)[1])
    with pytest.raises(MissingMilestones, match="Discover: decision maker"):
        services.opportunity_move(fresh(gated), actor=owner, to_stage=stages(process)[2])


def test_close_won_is_gated(gated, owner):
    with pytest.raises(MissingMilestones, match="economic buyer"):
        services.opportunity_close_won(gated, actor=owner)
    assert fresh(gated).is_open


def test_a_manager_overrides_with_a_reason_and_it_is_audited(gated, manager, owner, process):
    with pytest.raises(AccessDenied):
        services.opportunity_move(gated, actor=owner, to_stage=stages(process)[1], override_reason="Trust me")
    services.opportunity_move(gated, actor=manager, to_stage=stages(process)[1], override_reason="CFO signs anyway")
    event = fresh(gated).events.get(verb=EventVerb.OVERRIDE_USED)
    assert event.data["missing"] == [MISSING] and event.data["reason"] == "CFO signs anyway"


def test_backward_moves_need_no_roles(gated, manager, owner, process):
    services.opportunity_move(gated, actor=manager, to_stage=stages(process)[2], override_reason="Fast track")
    assert services.opportunity_move(fresh(gated), actor=owner, to_stage=stages(process)[0]).stage == stages(process)[0]


def test_the_deal_page_move_and_close_won_are_refused(gated, owner, client_for, process):
    client = client_for(owner)
    move = reverse("opportunities:move", args=[gated.pk])
    moved = client.post(move, {"to_stage": stages(process)[1].pk}, follow=True)
    assert "economic buyer on the buying team" in moved.content.decode()
    won = client.post(reverse("opportunities:close_won", args=[gated.pk]), {}, follow=True)
    assert "economic buyer on the buying team" in won.content.decode()
    assert fresh(gated).stage == stages(process)[0] and fresh(gated).is_open


def test_bulk_move_is_refused_per_deal(gated, owner, client_for, process):
    response = client_for(owner).post(
        reverse("opportunities:bulk"),
        {"action": "move", "ids": [gated.pk], "to_stage": stages(process)[1].pk},
        follow=True,
    )
    assert "economic buyer on the buying team" in response.content.decode()
    assert fresh(gated).stage == stages(process)[0]


def test_board_move_is_refused(gated, owner, client_for, process):
    response = client_for(owner).post(
        reverse("board:move"), {"opportunity": gated.pk, "to_stage": stages(process)[1].pk}, **HTMX
    )
    assert "economic buyer on the buying team" in response.content.decode()
    assert fresh(gated).stage == stages(process)[0]


def test_the_api_move_and_close_won_are_400_naming_the_role(gated, owner, manager, process):
    api = APIClient()
    api.force_login(owner)
    moved = api.post(reverse("api:opportunity_move", args=[gated.pk]), {"stage": stages(process)[1].pk}, format="json")
    assert moved.status_code == 400 and moved.json()["missing"] == [MISSING]
    won = api.post(reverse("api:opportunity_close_won", args=[gated.pk]), {}, format="json")
    assert won.status_code == 400 and won.json()["missing"] == [MISSING]
    api.force_login(manager)
    overridden = api.post(
        reverse("api:opportunity_move", args=[gated.pk]),
        {"stage": stages(process)[1].pk, "override_reason": "Board approved"},
        format="json",
    )
    assert overridden.status_code == 200
    assert fresh(gated).events.filter(verb=EventVerb.OVERRIDE_USED).count() == 1


def test_admin_edits_requirements_inline_on_the_stage(admin, client_for, process):
    qualify = stages(process)[0]
    url = reverse("admin:stages_stage_change", args=[qualify.pk])
    page = client_for(admin).get(url)
    assert page.status_code == 200 and "required buying roles" in page.content.decode().lower()
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "id"}
    data.update(process=process.pk, buying_team_touch_days=14)
    for prefix, formset in ((fs.formset.prefix, fs.formset) for fs in page.context["inline_admin_formsets"]):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(formset.total_form_count()),
                f"{prefix}-INITIAL_FORMS": str(formset.initial_form_count()),
            }
        )
        for i, f in enumerate(formset.forms):
            for name, field in f.fields.items():
                value = f.initial.get(name, field.initial)
                if value is not None and name != "DELETE":
                    data[f"{prefix}-{i}-{name}"] = getattr(value, "pk", value)
    prefix = "role_requirements"
    count = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": str(count + 1),
            f"{prefix}-{count}-role": BuyingRole.ECONOMIC_BUYER,
            f"{prefix}-{count}-enforcement": RoleEnforcement.WARN,
            f"{prefix}-{count}-stage": qualify.pk,
        }
    )
    response = client_for(admin).post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    requirement = StageRoleRequirement.objects.get(stage=qualify)
    assert (requirement.role, requirement.enforcement) == (BuyingRole.ECONOMIC_BUYER, RoleEnforcement.WARN)
    qualify.refresh_from_db()
    assert qualify.buying_team_touch_days == 14


# --- the deal page's warnings ---------------------------------------------------------------------------


def test_the_deal_page_warns_of_missing_roles_a_single_thread_and_quiet_members(gated, owner, client_for, account, now):
    import datetime as dt

    from opportunities.coverage import deal_coverage
    from opportunities.models import ActivityKind, BuyingTeamMember

    carla = ContactFactory(account=account, first_name="Carla", last_name="Quiet")
    services.buying_team_add(
        gated, actor=owner, contact=carla, roles=[BuyingRole.USER], now=now - dt.timedelta(days=40)
    )
    body = client_for(owner).get(reverse("opportunities:detail", args=[gated.pk])).content.decode()
    assert "Buying-team coverage" in body
    assert "No economic buyer on the buying team (needed to move past Qualify)" in body
    assert "No champion on the buying team (recommended)" in body
    assert "Single-threaded: only one engaged contact" in body

    def kinds(at):
        team = list(BuyingTeamMember.objects.filter(opportunity=gated).select_related("contact"))
        stages_ = list(gated.process.stages.order_by("order", "id"))
        return {w.kind: w.text for w in deal_coverage(fresh(gated), stages=stages_, team=team, now=at)}

    assert kinds(now)["member_not_contacted"] == "Not contacted in 21 days: Carla Quiet"
    erin = ContactFactory(account=account)
    services.activity_log(
        actor=owner, opportunity=gated, kind=ActivityKind.CALL, subject="Intro", contacts=[carla, erin], now=now
    )
    assert set(kinds(now)) == {"role_missing"}
    add_role(gated, owner, BuyingRole.ECONOMIC_BUYER)
    add_role(gated, owner, BuyingRole.CHAMPION)
    assert kinds(now) == {}
    assert "member_not_contacted" in kinds(now + dt.timedelta(days=22))
