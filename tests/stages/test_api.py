"""The sales-process API: everyone reads processes, stages and milestones; admins create and change
them through `stages.services` (403 for anyone else, 404 for unknown ids, 400 with the field for
bad input, which changes nothing)."""

import json

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from stages.models import ProcessChange, SalesProcess
from tests.fuzzing import FUZZ, HUGE, check_request
from tests.opportunities import test_api_fuzz as api_fuzz
from tests.stages.test_services import snapshot


def url(name: str, *args) -> str:
    return reverse(f"pipeline_api:{name}", args=args)


@pytest.fixture
def qualify(process):
    return process.stages.get(name="Qualify")


def writes(process, stage, milestone) -> list[tuple[str, str, dict]]:
    """Every write of the API, each with a body an admin's request would be accepted with."""
    return [
        ("post", url("process_list"), {"name": "Renewals"}),
        ("patch", url("process_detail", process.pk), {"description": "Net new"}),
        ("post", url("process_stage_order", process.pk), {"stages": [s.pk for s in process.stages.all()][::-1]}),
        ("post", url("process_stages", process.pk), {"name": "Negotiate"}),
        ("patch", url("stage_detail", stage.pk), {"win_probability": 15}),
        ("post", url("stage_milestones", stage.pk), {"name": "Budget"}),
        ("patch", url("stage_milestone_detail", stage.pk, milestone.pk), {"is_required": False}),
    ]


@pytest.mark.parametrize("persona", ["owner", "manager"])
def test_only_admins_write_and_the_others_change_nothing(persona, request, api_for, process, qualify):
    api = api_for(request.getfixturevalue(persona))
    before = snapshot()
    for method, path, body in writes(process, qualify, qualify.milestones.first()):
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code == 403, path
        assert response.json()["detail"] == "Only admins change sales processes, their stages and milestones."
    assert snapshot() == before


def test_every_admin_write_is_accepted_and_audited(api_for, admin, process, qualify):
    api = api_for(admin)
    for number, (method, path, body) in enumerate(writes(process, qualify, qualify.milestones.first()), start=1):
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code == (201 if path.endswith(("/processes/", "/stages/", "/milestones/")) else 200)
        assert ProcessChange.objects.count() == number, path


