"""The indexes Django's state knows are the ones the database has, on either database."""

import pytest
from django.apps import apps
from django.db import connection

MOVED_FROM_PIPELINE = {
    "board_open_card_order_idx",
    "opportunity_open_health_idx",
    "nextstep_open_due_idx",
    "event_stage_change_idx",
    "event_stage_entry_idx",
}


def existing(model) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, model._meta.db_table))


@pytest.mark.django_db
def test_every_index_a_model_declares_exists():
    missing = [
        f"{model._meta.label}.{index.name}"
        for model in apps.get_app_config("opportunities").get_models()
        for index in model._meta.indexes
        if index.name not in existing(model)
    ]
    assert missing == []


def test_the_hand_made_indexes_of_pipeline_are_declared_on_the_models():
    declared = {
        index.name for model in apps.get_app_config("opportunities").get_models() for index in model._meta.indexes
    }
    assert declared >= MOVED_FROM_PIPELINE


def test_the_contacts_list_order_is_an_index():
    # The contacts list pages through every visible contact in the model's order; without an
    # index of it, each page sorts them all (bench/README.md).
    from opportunities.models import Contact

    assert list(Contact._meta.ordering) in [index.fields for index in Contact._meta.indexes]


@pytest.mark.postgresql
@pytest.mark.django_db
def test_the_closed_deals_are_asked_for_as_their_index_selects_them():
    # "Not open" would be the same deals, but the planner could not tell that they are all in
    # `opportunity_closed_facts_idx` and would read the table instead (bench/README.md).
    from opportunities.models import Opportunity

    closed = Opportunity.objects.closed().filter(closed_on__gte="2026-01-01").values("closed_on", "status", "amount")
    with connection.cursor() as cursor:
        # A test's table is tiny: forbid reading it whole, so that the plan shows whether the
        # closed deals can be read from their index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = closed.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "opportunity_closed_facts_idx" in plan, plan
