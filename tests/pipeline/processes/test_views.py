"""The process editor: everyone signed in reads the processes, their stages and milestones; admins
add, edit, reorder and remove them through `stages.services` (403 for anyone else); writes post
and redirect, or answer htmx with the process section; bad input is a message and changes
nothing."""

import pytest
from django.urls import get_resolver, reverse
from hypothesis import example, given
from hypothesis import strategies as st

from opportunities import services as deal_services
from stages.models import Milestone, ProcessChange, Stage
from tests import test_fuzz_forms as fuzz_forms
from tests.factories import OpportunityFactory
from tests.fuzzing import FUZZ, check_request, edge_form_data, form_data, resolve
from tests.stages.test_remove_services import snapshot

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def stages(process) -> list[Stage]:
    return list(process.stages.order_by("order"))


def detail(process) -> str:
    return reverse("processes:detail", args=[process.pk])


def names(stage) -> list[str]:
    return list(stage.milestones.live().order_by("order", "id").values_list("name", flat=True))


# --- reading -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "manager", "admin"])
def test_everyone_reads_the_list_and_the_process(persona, request, client_for, process, stages):
    client = client_for(request.getfixturevalue(persona))
    listing = client.get(reverse("processes:list"))
    assert listing.status_code == 200 and "New business" in listing.content.decode()
    page = client.get(detail(process))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Qualify" in text and "Check 1" in text
    assert ("Add milestone" in text) == (persona == "admin")
    assert ("only admins change it" in text) == (persona != "admin")


@pytest.mark.parametrize(("persona", "shown"), [("owner", False), ("admin", True)])
def test_admins_have_the_editor_in_the_menu(persona, shown, request, client_for):
    page = client_for(request.getfixturevalue(persona)).get(reverse("processes:list")).content.decode()
    assert (f'href="{reverse("processes:list")}"' in page.split("</nav>")[0]) == shown


def test_anonymous_is_sent_to_sign_in(client, process):
    response = client.get(detail(process))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_unknown_process_is_404(client_for, admin):
    assert client_for(admin).get(reverse("processes:detail", args=[999999])).status_code == 404


def test_the_page_hides_retired_milestones(client_for, admin, owner, stages):
    optional = stages[0].milestones.get(name="Optional 1")
    deal_services.milestone_tick(OpportunityFactory(stage=stages[0], owner=owner), actor=owner, milestone=optional)
    client = client_for(admin)
    client.post(reverse("processes:milestone_remove", args=[optional.pk]))
    assert Milestone.objects.get(pk=optional.pk).is_retired
    section = client.get(detail(stages[0].process), **HTMX).content.decode()
    assert f'id="milestone-{optional.pk}"' not in section
    # A retired milestone is history: it has no edit page.
    assert client.get(reverse("processes:milestone_edit", args=[optional.pk])).status_code == 404


def test_the_process_page_costs_a_fixed_number_of_queries(client_for, admin, process, django_assert_max_num_queries):
    client = client_for(admin)
    client.get(detail(process))
    with django_assert_max_num_queries(12):
        assert client.get(detail(process)).status_code == 200


# --- who writes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "manager"])
def test_only_admins_write(persona, request, client_for, process, stages):
    client = client_for(request.getfixturevalue(persona))
    stage, milestone = stages[2], stages[2].milestones.first()
    before = snapshot()
    for name, pk, data in [
        ("processes:list", None, {"name": "Renewals"}),
        ("processes:stage_add", process.pk, {"name": "Negotiate"}),
        ("processes:stage_edit", stage.pk, {"name": "Other"}),
        ("processes:stage_move", stage.pk, {"direction": "up"}),
        ("processes:stage_remove", stage.pk, {}),
        ("processes:milestone_add", stage.pk, {"name": "Budget"}),
        ("processes:milestone_edit", milestone.pk, {"name": "Other"}),
        ("processes:milestone_move", milestone.pk, {"direction": "down"}),
        ("processes:milestone_remove", milestone.pk, {}),
    ]:
        url = reverse(name, args=[pk] if pk else [])
        assert client.post(url, data).status_code == 403, url
    for name, pk in [("processes:stage_edit", stage.pk), ("processes:milestone_edit", milestone.pk)]:
        assert client.get(reverse(name, args=[pk])).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    "name", ["processes:stage_move", "processes:stage_remove", "processes:milestone_add", "processes:stage_add"]
)
def test_writes_refuse_get(client_for, admin, stages, name):
    pk = stages[0].process_id if name == "processes:stage_add" else stages[0].pk
    assert client_for(admin).get(reverse(name, args=[pk])).status_code == 405


