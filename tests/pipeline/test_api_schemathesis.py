"""schemathesis over every operation of the API's OpenAPI schema, as a rep and as a manager,
through a personal read-and-write token: no server error, and every answer matches the schema
(its status code documented, its body that status's shape).

Ids in paths are drawn mostly from the fuzz world's rows (tests/fuzzing.py) so the requests
reach the views' logic rather than stopping at 404. Examples are few and derandomized, so the
test is fast and the same on every run (CI runs it on SQLite and PostgreSQL).
"""

import json
from functools import cache

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance
from schemathesis.generation import GenerationMode

from people import services as people_services

# Operations left out, and why.
NOT_TESTED = {("GET", "/api/schema/"): "describes the API; its body is the schema itself"}

EXAMPLES = 8  # per operation and persona, valid and invalid requests together
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# Which world row each path's `{id}` names (tests/fuzzing.py `world`), by the path's first segment.
ID_ROWS = {
    "opportunities": ("@deal", "@other_deal"),
    "accounts": ("@account", "@other_account"),
    "contacts": ("@contact",),
    "reviews": ("@review", "@draft_review"),
    "processes": ("@process",),
    "stages": ("@stage", "@next_stage"),
}


@cache
def raw_schema() -> dict:
    # Through JSON, as a client would read it (drf-spectacular's dict holds lazy strings).
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


@cache
def api_schema():
    schema = schemathesis.openapi.from_dict(raw_schema())
    schema.app = WSGIHandler()
    return schema


def operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, ops in raw_schema()["paths"].items()
        for method in ops
        if (method.upper(), path) not in NOT_TESTED
    ]


def _operation(method: str, path: str):
    for result in api_schema().get_all_operations():
        operation = result.ok()
        if operation.method.upper() == method and operation.path == path:
            return operation
    raise LookupError(f"{method} {path}")


def _id_choices(path: str, world: dict) -> list[int]:
    segment = path.split("/")[2]
    return [world[name] for name in ID_ROWS.get(segment, ())]


@pytest.fixture
def keep_connection():
    """The WSGI handler closes the database connection before and after each request, which would end the
    test's transaction; Django's test client stops that the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def tokens(world, owner, manager, now) -> dict:
    return {
        persona: people_services.api_token_create(actor=user, name="schemathesis", scope="write", now=now)[1]
        for persona, user in (("rep", owner), ("manager", manager))
    }


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize("persona", ["rep", "manager"])
@pytest.mark.parametrize(("method", "path"), operations(), ids=[f"{m} {p}" for m, p in operations()])
def test_every_operation_answers_within_its_schema(method, path, persona, world, tokens, keep_connection):
    operation = _operation(method, path)
    headers = {"Authorization": f"Bearer {tokens[persona]}"}
    ids = _id_choices(path, world)
    milestone = world["@milestone"]
    people = [world["@me"], world["@teammate"]]

    # Valid requests (which must be accepted or refused as documented) and invalid ones.
    requests = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data):
        case = data.draw(requests)
        if case.path_parameters:
            if "id" in case.path_parameters and ids and data.draw(st.integers(0, 3)):
                case.path_parameters["id"] = data.draw(st.sampled_from(ids))
            if "milestone_id" in case.path_parameters and data.draw(st.booleans()):
                case.path_parameters["milestone_id"] = milestone
            if "user_id" in case.path_parameters and data.draw(st.booleans()):
                case.path_parameters["user_id"] = data.draw(st.sampled_from(people))
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
