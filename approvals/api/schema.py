"""The OpenAPI document's parts that drf-spectacular cannot infer: the bearer key scheme, each list's
filters as query parameters, the ``Idempotency-Key`` header on every POST, and the problem documents
every operation may answer with (so a contract test can hold every response to the schema)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from approvals.api.problems import PROBLEM_CONTENT_TYPE


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "approvals.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made by a workspace admin: `Authorization: Bearer imp_live_…`.",
        }


class ApiAutoSchema(AutoSchema):
    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        filter_class = getattr(self.view, "filter_class", None)
        if self.method == "GET" and filter_class is not None:
            params.append(filter_class)
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "Send the same key with the same body to get the first response again instead of "
                        "repeating the action; a key reused for another request is refused (422). Errors are not "
                        "kept, so a corrected request may reuse the key, except a decision or publish the rules "
                        "refused: the audit log recorded that attempt."
                    ),
                )
            )
        return params


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["type", "title", "status", "detail"],
}

_ALWAYS = {
    "400": "Invalid parameters or body",
    "401": "Missing, unknown, revoked or expired API key",
    "403": "The key's scopes or its user's roles do not allow this",
    "404": "Not found in the key's workspace",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "413": "Request body too large",
    "429": "Rate limit reached (see Retry-After)",
}
_WRITES = {
    "409": "Conflicts with the current state (or the Idempotency-Key is in use)",
    "415": "Send application/json",
    "422": "Refused: the detail says why, in plain words",
}


def add_problem_responses(result, generator, request, public):
    """drf-spectacular post-processing hook."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = dict(_ALWAYS)
            if method in ("post", "put", "patch", "delete"):
                statuses.update(_WRITES)
            for code, description in statuses.items():
                response = {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": ref}}}
                if code == "429":
                    response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "required": False}}
                operation["responses"].setdefault(code, response)
    return result
