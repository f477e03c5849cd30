"""drf-spectacular post-processing: documents what every operation may answer, at once rather
than in each view's `extend_schema`: the refusals any request may get (403 not allowed or a
read-only token, 404 unseen or a page past the end, 429 over the rate limit, 400 with per-input
messages), and the API's optimistic concurrency.

Deals and reviews carry a `version`; their detail reads send it as an `ETag`, and every write
under their URL honours `If-Match` (412 on a stale tag), see `opportunities.api.check_if_match`.
"""

import re

VERSIONED = re.compile(r"^/api/(opportunities|reviews)/\{id\}/")
DETAIL = re.compile(r"^/api/(opportunities|reviews)/\{id\}/$")

IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag you read (the row's `version`, quoted); the write is refused with 412 if it changed.",
}
PRECONDITION_FAILED = {
    "description": "`If-Match` did not match the current ETag: someone changed it since you read it.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "The row's `version`, quoted."}}


ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Messages per input (`{input: [messages]}`), or `non_field_errors` for the whole body.",
    "additionalProperties": {},
}
COMMON_REFUSALS = {
    "403": "Not signed in, not allowed to change it, or a read-only token on a write.",
    "404": "Not visible to you, does not exist, or a page past the last.",
    "429": "Over the rate limit; `Retry-After` says how many seconds to wait.",
}


def document_refusals(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["ValidationError"] = VALIDATION_ERROR
    validation_ref = {"$ref": "#/components/schemas/ValidationError"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_REFUSALS.items():
                responses.setdefault(code, {"description": description, "content": _json(ERROR_REF)})
            takes_input = operation.get("parameters") or operation.get("requestBody")
            if not takes_input:
                continue
            invalid = responses.setdefault("400", {"description": "Invalid input.", "content": _json(ERROR_REF)})
            for media in invalid.setdefault("content", _json(ERROR_REF)).values():
                media["schema"] = {"anyOf": [media.get("schema", ERROR_REF), validation_ref]}
    return result


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def document_concurrency(result, generator, request, public):
    for path, operations in result.get("paths", {}).items():
        if not VERSIONED.match(path):
            continue
        for method, operation in operations.items():
            if method in ("get", "head"):
                if DETAIL.match(path) and "200" in operation.get("responses", {}):
                    operation["responses"]["200"].setdefault("headers", {}).update(ETAG_HEADER)
                continue
            operation.setdefault("parameters", []).append(IF_MATCH)
            operation.setdefault("responses", {})["412"] = PRECONDITION_FAILED
    return result
