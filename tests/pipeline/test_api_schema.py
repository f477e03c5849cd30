"""The OpenAPI schema is generated without a warning and validates (what `manage.py spectacular
--fail-on-warn --validate` checks), and documents tokens, refusals and concurrency."""

from django.core.management import call_command

from tests.pipeline.test_api_schemathesis import raw_schema


def test_schema_generates_without_warnings_and_validates(tmp_path):
    # --fail-on-warn turns any warning or error of the generator into a non-zero exit.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))


def test_schema_documents_token_auth_and_common_refusals():
    schema = raw_schema()
    assert schema["components"]["securitySchemes"]["tokenAuth"]["scheme"] == "bearer"
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert {"403", "404", "429"} <= set(operation["responses"])
    detail = schema["paths"]["/api/opportunities/{id}/"]
    assert "ETag" in detail["get"]["responses"]["200"]["headers"]
    assert any(p["name"] == "If-Match" for p in detail["patch"]["parameters"])
