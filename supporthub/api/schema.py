"""OpenAPI generation: every operation also documents the errors it can answer with."""

from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

from supporthub.api import idempotent
from supporthub.api.errors import ErrorSerializer

_ERRORS = {
    "400": "Invalid input: `errors` names each field and the reason.",
    "401": "No API key, or an invalid, revoked or expired one.",
    "403": "Authenticated, but the role or API key scope does not allow this request.",
    "404": "No such object.",
    "409": "A request with this Idempotency-Key is still being processed; retry later.",
    "422": "This Idempotency-Key was already used with a different request.",
    "413": "Request body too large.",
    "429": "Too many requests; retry after the Retry-After header.",
}


class AutoSchema(openapi.AutoSchema):
    def _is_idempotent(self) -> bool:
        action = getattr(self.view, "action", None) or self.method.lower()
        return idempotent.is_idempotent(getattr(self.view, action, None))

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._is_idempotent():
            parameters.append(idempotent.PARAMETER)
        return parameters

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction=direction)
        codes = ["401", "403", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["400", "413"]
        elif self._is_list_view():
            codes += ["400", "404"]  # unknown filter values; a page past the end
        if self._is_idempotent():
            codes += ["409", "422"]
        if "{" in self.path and "404" not in codes:
            codes.append("404")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=_ERRORS[code]), code, direction=direction
                )
        return responses


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "supporthub.api.auth.APIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def query_strings_not_empty(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: a text query parameter given empty is a 400 (supporthub.api.filtering),
    so the schema says `minLength: 1`."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "string":
                    schema.setdefault("minLength", 1)
    return result