# --- admins' writes ----------------------------------------------------------------------------------


def test_add_a_process(client_for, admin):
    response = client_for(admin).post(reverse("processes:list"), {"name": "Renewals", "description": "Existing"})
    assert response.status_code == 302
    assert ProcessChange.objects.get().action == "process_create"


def test_add_a_process_with_a_taken_name_shows_the_form_again(client_for, admin, process):
    response = client_for(admin).post(reverse("processes:list"), {"name": "new business"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_add_a_stage_and_a_milestone_without_javascript(client_for, admin, process):
    client = client_for(admin)
    response = client.post(reverse("processes:stage_add", args=[process.pk]), {"name": "Negotiate"})
    assert (response.status_code, response["Location"]) == (302, detail(process))
    negotiate = process.stages.get(name="Negotiate")
    assert negotiate.order == 40
    client.post(reverse("processes:milestone_add", args=[negotiate.pk]), {"name": "Terms agreed", "is_required": "on"})
    page = client.get(detail(process)).content.decode()
    assert "Added the milestone “Terms agreed” to “Negotiate”." in page
    assert negotiate.milestones.get().is_required


def test_htmx_gets_the_process_section_with_its_messages(client_for, admin, stages):
    response = client_for(admin).post(
        reverse("processes:milestone_add", args=[stages[0].pk]), {"name": "Budget"}, **HTMX
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith("{#") is False and 'id="process"' in text and "<html" not in text
    assert "Added the milestone “Budget”" in text
    assert not stages[0].milestones.get(name="Budget").is_required  # unchecked box: optional


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "This field is required"),
        ({"name": "\u200b"}, "This field is required"),
        ({"name": "x" * 151}, "at most 150"),
        ({"name": "check 1"}, "already has a milestone named"),
    ],
)
def test_bad_milestone_input_is_a_message_and_changes_nothing(client_for, admin, stages, data, message):
    client = client_for(admin)
    before = snapshot()
    response = client.post(reverse("processes:milestone_add", args=[stages[0].pk]), data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot() == before


def test_a_fifth_milestone_is_refused(client_for, admin, stages):
    client = client_for(admin)
    client.post(reverse("processes:milestone_add", args=[stages[0].pk]), {"name": "Budget"})
    before = snapshot()
    response = client.post(reverse("processes:milestone_add", args=[stages[0].pk]), {"name": "Timeline"}, follow=True)
    assert "a stage has 2 to 4" in response.content.decode()
    assert snapshot() == before


def test_move_milestones_and_stages(client_for, admin, process, stages):
    client = client_for(admin)
    check_2 = stages[0].milestones.get(name="Check 2")
    client.post(reverse("processes:milestone_move", args=[check_2.pk]), {"direction": "up"})
    assert names(stages[0]) == ["Check 2", "Check 1", "Optional 1"]
    client.post(reverse("processes:stage_move", args=[stages[2].pk]), {"direction": "up"})
    assert list(process.stages.order_by("order").values_list("name", flat=True)) == ["Qualify", "Propose", "Discover"]


@pytest.mark.parametrize("direction", ["up", "sideways", ""])
def test_moving_past_the_end_or_nowhere_changes_nothing(client_for, admin, stages, direction):
    client = client_for(admin)
    before = snapshot()
    first = stages[0].milestones.get(name="Check 1")
    for url in (
        reverse("processes:milestone_move", args=[first.pk]),
        reverse("processes:stage_move", args=[stages[0].pk]),
    ):
        response = client.post(url, {"direction": direction}, follow=True)
        assert response.status_code == 200
        text = response.content.decode()
        assert "already first" in text or "Select a valid choice" in text or "This field is required" in text
    assert snapshot() == before


def test_remove_a_milestone_then_refuse_below_two(client_for, admin, stages):
    client = client_for(admin)
    stage = stages[0]
    client.post(reverse("processes:milestone_remove", args=[stage.milestones.get(name="Optional 1").pk]))
    assert names(stage) == ["Check 1", "Check 2"]
    before = snapshot()
    response = client.post(
        reverse("processes:milestone_remove", args=[stage.milestones.get(name="Check 1").pk]), follow=True
    )
    assert "keeps at least 2" in response.content.decode()
    assert snapshot() == before


def test_remove_a_stage_in_use_is_a_message(client_for, admin, owner, stages):
    OpportunityFactory(stage=stages[0], owner=owner)
    client = client_for(admin)
    before = snapshot()
    response = client.post(reverse("processes:stage_remove", args=[stages[0].pk]), follow=True)
    assert "cannot be removed: deals or their history refer to it" in response.content.decode()
    assert snapshot() == before
    client.post(reverse("processes:stage_remove", args=[stages[2].pk]))
    assert not Stage.objects.filter(pk=stages[2].pk).exists()


def test_edit_a_stage(client_for, admin, stages):
    client = client_for(admin)
    url = reverse("processes:stage_edit", args=[stages[0].pk])
    form = client.get(url)
    assert form.status_code == 200 and 'value="Qualify"' in form.content.decode()
    data = {
        "name": "Qualify well",
        "objective": "Is it real?",
        "guidance": "",
        "win_probability": 15,
        "forecast_category": "pipeline",
        "stuck_after_days": 30,
        "idle_after_days": 14,
        "slip_push_limit": 2,
        "buying_team_touch_days": 21,
    }
    assert client.post(url, data).status_code == 302
    stages[0].refresh_from_db()
    assert (stages[0].name, stages[0].win_probability) == ("Qualify well", 15)
    before = snapshot()
    bad = client.post(url, {**data, "name": "Discover", "win_probability": "lots"})
    assert bad.status_code == 400 and "Enter a whole number" in bad.content.decode()
    taken = client.post(url, {**data, "name": "discover"})
    assert taken.status_code == 400 and "already has a stage named" in taken.content.decode()
    assert snapshot() == before


def test_edit_a_milestone(client_for, admin, stages):
    client = client_for(admin)
    milestone = stages[0].milestones.get(name="Check 1")
    url = reverse("processes:milestone_edit", args=[milestone.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": "Pain confirmed", "description": "", "is_required": "on"}).status_code == 302
    assert Milestone.objects.get(pk=milestone.pk).name == "Pain confirmed"


# --- fuzz --------------------------------------------------------------------------------------------

# tests/test_fuzz_forms.py sends these pages generated input as a rep, whom every write refuses
# at the door; an admin gets past it and sends the same generated values here.
ADMIN_ENDPOINTS = [e for e in fuzz_forms.ENDPOINTS if e.url_name.startswith("processes:")]


def test_the_admin_fuzz_covers_every_editor_page():
    assert {e.url_name for e in ADMIN_ENDPOINTS} == {
        f"processes:{p.name}" for p in get_resolver("pipeline.processes.urls").url_patterns
    }


@pytest.mark.parametrize("endpoint", ADMIN_ENDPOINTS, ids=lambda e: e.id)
def test_no_admin_input_fails_or_half_changes_anything(endpoint, world, client_for, admin):
    names_, choices = endpoint.fields()

    def submit(args, data, htmx):
        client = client_for(admin)
        url = reverse(endpoint.url_name, args=resolve(list(args), world))
        headers = HTMX if htmx else {}
        send = client.get if endpoint.method == "GET" else client.post
        check_request(lambda: send(url, resolve(data, world), **headers), writes=endpoint.method == "POST")

    test = given(args=fuzz_forms.path_args(endpoint), data=form_data(names_, choices), htmx=st.booleans())(submit)
    for data in edge_form_data(names_):
        test = example(args=endpoint.args, data=data, htmx=False)(test)
    FUZZ(test)()
