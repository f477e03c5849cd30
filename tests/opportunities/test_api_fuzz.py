"""Property-based tests: every operation of the API, as its OpenAPI schema lists them, fed
generated bodies and query strings by a signed-in rep, answers without a 5xx; a refused request,
and every GET, changes nothing; no name is stored with an invisible character.

Bodies are objects with any subset of the operation's fields (the schema's), each holding a
plausible value or anything JSON can carry (huge and negative numbers, floats, nan and inf,
long and invisible text, nested lists and objects, wrong types), or whole bodies that are
not objects, not JSON, or nested thousands of levels deep.
"""

import json
from functools import cache

import pytest
from drf_spectacular.generators import SchemaGenerator
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzzing import (
    DATES,
    EDGE_NUMBERS,
    EDGE_TEXT,
    FUZZ,
    HUGE,
    REFS,
    any_text,
    check_request,
    edge_form_data,
    long_text,
)

# Operations left out, and why.
NOT_FUZZED = {
    ("GET", "/api/schema/"): "describes the API; takes no input of the API's own",
    ("POST", "/api/imports/"): "a multipart file upload (admins only); bad files are tested in tests/transfer",
}


@cache
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, ops in schema()["paths"].items()
        for method in ops
        if (method.upper(), path) not in NOT_FUZZED
    ]


def _component(ref_or_schema: dict) -> dict:
    if "$ref" in ref_or_schema:
        return schema()["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[1]]
    return ref_or_schema


def _operation(method: str, path: str) -> dict:
    return schema()["paths"][path][method.lower()]


# --- values ----------------------------------------------------------------------------------------

refs = st.sampled_from(REFS)  # resolved to the world's ids, as ints
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, -1, 2**63 - 1, 2**63, HUGE, -HUGE]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(EDGE_TEXT + EDGE_NUMBERS + DATES),
    any_text,
    long_text,
    refs,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


def plausible(prop: dict) -> st.SearchStrategy:
    """Values of the property's own type, so that some requests get past validation."""
    prop = _component(prop)
    if "enum" in prop:
        return st.sampled_from([value for value in prop["enum"] if value is not None])
    if prop.get("allOf"):
        return plausible(prop["allOf"][0])
    kind, fmt = prop.get("type"), prop.get("format")
    if kind == "integer":
        return refs | st.integers(min_value=1, max_value=5)
    if kind == "array":
        return st.lists(plausible(prop.get("items", {})), max_size=3)
    if fmt == "date":
        return st.sampled_from(DATES)
    if fmt == "date-time":
        return st.sampled_from(["2026-03-01T09:00:00Z", "2026-03-02T10:00:00+01:00", "2999-01-01T00:00:00Z"])
    if fmt == "decimal" or prop.get("pattern"):
        return st.sampled_from(["100.00", "0", "999999999999.99", "-1", "1e5"])
    if kind == "boolean":
        return st.booleans()
    return st.sampled_from(["Acme", "Renewal call", "\u202eAcme\u200b", ""])