def test_admin_creates_a_process_then_its_stages_and_milestones(api_for, admin, process):
    api = api_for(admin)
    created = api.post(url("process_list"), {"name": "Renewals", "description": "Existing customers"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["is_active"], body["stages"]) == ("Renewals", True, [])
    stage = api.post(
        url("process_stages", body["id"]),
        {"name": "Review usage", "win_probability": 40, "forecast_category": "best_case", "objective": "Know the use"},
        format="json",
    ).json()
    assert (stage["process"], stage["order"], stage["win_probability"], stage["milestones"]) == (body["id"], 10, 40, [])
    milestone = api.post(
        url("stage_milestones", stage["id"]), {"name": "Usage report sent", "is_required": False}, format="json"
    ).json()
    assert (milestone["stage"], milestone["order"], milestone["is_required"]) == (stage["id"], 0, False)
    listed = api.get(url("process_detail", body["id"])).json()
    assert listed["stages"][0]["milestones"][0]["name"] == "Usage report sent"
    assert api.get(url("stage_detail", stage["id"])).json()["forecast_category"] == "best_case"
    assert [c.action for c in ProcessChange.objects.order_by("id")] == [
        "process_create",
        "stage_create",
        "milestone_create",
    ]


def test_everyone_reads_a_stage_and_a_milestone(api_for, owner, qualify):
    api = api_for(owner)
    stage = api.get(url("stage_detail", qualify.pk)).json()
    assert [m["name"] for m in stage["milestones"]] == ["Check 1", "Check 2", "Optional 1"]
    milestone = qualify.milestones.get(name="Check 2")
    assert api.get(url("stage_milestone_detail", qualify.pk, milestone.pk)).json()["name"] == "Check 2"


def test_unknown_ids_are_404_for_everyone(api_for, owner, admin, process, qualify):
    other_stage = process.stages.get(name="Discover")
    milestone = qualify.milestones.first()
    for user in (owner, admin):
        api = api_for(user)
        assert api.patch(url("process_detail", HUGE), {}, format="json").status_code == 404
        assert api.post(url("process_stages", 2**62), {"name": "X"}, format="json").status_code == 404
        assert api.patch(url("stage_detail", 2**62), {}, format="json").status_code == 404
        assert api.post(url("stage_milestones", 2**62), {"name": "X"}, format="json").status_code == 404
        # A milestone of another stage is not this stage's.
        missing = api.patch(url("stage_milestone_detail", other_stage.pk, milestone.pk), {}, format="json")
        assert missing.status_code == 404


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("process_list", {"name": ""}, "name"),
        ("process_list", {"name": "new business"}, "name"),
        ("process_stages", {"name": "Qualify"}, "name"),
        ("process_stages", {"name": "Negotiate", "win_probability": 101}, "win_probability"),
        ("process_stages", {"name": "Negotiate", "order": 20}, "order"),
        ("process_stages", {"name": "Negotiate", "forecast_category": "maybe"}, "forecast_category"),
        ("process_stage_order", {"stages": [1]}, "stages"),
        ("stage_detail", {"win_probability": -1}, "win_probability"),
        ("stage_detail", {"name": "Discover"}, "name"),
        ("stage_milestones", {"name": "Check 2"}, "name"),
        ("stage_milestone_detail", {"name": "check 2"}, "name"),
        ("stage_milestone_detail", {"is_required": "perhaps"}, "is_required"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api_for, admin, process, qualify, route, body, field):
    milestone = qualify.milestones.get(name="Check 1")
    args = {
        "process_list": (),
        "process_stages": (process.pk,),
        "process_stage_order": (process.pk,),
        "stage_detail": (qualify.pk,),
        "stage_milestones": (qualify.pk,),
        "stage_milestone_detail": (qualify.pk, milestone.pk),
    }[route]
    method = "patch" if route.endswith("detail") else "post"
    before = snapshot()
    response = getattr(api_for(admin), method)(url(route, *args), body, format="json")
    assert response.status_code == 400
    answer = response.json()
    assert field in answer or answer.get("field") == field, answer
    assert snapshot() == before


def test_a_fifth_milestone_is_refused_with_the_products_guidance(api_for, admin, qualify):
    api = api_for(admin)
    assert api.post(url("stage_milestones", qualify.pk), {"name": "Budget"}, format="json").status_code == 201
    refused = api.post(url("stage_milestones", qualify.pk), {"name": "Timeline"}, format="json")
    assert refused.status_code == 400
    assert "a stage has 2 to 4" in refused.json()["detail"]


def test_deactivating_keeps_the_process_readable(api_for, admin, owner, process):
    api = api_for(admin)
    refused = api.patch(url("process_detail", process.pk), {"is_active": False}, format="json")
    assert (refused.status_code, refused.json()["field"]) == (400, "is_active")
    api.post(url("process_list"), {"name": "Renewals"}, format="json")
    assert (
        api.patch(url("process_detail", process.pk), {"is_active": False}, format="json").json()["is_active"] is False
    )
    assert api_for(owner).get(url("process_detail", process.pk)).json()["is_active"] is False
    assert not SalesProcess.objects.active().filter(pk=process.pk).exists()


def test_stages_are_reordered_all_at_once(api_for, admin, process):
    qualify, discover, propose = process.stages.order_by("order")
    body = api_for(admin).post(
        url("process_stage_order", process.pk), {"stages": [propose.pk, qualify.pk, discover.pk]}, format="json"
    )
    assert [s["name"] for s in body.json()["stages"]] == ["Propose", "Qualify", "Discover"]


@pytest.mark.parametrize(
    "text",
    [
        "1e999",
        "[" * 3000 + "]" * 3000,
        json.dumps({"name": "\u202e\u200b", "order": 2**63, "win_probability": [1], "stages": [HUGE, -1]}),
        json.dumps({"name": ["x"], "description": {"a": 1}, "is_active": "x", "is_required": 2}),
        json.dumps({"name": "x" * 10_000, "guidance": "\x00", "stuck_after_days": -(2**70)}),
        "",
        "null",
    ],
)
def test_admins_odd_bodies_are_refused_without_a_server_error(api_for, admin, process, qualify, text):
    api = api_for(admin)
    for method, path, _ in writes(process, qualify, qualify.milestones.first()):
        send = lambda m=method, p=path: api.generic(m.upper(), p, text.encode(), content_type="application/json")  # noqa: E731
        check_request(send, writes=True)


# The fuzz tests (tests/opportunities/test_api_fuzz.py) send every operation as a rep, whom these
# writes refuse at the door; here an admin, who gets past it, sends the same generated bodies.
ADMIN_WRITES = [
    (method, path)
    for method, path in api_fuzz.operations()
    if method != "GET" and path.startswith(("/api/processes/", "/api/stages/"))
]


def test_the_admin_fuzz_covers_every_process_write():
    assert len(ADMIN_WRITES) == 10


@pytest.mark.parametrize(("method", "path"), ADMIN_WRITES, ids=lambda v: v)
def test_no_admin_input_fails_or_half_changes_anything(method, path, world, client_for, admin):
    client = client_for(admin)
    own = "@process" if path.startswith("/api/processes/") else "@stage"

    def call(ids, body):
        url = path.format(**{name: api_fuzz.to_ids(value, world) for name, value in ids.items()})
        shape, content = body
        text = json.dumps(api_fuzz.to_ids(content, world), allow_nan=True) if shape == "object" else content
        check_request(lambda: client.generic(method, url, text.encode(), content_type="application/json"), writes=True)

    ids = st.fixed_dictionaries(
        {
            "id": st.sampled_from([own, own, own, str(HUGE)]),
            "milestone_id": st.sampled_from(["@milestone", "@milestone", "0"]),
        }
    )
    test = given(ids=ids, body=api_fuzz.body_strategy(method, path))(call)
    for body in api_fuzz.edge_bodies(method, path):
        test = example(ids={"id": own, "milestone_id": "@milestone"}, body=body)(test)
    FUZZ(test)()
