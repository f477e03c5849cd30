"""The admin for screen-reader and tab users: every inline row's inputs have a name of their own,
and the admin pages carry Lockstep's favicon."""

from django.urls import reverse


def test_admin_pages_have_the_favicon(client_for, admin):
    body = client_for(admin).get(reverse("admin:index")).content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in body


def test_inline_rows_name_each_input(client_for, admin, process):
    body = client_for(admin).get(reverse("admin:stages_salesprocess_change", args=[process.pk])).content.decode()

    assert 'aria-label="Name: Qualify"' in body
    assert 'aria-label="Win probability: Discover"' in body
    assert 'aria-label="Delete: Propose"' in body
    assert 'aria-label="Name: new stage"' in body  # the template row "Add another" copies


def test_milestone_rows_name_each_input(client_for, admin, process):
    stage = process.stages.order_by("order").first()
    body = client_for(admin).get(reverse("admin:stages_stage_change", args=[stage.pk])).content.decode()

    assert 'aria-label="Is required: Check 1"' in body