def body_strategy(method: str, path: str) -> st.SearchStrategy:
    request_body = _operation(method, path).get("requestBody")
    if not request_body:
        objects = st.just({})
    else:
        props = _component(request_body["content"]["application/json"]["schema"]).get("properties", {})
        values = {name: plausible(prop) | json_values for name, prop in props.items()}
        fields = st.fixed_dictionaries({}, optional=values)
        unknown = st.dictionaries(any_text, json_values, max_size=2)
        objects = st.one_of(fields, st.builds(lambda known, extra: {**extra, **known}, fields, unknown))
    raw = st.one_of(
        st.integers(min_value=1_000, max_value=5_000).map(lambda n: "[" * n + "]" * n),
        st.integers(min_value=1_000, max_value=5_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
        st.sampled_from(['{"account": 1e999}', "", "{", "null", "[]", '"x"', "1e999", "NaN", '{"a": NaN}', "\ufeff{}"]),
        json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    )
    return objects.map(lambda d: ("object", d)) | raw.map(lambda text: ("raw", text))


def edge_bodies(method: str, path: str) -> list[tuple[str, object]]:
    """Bodies tried before the generated ones: every field at once infinite (1e999 is a JSON
    number that decodes to inf), beyond any id, holding invisible and control characters, and a
    body nested too deeply for the decoder."""
    request_body = _operation(method, path).get("requestBody")
    names = []
    if request_body:
        names = list(_component(request_body["content"]["application/json"]["schema"]).get("properties", {}))
    infinite = "{" + ", ".join(f'"{name}": 1e999' for name in names) + "}"
    return [
        ("raw", infinite),
        ("object", dict.fromkeys(names, HUGE)),
        ("object", dict.fromkeys(names, "\u202e\u200bx\x00")),
        ("object", dict.fromkeys(names, [2**63, -1])),
        ("raw", "[" * 4000 + "]" * 4000),
    ]


def query_strategy(method: str, path: str) -> st.SearchStrategy:
    params = {p["name"]: p for p in _operation(method, path).get("parameters", []) if p["in"] == "query"}
    text_values = st.sampled_from(EDGE_TEXT + EDGE_NUMBERS) | any_text | st.integers(-(10**40), 10**40).map(str)
    return st.fixed_dictionaries(
        {}, optional={name: plausible(p["schema"]).map(str) | text_values for name, p in params.items()}
    )


def path_strategy(path: str) -> st.SearchStrategy:
    own = "@account" if path.startswith("/api/accounts/") else "@deal"
    first = st.sampled_from([own] * 4 + ["@other_deal", "@other_account", str(HUGE), str(2**63), "0"])
    milestone = st.sampled_from(["@milestone", "@milestone", str(HUGE)])
    person = st.sampled_from(["@me", "@teammate", str(HUGE)])
    contact = st.sampled_from(["@contact", "@contact", str(HUGE)])
    return st.fixed_dictionaries({"id": first, "milestone_id": milestone, "user_id": person, "contact_id": contact})


def to_ids(value, world: dict):
    """`value` with the world's placeholders replaced by integer ids, at any depth."""
    if isinstance(value, str):
        return world.get(value, value)
    if isinstance(value, list):
        return [to_ids(v, world) for v in value]
    if isinstance(value, dict):
        return {k: to_ids(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path"), operations(), ids=lambda v: v)
def test_no_api_input_fails_or_half_changes_anything(method, path, world, client_for, owner):
    def call(ids, body, query):
        client = client_for(owner)
        url = path.format(**{name: to_ids(value, world) for name, value in ids.items()})
        query = {name: str(to_ids(value, world)) for name, value in query.items()}
        shape, content = body
        text = json.dumps(to_ids(content, world), allow_nan=True) if shape == "object" else content
        if method == "GET":
            send = lambda: client.get(url, query)  # noqa: E731
        else:
            send = lambda: client.generic(method, url, text.encode(), content_type="application/json")  # noqa: E731
        check_request(send, writes=method != "GET")

    test = given(ids=path_strategy(path), body=body_strategy(method, path), query=query_strategy(method, path))(call)
    own = "@account" if path.startswith("/api/accounts/") else "@deal"
    params = [p["name"] for p in _operation(method, path).get("parameters", []) if p["in"] == "query"]
    queries = edge_form_data(params) or [{}] * 4
    edges = zip(edge_bodies(method, path), [*queries, {}], strict=True)
    if method == "GET":  # the body is not read; each parameter is also tried alone beyond any id
        edges = [(("object", {}), query) for query in [*queries, *({name: str(HUGE)} for name in params)]]
    ids = {"id": own, "milestone_id": "@milestone", "user_id": "@me", "contact_id": "@contact"}
    for body, query in edges:
        test = example(ids=ids, body=body, query=query)(test)
    FUZZ(test)()


def test_every_api_operation_is_fuzzed():
    listed = {(method.upper(), path) for path, ops in schema()["paths"].items() for method in ops}
    assert len(listed) == len(operations()) + len(NOT_FUZZED)
    assert {path for _, path in operations()} >= {
        "/api/opportunities/",
        "/api/opportunities/{id}/",
        "/api/accounts/{id}/contacts/",
    }
