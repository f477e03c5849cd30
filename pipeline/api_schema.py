"""drf-spectacular post-processing: documents the API's optimistic concurrency on every operation
at once, rather than in each view's `extend_schema`.

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
